/**
 * binlog-schema's storage side against a real target: the tracked structures live in `table_info`
 * of the sync checkpoint row; without a checkpoint (no table, or no row) every operation is refused
 * with ErrSchemaTrackerNoCheckpoint; an update keeps the checkpoint position.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer } from '../helpers/index.js';
import { SchemaTracker } from '../../src/binlog/index.js';
import { CheckpointStore, operateTrackedSchema, SchemaStore, type SchemaOpContext } from '../../src/units/sync/index.js';

void test('schema store: no checkpoint → 44301 for list/update/delete; update and delete rewrite table_info and keep the position', async (t) => {
  const db = await MariaDBServer.start();
  t.after(() => db.stop());
  const ctx: SchemaOpContext = {
    store: new SchemaStore('dm_meta', 'task1', 'src1'),
    flavor: 'mariadb',
    target: () => db.connect(),
    source: () => db.connect(),
    route: (schema, table) => ({ schema, table }),
    extractColumns: [],
  };
  const code = async (p: Promise<unknown>): Promise<number | undefined> => {
    try {
      await p;
      return undefined;
    } catch (e) {
      return (e as { code?: number }).code;
    }
  };
  // no meta schema at all, then the checkpoint table without this source's row
  assert.equal(await code(operateTrackedSchema(ctx, { op: 'get', database: 'd', table: 't' })), 44301);
  const cp = new CheckpointStore('dm_meta', 'task1', 'src1');
  const pool = db.pool(); // closed by db.stop()
  await cp.ensureTables(pool);
  assert.equal(await code(operateTrackedSchema(ctx, { op: 'set', database: 'd', table: 't', schema: 'CREATE TABLE t (id INT PRIMARY KEY)' })), 44301);
  assert.equal(await code(operateTrackedSchema(ctx, { op: 'remove', database: 'd', table: 't' })), 44301);

  // a checkpoint whose snapshot tracks d.t
  const tr = new SchemaTracker({ flavor: 'mariadb' });
  tr.applyDDL('d', 'CREATE TABLE t (id INT PRIMARY KEY, a INT)');
  await pool.query(cp.checkpointSQL({ file: 'mysql-bin.000003', offset: 1234, gtid: '0-1-7' }, tr.exportSchemas(), true));
  assert.match(await operateTrackedSchema(ctx, { op: 'get', database: 'd', table: 't' }), /`a` int NULL/);
  assert.equal(await code(operateTrackedSchema(ctx, { op: 'get', database: 'd', table: 'u' })), 44302);
  assert.equal(await operateTrackedSchema(ctx, { op: 'set', database: 'd', table: 'u', schema: 'CREATE TABLE whatever (k VARCHAR(5) PRIMARY KEY)' }), '');
  assert.match(await operateTrackedSchema(ctx, { op: 'get', database: 'd', table: 'u' }), /^CREATE TABLE `u` \(\n {2}`k` varchar\(5\)/);
  assert.equal(await operateTrackedSchema(ctx, { op: 'remove', database: 'd', table: 't' }), '');
  assert.equal(await code(operateTrackedSchema(ctx, { op: 'get', database: 'd', table: 't' })), 44302);
  // what the sync unit loads on resume: the changed snapshot at the unchanged position
  const loaded = await cp.load(pool);
  assert.deepEqual(loaded.pos, { file: 'mysql-bin.000003', offset: 1234, gtid: '0-1-7' });
  assert.equal(loaded.cleanExit, true);
  const back = new SchemaTracker({ flavor: 'mariadb' });
  back.importSchemas(String(loaded.schemas));
  assert.deepEqual(back.list().map((x) => `${x.schema}.${x.table}`), ['d.u']);
  // a corrupt snapshot is reported as such
  await pool.query("UPDATE dm_meta.task1_syncer_checkpoint SET table_info = '{not json'");
  assert.equal(await code(operateTrackedSchema(ctx, { op: 'get', database: 'd', table: 'u' })), 44306);
});
