import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRouter } from '../../src/filter/index.js';
import { DMError } from '../../src/errors/index.js';

const opts = { caseSensitive: false, sourceId: 'mysql-replica-01' };

void test('DM docs: merge sharded schemas and tables into test.t', () => {
  const r = createRouter([{ schemaPattern: 'test_*', tablePattern: 't_*', targetSchema: 'test', targetTable: 't' }], opts);
  assert.deepEqual(r.route('test_1', 't_2'), { schema: 'test', table: 't', extracted: [] });
  assert.deepEqual(r.route('test_2', 't_1'), { schema: 'test', table: 't', extracted: [] });
  // not matched: unchanged
  assert.deepEqual(r.route('test_1', 'other'), { schema: 'test_1', table: 'other', extracted: [] });
  assert.deepEqual(r.route('prod', 't_1'), { schema: 'prod', table: 't_1', extracted: [] });
});

void test('DM docs: merge sharded schemas only keeps table names', () => {
  const r = createRouter([{ schemaPattern: 'test_*', targetSchema: 'test' }], opts);
  assert.deepEqual(r.route('test_1', 't_2'), { schema: 'test', table: 't_2', extracted: [] });
  assert.deepEqual(r.route('test_1', ''), { schema: 'test', table: '', extracted: [] });
});

void test('DM docs: table-level rule wins over schema-level rule', () => {
  const r = createRouter(
    [
      { schemaPattern: 'test_*', tablePattern: 't_*', targetSchema: 'test', targetTable: 't' },
      { schemaPattern: 'test_*', targetSchema: 'test' },
    ],
    opts,
  );
  assert.deepEqual(r.route('test_1', 't_1'), { schema: 'test', table: 't', extracted: [] });
  assert.deepEqual(r.route('test_1', 'users'), { schema: 'test', table: 'users', extracted: [] });
  // a schema-level statement (CREATE DATABASE test_1) sees only the schema rule
  assert.deepEqual(r.route('test_1', ''), { schema: 'test', table: '', extracted: [] });
});

void test('DM docs: extract-table / extract-schema / extract-source columns', () => {
  const r = createRouter(
    [
      {
        schemaPattern: 'test_*',
        tablePattern: 't_*',
        targetSchema: 'test',
        targetTable: 't',
        extractTable: { tableRegexp: 't_(.*)', targetColumn: 'c_table' },
        extractSchema: { schemaRegexp: 'test_(.*)', targetColumn: 'c_schema' },
        extractSource: { sourceRegexp: '(.*)', targetColumn: 'c_source' },
      },
    ],
    opts,
  );
  assert.deepEqual(r.route('test_1', 't_1'), {
    schema: 'test',
    table: 't',
    extracted: [
      { column: 'c_table', value: '1' },
      { column: 'c_schema', value: '1' },
      { column: 'c_source', value: 'mysql-replica-01' },
    ],
  });
  assert.deepEqual(r.extractColumns, ['c_table', 'c_schema', 'c_source']);
});

void test('extract without a group gives the whole name; no match gives empty; several groups concatenate', () => {
  const r = createRouter(
    [
      {
        schemaPattern: 'shard_*',
        tablePattern: '*',
        targetSchema: 'all',
        targetTable: 'merged',
        extractTable: { tableRegexp: 'orders', targetColumn: 'tbl' },
        extractSchema: { schemaRegexp: 'shard_(\\d)_(\\w)', targetColumn: 'sch' },
      },
    ],
    opts,
  );
  assert.deepEqual(r.route('shard_1_a', 'orders').extracted, [
    { column: 'tbl', value: 'orders' },
    { column: 'sch', value: '1a' },
  ]);
  assert.deepEqual(r.route('shard_x', 'items').extracted, [
    { column: 'tbl', value: '' },
    { column: 'sch', value: '' },
  ]);
});

void test('regex patterns with ~ and case-insensitive matching keep source case when not routed', () => {
  const r = createRouter([{ schemaPattern: '~^Shop_\\d+$', tablePattern: '~^orders$', targetSchema: 'shop', targetTable: 'orders' }], opts);
  assert.deepEqual(r.route('SHOP_12', 'Orders'), { schema: 'shop', table: 'orders', extracted: [] });
  assert.deepEqual(r.route('Shop_x', 'Orders'), { schema: 'Shop_x', table: 'Orders', extracted: [] });
  const cs = createRouter([{ schemaPattern: 'Shop_*', targetSchema: 'shop' }], { ...opts, caseSensitive: true });
  assert.equal(cs.route('shop_1', 't').schema, 'shop_1');
  assert.equal(cs.route('Shop_1', 't').schema, 'shop');
});

void test('same patterns twice is a conflict at creation', () => {
  assert.throws(
    () =>
      createRouter(
        [
          { schemaPattern: 'test_*', tablePattern: 't_*', targetSchema: 'a', targetTable: 't' },
          { schemaPattern: 'TEST_*', tablePattern: 'T_*', targetSchema: 'b', targetTable: 't' },
        ],
        opts,
      ),
    (e: unknown) => e instanceof DMError && e.codeName === 'ErrRouteConflict',
  );
});

void test('a table matching two rules of the same level is ErrRouteAmbiguous', () => {
  const r = createRouter(
    [
      { schemaPattern: 'test_*', targetSchema: 'a' },
      { schemaPattern: 'test_1*', targetSchema: 'b' },
    ],
    opts,
  );
  assert.throws(() => r.route('test_1', 't'), (e: unknown) => e instanceof DMError && e.codeName === 'ErrRouteAmbiguous');
  assert.equal(r.route('test_2', 't').schema, 'a');
});

void test('invalid rules: empty schema-pattern, target-table without table-pattern, bad regexp', () => {
  const bad = (rules: Parameters<typeof createRouter>[0]): void =>
    assert.throws(() => createRouter(rules, opts), (e: unknown) => e instanceof DMError && e.codeName === 'ErrFilterInvalidRule');
  bad([{ schemaPattern: '', targetSchema: 'x' }]);
  bad([{ schemaPattern: 'a', targetSchema: 'x', targetTable: 't' }]);
  bad([{ schemaPattern: 'a', tablePattern: 't', targetSchema: 'x', extractTable: { tableRegexp: '(', targetColumn: 'c' } }]);
});
