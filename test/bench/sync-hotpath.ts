/**
 * Hot-path micro bench of the sync unit (prints figures, no pass/fail): the row events of a
 * recorded sysbench `oltp_write_only` backlog pushed through the real reader (zongji decode,
 * row decoding, transaction shaping), the real consumer (filters, route, row changes,
 * causality keys, metrics), the real causality scheduler, and the applier's statement building
 * (buildStatements + ledger row + the one-round-trip text of execTxn) — everything the sync unit
 * does per row except talking to a target. Prints CPU-seconds of this process per row event for
 * each stage set, so that a change of the per-row cost shows without the noise of a target.
 *
 *   npx tsx test/bench/sync-hotpath.ts prepare <dir> [tables=2] [tableSize=20000] [events=20000]
 *     sysbench prepare + a backlog of `events` transactions (1 thread, fixed seed: the same
 *     backlog every time) in a MariaDB data dir under <dir>; writes <dir>/backlog.json.
 *   npx tsx test/bench/sync-hotpath.ts run <dir> [passes=3] [stages=decode,full]
 *     starts that MariaDB (or uses HOTPATH_PORT's running one), then per pass and stage:
 *     `decode` = reader only; `full` = reader → consumer → scheduler → statements. Prints the
 *     median CPU µs per row event of each stage and the statement bytes built (a checksum of the
 *     output: changes of the hot path must not change it).
 *   npx tsx test/bench/sync-hotpath.ts serve <dir>
 *     keeps that MariaDB running (prints HOTPATH_PORT=n) until SIGTERM.
 *
 * HOTPATH_TXNS=n: only the first n transactions of the backlog.
 *
 * Deterministic instruction counts: compile with `npx tsc -p tsconfig.build.json --outDir X`
 * and run `valgrind --tool=callgrind node X/test/bench/sync-hotpath.js run <dir> 1 full` against
 * a server started beforehand (HOTPATH_PORT), see docs/benchmarks.md ("Hot path").
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBinlogReader, type BinlogEvent, type Position } from '../../src/binlog/index.js';
import { createRegistry } from '../../src/metrics/index.js';
import { CausalityScheduler, type Group } from '../../src/units/sync/causality.js';
import { CheckpointStore } from '../../src/units/sync/checkpoint.js';
import { TxnConsumer } from '../../src/units/sync/consumer.js';
import { buildStatements } from '../../src/units/sync/dml-builder.js';
import { buildFilters } from '../../src/units/sync/filters.js';
import { syncMetrics } from '../../src/units/sync/metrics.js';
import { SyncProgress } from '../../src/units/sync/sync-status.js';
import { LowWaterMark } from '../../src/units/sync/tracker.js';
import type { UpstreamTxn } from '../../src/units/sync/txn.js';
import { MariaDBServer } from '../helpers/index.js';

interface Backlog {
  start: Position;
  end: Position;
  txns: number;
  rowEvents: number;
}

const [cmd, dir] = [process.argv[2], process.argv[3]];
if ((cmd !== 'prepare' && cmd !== 'run' && cmd !== 'serve') || !dir) {
  console.error('usage: sync-hotpath.ts prepare <dir> [tables] [tableSize] [events] | run <dir> [passes] [stages]');
  process.exit(2);
}

function sysbench(port: number, tables: number, size: number, args: string[]): string {
  const r = spawnSync(
    'sysbench',
    ['oltp_write_only', '--db-driver=mysql', '--mysql-host=127.0.0.1', `--mysql-port=${port}`, '--mysql-user=root', '--mysql-password=', '--mysql-db=sbtest', `--tables=${tables}`, `--table-size=${size}`, '--rand-seed=1', ...args],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  if (r.status !== 0) throw new Error(`sysbench failed: ${r.stderr || r.stdout}`);
  return r.stdout;
}

async function masterPos(s: MariaDBServer): Promise<Position> {
  const r = (await s.sql('SHOW MASTER STATUS'))[0] as { File: string; Position: number | string };
  return { file: r.File, offset: Number(r.Position), gtid: '' };
}

async function prepare(base: string): Promise<void> {
  const tables = Number(process.argv[4] ?? 2);
  const size = Number(process.argv[5] ?? 20_000);
  const events = Number(process.argv[6] ?? 20_000);
  const s = await MariaDBServer.start({ baseDir: base, keep: true });
  try {
    await s.sql('CREATE DATABASE sbtest');
    sysbench(s.port, tables, size, ['--threads=1', 'prepare']);
    const start = await masterPos(s);
    const out = sysbench(s.port, tables, size, ['--threads=1', `--events=${events}`, '--time=0', 'run']);
    const end = await masterPos(s);
    const txns = Number(/transactions:\s+(\d+)/.exec(out)?.[1] ?? 0);
    const rowEvents = Number(/write:\s+(\d+)/.exec(out)?.[1] ?? 0);
    const b: Backlog = { start, end, txns, rowEvents };
    writeFileSync(join(base, 'backlog.json'), JSON.stringify(b));
    console.log(`backlog: ${txns} transactions, ${rowEvents} row events, ${start.file}:${start.offset} → ${end.file}:${end.offset}`);
  } finally {
    await s.shutdown();
  }
}

const BATCH = 100;
/** HOTPATH_TXNS=n: only the first n transactions of the backlog (shorter runs under valgrind). */
const MAX_TXNS = Number(process.env['HOTPATH_TXNS'] ?? Infinity);

