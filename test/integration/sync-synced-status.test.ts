/**
 * `synced` in query-status must be true only when it is: the sync unit compares the applied
 * low-water mark with a master position read for the reply (Unit.refreshStatus), not with the one
 * its timer read up to checkpoint-flush-interval (the task default, 30 s) earlier. Real MariaDB
 * source and target; the target apply is held back by a row lock so the source is provably ahead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer, waitFor } from '../helpers/index.js';
import { createRegistry } from '../../src/metrics/index.js';
import { describeDiffs, masterPos, startSyncUnit, syncConfig, syncerSettings, waitConverged } from './sync-fixture.js';

void test('synced: false while the source is ahead (task-default 30 s timer), true once applied; filtered writes do not keep it false; a dead source makes it false quickly', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const start = await masterPos(src);
  await src.sql('CREATE DATABASE s; CREATE TABLE s.t (id INT PRIMARY KEY, v INT); INSERT INTO s.t VALUES (1, 1), (2, 2)');
  await src.sql('CREATE DATABASE other; CREATE TABLE other.x (id INT PRIMARY KEY)');
  const { unit, running } = await startSyncUnit(
    t,
    [src, dst],
    syncConfig(src, dst, {
      start,
      baList: { doDbs: ['s'] },
      syncer: syncerSettings({ workerCount: 4, batch: 50, checkpointFlushIntervalMs: 30_000, retryTimeoutMs: 60_000 }),
    }),
    { registry: createRegistry() },
  );
  const synced = async (): Promise<boolean> => {
    await unit.refreshStatus();
    return unit.status()['synced'] === true;
  };

  const diffs = await waitConverged(src, dst, ['s']);
  assert.ok(diffs.every((d) => d.equal), describeDiffs(diffs));
  await waitFor('synced after the first rows', synced, { timeoutMs: 30_000 });

  // hold the target row: the source's UPDATE cannot be applied yet
  const lockConn = await dst.connect();
  try {
    await lockConn.query('BEGIN');
    await lockConn.query('SELECT * FROM s.t WHERE id = 1 FOR UPDATE');
    await src.sql('UPDATE s.t SET v = 100 WHERE id = 1');
    // the reader has taken the event (it is blocked in the applier, not unread)
    await waitFor('event taken', async () => (unit.status()['pendingTransactions'] as number) > 0, { timeoutMs: 20_000 });
    assert.equal(await synced(), false, `synced while the source is ahead: ${JSON.stringify(unit.status())}`);
    // still false a moment later (no stale position from the unit's first read)
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(await synced(), false, 'synced while the UPDATE is still held back');
  } finally {
    await lockConn.query('COMMIT').catch(() => undefined);
    await lockConn.end();
  }
  await waitFor('synced once applied', synced, { timeoutMs: 30_000 });
  const [row] = (await dst.sql('SELECT v FROM s.t WHERE id = 1')) as { v: number }[];
  assert.equal(row?.v, 100);

  // writes the task filters out move the source's position; they must not keep `synced` false
  await src.sql('INSERT INTO other.x VALUES (1), (2), (3)');
  await waitFor('synced after filtered writes', synced, { timeoutMs: 30_000 });
  const st = unit.status();
  assert.ok(
    (st['masterPos'] as { offset: number }).offset >= (await masterPos(src)).offset,
    `master position read for the reply: ${JSON.stringify(st['masterPos'])}`,
  );

  // a source that cannot be read: refreshStatus returns within its bound and synced is false
  await src.stop(); // stopping it again at the end is a no-op
  await new Promise((r) => setTimeout(r, 1100));
  const t0 = Date.now();
  assert.equal(await synced(), false, 'synced with the source down');
  assert.ok(Date.now() - t0 < 4_000, `refreshStatus took ${Date.now() - t0} ms`);
  unit.pause();
  await running;
});
