/**
 * Sync benchmark (prints figures, no pass/fail). `npm run bench:sync`
 *
 * 1. A source MariaDB gets `sysbench oltp_write_only prepare`; its data dir is copied into three
 *    targets (DM.ts, native serial replica, native parallel replica), so all start equal.
 * 2. `sysbench oltp_write_only run` writes a backlog for BENCH_SECONDS.
 * 3. The same backlog is applied, one after the other, by DM.ts (sync unit in a child process),
 *    a native MariaDB replica (serial), and a native replica with slave_parallel_mode=optimistic
 *    and 4 threads: events/s, transactions/s, ratios, DM.ts worker peak RSS.
 * 4. Steady state: sysbench at a fixed rate (~BENCH_LAG_RATE row events/s) with DM.ts running;
 *    a heartbeat row written every 50 ms upstream is polled on the target: lag p50/p99.
 *
 * Knobs (env): BENCH_TABLES (4), BENCH_TABLE_SIZE (250000), BENCH_SECONDS (60), BENCH_THREADS (4),
 * BENCH_LAG_RATE (2000 row events/s), BENCH_LAG_SECONDS (30), BENCH_WORKERS (16), BENCH_BATCH (100),
 * BENCH_QUEUE_EVENTS / BENCH_QUEUE_BYTES (reader queue; unit defaults), BENCH_SKIP_NATIVE=1 (DM.ts only),
 * BENCH_NODE_ARGS (extra node flags for the sync process, e.g. --cpu-prof), BENCH_TARGET_BINLOG=on|off
 * (see TARGET_BINLOG), BENCH_COMPILED=1 (run the
 * sync process from tsc output instead of through tsx, whose transpiler alone takes ~200 MB RSS:
 * the RSS a deployed worker would have), SYNC_RUNNER_STATUS_MS=n (the sync process prints its
 * status — rates and where it waits — every n ms on stderr).
 *
 * `--cluster` (see ./cluster-run.ts): the catch-up measured through a real dm-master + dm-worker
 * (a fresh cluster per run) against the native serial replica, in paired rounds
 * (`--rounds n`, default 1): each round writes a fresh backlog (`--seconds`) and then runs both,
 * rotated — DM.ts from `dmctl start-task` (task-mode incremental, meta = the backlog's start) until
 * the task's checkpoint in the target reaches the source position captured after the backlog
 * (checkpoint-flush-interval 1 s, so up to ~1 s late), the replica from START SLAVE until it has
 * executed that position. Printed: per-round ratios and their median, CPU-seconds of worker,
 * master, source and target, the worker's peak RSS, a row digest check after every tool; JSON
 * under bench-results/. `--load N`: N busy processes beside the run; `--rtt-ms X`: DM.ts's target
 * connections, and the replica's connection to its source (its only network path), through a
 * TCP proxy with X/2 ms each way. `--tables`, `--table-size`, `--seconds` override the env knobs;
 * `--events n` (BENCH_EVENTS) writes backlogs of exactly n transactions instead (same size on a busy
 * box). BENCH_COMPILED=1 runs the dm-worker from tsc output, as deployed (see ./cluster-run.ts).
 * After the rounds, the steady-state lag phase (4. above) through a fresh cluster: a task caught up
 * to just after the heartbeat table's creation, then `--lag-seconds` (BENCH_LAG_SECONDS, 30; 0
 * skips it) of sysbench at ~BENCH_LAG_RATE row events/s: lag p50/p99/max, the worker's CPU and
 * peak RSS during it (printed and under `lag` in the JSON). The native replica takes no part.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { Command } from 'commander';
import { BusyLoad, compiledDist, digestsDiffer, machine, printRuns, rttProxy, runClusterTask, writeResults, type ToolRun } from './cluster-run.js';
import { MariaDBServer, cpuSeconds, makeTempDir, removeTempDir, requireBinary, trackChild } from '../helpers/index.js';
import type { SyncConfig } from '../../src/units/sync/index.js';
import { DEFAULT_BINLOG_QUEUE_BYTES, DEFAULT_BINLOG_QUEUE_EVENTS, DEFAULT_META_SCHEMA, DEFAULT_SYNC_RETRY_TIMEOUT_MS } from '../../src/config/index.js';

const env = (k: string, d: number): number => Number(process.env[k] ?? d);
const cli = new Command()
  .option('--cluster', 'DM.ts as a real dm-master + dm-worker against the native serial replica, paired rounds', false)
  .option('--rounds <n>', 'paired rounds (cluster mode)', process.env['BENCH_ROUNDS'] ?? '1')
  .option('--load <n>', 'busy processes beside the run (cluster mode)', process.env['BENCH_LOAD'] ?? '0')
  .option('--rtt-ms <ms>', 'added round-trip time on the target path (cluster mode)', process.env['BENCH_RTT_MS'] ?? '0')
  .option('--tables <n>', 'sysbench tables (BENCH_TABLES)')
  .option('--table-size <n>', 'rows per table (BENCH_TABLE_SIZE)')
  .option('--seconds <n>', 'seconds of sysbench writes per backlog (BENCH_SECONDS)')
  .option('--events <n>', 'cluster mode: a backlog of exactly n sysbench transactions instead of --seconds of writes (BENCH_EVENTS)')
  .option('--lag-seconds <n>', 'seconds of the steady-state lag phase (BENCH_LAG_SECONDS; 0 skips it in cluster mode)')
  .parse()
  .opts<{ cluster: boolean; rounds: string; load: string; rttMs: string; tables?: string; tableSize?: string; seconds?: string; events?: string; lagSeconds?: string }>();
const TABLES = cli.tables !== undefined ? Number(cli.tables) : env('BENCH_TABLES', 4);
const TABLE_SIZE = cli.tableSize !== undefined ? Number(cli.tableSize) : env('BENCH_TABLE_SIZE', 250_000);
const SECONDS = cli.seconds !== undefined ? Number(cli.seconds) : env('BENCH_SECONDS', 60);
/** Cluster mode: transactions per backlog (0 = SECONDS of writes). The same count (and seed) gives the same backlog size on a busy or an idle box, so CPU per row event compares across runs. */
const EVENTS = cli.events !== undefined ? Number(cli.events) : env('BENCH_EVENTS', 0);
const THREADS = env('BENCH_THREADS', 4);
const LAG_RATE = env('BENCH_LAG_RATE', 2000);
const LAG_SECONDS = cli.lagSeconds !== undefined ? Number(cli.lagSeconds) : env('BENCH_LAG_SECONDS', 30);
const WORKERS = env('BENCH_WORKERS', 16);
const BATCH = env('BENCH_BATCH', 100);
/**
 * BENCH_TARGET_BINLOG=on (default): every applier also writes the applied rows to its target's binlog
 * (DM.ts as an ordinary client; the native replicas with --log-slave-updates, which MariaDB leaves
 * off by default). off: none does (DM.ts with `target-database.session: {sql_log_bin: 0}`).
 */
