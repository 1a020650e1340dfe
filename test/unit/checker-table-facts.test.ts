/** The checker's joins of information_schema rows (src/checker/table-facts.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { autoIncrementKeyOf, hasNotNullUniqueKey, type TableFacts } from '../../src/checker/table-facts.js';

const col = (name: string, nullable = false, autoIncrement = false) => ({ name, nullable, autoIncrement });

test('a primary key, or a unique key whose columns are all NOT NULL, identifies rows', () => {
  const pk: TableFacts = { columns: [col('id'), col('v', true)], keys: [{ name: 'PRIMARY', unique: true, columns: ['id'] }] };
  assert.equal(hasNotNullUniqueKey(pk), true);
  const nullableUk: TableFacts = { columns: [col('a'), col('b', true)], keys: [{ name: 'u', unique: true, columns: ['a', 'b'] }] };
  assert.equal(hasNotNullUniqueKey(nullableUk), false);
  const plain: TableFacts = { columns: [col('a')], keys: [{ name: 'k', unique: false, columns: ['a'] }] };
  assert.equal(hasNotNullUniqueKey(plain), false);
  // a functional key part (no column) never counts
  assert.equal(hasNotNullUniqueKey({ columns: [col('a')], keys: [{ name: 'f', unique: true, columns: [''] }] }), false);
  assert.equal(hasNotNullUniqueKey(undefined), false);
});

test('an AUTO_INCREMENT column that alone is a unique key', () => {
  const alone: TableFacts = { columns: [col('id', false, true), col('v')], keys: [{ name: 'PRIMARY', unique: true, columns: ['id'] }] };
  assert.equal(autoIncrementKeyOf(alone), 'id');
  const composite: TableFacts = { columns: [col('id', false, true), col('v')], keys: [{ name: 'PRIMARY', unique: true, columns: ['id', 'v'] }, { name: 'k', unique: false, columns: ['id'] }] };
  assert.equal(autoIncrementKeyOf(composite), undefined);
  const unique: TableFacts = { columns: [col('a'), col('seq', false, true)], keys: [{ name: 'PRIMARY', unique: true, columns: ['a'] }, { name: 'u', unique: true, columns: ['seq'] }] };
  assert.equal(autoIncrementKeyOf(unique), 'seq');
});
