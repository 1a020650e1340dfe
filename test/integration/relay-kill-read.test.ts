/**
 * A relay reader keeps reading while the relay writer process (relay-kill-runner.ts) is killed
 * with SIGKILL again and again, sometimes with its last event torn (the file cut inside it, as a
 * write interrupted by the kill leaves it): the reader delivers every transaction once, whole,
 * in order — the same events as the network reader.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MariaDBServer, makeTempDir, removeTempDir, trackChild, waitFor } from '../helpers/index.js';
import { listBinlogFiles, readHeader, readIndex } from '../../src/units/relay/index.js';
import { createBinlogReader, type BinlogEvent, type BinlogReader } from '../../src/binlog/index.js';
import { assertWholeTxns, setupRs, txnWriter } from './binlog-fixture.js';

const RUNNER = fileURLToPath(new URL('./relay-kill-runner.ts', import.meta.url));

void test('relay reader while the relay writer is killed -9 (also inside an event): every transaction once, whole, in order', async (t) => {
  const db = await MariaDBServer.start();
  const dir = makeTempDir('relay-kill-read');
  t.after(async () => {
    await db.stop();
    removeTempDir(dir);
  });
  const start = await setupRs(db);
  const write = txnWriter(db);
  const opts = { sourceId: 'kr', conn: db.connOpts(), enableGtid: true, relayDir: dir, serverId: 779100 + (process.pid % 100), relayBinlogName: start.file };
  const spawnRunner = (): ChildProcess => {
    const c = spawn(process.execPath, ['--import', 'tsx', RUNNER, JSON.stringify(opts)], { stdio: ['ignore', 'ignore', 'inherit'] });
    trackChild(c);
    return c;
  };
  const reader: BinlogReader = createBinlogReader({ connection: db.connOpts(), flavor: 'mariadb', serverId: 779200 + (process.pid % 100), start, heartbeatMs: 0, relay: { dir, pollMs: 100 } });
  const TXNS = 30;
  const evs: BinlogEvent[] = [];
  let reading: Promise<void> | undefined;
  let k = 0;
  let cutInEvent = 0;
  try {
    for (let round = 0; round < 5; round++) {
      const c = spawnRunner();
      const exited = new Promise((r) => c.once('exit', r));
      await waitFor('runner writes', async () => readIndex(dir).length > 0 && existsSync(join(dir, readIndex(dir)[0]!)) && listBinlogFiles(join(dir, readIndex(dir)[0]!)).length > 0, { timeoutMs: 60_000 });
      if (!reading) {
        await reader.start(AbortSignal.timeout(30_000));
        reading = (async () => {
          const signal = AbortSignal.timeout(240_000);
          while (evs.filter((e) => e.kind === 'xid').length < TXNS) {
            const batch = await reader.nextBatch(64, signal);
            if (batch.length === 0) return;
            for (const ev of batch) if (ev.kind !== 'heartbeat') evs.push(ev);
          }
        })();
      }
      await write(6, k);
      k += 6;
      if (round % 2 === 0) await db.sql('FLUSH BINARY LOGS');
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 700));
      c.kill('SIGKILL');
      await exited;
      if (round % 2 === 1) {
        // the kill tore the last event: cut the last file 7 bytes into its last event
        const sub = join(dir, readIndex(dir).at(-1)!);
        const files = listBinlogFiles(sub);
        const last = join(sub, files[files.length - 1]!);
        const buf = readFileSync(last);
        let p = 4;
        let lastStart = 4;
        while (p + 19 <= buf.length) {
          const h = readHeader(buf, p);
          if (p + h.size > buf.length) break;
          lastStart = p;
          p += h.size;
        }
        if (lastStart > 4 + 19) {
          truncateSync(last, lastStart + 7);
          cutInEvent++;
        }
      }
    }
    assert.ok(cutInEvent > 0, 'a kill left a torn event');
    // the writer once more, to the end
    const c = spawnRunner();
    try {
      await reading;
    } finally {
      c.kill('SIGTERM');
      await new Promise((r) => c.once('exit', r));
    }
  } finally {
    await reader.close();
  }
  assert.equal(k, TXNS);
  assertWholeTxns(evs, TXNS);
  // the same events as the network reader
  const net = createBinlogReader({ connection: db.connOpts(), flavor: 'mariadb', serverId: 779300 + (process.pid % 100), start, heartbeatMs: 0 });
  await net.start(AbortSignal.timeout(30_000));
  const netEvs: BinlogEvent[] = [];
  try {
    const signal = AbortSignal.timeout(60_000);
    while (netEvs.filter((e) => e.kind === 'xid').length < TXNS) for (const ev of await net.nextBatch(64, signal)) if (ev.kind !== 'heartbeat') netEvs.push(ev);
  } finally {
    await net.close();
  }
  assert.deepEqual(evs, netEvs);
});