const TARGET_BINLOG = (process.env['BENCH_TARGET_BINLOG'] ?? 'on') === 'on';

interface Pos {
  file: string;
  offset: number;
}

function sysbench(port: number, cmd: 'prepare' | 'run', extra: string[] = []): { txns: number; writes: number } {
  const r = spawnSync(
    'sysbench',
    [
      'oltp_write_only',
      '--db-driver=mysql',
      '--mysql-host=127.0.0.1',
      `--mysql-port=${port}`,
      '--mysql-user=root',
      '--mysql-password=',
      '--mysql-db=sbtest',
      `--tables=${TABLES}`,
      `--table-size=${TABLE_SIZE}`,
      `--threads=${THREADS}`,
      '--rand-seed=1',
      ...extra,
      cmd,
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (r.status !== 0) throw new Error(`sysbench ${cmd} failed: ${r.stderr || r.stdout}`);
  const txns = Number(/transactions:\s+(\d+)/.exec(r.stdout)?.[1] ?? 0);
  const writes = Number(/write:\s+(\d+)/.exec(r.stdout)?.[1] ?? 0);
  return { txns, writes };
}

async function masterPos(s: MariaDBServer): Promise<Pos> {
  const r = (await s.sql('SHOW MASTER STATUS'))[0] as { File: string; Position: number | string };
  return { file: r.File, offset: Number(r.Position) };
}

const reached = (p: Pos, end: Pos): boolean => p.file > end.file || (p.file === end.file && p.offset >= end.offset);

function copyData(from: string, to: string): void {
  cpSync(join(from, 'data'), join(to, 'data'), { recursive: true });
  for (const f of readdirSync(join(to, 'data'))) {
    if (f.startsWith('mysql-bin.') || f.startsWith('relay') || f === 'master.info' || f === 'relay-log.info') rmSync(join(to, 'data', f), { force: true });
  }
}


function peakRssMB(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Math.round(Number(m?.[1] ?? 0) / 1024);
  } catch {
    return 0;
  }
}

async function waitStarted(c: ChildProcess): Promise<void> {
  let buf = '';
  await new Promise<void>((resolve, reject) => {
    c.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('started')) resolve();
    });
    c.once('exit', () => reject(new Error(`sync runner exited: ${buf}`)));
  });
}

