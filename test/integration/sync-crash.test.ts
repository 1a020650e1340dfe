/**
 * Exactly-once under crashes: a random workload (inserts, updates incl. primary-key changes,
 * deletes, multi-statement transactions, DDL) on tables with a PK, with a PK + unique key, and
 * without any key, while the sync unit runs in a child process killed -9 at random points in
 * 12 rounds and restarted from its checkpoint; then every table is compared row by row.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { MariaDBServer, trackChild } from '../helpers/index.js';
import { masterPos, syncConfig, syncerSettings, waitConverged, describeDiffs } from './sync-fixture.js';

const ROUNDS = 12;

function spawnRunner(cfgJson: string): ChildProcess {
  const c = spawn(process.execPath, ['--import', 'tsx', 'test/integration/sync-runner.ts', cfgJson], { stdio: ['ignore', 'pipe', 'inherit'] });
  trackChild(c);
  return c;
}

async function kill9(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const ex = once(c, 'exit');
  c.kill('SIGKILL');
  await ex;
}

/** Deterministic PRNG so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function started(c: ChildProcess): Promise<void> {
  let buf = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      buf += d.toString();
      if (buf.includes('started')) {
        c.stdout?.off('data', onData);
        resolve();
      }
    };
    c.stdout?.on('data', onData);
    c.once('exit', () => reject(new Error(`runner exited before starting: ${buf}`)));
  });
}

async function checkpointOf(dst: MariaDBServer): Promise<string> {
  const rows = await dst.sql('SELECT binlog_name, binlog_pos FROM dm_meta.test_syncer_checkpoint').catch(() => []);
  return JSON.stringify(rows);
}

void test(`random workload, sync process killed -9 in ${ROUNDS} rounds: no loss, no duplicate`, async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const children: ChildProcess[] = [];
  t.after(async () => {
    for (const c of children) await kill9(c);
    await Promise.all([src.stop(), dst.stop()]);
  });
  const start = await masterPos(src);
  await src.sql(`CREATE DATABASE w;
    CREATE TABLE w.pk (id INT PRIMARY KEY, v INT NOT NULL, s VARCHAR(40));
    CREATE TABLE w.uk (id INT PRIMARY KEY, u INT NOT NULL, v INT, UNIQUE KEY (u));
    CREATE TABLE w.nokey (a INT, b VARCHAR(20));
    CREATE TABLE w.acct (id INT PRIMARY KEY, bal INT NOT NULL)`);
  await src.sql(`INSERT INTO w.acct VALUES ${Array.from({ length: 20 }, (_, i) => `(${i}, 1000)`).join(',')}`);
  const seed = Number(process.env['SYNC_CRASH_SEED'] ?? Date.now() % 100000);
  t.diagnostic(`seed ${seed}`);
  const rand = rng(seed);
  const ri = (n: number): number => Math.floor(rand() * n);
  let stop = false;
  let ddlN = 0;
  let txns = 0;
  const pool = src.pool();
  const workload = (async () => {
    while (!stop) {
      const k = ri(100);
      const stmts: string[] = [];
      if (k < 25) stmts.push(`INSERT INTO w.pk VALUES (${ri(500)}, ${ri(1000)}, 'r${ri(99)}') ON DUPLICATE KEY UPDATE v = v + 1`);
      else if (k < 35) stmts.push(`UPDATE w.pk SET id = ${500 + ri(500)} WHERE id = ${ri(1000)}`); // PK change
      else if (k < 45) stmts.push(`DELETE FROM w.pk WHERE id BETWEEN ${ri(1000)} AND ${ri(1000)}`);
      else if (k < 55) stmts.push(`INSERT IGNORE INTO w.uk VALUES (${ri(300)}, ${ri(300)}, ${ri(9)})`, `UPDATE IGNORE w.uk SET u = ${ri(300)} WHERE id = ${ri(300)}`);
      else if (k < 65) stmts.push(`INSERT INTO w.nokey VALUES (${ri(20)}, ${ri(3) === 0 ? 'NULL' : `'b${ri(5)}'`}), (${ri(20)}, 'dup'), (${ri(20)}, 'dup')`);
      else if (k < 72) stmts.push(`DELETE FROM w.nokey WHERE a = ${ri(20)} LIMIT 1`, `UPDATE w.nokey SET b = 'u${ri(5)}' WHERE a = ${ri(20)} LIMIT 1`);
      else if (k < 99) {
        const a = ri(20);
        const b = ri(20);
        const x = ri(50);
        stmts.push(`UPDATE w.acct SET bal = bal - ${x} WHERE id = ${a}`, `UPDATE w.acct SET bal = bal + ${x} WHERE id = ${b}`);
      } else if (ri(4) === 0) {
        ddlN++;
        stmts.push(ddlN % 2 === 1 ? `ALTER TABLE w.pk ADD COLUMN c${ddlN} INT DEFAULT ${ddlN}` : `ALTER TABLE w.pk DROP COLUMN c${ddlN - 1}`);
      } else {
        stmts.push(`CREATE TABLE IF NOT EXISTS w.tmp${ddlN % 3} (id INT PRIMARY KEY)`, `INSERT IGNORE INTO w.tmp${ddlN % 3} VALUES (${ri(10)})`);
      }
      const multi = stmts.length > 1 && !stmts[0]?.startsWith('ALTER') && !stmts[0]?.startsWith('CREATE');
      try {
        await pool.query(multi ? `BEGIN; ${stmts.join('; ')}; COMMIT` : stmts.join('; '));
        txns++;
      } catch {
        await pool.query('ROLLBACK').catch(() => undefined);
      }
      await sleep(ri(4)); // a steady upstream, not a flood: the machine is shared
    }
  })();

  const cfgJson = JSON.stringify(syncConfig(src, dst, { start, syncer: syncerSettings({ workerCount: 4, batch: 40, checkpointFlushIntervalMs: 150 }) }));
  let killedMidApply = 0;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const c = spawnRunner(cfgJson);
      children.push(c);
      const cpBefore = await checkpointOf(dst);
      await started(c);
      // let the applier make progress (the machine may be busy), then kill at a random point
      const deadline = Date.now() + 20_000;
      while ((await checkpointOf(dst)) === cpBefore && Date.now() < deadline) await sleep(50);
      await sleep(ri(800));
      assert.equal(c.exitCode, null, `runner exited early in round ${round}`);
      await kill9(c);
      if ((await checkpointOf(dst)) !== cpBefore) killedMidApply++;
    }
  } finally {
    stop = true;
    await workload;
  }
  t.diagnostic(`upstream transactions: ${txns}, rounds in which the checkpoint advanced before the kill: ${killedMidApply}, ddl: ${ddlN}`);
  const final = spawnRunner(cfgJson);
  children.push(final);
  const diffs = await waitConverged(src, dst, ['w'], 90_000);
  assert.ok(diffs.length >= 4 && diffs.every((d) => d.equal), describeDiffs(diffs));
  assert.ok(killedMidApply >= ROUNDS / 2, `the applier made progress in only ${killedMidApply} rounds`);
  const sum = await dst.sql('SELECT SUM(bal) AS s FROM w.acct');
  assert.equal(Number(sum[0]?.['s']), 20 * 1000);
  const ex = once(final, 'exit');
  final.kill('SIGTERM');
  await ex;
});
