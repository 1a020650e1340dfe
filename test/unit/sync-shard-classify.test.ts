/**
 * What a QUERY event means for shard coordination (src/units/sync/shard-group.ts): which DDL is
 * coordinated, routed as it will run on the merged table; which joins or leaves a sharding group;
 * which is refused or not applied; and the SourceTables shape.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { QueryEvent } from '../../src/binlog/events.js';
import { buildFilters } from '../../src/units/sync/filters.js';
import { classifyShardDDL, normalizeForCompare, tablesByTarget } from '../../src/units/sync/shard-group.js';

const filters = buildFilters({
  baList: { doDbs: ['shard_*', 'plain'], ignoreTables: [{ dbName: 'shard_1', tblName: 'skip_me' }] },
  routes: [
    { schemaPattern: 'shard_*', targetSchema: 'merged' },
    { schemaPattern: 'shard_*', tablePattern: 't*', targetSchema: 'merged', targetTable: 't' },
  ],
  filters: [{ schemaPattern: 'shard_*', tablePattern: 'filtered', events: ['alter table'], action: 'Ignore' }],
  metaSchema: 'dm_meta',
  sourceId: 's1',
});

const ev = (sql: string, schema = 'shard_1'): QueryEvent => ({ kind: 'query', sql, schema, pos: { file: 'mysql-bin.000001', offset: 100, gtid: '' }, timestamp: 1 }) as unknown as QueryEvent;

void test('ALTER / CREATE INDEX / DROP INDEX of a shard table are coordinated, routed', () => {
  assert.deepEqual(classifyShardDDL(ev('ALTER TABLE t1 ADD COLUMN c INT'), filters), {
    kind: 'alter',
    up: { schema: 'shard_1', table: 't1' },
    down: { schema: 'merged', table: 't' },
    ddls: ['ALTER TABLE `merged`.`t` ADD COLUMN c INT'],
  });
  const ci = classifyShardDDL(ev('CREATE INDEX iv ON shard_2.t2 (v)'), filters);
  assert.equal(ci.kind, 'alter');
  assert.deepEqual(ci.kind === 'alter' ? ci.ddls : [], ['CREATE INDEX iv ON `merged`.`t` (v)']);
  assert.equal(classifyShardDDL(ev('DROP INDEX iv ON t1'), filters).kind, 'alter');
});

void test('group membership changes, not-applied and refused statements', () => {
  assert.deepEqual(classifyShardDDL(ev('CREATE TABLE t9 (id INT PRIMARY KEY)'), filters), { kind: 'create', tables: [{ schema: 'shard_1', table: 't9' }] });
  assert.deepEqual(classifyShardDDL(ev('DROP TABLE t1, plain.x'), filters), { kind: 'drop', tables: [{ schema: 'shard_1', table: 't1' }] });
  // a table routed to itself is not a shard of a merged table: dropped / truncated as usual
  assert.equal(classifyShardDDL(ev('DROP TABLE plain.x'), filters).kind, 'other');
  assert.equal(classifyShardDDL(ev('TRUNCATE TABLE plain.x'), filters).kind, 'other');
  assert.equal(classifyShardDDL(ev('DROP DATABASE plain'), filters).kind, 'other');
  assert.deepEqual(classifyShardDDL(ev('TRUNCATE TABLE t1'), filters), { kind: 'truncate', table: { schema: 'shard_1', table: 't1' } });
  assert.deepEqual(classifyShardDDL(ev('DROP DATABASE shard_3'), filters), { kind: 'drop database', schema: 'shard_3' });
  assert.deepEqual(classifyShardDDL(ev('RENAME TABLE t1 TO t1_old'), filters), { kind: 'rename', table: { schema: 'shard_1', table: 't1' } });
  assert.deepEqual(classifyShardDDL(ev('ALTER TABLE t1 RENAME TO t1_new'), filters), { kind: 'rename', table: { schema: 'shard_1', table: 't1' } });
});

void test('what is not a shard DDL goes the ordinary way', () => {
  // a table the block-allow list leaves out, an event filter's Ignore, database DDL, DML, temporary tables
  assert.equal(classifyShardDDL(ev('ALTER TABLE skip_me ADD COLUMN c INT'), filters).kind, 'other');
  assert.equal(classifyShardDDL(ev('ALTER TABLE filtered ADD COLUMN c INT'), filters).kind, 'other');
  assert.equal(classifyShardDDL(ev('CREATE DATABASE shard_9'), filters).kind, 'other');
  assert.equal(classifyShardDDL(ev('ALTER TABLE other.t ADD COLUMN c INT'), filters).kind, 'other');
  assert.equal(classifyShardDDL(ev('CREATE TEMPORARY TABLE tmp (id INT)'), filters).kind, 'other');
  assert.equal(classifyShardDDL(ev('INSERT INTO t1 VALUES (1)'), filters).kind, 'other');
});

void test('DDLs compare across shards with whitespace collapsed; SourceTables by target table', () => {
  assert.equal(normalizeForCompare('ALTER TABLE `merged`.`t`\n  ADD COLUMN c   INT;'), 'ALTER TABLE `merged`.`t` ADD COLUMN c INT');
  assert.deepEqual(
    tablesByTarget([{ schema: 'shard_1', table: 't1' }, { schema: 'shard_1', table: 't2' }, { schema: 'shard_2', table: 't1' }, { schema: 'plain', table: 'x' }], filters),
    { merged: { t: { shard_1: ['t1', 't2'], shard_2: ['t1'] } }, plain: { x: { plain: ['x'] } } },
  );
});