async function dmCheckpoint(t: MariaDBServer): Promise<Pos | undefined> {
  const rows = await t.sql('SELECT binlog_name AS f, binlog_pos AS p FROM dm_meta.bench_syncer_checkpoint').catch(() => []);
  const r = rows[0];
  return r ? { file: String(r['f']), offset: Number(r['p']) } : undefined;
}

async function nativeReplica(t: MariaDBServer, srcPort: number, start: Pos, end: Pos, parallel: boolean): Promise<number> {
  await t.sql('STOP SLAVE; RESET SLAVE ALL');
  await t.sql(parallel ? "SET GLOBAL slave_parallel_threads = 4; SET GLOBAL slave_parallel_mode = 'optimistic'" : 'SET GLOBAL slave_parallel_threads = 0');
  await t.sql(
    `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${srcPort}, MASTER_USER='root', MASTER_PASSWORD='', ` +
      `MASTER_LOG_FILE='${start.file}', MASTER_LOG_POS=${start.offset}, MASTER_USE_GTID=no`,
  );
  const t0 = performance.now();
  await t.sql('START SLAVE');
  for (;;) {
    const rows = (await t.sql('SHOW SLAVE STATUS')) as { Last_SQL_Error?: string; Relay_Master_Log_File?: string; Exec_Master_Log_Pos?: number | string }[];
    const st = rows[0];
    if (st?.Last_SQL_Error) throw new Error(`replica error: ${st.Last_SQL_Error}`);
    const p = { file: st?.Relay_Master_Log_File ?? '', offset: Number(st?.Exec_Master_Log_Pos ?? 0) };
    if (reached(p, end)) break;
    await sleep(50);
  }
  const secs = (performance.now() - t0) / 1000;
  await t.sql('STOP SLAVE');
  return secs;
}

/**
 * Compile src/ with tsc into `<dir>/dist` and write a plain-JS copy of test/integration/sync-runner.ts
 * next to it; returns the runner's path. (Other areas' type errors do not stop tsc from emitting.)
 */
