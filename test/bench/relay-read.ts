/**
 * Relay read benchmark (prints figures, no pass/fail). `npm run bench:relay-read`
 *
 * One backlog, read two ways in the same run: over the network (the source's binlog dump) and
 * from the relay files (the source's binlog files laid out as DM's relay by
 * test/helpers/relay-files.ts, i.e. what the relay writer leaves; copying them is not timed).
 *
 * 1. A source MariaDB: `sysbench oltp_write_only prepare` then `run` for BENCH_SECONDS: the backlog
 *    is everything from before `prepare` (bulk inserts, then OLTP transactions).
 * 2. Reader only: the binlog reader from the backlog's start to its end, network then relay, then
 *    network again (the median of the two network runs, so the page cache and JIT favour neither).
 * 3. Sync catch-up: a sync unit (in this process) from the backlog's start into a fresh target,
 *    until its checkpoint reaches the backlog's end, reading the network or the relay, each run
 *    into its own fresh target; BENCH_ROUNDS rounds (default 2), the order alternating (network
 *    first in even rounds, relay first in odd ones); per-round ratios and their median.
 * Printed: events, seconds, events/s, the ratio relay/network, and `uptime` before and after.
 *
 * Knobs (env): BENCH_TABLES (4), BENCH_TABLE_SIZE (20000), BENCH_SECONDS (15), BENCH_THREADS (4),
 * BENCH_WORKERS (16), BENCH_BATCH (100), BENCH_ROUNDS (2), BENCH_SKIP_SYNC=1 (reader phase only).
 */
import { spawnSync, execFileSync } from 'node:child_process';
import { MariaDBServer, makeTempDir, removeTempDir, waitFor } from '../helpers/index.js';
import { RelayDirFixture } from '../helpers/relay-files.js';
import { createBinlogReader, getMasterStatus, type Position, type StartPoint } from '../../src/binlog/index.js';
import { SyncUnit, relayReaderFactory } from '../../src/units/sync/index.js';
import { syncConfig, syncerSettings } from '../integration/sync-fixture.js';

const env = (k: string, d: number): number => Number(process.env[k] ?? d);
const TABLES = env('BENCH_TABLES', 4);
const TABLE_SIZE = env('BENCH_TABLE_SIZE', 20_000);
const SECONDS = env('BENCH_SECONDS', 15);
const THREADS = env('BENCH_THREADS', 4);
const WORKERS = env('BENCH_WORKERS', 16);
const BATCH = env('BENCH_BATCH', 100);
const SKIP_SYNC = process.env['BENCH_SKIP_SYNC'] === '1';
const ROUNDS = env('BENCH_ROUNDS', 2);

function uptime(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return '(uptime unavailable)';
  }
}

