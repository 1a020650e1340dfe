/**
 * Network faults injected with the fault proxy (test/helpers/fault-proxy.ts) between DM.ts and a
 * real MariaDB, no server killed: the target refuses, hangs and resets connections while the sync
 * unit applies a stream of upstream writes; the binlog reader's source connection is reset
 * mid-stream; the target path has 0.5–5 ms of latency. Each ends with the target equal to the
 * source (a keyless table catches a transaction applied twice) or every event delivered once.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MariaDBServer, waitFor } from '../helpers/index.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { loopWriter, type Writer } from '../helpers/writer.js';
import { SyncUnit } from '../../src/units/sync/index.js';
import type { BinlogEvent } from '../../src/binlog/index.js';
import { assertRunningThenPause, masterPos, syncConfig, syncerSettings, waitConverged, describeDiffs } from './sync-fixture.js';
import { assertWholeTxns, setupRs, startTinyQueueReader, txnWriter } from './binlog-fixture.js';

const SCHEMA = 'nf';

async function setupSchema(src: MariaDBServer): Promise<void> {
  await src.sql(`CREATE DATABASE ${SCHEMA};
    CREATE TABLE ${SCHEMA}.t (id INT PRIMARY KEY, v VARCHAR(40), n INT NOT NULL);
    CREATE TABLE ${SCHEMA}.log (a INT, b VARCHAR(10))`);
}

/** Per step one transaction: insert a row, bump an older one, append two rows to the keyless log. */
function stream(src: MariaDBServer, opts: { pauseMs?: number; limit?: number; first?: number } = {}): Writer {
  return loopWriter(
    src,
    SCHEMA,
    async (c, step) => {
      const i = (opts.first ?? 0) + step;
      await c.query(
        `BEGIN; INSERT INTO t VALUES (${i}, 'row ${i}', 0); UPDATE t SET n = n + 1 WHERE id = ${Math.floor(i / 2)};` +
          ` INSERT INTO log VALUES (${i}, 'x'), (${i}, 'y'); COMMIT`,
      );
      return 1;
    },
    { pauseMs: 10, ...opts },
  );
}

/**
 * A source, a target, a proxy in front of the target, and a running sync unit from the start of
 * the schema into the target through the proxy; all closed by t.after.
 */
async function proxiedUnit(t: TestContext) {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const proxy = await FaultProxy.start({ port: dst.port });
  const start = await masterPos(src);
  await setupSchema(src);
  const cfg = syncConfig(src, dst, { start, syncer: syncerSettings({ workerCount: 4, batch: 20, checkpointFlushIntervalMs: 200, retryTimeoutMs: 120_000 }) });
  const unit = new SyncUnit({ ...cfg, target: { ...cfg.target, ...proxy.address } }, { heartbeatMs: 200 });
  t.after(async () => {
    await unit.close();
    await proxy.close();
    await Promise.all([src.stop(), dst.stop()]);
  });
  const ac = new AbortController();
  await unit.init(ac.signal);
  const running = unit.process(ac.signal);
  return { src, dst, proxy, unit, running };
}

void test('target refuses, hangs and resets connections while the sync unit applies a stream: retried, converges, nothing doubled', { timeout: 240_000 }, async (t) => {
  const { src, dst, proxy, unit, running } = await proxiedUnit(t);
  const w = stream(src);
  let n = 0;
  try {
    const applied = async (): Promise<number> => Number((await dst.sql(`SELECT COUNT(*) AS c FROM ${SCHEMA}.t`).catch(() => [{ c: 0 }]))[0]?.['c']);
    await waitFor('rows flowing into the target', async () => (await applied()) > 20, { timeoutMs: 30_000 });
    // the target is gone: every connection reset, new ones refused
    proxy.refuse();
    await sleep(3000);
    const before = await applied();
    proxy.resume();
    await waitFor('applying again after the outage', async () => (await applied()) > before + 20, { timeoutMs: 60_000 });
    // the target hangs (bytes swallowed) while the unit is applying, then the hung connections break
    proxy.blackhole();
    await sleep(3000);
    proxy.resume();
    // resets in the middle of the stream
    for (let k = 0; k < 3; k++) {
      await sleep(700);
      proxy.reset();
    }
    await sleep(1000);
  } finally {
    n = await w.stop();
  }
  t.diagnostic(`${n} upstream transactions; proxy ${JSON.stringify(proxy.stats())}`);
  assert.ok(proxy.stats().resets > 0, 'connections were reset');
  assert.ok(proxy.stats().bytesDropped > 0, 'the blackhole swallowed traffic');
  const diffs = await waitConverged(src, dst, [SCHEMA], 120_000);
  assert.ok(diffs.length === 2 && diffs.every((d) => d.equal), describeDiffs(diffs));
  await assertRunningThenPause(unit, running);
});

void test('binlog reader: the source connection is reset mid-transaction and while idle → reconnects, every event once and in order', { timeout: 120_000 }, async (t) => {
  const db = await MariaDBServer.start();
  const proxy = await FaultProxy.start({ port: db.port });
  t.after(async () => {
    await proxy.close();
    await db.stop();
  });
  const start = await setupRs(db);
  // transactions of 20 single-row statements each (20 rows events per transaction)
  const writeTxns = txnWriter(db);
  await writeTxns(3, 0);
  const r = await startTinyQueueReader({ ...db.connOpts(), ...proxy.address }, start, 6000 + (process.pid % 900));
  const evs: BinlogEvent[] = [];
  const TXNS = 7;
  let resets = 0;
  try {
    for await (const ev of r as AsyncIterable<BinlogEvent>) {
      if (ev.kind === 'heartbeat') continue;
      evs.push(ev);
      const xids = evs.filter((e) => e.kind === 'xid').length;
      // in the middle of the first transaction (the reader is paused on a full queue)
      if (resets === 0 && evs.length === 6) {
        resets++;
        proxy.reset();
        await writeTxns(2, 3);
      }
      // after everything written so far was read: the connection idles, then is reset
      if (resets === 1 && xids === 5) {
        resets++;
        await sleep(300);
        proxy.reset();
        await sleep(300);
        await writeTxns(2, 5);
      }
      if (xids === TXNS) break;
    }
  } finally {
    await r.close();
  }
  assert.equal(resets, 2);
  assert.ok(r.status().reconnects >= 2, `the reader reconnected (${r.status().reconnects})`);
  assertWholeTxns(evs, TXNS);
});

void test('0.5–5 ms of latency on the target path: the sync unit still converges', { timeout: 240_000 }, async (t) => {
  const { src, dst, proxy, unit, running } = await proxiedUnit(t);
  const rounds = [
    [0.5, 0.5],
    [2, 1],
    [5, 5],
  ] as const;
  for (const [k, [up, down]] of rounds.entries()) {
    proxy.setLatency({ up, down });
    assert.equal(await stream(src, { pauseMs: 2, limit: 150, first: k * 1000 }).done, 150);
    const diffs = await waitConverged(src, dst, [SCHEMA], 120_000);
    assert.ok(diffs.length === 2 && diffs.every((d) => d.equal), `latency ${up}/${down} ms: ${describeDiffs(diffs)}`);
  }
  await assertRunningThenPause(unit, running);
});
