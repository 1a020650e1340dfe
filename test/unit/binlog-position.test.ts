import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MysqlGtidSet,
  MariadbGtidSet,
  parsePosition,
  parseGtidSet,
  compareFilePos,
  formatFilePos,
  startPointOf,
} from '../../src/binlog/index.js';
import { DMError } from '../../src/errors/index.js';

const U1 = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
const U2 = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof DMError ? e.codeName : 'not-a-DMError';
  }
  return undefined;
}

void test('mysql gtid set: parse merges and sorts intervals, canonical format', () => {
  const s = MysqlGtidSet.parse(` ${U2}:3-4,${U1}:7:1-5:6\n,${U1.toUpperCase()}:10-12:9`);
  assert.equal(s.toString(), `${U1}:1-7:9-12,${U2}:3-4`);
  assert.equal(MysqlGtidSet.parse('').isEmpty(), true);
  assert.equal(MysqlGtidSet.parse('').toString(), '');
  // uuid without dashes is accepted and normalised
  assert.equal(MysqlGtidSet.parse(`${U1.replace(/-/g, '')}:1`).toString(), `${U1}:1`);
});

void test('mysql gtid set: union, contains, subtract, add', () => {
  const a = MysqlGtidSet.parse(`${U1}:1-10`);
  const b = MysqlGtidSet.parse(`${U1}:5-15,${U2}:1`);
  assert.equal(a.union(b).toString(), `${U1}:1-15,${U2}:1`);
  assert.equal(a.contains(MysqlGtidSet.parse(`${U1}:2-3:9`)), true);
  assert.equal(a.contains(b), false);
  assert.equal(a.union(b).contains(b), true);
  assert.equal(a.contains(MysqlGtidSet.parse('')), true);
  assert.equal(b.subtract(a).toString(), `${U1}:11-15,${U2}:1`);
  assert.equal(a.subtract(MysqlGtidSet.parse(`${U1}:3-4`)).toString(), `${U1}:1-2:5-10`);
  assert.equal(a.subtract(a).isEmpty(), true);
  assert.equal(a.add(`${U1}:11`).toString(), `${U1}:1-11`);
  assert.equal(a.add(`${U1}:13`).toString(), `${U1}:1-10:13`);
  assert.equal(a.toString(), `${U1}:1-10`, 'sets are immutable');
  assert.equal(a.containsGtid(`${U1}:10`), true);
  assert.equal(a.containsGtid(`${U1}:11`), false);
  assert.equal(a.containsGtid(`${U2}:1`), false);
  assert.ok(a.equals(MysqlGtidSet.parse(`${U1}:1-5:6-10`)));
});

void test('mysql gtid set: beyond 2^53 stays exact; tags (8.3+) are separate sources', () => {
  const big = MysqlGtidSet.parse(`${U1}:9007199254740993-9007199254740995`);
  assert.equal(big.add(`${U1}:9007199254740996`).toString(), `${U1}:9007199254740993-9007199254740996`);
  const t = MysqlGtidSet.parse(`${U1}:1-5:tag_a:1-2,${U1}:6`);
  assert.equal(t.toString(), `${U1}:1-6:tag_a:1-2`);
  assert.equal(t.containsGtid(`${U1}:tag_a:2`), true);
  assert.equal(t.containsGtid(`${U1}:tag_a:3`), false);
});

void test('mysql gtid set: malformed text is ErrBinlogInvalidPosition', () => {
  for (const bad of ['nope', `${U1}`, `${U1}:0`, `${U1}:5-3`, `${U1}:1-x-`, 'zz-1-1:1']) {
    assert.equal(code(() => MysqlGtidSet.parse(bad)), 'ErrBinlogInvalidPosition', bad);
  }
});

