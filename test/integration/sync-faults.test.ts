/**
 * Sync unit under faults (real MariaDB): readers of the target never see half an upstream
 * transaction; the upstream restarts mid-stream; the target is down for ~20 s.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { MariaDBServer } from '../helpers/index.js';
import { assertRunningThenPause, describeDiffs, masterPos, startSyncUnit, syncConfig, syncerSettings, waitConverged } from './sync-fixture.js';

const ACCOUNTS = 40;
const TOTAL = ACCOUNTS * 1000 * 2;

async function setupBank(src: MariaDBServer): Promise<void> {
  await src.sql(`CREATE DATABASE bank;
    CREATE TABLE bank.a1 (id INT PRIMARY KEY, bal INT NOT NULL);
    CREATE TABLE bank.a2 (id INT PRIMARY KEY, bal INT NOT NULL);
    INSERT INTO bank.a1 VALUES ${Array.from({ length: ACCOUNTS }, (_, i) => `(${i}, 1000)`).join(',')};
    INSERT INTO bank.a2 VALUES ${Array.from({ length: ACCOUNTS }, (_, i) => `(${i}, 1000)`).join(',')}`);
}

/** Multi-row transfers, within and across tables; each keeps the grand total constant. */
function transfers(src: MariaDBServer, until: () => boolean): Promise<number> {
  const pool = src.pool();
  return (async () => {
    let n = 0;
    let i = 0;
    while (!until()) {
      i++;
      const a = i % ACCOUNTS;
      const b = (i * 7 + 3) % ACCOUNTS;
      const c = (i * 13 + 5) % ACCOUNTS;
      const x = 1 + (i % 17);
      try {
        await pool.query(
          `BEGIN; UPDATE bank.a1 SET bal = bal - ${2 * x} WHERE id = ${a}; UPDATE bank.a2 SET bal = bal + ${x} WHERE id = ${b};` +
            ` UPDATE bank.a1 SET bal = bal + ${x} WHERE id = ${c}; COMMIT`,
        );
        n++;
      } catch {
        await sleep(100); // upstream restarting
      }
      if (i % 5 === 0) await sleep(1);
    }
    return n;
  })();
}

void test('a watcher polling the target never sees half of a multi-row upstream transaction', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const start = await masterPos(src);
  await setupBank(src);
  const { unit, running } = await startSyncUnit(t, [src, dst], syncConfig(src, dst, { start, syncer: syncerSettings({ workerCount: 8, batch: 20, checkpointFlushIntervalMs: 200 }) }));
  let stop = false;
  const writer = transfers(src, () => stop);
  const watcher = await mysql.createConnection(dst.connOpts());
  const seen = new Set<number>();
  let polls = 0;
  try {
    const until = Date.now() + 8000;
    while (Date.now() < until) {
      try {
        const [rows] = await watcher.query('SELECT (SELECT SUM(bal) FROM bank.a1) + (SELECT SUM(bal) FROM bank.a2) AS s');
        const s = (rows as { s: string | null }[])[0]?.s;
        if (s !== null && s !== undefined) {
          seen.add(Number(s));
          polls++;
        }
      } catch {
        /* tables not created yet */
      }
    }
  } finally {
    stop = true;
    await watcher.end();
  }
  const n = await writer;
  const diffs = await waitConverged(src, dst, ['bank']);
  assert.ok(diffs.every((d) => d.equal), describeDiffs(diffs));
  t.diagnostic(`${n} transfers, ${polls} polls`);
  assert.ok(polls > 50, `watcher polled only ${polls} times`);
  assert.deepEqual([...seen], [TOTAL], 'every observed total equals the constant total');
  unit.pause();
  assert.equal((await running).isCanceled, true);
});

void test('upstream restart mid-stream, then target down for ~20 s: retried, converges, no error', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const start = await masterPos(src);
  await setupBank(src);
  await src.sql('CREATE TABLE bank.log (a INT, b VARCHAR(10))'); // keyless
  const { unit, running } = await startSyncUnit(t, [src, dst], syncConfig(src, dst, { start, syncer: syncerSettings({ workerCount: 4, batch: 50, retryTimeoutMs: 90_000 }) }));
  let stop = false;
  const writer = transfers(src, () => stop);
  const logWriter = (async () => {
    let i = 0;
    while (!stop) {
      await src.sql(`INSERT INTO bank.log VALUES (${i++}, 'x'), (${i}, 'x')`).catch(() => sleep(100));
      await sleep(5);
    }
  })();
  try {
    await sleep(1500);
    await src.restart(); // graceful upstream restart: the reader reconnects from its last position
    await sleep(1500);
    await dst.kill(); // target gone
    await sleep(20_000);
    await dst.restart();
    await sleep(1000);
  } finally {
    stop = true;
    await Promise.all([writer, logWriter]);
  }
  const diffs = await waitConverged(src, dst, ['bank'], 90_000);
  assert.ok(diffs.length === 3 && diffs.every((d) => d.equal), describeDiffs(diffs));
  await assertRunningThenPause(unit, running);
});