const reached = (p: Position, end: Position): boolean => p.file > end.file || (p.file === end.file && p.offset >= end.offset);

interface PassResult {
  cpuUs: number;
  rows: number;
  bytes: number;
  groups: number;
  digest: string;
}

/** One pass: the reader from `b.start` to `b.end`, and with `full` the rest of the pipeline. */
async function pass(port: number, b: Backlog, full: boolean): Promise<PassResult> {
  const reader = createBinlogReader({
    connection: { host: '127.0.0.1', port, user: 'root', password: '' },
    flavor: 'mariadb',
    serverId: 99_000 + Math.floor(Math.random() * 900),
    start: { file: b.start.file, offset: b.start.offset },
    heartbeatMs: 0,
    masterStatusIntervalMs: 0,
  });
  const ac = new AbortController();
  await reader.start(ac.signal);
  // stop the reader once the backlog's end went by
  let txns = 0;
  let ended = false;
  const isEnd = (ev: BinlogEvent): boolean => (ev.kind === 'xid' || ev.kind === 'query') && (reached(ev.pos, b.end) || ++txns >= MAX_TXNS);
  const source = {
    start: (s: AbortSignal) => reader.start(s),
    close: () => reader.close(),
    status: () => reader.status(),
    async *[Symbol.asyncIterator](): AsyncIterator<BinlogEvent> {
      for await (const ev of reader) {
        yield ev;
        if (isEnd(ev)) return;
      }
    },
    // the consumer takes batches (as from the sync unit's reader), cut at the backlog's end
    async nextBatch(max?: number): Promise<BinlogEvent[]> {
      if (ended) return [];
      const batch = await reader.nextBatch(max);
      for (let i = 0; i < batch.length; i++) {
        if (isEnd(batch[i]!)) {
          ended = true;
          return batch.slice(0, i + 1);
        }
      }
      return batch;
    },
  };
  const hash = createHash('sha1');
  let rows = 0;
  let bytes = 0;
  let groups = 0;
  const cpu0 = process.cpuUsage();
  if (!full) {
    for await (const ev of source) if (ev.kind === 'rows') rows += ev.rows.length;
  } else {
    const registry = createRegistry();
    const metrics = syncMetrics(registry);
    const labels = { task: 'bench', source_id: 'src', worker: 'w' };
    const progress = new SyncProgress({ host: '127.0.0.1', port, user: 'root', password: '', flavor: 'mariadb', serverId: 1 }, metrics, labels);
    const tracker = new LowWaterMark(b.start);
    const store = new CheckpointStore('dm_meta', 'bench', 'src');
    const filters = buildFilters({ metaSchema: 'dm_meta', sourceId: 'src' });
    // One applier whose target transaction ends only when the next group is full: every group is
    // a full batch, as in a catch-up where the target is the bottleneck, and the grouping (so the
    // statements built) is the same in every pass.
    const releases: (() => void)[] = [];
    let inflightRows = 0;
    const scheduler = new CausalityScheduler({
      workerCount: 1,
      batch: BATCH,
      apply: async (g: Group) => {
        inflightRows = g.rows;
        const txns: UpstreamTxn[] = g.txns;
        const changes = txns.length === 1 ? (txns[0]?.changes ?? []) : txns.flatMap((t) => t.changes);
        const stmts = buildStatements(changes, { safeMode: false });
        let sql = 'START TRANSACTION';
        for (const st of stmts) sql += `;\n${st}`;
        sql += `;\n${store.ledgerInsertSQL(txns)};\nCOMMIT`;
        bytes += sql.length;
        hash.update(sql);
        groups++;
        await new Promise<void>((r) => releases.push(r));
      },
    });
    scheduler.onCommitted = (g) => {
      const last = g.txns.length - 1;
      for (let i = 0; i <= last; i++) tracker.markDone(g.txns[i]!.track, i === last);
    };
    const sched = {
      get error(): unknown {
        return scheduler.error;
      },
      add(txn: UpstreamTxn, signal: AbortSignal): Promise<void> {
        const open = scheduler.pendingRows - (releases.length > 0 ? inflightRows : 0);
        if (releases.length > 0 && open > 0 && open + txn.changes.length > BATCH) for (const r of releases.splice(0)) r();
        return scheduler.add(txn, signal);
      },
    };
    const consumer = new TxnConsumer({
      filters,
      caseSensitive: false,
      tracker,
      scheduler: sched,
      ddl: {
        handleQuery: () => Promise.reject(new Error('no DDL expected in the backlog')),
        passQuery: () => Promise.reject(new Error('no DDL expected in the backlog')),
        structuresFromTarget: () => Promise.resolve(),
      },
      progress,
      metrics,
      labels,
    });
    await consumer.run(source, new Set(), new Set(), ac.signal);
    const drained = scheduler.drain();
    let done = false;
    void drained.finally(() => (done = true));
    while (!done) {
      for (const r of releases.splice(0)) r();
      await new Promise((x) => setImmediate(x));
    }
    await drained;
    rows = progress.totals.rows;
  }
  const d = process.cpuUsage(cpu0);
  await reader.close();
  return { cpuUs: d.user + d.system, rows, bytes, groups, digest: hash.digest('hex').slice(0, 12) };
}

