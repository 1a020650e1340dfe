import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildInsert, buildUpdate, buildDelete, buildMultiDelete, buildSafeUpdate, rowKey, quoteTable, type DMLTable } from '../../src/sql/index.js';
import { DMError } from '../../src/errors/index.js';

const t: DMLTable = {
  schema: 'db',
  table: 'my`t',
  columns: [{ name: 'id' }, { name: 'v' }, { name: 'g', generated: true }, { name: 'b' }],
  keyColumns: ['id'],
};

void test('INSERT variants: multi-row, generated columns skipped, values escaped by mysql2', () => {
  const rows = [
    [1, "it's", 99, Buffer.from([0, 255])],
    ['18446744073709551615', null, 99, Buffer.alloc(0)],
  ];
  assert.equal(buildInsert(t, rows), "INSERT INTO `db`.`my``t` (`id`, `v`, `b`) VALUES (1, 'it\\'s', X'00ff'),('18446744073709551615', NULL, X'')");
  assert.match(buildInsert(t, rows, 'ignore'), /^INSERT IGNORE INTO /);
  assert.match(buildInsert(t, rows, 'replace'), /^REPLACE INTO /);
  assert.match(buildInsert(t, rows.slice(0, 1), 'upsert'), / ON DUPLICATE KEY UPDATE `id` = VALUES\(`id`\), `v` = VALUES\(`v`\), `b` = VALUES\(`b`\)$/);
  assert.equal(buildInsert(t, [[1, '', 0, { a: [1] }]]), "INSERT INTO `db`.`my``t` (`id`, `v`, `b`) VALUES (1, '', '{\\\"a\\\":[1]}')");
});

void test('UPDATE / DELETE by key; keyless tables match all columns with IS NULL and LIMIT 1', () => {
  assert.equal(buildUpdate(t, [1, 'a', 0, null], [2, 'b', 0, null]), "UPDATE `db`.`my``t` SET `id` = 2, `v` = 'b', `b` = NULL WHERE `id` = 1");
  assert.equal(buildDelete(t, [1, 'a', 0, null]), 'DELETE FROM `db`.`my``t` WHERE `id` = 1');
  const nk: DMLTable = { ...t, keyColumns: [] };
  assert.equal(buildDelete(nk, [1, null, 5, 'x']), "DELETE FROM `db`.`my``t` WHERE `id` = 1 AND `v` IS NULL AND `b` = 'x' LIMIT 1");
  assert.equal(buildMultiDelete(nk, [[1, null, 0, 'x'], [2, 'y', 0, null]]).length, 2);
});

void test('multi-row DELETE by single and composite keys', () => {
  assert.deepEqual(buildMultiDelete(t, [[1, 'a', 0, null], [2, 'b', 0, null]]), ['DELETE FROM `db`.`my``t` WHERE `id` IN (1,2)']);
  const ck: DMLTable = { schema: 's', table: 'c', columns: [{ name: 'k1' }, { name: 'k2' }, { name: 'v' }], keyColumns: ['k1', 'k2'] };
  assert.deepEqual(buildMultiDelete(ck, [['a', 1, 'x'], ["b'", 2, 'y']]), ["DELETE FROM `s`.`c` WHERE (`k1`, `k2`) IN (('a', 1),('b\\'', 2))"]);
});

void test('safe mode UPDATE is DELETE + REPLACE; extract columns are written and matched', () => {
  assert.deepEqual(buildSafeUpdate(t, [1, 'a', 0, null], [1, 'b', 0, null]), [
    'DELETE FROM `db`.`my``t` WHERE `id` = 1',
    "REPLACE INTO `db`.`my``t` (`id`, `v`, `b`) VALUES (1, 'b', NULL)",
  ]);
  const routed: DMLTable = { ...t, schema: 'merged', table: 't', extra: [{ column: 'c_table', value: 't_1' }] };
  assert.equal(buildInsert(routed, [[1, 'a', 0, null]]), "INSERT INTO `merged`.`t` (`id`, `v`, `b`, `c_table`) VALUES (1, 'a', NULL, 't_1')");
  assert.equal(buildDelete(routed, [1, 'a', 0, null]), "DELETE FROM `merged`.`t` WHERE `id` = 1 AND `c_table` = 't_1'");
});

void test('row keys fold case and trailing spaces; bad rows are coded errors', () => {
  assert.equal(rowKey(t, ['Ab ', 'x', 0, null]), rowKey(t, ['ab', 'y', 1, null]));
  assert.notEqual(rowKey(t, [1, 'x', 0, null]), rowKey(t, [2, 'x', 0, null]));
  assert.equal(rowKey({ ...t, keyColumns: [] }, [1, 'x', 0, null]), undefined);
  assert.throws(() => buildInsert(t, [[1, 2]]), (e: unknown) => e instanceof DMError && e.codeName === 'ErrSQLBuildStatement');
  assert.throws(() => buildDelete({ ...t, keyColumns: ['nope'] }, [1, 2, 3, 4]), (e: unknown) => e instanceof DMError && e.codeName === 'ErrSQLBuildStatement');
  assert.equal(quoteTable('a.b', 'c'), '`a.b`.`c`');
});

void test('identifiers containing ? and backticks are not taken for placeholders', () => {
  const q: DMLTable = { schema: 'd', table: 't?', columns: [{ name: 'a?' }, { name: 'b`' }], keyColumns: ['a?'] };
  assert.equal(buildUpdate(q, ['?', 1], ['x', 2]), "UPDATE `d`.`t?` SET `a?` = 'x', `b``` = 2 WHERE `a?` = '?'");
  assert.equal(buildDelete({ ...q, keyColumns: [] }, ['?', null]), "DELETE FROM `d`.`t?` WHERE `a?` = '?' AND `b``` IS NULL LIMIT 1");
  assert.deepEqual(buildMultiDelete(q, [['?', 1]]), ["DELETE FROM `d`.`t?` WHERE `a?` IN ('?')"]);
});