void test('mariadb gtid list: parse, format, contains per domain, add overwrites', () => {
  const s = MariadbGtidSet.parse('1-3-45, 0-1-100');
  assert.equal(s.toString(), '0-1-100,1-3-45');
  assert.equal(s.containsGtid('0-1-100'), true);
  assert.equal(s.containsGtid('0-2-99'), true, 'coverage is by sequence within a domain');
  assert.equal(s.containsGtid('0-1-101'), false);
  assert.equal(s.containsGtid('2-1-1'), false, 'unknown domain is not covered');
  assert.equal(s.contains(MariadbGtidSet.parse('0-1-50')), true);
  assert.equal(s.contains(MariadbGtidSet.parse('0-1-50,2-1-1')), false);
  assert.equal(s.add('0-2-101').toString(), '0-2-101,1-3-45');
  assert.equal(s.add('5-1-1').toString(), '0-1-100,1-3-45,5-1-1');
  assert.equal(s.union(MariadbGtidSet.parse('0-1-90,1-3-50')).toString(), '0-1-100,1-3-50');
  assert.equal(s.subtract(MariadbGtidSet.parse('0-1-100,1-3-10')).toString(), '1-3-45');
  assert.equal(MariadbGtidSet.parse('').isEmpty(), true);
  assert.equal(MariadbGtidSet.parse('0-1-18446744073709551615').add('0-1-18446744073709551614').toString(), '0-1-18446744073709551614');
  assert.equal(MariadbGtidSet.parse('0-1-18446744073709551615').containsGtid('0-1-18446744073709551614'), true);
});

void test('mariadb gtid list: malformed or duplicate domain is ErrBinlogInvalidPosition; flavors do not mix', () => {
  for (const bad of ['0-1', '0-1-2-3', 'a-b-c', '0-1-1,0-2-5', `${U1}:1`, '0-1-18446744073709551616']) {
    assert.equal(code(() => MariadbGtidSet.parse(bad)), 'ErrBinlogInvalidPosition', bad);
  }
  assert.equal(code(() => MariadbGtidSet.parse('0-1-1').union(MysqlGtidSet.parse(''))), 'ErrBinlogGtidFlavorMismatch');
  assert.equal(code(() => MysqlGtidSet.parse('').contains(MariadbGtidSet.parse(''))), 'ErrBinlogGtidFlavorMismatch');
});

void test('parsePosition: file:offset, tuple form, GTID of each flavor, errors', () => {
  assert.deepEqual(parsePosition('mysql-bin.000003:1234', 'mariadb'), { file: 'mysql-bin.000003', offset: 1234, gtid: '' });
  assert.deepEqual(parsePosition('(mysql-bin.000003, 4)', 'mysql'), { file: 'mysql-bin.000003', offset: 4, gtid: '' });
  assert.deepEqual(parsePosition('0-1-10', 'mariadb'), { file: '', offset: 0, gtid: '0-1-10' });
  assert.deepEqual(parsePosition(`${U1}:1-3:4`, 'mysql'), { file: '', offset: 0, gtid: `${U1}:1-4` });
  assert.equal(code(() => parsePosition('mysql-bin.000003:2', 'mysql')), 'ErrBinlogInvalidPosition');
  assert.equal(code(() => parsePosition('', 'mysql')), 'ErrBinlogInvalidPosition');
  assert.equal(code(() => parsePosition('0-1-10', 'mysql')), 'ErrBinlogInvalidPosition');
  assert.equal(code(() => parsePosition(`${U1}:1`, 'mariadb')), 'ErrBinlogInvalidPosition');
  assert.deepEqual(startPointOf(parsePosition('0-1-10', 'mariadb')), { gtid: '0-1-10' });
  assert.deepEqual(startPointOf(parsePosition('m.000001:4', 'mariadb')), { file: 'm.000001', offset: 4 });
  assert.equal(parseGtidSet('', 'mysql').flavor, 'mysql');
});

void test('compareFilePos orders by file number then offset', () => {
  assert.ok(compareFilePos({ file: 'b.000002', offset: 4 }, { file: 'b.000010', offset: 4 }) < 0);
  assert.ok(compareFilePos({ file: 'b.000010', offset: 4 }, { file: 'b.000002', offset: 900 }) > 0);
  assert.ok(compareFilePos({ file: 'b.000002', offset: 400 }, { file: 'b.000002', offset: 300 }) > 0);
  assert.equal(compareFilePos({ file: 'b.000002', offset: 4 }, { file: 'b.000002', offset: 4 }), 0);
  assert.equal(formatFilePos({ file: 'b.000002', offset: 4 }), 'b.000002:4');
});