async function run(base: string): Promise<void> {
  const passes = Number(process.argv[4] ?? 3);
  const stages = (process.argv[5] ?? 'decode,full').split(',');
  const b = JSON.parse(readFileSync(join(base, 'backlog.json'), 'utf8')) as Backlog;
  const envPort = process.env['HOTPATH_PORT'];
  const s = envPort ? undefined : await MariaDBServer.start({ baseDir: base, keep: true });
  const port = envPort ? Number(envPort) : s!.port;
  try {
    console.log(`# sync hot path: ${b.txns} transactions, ${b.rowEvents} row events; ${passes} pass(es) of ${stages.join(', ')}`);
    for (const st of stages) {
      const rs: PassResult[] = [];
      for (let i = 0; i < passes; i++) rs.push(await pass(port, b, st === 'full'));
      const per = rs.map((r) => r.cpuUs / Math.max(1, r.rows)).sort((x, y) => x - y);
      const last = rs[rs.length - 1]!;
      console.log(
        `${st.padEnd(6)} rows ${last.rows}: CPU µs per row event ${per.map((x) => x.toFixed(2)).join(', ')} (median ${per[Math.floor(per.length / 2)]!.toFixed(2)})` +
          (st === 'full' ? `; ${last.groups} groups, statements ${last.bytes} bytes, sha1 ${last.digest}` : ''),
      );
    }
  } finally {
    await s?.shutdown();
  }
}

if (cmd === 'serve') {
  // keep the backlog's server up (for runs under valgrind, which should not start it themselves)
  const s = await MariaDBServer.start({ baseDir: dir, keep: true });
  console.log(`HOTPATH_PORT=${s.port}`);
  await new Promise<void>((r) => process.once('SIGTERM', r));
  await s.shutdown();
} else if (cmd === 'prepare') {
  if (existsSync(join(dir, 'backlog.json'))) throw new Error(`${dir} already holds a backlog`);
  await prepare(dir);
} else await run(dir);
