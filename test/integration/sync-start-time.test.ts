/**
 * Sync unit started from a time (`start: { time }`, dmctl `--start-time`): the target gets exactly
 * the upstream transactions committed at or after that time, none before. Then a crash-style
 * restart (no clean exit) turns automatic safe mode on, a clean pause/resume does not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MariaDBServer } from '../helpers/index.js';
import { SyncUnit } from '../../src/units/sync/index.js';
import { syncConfig, syncerSettings, waitConverged } from './sync-fixture.js';

const rowsOf = async (s: MariaDBServer): Promise<string[]> =>
  (await s.sql('SELECT id, v FROM st.t ORDER BY id')).map((r) => `${String(r['id'])}=${String(r['v'])}`);

void test('start from a time: exactly the transactions from that time on are applied', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const box: { unit?: SyncUnit } = {};
  t.after(async () => {
    await box.unit?.close();
    await Promise.all([src.stop(), dst.stop()]);
  });
  // the table exists on both sides (as after a full phase); only its later changes are replicated
  for (const s of [src, dst]) {
    await s.sql('CREATE DATABASE st');
    await s.sql('CREATE TABLE st.t (id INT PRIMARY KEY, v VARCHAR(20))');
  }
  // before the start time: these must NOT reach the target
  await src.sql("INSERT INTO st.t VALUES (1, 'before')");
  await src.sql("BEGIN; INSERT INTO st.t VALUES (2, 'before'); INSERT INTO st.t VALUES (3, 'before'); COMMIT");
  // binlog timestamps have one-second resolution: start at the next whole second after them
  await sleep(1100);
  const startAt = new Date(Math.ceil(Date.now() / 1000) * 1000);
  await sleep(startAt.getTime() - Date.now() + 150);
  // at or after the start time: exactly these must be applied (row 4 inserted, updated, row 5 deleted)
  await src.sql("INSERT INTO st.t VALUES (4, 'after')");
  await src.sql("BEGIN; INSERT INTO st.t VALUES (5, 'after'); UPDATE st.t SET v = 'after2' WHERE id = 4; COMMIT");
  await src.sql("INSERT INTO st.t VALUES (6, 'after')");
  await src.sql('DELETE FROM st.t WHERE id = 5');

  const unit = new SyncUnit(syncConfig(src, dst, { start: { time: startAt } }), { heartbeatMs: 200 });
  box.unit = unit;
  const ac = new AbortController();
  await unit.init(ac.signal);
  const running = unit.process(ac.signal);
  const want = ['4=after2', '6=after'];
  let got: string[] = [];
  for (let i = 0; i < 100; i++) {
    got = await rowsOf(dst);
    if (got.join() === want.join()) break;
    await sleep(100);
  }
  assert.deepEqual(got, want, 'only the transactions at or after the start time');
  // and it keeps following: a later change arrives too
  await src.sql("INSERT INTO st.t VALUES (7, 'later')");
  for (let i = 0; i < 100 && (got = await rowsOf(dst)).length < 3; i++) await sleep(100);
  assert.deepEqual(got, [...want, '7=later']);
  unit.pause();
  const r = await running;
  assert.equal(r.isCanceled, true, JSON.stringify(r.errors));
});

void test('safe-mode-duration: automatic safe mode after an unclean exit only; rows stay exact', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const units: SyncUnit[] = [];
  t.after(async () => {
    for (const u of units) await u.close();
    await Promise.all([src.stop(), dst.stop()]);
  });
  await src.sql('CREATE DATABASE st');
  const start = (await src.sql('SHOW MASTER STATUS'))[0] as { File: string; Position: number | string };
  // a second unique key: rows are applied statement by statement, so safe mode shows as REPLACE
  await src.sql('CREATE TABLE st.t (id INT PRIMARY KEY, v VARCHAR(20) UNIQUE)');
  await src.sql("INSERT INTO st.t VALUES (1, 'a'), (2, 'b')");
  const cfg = syncConfig(src, dst, { start: { file: start.File, offset: Number(start.Position) }, syncer: syncerSettings({ workerCount: 2, batch: 10, checkpointFlushIntervalMs: 100, safeModeDurationSec: 30 }) });
  const replaces = async (): Promise<number> => Number((await dst.sql("SHOW GLOBAL STATUS LIKE 'Com_replace'"))[0]?.['Value'] ?? 0);

  // first run, ended cleanly (pause): the next start is not in safe mode
  const u1 = new SyncUnit(cfg, { heartbeatMs: 100 });
  units.push(u1);
  const ac = new AbortController();
  await u1.init(ac.signal);
  const r1 = u1.process(ac.signal);
  assert.ok((await waitConverged(src, dst, ['st'])).every((d) => d.equal));
  u1.pause();
  await r1;
  const u2 = new SyncUnit(cfg, { heartbeatMs: 100 });
  units.push(u2);
  await u2.init(ac.signal);
  const r2 = u2.process(ac.signal);
  const before = await replaces();
  await src.sql("INSERT INTO st.t VALUES (3, 'c')");
  assert.ok((await waitConverged(src, dst, ['st'])).every((d) => d.equal));
  assert.equal(await replaces(), before, 'no safe mode after a clean exit');

  // a crash leaves the checkpoint row marked "run in progress" (clean_exit = 0); do the same here
  u2.pause();
  await r2;
  await dst.sql('UPDATE dm_meta.test_syncer_checkpoint SET clean_exit = 0');
  const u3 = new SyncUnit(cfg, { heartbeatMs: 100 });
  units.push(u3);
  await u3.init(ac.signal);
  const r3 = u3.process(ac.signal);
  await src.sql("INSERT INTO st.t VALUES (4, 'd')");
  assert.ok((await waitConverged(src, dst, ['st'])).every((d) => d.equal));
  assert.ok((await replaces()) > before, 'safe mode (REPLACE) right after an unclean exit');
  u3.pause();
  await r3;
  assert.deepEqual(await rowsOf(dst), ['1=a', '2=b', '3=c', '4=d']);
});
