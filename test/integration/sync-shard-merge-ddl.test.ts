/**
 * Sync unit against real MariaDB: shards merged into one target table without shard-mode (not
 * built yet). Each shard's CREATE TABLE and ADD COLUMN / ADD INDEX reach the merged table once;
 * the same DDL from the next shard finds its effect already there and is skipped, instead of
 * pausing the task with 1050 / 1060 / 1061 (the workaround 38019 names).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer, waitFor } from '../helpers/index.js';
import { SyncUnit } from '../../src/units/sync/index.js';
import { masterPos, syncConfig } from './sync-fixture.js';

void test('shards routed into one table: the second shard\'s identical DDL is skipped, rows of both land', { timeout: 180_000 }, async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const start = await masterPos(src);
  const unit = new SyncUnit(
    syncConfig(src, dst, {
      start,
      baList: { doDbs: ['shard_*'] },
      routes: [
        { schemaPattern: 'shard_*', targetSchema: 'merged' },
        { schemaPattern: 'shard_*', tablePattern: 't', targetSchema: 'merged', targetTable: 't' },
      ],
    }),
    { heartbeatMs: 200 },
  );
  t.after(async () => {
    await unit.close();
    await Promise.all([src.stop(), dst.stop()]);
  });
  for (const n of [1, 2]) await src.sql(`CREATE DATABASE shard_${n}; CREATE TABLE shard_${n}.t (id INT PRIMARY KEY, v INT)`);
  await src.sql('INSERT INTO shard_1.t VALUES (1, 10); INSERT INTO shard_2.t VALUES (2, 20)');
  await src.sql('ALTER TABLE shard_1.t ADD COLUMN c VARCHAR(10), ADD INDEX iv (v)');
  await src.sql("INSERT INTO shard_1.t VALUES (3, 30, 'one')");
  await src.sql('INSERT INTO shard_2.t VALUES (4, 40)'); // before shard 2's DDL: c gets its default
  await src.sql('ALTER TABLE shard_2.t ADD COLUMN c VARCHAR(10), ADD INDEX iv (v)');
  await src.sql("INSERT INTO shard_2.t VALUES (5, 50, 'two')");
  const ac = new AbortController();
  await unit.init(ac.signal);
  const running = unit.process(ac.signal);
  let rows: Record<string, unknown>[] = [];
  await waitFor(
    'last row of shard 2 applied',
    async () => {
      const st = unit.status();
      if (st['error'] !== undefined) throw new Error(`sync unit stopped: ${JSON.stringify(st['error'])}`);
      rows = await dst.sql('SELECT id, v, c FROM merged.t ORDER BY id').catch(() => []);
      return rows.some((r) => r['id'] === 5);
    },
    { timeoutMs: 60_000 },
  );
  assert.deepEqual(rows, [
    { id: 1, v: 10, c: null },
    { id: 2, v: 20, c: null },
    { id: 3, v: 30, c: 'one' },
    { id: 4, v: 40, c: null },
    { id: 5, v: 50, c: 'two' },
  ]);
  const idx = await dst.sql("SELECT COUNT(DISTINCT INDEX_NAME) AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'merged' AND TABLE_NAME = 't' AND INDEX_NAME = 'iv'");
  assert.equal(Number(idx[0]?.['n']), 1);
  unit.pause();
  assert.deepEqual((await running).errors, []);
});