function sysbench(port: number, cmd: 'prepare' | 'run', extra: string[] = []): void {
  const r = spawnSync(
    'sysbench',
    ['oltp_write_only', '--db-driver=mysql', '--mysql-host=127.0.0.1', `--mysql-port=${port}`, '--mysql-user=root', '--mysql-password=', '--mysql-db=sbtest', `--tables=${TABLES}`, `--table-size=${TABLE_SIZE}`, `--threads=${THREADS}`, '--rand-seed=1', ...extra, cmd],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (r.status !== 0) throw new Error(`sysbench ${cmd} failed: ${r.stderr || r.stdout}`);
}

async function masterPos(db: MariaDBServer): Promise<Position> {
  const c = await db.connect();
  try {
    return await getMasterStatus(c);
  } finally {
    await c.end();
  }
}

const reached = (p: { file: string; offset: number }, end: Position): boolean => p.file > end.file || (p.file === end.file && p.offset >= end.offset);

let serverId = 900_000 + (process.pid % 1000);

/** Read `start` → `end` with the binlog reader; events (heartbeats excluded) and seconds. */
async function readAll(db: MariaDBServer, start: StartPoint, end: Position, relayDir?: string): Promise<{ events: number; rows: number; sec: number }> {
  const r = createBinlogReader({ connection: db.connOpts(), flavor: 'mariadb', serverId: serverId++, start, heartbeatMs: 0, ...(relayDir ? { relay: { dir: relayDir } } : {}) });
  const t0 = performance.now();
  await r.start(AbortSignal.timeout(60_000));
  let events = 0;
  let rows = 0;
  try {
    for (;;) {
      const batch = await r.nextBatch(1024, AbortSignal.timeout(120_000));
      if (batch.length === 0) throw new Error('the stream ended');
      let done = false;
      for (const ev of batch) {
        if (ev.kind === 'heartbeat') continue;
        events++;
        if (ev.kind === 'rows') rows += ev.rows.length;
        if ((ev.kind === 'xid' || ev.kind === 'query') && reached(ev.pos, end)) done = true;
      }
      if (done) break;
    }
  } finally {
    await r.close();
  }
  return { events, rows, sec: (performance.now() - t0) / 1000 };
}

/** A sync unit from `start` into a fresh target until its checkpoint reaches `end`; seconds. */
async function syncAll(src: MariaDBServer, start: Position, end: Position, relayDir?: string): Promise<{ sec: number; txns: number }> {
  const dst = await MariaDBServer.start();
  const unit = new SyncUnit(
    syncConfig(src, dst, { taskName: relayDir ? 'relay' : 'net', start, syncer: syncerSettings({ workerCount: WORKERS, batch: BATCH, checkpointFlushIntervalMs: 100, retryTimeoutMs: 60_000 }) }),
    { heartbeatMs: 200, ...(relayDir ? { readerFactory: relayReaderFactory({ dir: relayDir }) } : {}) },
  );
  try {
    const ac = new AbortController();
    const t0 = performance.now();
    await unit.init(ac.signal);
    const running = unit.process(ac.signal);
    await waitFor(
      'sync caught up',
      async () => {
        const st = unit.status();
        if (st['stage'] !== 'Running') throw new Error(`sync unit ${String(st['stage'])}: ${JSON.stringify(st['error'])}`);
        const cp = st['checkpointPos'] as { file: string; offset: number } | undefined;
        return cp !== undefined && reached(cp, end);
      },
      { timeoutMs: 30 * 60_000, intervalMs: 50 },
    );
    const sec = (performance.now() - t0) / 1000;
    const txns = Number(unit.status()['totalTransactions'] ?? 0);
    unit.pause();
    const r = await running;
    if (r.errors.length > 0) throw new Error(JSON.stringify(r.errors));
    return { sec, txns };
  } finally {
    await unit.close();
    await dst.stop();
  }
}

const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function main(): Promise<void> {
  console.log(`bench:relay-read  tables=${TABLES} table-size=${TABLE_SIZE} seconds=${SECONDS} threads=${THREADS} workers=${WORKERS} batch=${BATCH}`);
  console.log(`load before: ${uptime()}`);
  const src = await MariaDBServer.start();
  const relayDir = makeTempDir('relay-bench');
  try {
    await src.sql('CREATE DATABASE sbtest');
    const start = await masterPos(src);
    sysbench(src.port, 'prepare');
    sysbench(src.port, 'run', [`--time=${SECONDS}`]);
    const end = await masterPos(src);
    const fx = new RelayDirFixture(relayDir);
    const sub = fx.addSubDir('bench0000-0000-0000-0000-000000000001', 1);
    const bytes = fx.mirror(src, sub);
    console.log(`backlog: ${start.file}:${start.offset} → ${end.file}:${end.offset}, ${fmt(bytes / 1048576, 1)} MiB of binlog in ${RelayDirFixture.serverBinlogs(src).length} file(s)`);

    const from: StartPoint = { file: start.file, offset: start.offset };
    const net1 = await readAll(src, from, end);
    const relay = await readAll(src, from, end, relayDir);
    const net2 = await readAll(src, from, end);
    const net = { events: net1.events, rows: net1.rows, sec: (net1.sec + net2.sec) / 2 };
    if (relay.events !== net.events || relay.rows !== net.rows) throw new Error(`relay read ${relay.events} events / ${relay.rows} rows, network ${net.events} / ${net.rows}`);
    console.log('\nreader only (binlog reader, start → end of the backlog)');
    console.log(`  network: ${fmt(net.events)} events (${fmt(net.rows)} rows) in ${fmt(net.sec, 2)} s (mean of 2: ${fmt(net1.sec, 2)}, ${fmt(net2.sec, 2)}) = ${fmt(net.events / net.sec)} events/s`);
    console.log(`  relay:   ${fmt(relay.events)} events (${fmt(relay.rows)} rows) in ${fmt(relay.sec, 2)} s = ${fmt(relay.events / relay.sec)} events/s`);
    console.log(`  ratio relay/network (events/s): ${fmt(net.sec / relay.sec, 2)}`);

    if (!SKIP_SYNC) {
      console.log('\nsync catch-up (sync unit, start → checkpoint at the end of the backlog, fresh target each)');
      const ratios: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? (['network', 'relay'] as const) : (['relay', 'network'] as const);
        const res: Record<string, { sec: number; txns: number }> = {};
        for (const how of order) res[how] = await syncAll(src, start, end, how === 'relay' ? relayDir : undefined);
        const n = res['network']!;
        const r = res['relay']!;
        ratios.push(n.sec / r.sec);
        console.log(`  round ${round + 1} (${order.join(' then ')}):`);
        console.log(`    network: ${fmt(n.txns)} transactions in ${fmt(n.sec, 2)} s = ${fmt(n.txns / n.sec)} txn/s, ${fmt(net.events / n.sec)} events/s`);
        console.log(`    relay:   ${fmt(r.txns)} transactions in ${fmt(r.sec, 2)} s = ${fmt(r.txns / r.sec)} txn/s, ${fmt(net.events / r.sec)} events/s`);
        console.log(`    ratio relay/network (catch-up speed): ${fmt(n.sec / r.sec, 2)}`);
      }
      const sorted = [...ratios].sort((x, y) => x - y);
      const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
      console.log(`  median ratio relay/network over ${ROUNDS} round(s): ${fmt(median, 2)}`);
    }
  } finally {
    await src.stop();
    removeTempDir(relayDir);
  }
  console.log(`\nload after: ${uptime()}`);
}

await main();
process.exit(0);
