import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBAList } from '../../src/filter/index.js';
import { DMError } from '../../src/errors/index.js';

// DM docs, "Block and allow table lists", usage example.
const dmExample = {
  doDbs: ['forum_backup_2018', 'forum'],
  ignoreDbs: ['~^forum_backup_'],
  doTables: [
    { dbName: 'logs', tblName: '~_2018$' },
    { dbName: '~^forum.*', tblName: 'messages' },
  ],
  ignoreTables: [{ dbName: '~.*', tblName: '^messages.*' }],
};

void test('DM documented example: each table filtered as the docs table says', () => {
  const ba = createBAList(dmExample, { caseSensitive: false });
  const cases: [string, string, boolean][] = [
    ['logs', 'messages_2016', false], // logs not in do-dbs
    ['logs', 'messages_2017', false],
    ['logs', 'messages_2018', false],
    ['forum_backup_2016', 'messages', false], // schema not in do-dbs
    ['forum_backup_2017', 'messages', false],
    ['forum', 'users', false], // do-tables not empty and not matched
    ['forum', 'messages', true], // matches ~^forum.* / messages
    ['forum_backup_2018', 'messages', true],
  ];
  for (const [s, t, want] of cases) assert.equal(ba.matchTable(s, t), want, `${s}.${t}`);
});

void test('do-dbs decides the schema level; schema-level statements ignore table rules', () => {
  const ba = createBAList(dmExample, { caseSensitive: false });
  assert.equal(ba.matchSchema('forum'), true);
  assert.equal(ba.matchSchema('forum_backup_2018'), true);
  assert.equal(ba.matchSchema('logs'), false);
  assert.equal(ba.matchTable('forum', ''), true);
});

void test('ignore-dbs applies only when do-dbs is empty', () => {
  const ba = createBAList({ ignoreDbs: ['tmp_*', '~^bak'] }, { caseSensitive: false });
  assert.equal(ba.matchSchema('tmp_1'), false);
  assert.equal(ba.matchSchema('bak_2020'), false);
  assert.equal(ba.matchSchema('app'), true);
  assert.equal(ba.matchTable('app', 't'), true);
  const both = createBAList({ doDbs: ['tmp_1'], ignoreDbs: ['tmp_*'] }, { caseSensitive: false });
  assert.equal(both.matchTable('tmp_1', 't'), true, 'do-dbs wins, ignore-dbs not consulted');
});

void test('ignore-tables filters matching tables, others pass when do-tables is empty', () => {
  const ba = createBAList({ ignoreTables: [{ dbName: 'app', tblName: 'log_?' }, { dbName: '~^shard', tblName: '~^tmp' }] }, { caseSensitive: false });
  assert.equal(ba.matchTable('app', 'log_1'), false);
  assert.equal(ba.matchTable('app', 'log_10'), true, '? is exactly one character');
  assert.equal(ba.matchTable('shard_3', 'tmp_x'), false);
  assert.equal(ba.matchTable('shard_3', 'orders'), true);
});

void test('system schemas are never migrated', () => {
  const open = createBAList(undefined, { caseSensitive: false });
  for (const s of ['mysql', 'information_schema', 'performance_schema', 'sys', 'MySQL']) {
    assert.equal(open.matchSchema(s), false, s);
    assert.equal(open.matchTable(s, 'user'), false, s);
  }
  const explicit = createBAList({ doDbs: ['mysql'], doTables: [{ dbName: 'mysql', tblName: 'user' }] }, { caseSensitive: false });
  assert.equal(explicit.matchTable('mysql', 'user'), false);
  assert.equal(open.matchTable('app', 't'), true);
});

void test('case-insensitive by default, exact with case-sensitive', () => {
  const rule = { doDbs: ['Shop'], doTables: [{ dbName: 'Shop', tblName: 'Orders_*' }] };
  const ci = createBAList(rule, { caseSensitive: false });
  assert.equal(ci.matchTable('shop', 'orders_1'), true);
  assert.equal(ci.matchTable('SHOP', 'ORDERS_2'), true);
  const cs = createBAList(rule, { caseSensitive: true });
  assert.equal(cs.matchTable('shop', 'orders_1'), false);
  assert.equal(cs.matchTable('Shop', 'Orders_1'), true);
});

void test('wildcard character classes and regexes', () => {
  const ba = createBAList({ doTables: [{ dbName: 'db[0-2]', tblName: 't[!a]*' }, { dbName: '~^x(a|b)$', tblName: '~^t\\d+$' }] }, { caseSensitive: false });
  assert.equal(ba.matchTable('db1', 'tb'), true);
  assert.equal(ba.matchTable('db3', 'tb'), false);
  assert.equal(ba.matchTable('db1', 'ta'), false);
  assert.equal(ba.matchTable('xa', 't12'), true);
  assert.equal(ba.matchTable('xc', 't12'), false);
  assert.equal(ba.matchTable('xa', 't1x'), false);
});

void test('invalid rules are coded errors at creation', () => {
  assert.throws(() => createBAList({ doDbs: ['~(unclosed'] }, { caseSensitive: false }), (e: unknown) => e instanceof DMError && e.codeName === 'ErrFilterInvalidRule');
  assert.throws(() => createBAList({ doTables: [{ dbName: '', tblName: 't' }] }, { caseSensitive: false }), (e: unknown) => e instanceof DMError && e.codeName === 'ErrFilterInvalidRule');
});

void test('names with hyphens, dots and dollars match literally in wildcards', () => {
  const ba = createBAList({ doDbs: ['db-1', 'a.b', 'x$*'], doTables: [{ dbName: 'db-1', tblName: 't-[0-9]' }, { dbName: 'a.b', tblName: '*' }, { dbName: 'x$*', tblName: '*' }] }, { caseSensitive: false });
  assert.equal(ba.matchTable('db-1', 't-5'), true);
  assert.equal(ba.matchTable('db-1', 't-x'), false);
  assert.equal(ba.matchTable('aXb', 't'), false, 'a dot is not a regex wildcard');
  assert.equal(ba.matchTable('a.b', 't'), true);
  assert.equal(ba.matchTable('x$1', 't'), true);
});