function compiledRunner(dir: string): string {
  const out = join(dir, 'dist');
  spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', out], { stdio: 'ignore' });
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  symlinkSync(join(process.cwd(), 'node_modules'), join(out, 'node_modules'));
  const runner = join(out, 'sync-runner.mjs');
  writeFileSync(
    runner,
    `import { SyncUnit } from './src/units/sync/index.js';
const cfg = JSON.parse(process.argv[2] ?? '{}');
const unit = new SyncUnit(cfg, { heartbeatMs: 200 });
const ac = new AbortController();
process.on('SIGTERM', () => ac.abort());
const statusMs = Number(process.env.SYNC_RUNNER_STATUS_MS ?? 0);
if (statusMs > 0) setInterval(() => process.stderr.write('status ' + JSON.stringify({ ...unit.status(), memory: process.memoryUsage() }) + '\\n'), statusMs).unref();
try {
  await unit.init(ac.signal);
  process.stdout.write('started\\n');
  const result = await unit.process(ac.signal);
  process.stdout.write(JSON.stringify({ result }) + '\\n');
} finally {
  await unit.close();
}
`,
  );
  return runner;
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

/**
 * The source with sysbench's tables prepared, its data directory copied into every other dir of
 * `dirs` (the targets start from the same data), then restarted on its port. Pushed to `servers`.
 */
async function prepareSource(dirs: readonly string[], servers: MariaDBServer[]): Promise<MariaDBServer> {
  let src = await MariaDBServer.start({ baseDir: dirs[0]! });
  servers.push(src);
  await src.sql('CREATE DATABASE sbtest');
  const t0 = performance.now();
  sysbench(src.port, 'prepare');
  console.log(`prepare: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const port = src.port;
  await src.shutdown();
  for (const d of dirs.slice(1)) copyData(dirs[0]!, d);
  src = await MariaDBServer.start({ baseDir: dirs[0]!, port });
  servers[servers.length - 1] = src;
  return src;
}

async function main(): Promise<void> {
  requireBinary('sysbench', ['sysbench']);
  console.log(`# sync bench: ${TABLES} tables x ${TABLE_SIZE} rows, ${SECONDS}s of oltp_write_only (${THREADS} threads); DM.ts worker-count ${WORKERS}, batch ${BATCH}; target binlog ${TARGET_BINLOG ? 'written by every applier' : 'off for every applier'}`);
  const dirs = [makeTempDir('bench-src'), makeTempDir('bench-dm'), makeTempDir('bench-ser'), makeTempDir('bench-par')] as const;
  const servers: MariaDBServer[] = [];
  let runner: ChildProcess | undefined;
  try {
    const src = await prepareSource(dirs, servers);
    let t0 = performance.now();
    const [tDm, tSer, tPar] = await Promise.all(
      dirs.slice(1).map((d) => MariaDBServer.start({ baseDir: d, extraArgs: ['--skip-slave-start', ...(TARGET_BINLOG ? ['--log-slave-updates'] : [])] })),
    );
    servers.push(tDm!, tSer!, tPar!);
    const start = await masterPos(src);
    t0 = performance.now();
    const w = sysbench(src.port, 'run', [`--time=${SECONDS}`, '--report-interval=0']);
    const end = await masterPos(src);
    const rowEvents = w.writes;
    console.log(`backlog: ${w.txns} transactions, ~${rowEvents} row events, binlog ${start.file}:${start.offset} → ${end.file}:${end.offset} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);

    // --- DM.ts
    const cfg: SyncConfig = {
      taskName: 'bench',
      sourceId: 'bench-src',
      source: { ...src.connOpts(), flavor: 'mariadb', serverId: 77_001 },
      target: TARGET_BINLOG ? tDm!.connOpts() : { ...tDm!.connOpts(), session: { sql_log_bin: 0 } },
      start,
      metaSchema: DEFAULT_META_SCHEMA,
      syncer: {
        workerCount: WORKERS,
        batch: BATCH,
        checkpointFlushIntervalMs: 100,
        safeMode: false,
        safeModeDurationSec: 0.2,
        retryTimeoutMs: DEFAULT_SYNC_RETRY_TIMEOUT_MS,
        maxQueueEvents: process.env['BENCH_QUEUE_EVENTS'] ? env('BENCH_QUEUE_EVENTS', 0) : DEFAULT_BINLOG_QUEUE_EVENTS,
        maxQueueBytes: process.env['BENCH_QUEUE_BYTES'] ? env('BENCH_QUEUE_BYTES', 0) : DEFAULT_BINLOG_QUEUE_BYTES,
      },
    };
    const nodeArgs = (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
    const runnerArgs = process.env['BENCH_COMPILED'] === '1' ? [compiledRunner(dirs[1])] : ['--import', 'tsx', 'test/integration/sync-runner.ts'];
    runner = spawn(process.execPath, [...nodeArgs, ...runnerArgs, JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'inherit'] });
    trackChild(runner);
    await waitStarted(runner);
    const cpu0 = cpuSeconds(runner.pid);
    t0 = performance.now();
    for (;;) {
      const cp = await dmCheckpoint(tDm!);
      if (cp && reached(cp, end)) break;
      if (runner.exitCode !== null) throw new Error('sync runner exited');
      await sleep(50);
    }
    const dmSecs = (performance.now() - t0) / 1000;
    const dmRss = peakRssMB(runner.pid);
    const dmCpu = cpuSeconds(runner.pid) - cpu0;
    const lockStats = (await tDm!.sql("SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_deadlocks', 'Innodb_row_lock_waits', 'Com_commit')")) as { Variable_name: string; Value: string }[];
    console.log(`DM.ts target: ${lockStats.map((r) => `${r.Variable_name}=${r.Value}`).join(' ')}`);

    // --- native replicas, one after the other
    const skipNative = process.env['BENCH_SKIP_NATIVE'] === '1';
    const serSecs = skipNative ? NaN : await nativeReplica(tSer!, src.port, start, end, false);
    const parSecs = skipNative ? NaN : await nativeReplica(tPar!, src.port, start, end, true);

    const line = (name: string, secs: number): string =>
      `${name.padEnd(28)} ${secs.toFixed(2).padStart(8)} s ${Math.round(rowEvents / secs).toString().padStart(9)} events/s ${Math.round(w.txns / secs).toString().padStart(8)} txn/s`;
    console.log(line('DM.ts sync unit', dmSecs));
    console.log(line('native replica, serial', serSecs));
    console.log(line('native replica, parallel(4)', parSecs));
    console.log(`ratio DM.ts / serial: ${(serSecs / dmSecs).toFixed(2)}x, DM.ts / parallel: ${(parSecs / dmSecs).toFixed(2)}x`);
    console.log(`DM.ts worker peak RSS during backlog: ${dmRss} MB; its CPU during the backlog: ${dmCpu.toFixed(1)} s (${Math.round((100 * dmCpu) / dmSecs)}% of one core)`);

    // --- steady-state lag at a fixed upstream rate
    await src.sql('CREATE TABLE sbtest.hb (id INT PRIMARY KEY, ts BIGINT NOT NULL)');
    await src.sql('INSERT INTO sbtest.hb VALUES (1, 0)');
    const lag = await steadyLag(src, tDm!, LAG_SECONDS);
    console.log(lagLine(lag));
    console.log(`DM.ts worker peak RSS overall: ${peakRssMB(runner.pid)} MB`);
  } finally {
    if (runner && runner.exitCode === null) {
      const ex = once(runner, 'exit');
      runner.kill('SIGTERM');
      await Promise.race([ex, sleep(10_000)]);
      if (runner.exitCode === null) runner.kill('SIGKILL');
    }
    for (const s of servers) await s.stop();
    for (const d of dirs) removeTempDir(d);
  }
}

/** Lag figures of a steady-state phase (ms; 50 ms heartbeat). */
interface SteadyLag {
  rowEventsPerSec: number;
  seconds: number;
  samples: number;
  p50: number;
  p99: number;
  max: number;
  /** The same over the samples seen from 5 s into the phase on (the fresh worker's first row events excluded). */
  after5s: { samples: number; p50: number; p99: number; max: number };
}

const lagLine = (l: SteadyLag): string =>
  `steady state at ~${l.rowEventsPerSec} row events/s for ${l.seconds}s: lag p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms (${l.samples} samples; 50 ms heartbeat); from 5 s on: p50 ${l.after5s.p50} ms, p99 ${l.after5s.p99} ms, max ${l.after5s.max} ms (${l.after5s.samples} samples)`;

/**
 * Steady state: sysbench at ~LAG_RATE row events/s for `seconds` upstream while a heartbeat row
 * (`sbtest.hb`, created upstream by the caller, id 1) gets the upstream's clock every 50 ms; the
 * target is polled every 10 ms and every new heartbeat seen gives one lag sample (now − its
 * time). The heartbeat table reaches the target through DM.ts itself: this waits for its row first.
 */
async function steadyLag(src: MariaDBServer, dst: MariaDBServer, seconds: number): Promise<SteadyLag> {
  const srcConn = await mysql.createConnection(src.connOpts());
  const dstConn = await mysql.createConnection(dst.connOpts());
  try {
    for (const deadline = Date.now() + 120_000; ; ) {
      const [rows] = await dstConn.query("SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'sbtest' AND table_name = 'hb'");
      if (Number((rows as { n: number }[])[0]?.n ?? 0) > 0) {
        const [hb] = await dstConn.query('SELECT COUNT(*) AS n FROM sbtest.hb');
        if (Number((hb as { n: number }[])[0]?.n ?? 0) > 0) break;
      }
      if (Date.now() > deadline) throw new Error('the heartbeat table sbtest.hb did not reach the DM.ts target within 120 s');
      await sleep(100);
    }
    const lags: number[] = [];
    const series: [number, number][] = []; // [seen at, lag ms], written to BENCH_LAG_TRACE/lag.jsonl
    let stop = false;
    const phaseStart = Date.now();
    const hbWriter = (async () => {
      while (!stop) {
        await srcConn.query('UPDATE sbtest.hb SET ts = ? WHERE id = 1', [Date.now()]);
        await sleep(50);
      }
    })();
    const hbReader = (async () => {
      let last = 0;
      while (!stop) {
        const [rows] = await dstConn.query('SELECT ts FROM sbtest.hb WHERE id = 1');
        const ts = Number((rows as { ts: string }[])[0]?.ts ?? 0);
        if (ts > last && last > 0) {
          lags.push(Date.now() - ts);
          series.push([Date.now(), Date.now() - ts]);
        }
        last = Math.max(last, ts);
        await sleep(10);
      }
    })();
    const rate = Math.max(1, Math.round(LAG_RATE / 4)); // 4 row events per oltp_write_only transaction
    // asynchronous: the --rtt-ms proxy runs in this event loop
    const sb = spawn(
      'sysbench',
      ['oltp_write_only', '--db-driver=mysql', '--mysql-host=127.0.0.1', `--mysql-port=${src.port}`, '--mysql-user=root', '--mysql-password=', '--mysql-db=sbtest', `--tables=${TABLES}`, `--table-size=${TABLE_SIZE}`, '--threads=4', `--rate=${rate}`, `--time=${seconds}`, 'run'],
      { stdio: 'ignore' },
    );
    trackChild(sb);
    await once(sb, 'exit');
    stop = true;
    await Promise.all([hbWriter, hbReader]);
    const traceDir = process.env['BENCH_LAG_TRACE'];
    if (traceDir) {
      mkdirSync(traceDir, { recursive: true });
      writeFileSync(join(traceDir, 'lag.jsonl'), series.map(([at, ms]) => JSON.stringify({ at, ms })).join('\n') + '\n');
    }
    const late = series.filter(([at]) => at >= phaseStart + 5000).map(([, ms]) => ms);
    return {
      rowEventsPerSec: rate * 4,
      seconds,
      samples: lags.length,
      p50: pct(lags, 50),
      p99: pct(lags, 99),
      max: lags.length ? Math.max(...lags) : NaN,
      after5s: { samples: late.length, p50: pct(late, 50), p99: pct(late, 99), max: late.length ? Math.max(...late) : NaN },
    };
  } finally {
    await srcConn.end();
    await dstConn.end();
  }
}

/** The task's checkpoint (low-water mark) in the target, if any. */
async function taskCheckpoint(t: MariaDBServer, task: string): Promise<Pos | undefined> {
  const rows = await t
    .sql(`SELECT binlog_name AS f, binlog_pos AS p FROM ${DEFAULT_META_SCHEMA}.${task}_syncer_checkpoint WHERE id = 'bench-src' AND cp_schema = ''`)
    .catch(() => []);
  const r = rows[0];
  return r ? { file: String(r['f']), offset: Number(r['p']) } : undefined;
}

async function mainCluster(): Promise<void> {
  requireBinary('sysbench', ['sysbench']);
  const ROUNDS = Math.max(1, Number(cli.rounds));
  const LOAD = Math.max(0, Number(cli.load));
  const RTT_MS = Math.max(0, Number(cli.rttMs));
  const COMPILED = process.env['BENCH_COMPILED'] === '1';
  console.log(
    `# sync bench --cluster: ${TABLES} tables x ${TABLE_SIZE} rows, ${EVENTS > 0 ? `${EVENTS} transactions` : `${SECONDS}s`} of oltp_write_only (${THREADS} threads) per round, ${ROUNDS} round(s); DM.ts worker-count ${WORKERS}, batch ${BATCH}; target binlog ${TARGET_BINLOG ? 'written by both' : 'off for both'}; busy processes ${LOAD}; added RTT ${RTT_MS} ms; dm-worker ${COMPILED ? 'compiled (tsc output)' : 'through tsx'}`,
  );
  const dirs = [makeTempDir('bench-src'), makeTempDir('bench-dm'), makeTempDir('bench-ser')] as const;
  if (COMPILED) process.env['DM_WORKER_DIST'] = compiledDist(dirs[1]);
  const servers: MariaDBServer[] = [];
  const load0 = loadavg();
  let busy: BusyLoad | undefined;
  const proxies: { close(): Promise<void> }[] = [];
  try {
    const src = await prepareSource(dirs, servers);
    let t0 = performance.now();
    const [tDm, tSer] = (await Promise.all(
      dirs.slice(1).map((d) => MariaDBServer.start({ baseDir: d, extraArgs: ['--skip-slave-start', ...(TARGET_BINLOG ? ['--log-slave-updates'] : [])] })),
    )) as [MariaDBServer, MariaDBServer];
    servers.push(tDm, tSer);
    busy = BusyLoad.start(LOAD);
    // DM.ts's path to its target; the replica's only network path is to its source
    const dmProxy = await rttProxy(tDm.port, RTT_MS);
    const serProxy = await rttProxy(src.port, RTT_MS);
    for (const p of [dmProxy, serProxy]) if (p) proxies.push(p);
    const taskYaml = (task: string, start: Pos): string =>
      [
        `name: ${task}`,
        'task-mode: incremental',
        'target-database:',
        '  host: 127.0.0.1',
        `  port: ${dmProxy?.port ?? tDm.port}`,
        '  user: root',
        '  password: ""',
        ...(TARGET_BINLOG ? [] : ['  session:', '    sql_log_bin: 0']),
        'mysql-instances:',
        '  - source-id: bench-src',
        '    block-allow-list: ba',
        '    meta:',
        `      binlog-name: ${start.file}`,
        `      binlog-pos: ${start.offset}`,
        '    syncer:',
        `      worker-count: ${WORKERS}`,
        `      batch: ${BATCH}`,
        '      checkpoint-flush-interval: 1',
        'block-allow-list:',
        '  ba:',
        '    do-dbs: ["sbtest"]',
        '',
      ].join('\n');
    const runs: ToolRun[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const start = await masterPos(src);
      t0 = performance.now();
      const w = sysbench(src.port, 'run', [...(EVENTS > 0 ? [`--events=${EVENTS}`, '--time=0'] : [`--time=${SECONDS}`]), '--report-interval=0', `--rand-seed=${round + 1}`]);
      const end = await masterPos(src);
      console.log(
        `round ${round + 1} backlog: ${w.txns} transactions, ~${w.writes} row events, binlog ${start.file}:${start.offset} → ${end.file}:${end.offset} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
      );
      const task = `bench_r${round + 1}`;
      const dm = async (): Promise<void> => {
        const yaml = taskYaml(task, start);
        const r = await runClusterTask(src, tDm, 'bench-src', {
          name: task,
          yaml,
          done: async () => {
            const cp = await taskCheckpoint(tDm, task);
            return cp !== undefined && reached(cp, end);
          },
        });
        const diff = await digestsDiffer(src, tDm, 'sbtest');
        runs.push({
          round,
          tool: 'DM.ts cluster',
          secs: r.secs,
          cpu: r.cpu,
          peakRssMB: r.peakRssMB,
          hwmMB: r.hwmMB,
          rssAt: r.rssAt,
          ...(r.heapAtEnd ? { heapAtEnd: r.heapAtEnd } : {}),
          ...(r.toRunningSecs !== undefined ? { toRunningSecs: r.toRunningSecs } : {}),
          digestOk: diff === '',
          ...(diff ? { digestDiff: diff } : {}),
          amount: w.writes,
          extra: { workerCpuMicrosPerRowEvent: Math.round((1e6 * r.cpu.worker) / w.writes) },
        });
      };
      const native = async (): Promise<void> => {
        const s0 = cpuSeconds(src.pid);
        const d0 = cpuSeconds(tSer.pid);
        const secs = await nativeReplica(tSer, serProxy?.port ?? src.port, start, end, false);
        const cpu = { source: cpuSeconds(src.pid) - s0, target: cpuSeconds(tSer.pid) - d0 };
        const diff = await digestsDiffer(src, tSer, 'sbtest');
        runs.push({ round, tool: 'native serial replica', secs, cpu, digestOk: diff === '', ...(diff ? { digestDiff: diff } : {}), amount: w.writes });
      };
      const tools = round % 2 === 0 ? [dm, native] : [native, dm];
      for (const tool of tools) await tool();
    }
    const ratios = printRuns(runs, 'DM.ts cluster', NaN, 'row events');
    for (const r of runs.filter((x) => x.tool === 'DM.ts cluster'))
      console.log(`round ${r.round + 1}: dm-worker ${String(r.extra?.['workerCpuMicrosPerRowEvent'])} µs CPU per row event`);

    // steady state through a fresh cluster: a task from before the heartbeat table's CREATE,
    // caught up, then LAG_SECONDS of sysbench at ~LAG_RATE row events/s with the 50 ms heartbeat
    let lag: Record<string, unknown> | undefined;
    if (LAG_SECONDS > 0) {
      const from = await masterPos(src);
      await src.sql('CREATE TABLE sbtest.hb (id INT PRIMARY KEY, ts BIGINT NOT NULL)');
      await src.sql('INSERT INTO sbtest.hb VALUES (1, 0)');
      const upTo = await masterPos(src);
      const r = await runClusterTask(src, tDm, 'bench-src', {
        name: 'bench_lag',
        yaml: taskYaml('bench_lag', from),
        done: async () => {
          const cp = await taskCheckpoint(tDm, 'bench_lag');
          return cp !== undefined && reached(cp, upTo);
        },
        steady: () => steadyLag(src, tDm, LAG_SECONDS),
      });
      const st = r.steady;
      const l = st?.result as SteadyLag | undefined;
      if (st && l) {
        const cpuUs = Math.round((1e6 * st.workerCpu) / (l.rowEventsPerSec * l.seconds));
        console.log(`\n${lagLine(l)}; dm-worker ${st.workerCpu.toFixed(1)} CPU-s (~${cpuUs} µs per row event), peak RSS ${st.peakRssMB} MB (VmHWM ${st.hwmMB}), worker fenced ${st.fences}×`);
        if (st.heapAtEnd) console.log(`lag phase: V8 heap at end (MB): ${Object.entries(st.heapAtEnd).map(([k, v]) => `${k} ${v}`).join(', ')}`);
        lag = { ...l, workerCpu: Number(st.workerCpu.toFixed(2)), workerCpuMicrosPerRowEvent: cpuUs, peakRssMB: st.peakRssMB, hwmMB: st.hwmMB, workerFences: st.fences, ...(st.heapAtEnd ? { heapAtEnd: st.heapAtEnd } : {}) };
      }
    }
    const file = writeResults('sync-cluster', {
      bench: 'sync',
      mode: 'cluster',
      at: new Date().toISOString(),
      machine: { ...machine(), loadavgAtStart: load0.map((x) => Number(x.toFixed(2))) },
      config: { tables: TABLES, tableSize: TABLE_SIZE, seconds: SECONDS, events: EVENTS, threads: THREADS, workerCount: WORKERS, batch: BATCH, targetBinlog: TARGET_BINLOG, rounds: ROUNDS, load: LOAD, rttMs: RTT_MS, compiledWorker: COMPILED, lagRate: LAG_RATE, lagSeconds: LAG_SECONDS },
      runs,
      ratios,
      ...(lag ? { lag } : {}),
    });
    console.log(`\nresults: ${file}`);
    console.log(`load average at start: ${load0.map((x) => x.toFixed(2)).join(' ')}, at end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  } finally {
    busy?.stop();
    for (const p of proxies) await p.close();
    for (const s of servers) await s.stop();
    for (const d of dirs) removeTempDir(d);
  }
}

await (cli.cluster ? mainCluster() : main());
