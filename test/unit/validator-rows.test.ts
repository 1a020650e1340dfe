/**
 * The continuous validator's pure parts: the read-back query of a batch and its outcomes, row
 * image values saved as JSON and read back unchanged, DM's size strings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchOutcomes, batchQuery, decodeValue, encodeValue, pkOf, type PendingRow } from '../../src/units/validate/validator-rows.js';
import { parseByteSize } from '../../src/config/index.js';
import { parseCutoverPos } from '../../src/worker/validation-service.js';

function row(expect: 'present' | 'absent', image: unknown[]): PendingRow {
  return {
    key: '',
    pk: pkOf(image, [0]),
    schema: 'db',
    table: 't',
    srcSchema: 'db',
    srcTable: 't',
    columns: ['id', 'v'],
    keyIdx: [0],
    expect,
    image,
    op: expect === 'present' ? 'update' : 'delete',
    pos: { file: 'mysql-bin.000001', offset: 4, gtid: '' },
    dueAt: 0,
    firstFailAt: 0,
    version: 0,
    recs: [],
    bytes: 0,
  };
}

void test('batchQuery: one key look-up per row; full mode compares every column on the target, fast mode only existence', () => {
  const rows = [row('present', [1, "it's"]), row('absent', [2, null])];
  const full = batchQuery(rows, 'full');
  assert.equal(full.split('UNION ALL').length, 2);
  assert.match(full, /SELECT 0 AS __dm_vi, \(\(`id` <=> 1\) AND \(`v` <=> 'it\\'s'\)\) AS __dm_veq, `id`, `v` FROM `db`\.`t` WHERE `id` <=> 1 LIMIT 1/);
  assert.match(full, /SELECT 1 AS __dm_vi, \(1\) AS __dm_veq, `id`, `v` FROM `db`\.`t` WHERE `id` <=> 2 LIMIT 1/);
  assert.doesNotMatch(batchQuery(rows, 'fast'), /`v` <=>/);
});

void test('batchOutcomes: equal, column-mismatch with the target image, expected-row-missing, extra-row', () => {
  const rows = [row('present', [1, 'a']), row('present', [2, 'b']), row('present', [3, 'c']), row('absent', [4, 'd']), row('absent', [5, 'e'])];
  const out = batchOutcomes(rows, [
    { __dm_vi: 0, __dm_veq: 1, id: 1, v: 'a' },
    { __dm_vi: 1, __dm_veq: 0, id: 2, v: 'changed' },
    { __dm_vi: 3, __dm_veq: 1, id: 4, v: 'still here' },
  ]);
  assert.deepEqual(out, [
    { equal: true },
    { equal: false, type: 'column-mismatch', target: { id: 2, v: 'changed' } },
    { equal: false, type: 'expected-row-missing', target: undefined },
    { equal: false, type: 'extra-row', target: { id: 4, v: 'still here' } },
    { equal: true },
  ]);
});

void test('row image values survive JSON (pending rows saved in the meta schema)', () => {
  const img = [Buffer.from([0, 255]), 12345678901234567890n, new Date('2024-01-02T03:04:05.678Z'), 'text', 1.5, null];
  const back = (JSON.parse(JSON.stringify(img.map(encodeValue))) as unknown[]).map(decodeValue);
  assert.deepEqual(back, img);
  assert.equal(pkOf([Buffer.from([1]), 'x'], [0, 1]), '["0x01","x"]');
});

void test("DM's size strings and cut-over positions", () => {
  assert.equal(parseByteSize('500m'), 500 * 1024 * 1024);
  assert.equal(parseByteSize('2G'), 2 * 1024 ** 3);
  assert.equal(parseByteSize('1024'), 1024);
  assert.equal(parseByteSize('64MiB'), 64 * 1024 * 1024);
  assert.equal(parseByteSize('lots'), undefined);
  assert.deepEqual(parseCutoverPos('(mysql-bin.000001, 5989)'), { file: 'mysql-bin.000001', offset: 5989 });
  assert.deepEqual(parseCutoverPos('mysql-bin.000002:4'), { file: 'mysql-bin.000002', offset: 4 });
  assert.equal(parseCutoverPos('nope'), undefined);
});
