/**
 * Sync unit against real MariaDB: DM's `expression-filter` (rows whose expression is TRUE are not
 * replicated, evaluated with the table's structure at the event's position), and conflicts with
 * rows only the target has: outside safe mode an INSERT of such a key pauses with a coded error at
 * the exact upstream transaction (merged groups are not turned into upserts); safe mode overwrites.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer, waitFor } from '../helpers/index.js';
import { SyncUnit } from '../../src/units/sync/index.js';
import { DMError } from '../../src/errors/index.js';
import { masterPos, syncConfig, syncerSettings, waitConverged, describeDiffs } from './sync-fixture.js';

void test('expression-filter: insert, update (old AND new, new only) and delete expressions skip rows; a column the table lacks at that position matches nothing', { timeout: 180_000 }, async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const start = await masterPos(src);
  const unit = new SyncUnit(
    syncConfig(src, dst, {
      start,
      expressionFilters: [
        { schema: 'ef', table: 't', insertValueExpr: 'c % 2 = 0' },
        { schema: 'ef', table: 't', insertValueExpr: 'z > 10' },
        { schema: 'ef', table: 't', updateOldValueExpr: 'c = 1', updateNewValueExpr: 'c = 100' },
        { schema: 'ef', table: 't', updateNewValueExpr: "s = 'frozen'" },
        { schema: 'ef', table: 't', deleteValueExpr: "s LIKE 'keep%'" },
      ],
    }),
    { heartbeatMs: 200 },
  );
  t.after(async () => {
    await unit.close();
    await Promise.all([src.stop(), dst.stop()]);
  });
  await src.sql('CREATE DATABASE ef; CREATE TABLE ef.t (id INT PRIMARY KEY, c INT, s VARCHAR(20)); CREATE TABLE ef.u (id INT PRIMARY KEY, c INT)');
  await src.sql("INSERT INTO ef.t VALUES (1,1,'a'),(2,2,'b'),(3,3,'keep-3'),(4,4,'d'),(5,5,'e'),(6,7,'keep-6'); INSERT INTO ef.u VALUES (2,2)");
  await src.sql('UPDATE ef.t SET c = 100 WHERE id = 1'); // old c=1 AND new c=100: skipped
  await src.sql('UPDATE ef.t SET c = 1 WHERE id = 3; UPDATE ef.t SET c = 100 WHERE id = 3'); // first kept (new is not 100), second skipped (old c=1, new 100)
  await src.sql('UPDATE ef.t SET c = 9 WHERE id = 5'); // kept
  await src.sql("UPDATE ef.t SET s = 'frozen' WHERE id = 6"); // new-only rule: skipped as a whole
  await src.sql('DELETE FROM ef.t WHERE id IN (5, 6)'); // both deleted: the delete rule sees the upstream image, where 6 is 'frozen'
  await src.sql("DELETE FROM ef.t WHERE id = 3"); // s = 'keep-3': skipped
  // `z` exists only from here on: before, the `z > 10` rule matched nothing (no error)
  await src.sql('ALTER TABLE ef.t ADD COLUMN z INT');
  await src.sql("INSERT INTO ef.t VALUES (7,7,'x',20),(9,9,'y',1),(10,11,'w',NULL)");
  const ac = new AbortController();
  await unit.init(ac.signal);
  const running = unit.process(ac.signal);
  let rows: Record<string, unknown>[] = [];
  await waitFor(
    'last insert applied',
    async () => {
      rows = await dst.sql('SELECT id, c, s, z FROM ef.t ORDER BY id').catch(() => []);
      return rows.some((r) => r['id'] === 9);
    },
    { timeoutMs: 60_000 },
  );
  assert.deepEqual(rows, [
    { id: 1, c: 1, s: 'a', z: null },
    { id: 3, c: 1, s: 'keep-3', z: null },
    { id: 9, c: 9, s: 'y', z: 1 },
    { id: 10, c: 11, s: 'w', z: null },
  ]);
  const u = await dst.sql('SELECT id, c FROM ef.u');
  assert.deepEqual(u, [{ id: 2, c: 2 }], 'a table without rules is not filtered');
  unit.pause();
  assert.deepEqual((await running).errors, []);
});

void test('expression-filter: an unsupported expression is refused when the sync unit is created', () => {
  const cfg = {
    taskName: 'x',
    sourceId: 's',
    source: { host: '127.0.0.1', port: 1, user: 'u', password: '', flavor: 'mariadb' as const, serverId: 1 },
    target: { host: '127.0.0.1', port: 1, user: 'u', password: '' },
    metaSchema: 'dm_meta',
    syncer: syncerSettings(),
    expressionFilters: [{ schema: 'a', table: 'b', insertValueExpr: 'SLEEP(c) > 1' }],
  };
  assert.throws(() => new SyncUnit(cfg), (e: unknown) => e instanceof DMError && e.code === 10106);
});

void test('outside safe mode an INSERT of a key only the target has pauses with 36701 at that upstream transaction; safe mode then overwrites', { timeout: 180_000 }, async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  await src.sql('CREATE DATABASE cf; CREATE TABLE cf.t (id INT PRIMARY KEY, v INT)');
  await dst.sql('CREATE DATABASE cf; CREATE TABLE cf.t (id INT PRIMARY KEY, v INT); INSERT INTO cf.t VALUES (5, 500)');
  const start = await masterPos(src);
  // many small transactions: they are merged into one target transaction (batch 50)
  for (let i = 1; i <= 4; i++) await src.sql(`INSERT INTO cf.t VALUES (${i}, ${i})`);
  await src.sql('INSERT INTO cf.t VALUES (5, 5)');
  const failing = await masterPos(src);
  await src.sql('INSERT INTO cf.t VALUES (6, 6); UPDATE cf.t SET v = 60 WHERE id = 6');
  const cfg = syncConfig(src, dst, { start, syncer: syncerSettings({ workerCount: 1, batch: 50, checkpointFlushIntervalMs: 200, retryTimeoutMs: 60_000, safeModeDurationSec: 600 }) });
  const first = new SyncUnit(cfg, { heartbeatMs: 200 });
  const second = new SyncUnit({ ...cfg, syncer: syncerSettings({ ...cfg.syncer, safeMode: true }) }, { heartbeatMs: 200 });
  t.after(async () => {
    await first.close();
    await second.close();
    await Promise.all([src.stop(), dst.stop()]);
  });
  const ac = new AbortController();
  await first.init(ac.signal);
  const res = await first.process(ac.signal);
  assert.equal(res.isCanceled, false);
  const err = res.errors[0];
  assert.equal(err?.code, 36701, JSON.stringify(res.errors));
  assert.equal(err?.retryable, false);
  assert.match(err?.message ?? '', new RegExp(`ending at ${failing.file}:${failing.offset}\\b`), 'names the failing upstream transaction');
  assert.match(err?.workaround ?? '', /safe-mode/);
  assert.equal(first.status()['failedEventPos'], `${failing.file}:${failing.offset}`);
  // everything before the failing transaction is in the target; the target-only row is untouched
  assert.deepEqual(await dst.sql('SELECT id, v FROM cf.t ORDER BY id'), [
    { id: 1, v: 1 },
    { id: 2, v: 2 },
    { id: 3, v: 3 },
    { id: 4, v: 4 },
    { id: 5, v: 500 },
  ]);
  // a resume after the error is not an unclean exit: no automatic safe mode, the same error again
  const again = await first.resume(ac.signal);
  assert.equal(again.errors[0]?.code, 36701, JSON.stringify(again.errors));
  assert.deepEqual(await dst.sql('SELECT v FROM cf.t WHERE id = 5'), [{ v: 500 }]);
  await first.close();

  // safe mode: writes are idempotent, the source's row wins
  await second.init(ac.signal);
  const running = second.process(ac.signal);
  const diffs = await waitConverged(src, dst, ['cf']);
  assert.ok(diffs.length === 1 && diffs.every((d) => d.equal), describeDiffs(diffs));
  second.pause();
  assert.deepEqual((await running).errors, []);
});
