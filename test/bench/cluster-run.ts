/**
 * The `--cluster` mode shared by `bench:full` and `bench:sync`: DM.ts measured as a deployment
 * runs it — a real dm-master and dm-worker (processes started by test/helpers/cluster.ts), driven
 * by `dmctl operate-source create` + `start-task`, timed from start-task to the stage change the
 * bench names (full: every subtask Finished; sync: the target's checkpoint at the source position
 * captured after the backlog) — beside the anchors the benches already run.
 *
 * What it measures per run: wall seconds, CPU-seconds of the worker, the master (with its embedded
 * etcd, i.e. its process tree), the source and the target server, and the worker's peak RSS (VmRSS
 * polled every 100 ms during the run, and VmHWM: each DM.ts run gets a fresh cluster, so the
 * worker's high-water mark is that run's). After every tool a row digest of every table is taken
 * on the source and the target (server side: COUNT, BIT_XOR and SUM of CRC32 over all columns and
 * their NULL flags), so a fast but wrong tool shows as `digest MISMATCH`.
 *
 * Rounds are paired: each round runs every tool once (order rotated per round); the per-round
 * ratio is peer seconds / DM.ts seconds, and the headline is the median of those ratios (not a
 * ratio of medians). Results go to `bench-results/<bench>-<time>.json` (git-ignored).
 *
 * - `--load N`: N busy processes (`sh` busy loops) beside the whole run, started and stopped here.
 * - `--rtt-ms X`: the target path goes through test/helpers/fault-proxy.ts with X/2 ms per
 *   direction (the bench process runs the proxy, so its CPU is part of the box's load).
 *
 * - `BENCH_COMPILED=1`: the dm-worker runs from tsc output (compiledDist(), DM_WORKER_DIST of
 *   test/helpers/cluster.ts) as a deployed one does, instead of through tsx; the master stays on tsx.
 *
 * The bench process itself also runs the in-process dmctl polls (every 100 ms) and the proxy.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuSeconds, trackChild, type MariaDBServer } from '../helpers/index.js';
import { DMCluster, sourceYaml, subtasksOf, type Proc } from '../helpers/cluster.js';
import { ROOT } from '../helpers/paths.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { DEFAULT_KEEPALIVE_TTL_MS } from '../../src/config/cluster-config.js';

// ---- load and network ----------------------------------------------------------------------------

/**
 * N busy processes beside the run (`--load N`), each in a session of its own (`detached`), as
 * another program on the host would be. In the bench's own session they would share its kernel
 * autogroup (sched_autogroup_enabled=1) with sysbench and the bench's heartbeat writer and lag
 * poller, starving the workload and the instrument rather than DM.ts (docs/benchmarks.md).
 */
export class BusyLoad {
  private constructor(private readonly procs: ChildProcess[]) {}

  static start(n: number): BusyLoad {
    const procs = Array.from({ length: Math.max(0, n) }, () => {
      const c = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore', detached: true });
      trackChild(c);
      return c;
    });
    return new BusyLoad(procs);
  }

  get count(): number {
    return this.procs.length;
  }

  stop(): void {
    for (const c of this.procs) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}

/** A proxy with `rttMs`/2 latency each way in front of `port`, or undefined when rttMs is 0. */
export async function rttProxy(port: number, rttMs: number): Promise<FaultProxy | undefined> {
  if (!(rttMs > 0)) return undefined;
  const p = await FaultProxy.start({ port });
  p.setLatency({ up: rttMs / 2, down: rttMs / 2 });
  return p;
}

// ---- per-process figures ---------------------------------------------------------------------------

/** `pid` and all its descendants (from /proc). */
export function processTree(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
      parent.set(Number(d), ppid);
    } catch {
      /* gone */
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) for (const [c, p] of parent) if (p === out[i]) out.push(c);
  return out;
}

/** CPU seconds of a process tree. */
export function treeCpu(pid: number | undefined): number {
  return processTree(pid).reduce((a, p) => a + cpuSeconds(p), 0);
}

/**
 * Seconds the threads of `pid` and its descendants spent runnable but waiting for a CPU (the
 * second field of /proc/<tid>/schedstat, summed over every thread): on a loaded box the time a
 * pipeline stage loses to the scheduler rather than to its own work. Threads that ended before the
 * reading are not counted.
 */
export function treeRunWait(pid: number | undefined): number {
  return processTree(pid).reduce((a, p) => a + threadsRunWait(p), 0);
}

/** As treeRunWait for the threads of one process only. */
export function threadsRunWait(pid: number): number {
  let ns = 0;
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  for (const t of tids) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[1] ?? 0);
    } catch {
      /* gone */
    }
  }
  return ns / 1e9;
}

/** CPU seconds of this process's waited-for children (tools run with spawnSync). */
export function childrenCpu(): number {
  try {
    const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return 0;
  }
}

function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(m?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** A process's VmRSS now, in MB. */
export function rssMB(pid: number): number {
  return Math.round(statusKiB(pid, 'VmRSS') / 1024);
}

/**
 * The worker's V8 heap as its /metrics shows it (prom-client default metrics): MB used per heap
 * space, heap total and external memory, and its GC pauses so far (`gc_<kind>_s` seconds,
 * `gc_<kind>_n` count); undefined when the endpoint does not answer.
 */
export async function workerHeapMB(addr: string): Promise<Record<string, number> | undefined> {
  try {
    const res = await fetch(`http://${addr}/metrics`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return undefined;
    const out: Record<string, number> = {};
    const mb = (v: string): number => Math.round((10 * Number(v)) / 2 ** 20) / 10;
    for (const line of (await res.text()).split('\n')) {
      const sp = /^nodejs_heap_space_size_used_bytes\{space="(\w+)"[^}]*\} (\S+)/.exec(line);
      if (sp) out[`used_${sp[1]}`] = mb(sp[2] as string);
      const t = /^nodejs_(heap_size_total|heap_size_used|external_memory)_bytes(?:\{[^}]*\})? (\S+)/.exec(
        line,
      );
      if (t) out[t[1] as string] = mb(t[2] as string);
      // GC pauses since the worker started (prom-client's gc histogram): seconds and count per kind
      const gc = /^nodejs_gc_duration_seconds_(sum|count)\{kind="(\w+)"[^}]*\} (\S+)/.exec(line);
      if (gc) out[`gc_${gc[2]}_${gc[1] === 'sum' ? 's' : 'n'}`] = Math.round(1000 * Number(gc[3])) / 1000;
    }
    return out;
  } catch {
    return undefined;
  }
}

/** Polls a process's VmRSS; `stop()` gives the polled peak and the kernel's VmHWM (MB). */
export class RssSampler {
  private peak = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(
    private readonly pid: number,
    intervalMs = 100,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }
  private sample(): void {
    this.peak = Math.max(this.peak, statusKiB(this.pid, 'VmRSS'));
  }
  stop(): { peakRssMB: number; hwmMB: number } {
    this.sample();
    clearInterval(this.timer);
    return {
      peakRssMB: Math.round(this.peak / 1024),
      hwmMB: Math.round(statusKiB(this.pid, 'VmHWM') / 1024),
    };
  }
}

// ---- digests ----------------------------------------------------------------------------------------

export interface TableDigest {
  table: string;
  rows: number;
  digest: string;
}

/** Per-table row digests of `schema`, computed by the server (order-independent). */
export async function schemaDigest(
  s: MariaDBServer,
  schema: string,
  tables?: string[],
): Promise<TableDigest[]> {
  const cols = await s.sql(
    'SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION',
    [schema],
  );
  const byTable = new Map<string, string[]>();
  for (const r of cols) byTable.set(String(r['t']), [...(byTable.get(String(r['t'])) ?? []), String(r['c'])]);
  const out: TableDigest[] = [];
  for (const t of tables ?? [...byTable.keys()].sort()) {
    const cs = byTable.get(t) ?? [];
    const q = (x: string): string => '`' + x.replace(/`/g, '``') + '`';
    const row = `CRC32(CONCAT_WS(0x1f, ${cs.map((c) => `${q(c)}, ISNULL(${q(c)})`).join(', ')}))`;
    const [r] = cs.length
      ? await s.sql(`SELECT COUNT(*) AS n, BIT_XOR(${row}) AS x, SUM(${row}) AS s FROM ${q(schema)}.${q(t)}`)
      : [undefined];
    out.push({
      table: t,
      rows: Number(r?.['n'] ?? -1),
      digest: r ? `${String(r['x'])}/${String(r['s'])}` : 'missing',
    });
  }
  return out;
}

/** Compare source and target digests of `schema` (the source's tables); '' when equal. */
export async function digestsDiffer(src: MariaDBServer, dst: MariaDBServer, schema: string): Promise<string> {
  const a = await schemaDigest(src, schema);
  const b = await schemaDigest(
    dst,
    schema,
    a.map((x) => x.table),
  );
  const bad = a
    .map((x, i) => ({ x, y: b[i] }))
    .filter(({ x, y }) => !y || x.rows !== y.rows || x.digest !== y.digest)
    .map(
      ({ x, y }) =>
        `${schema}.${x.table}: source ${x.rows} rows ${x.digest}, target ${y?.rows ?? 0} rows ${y?.digest ?? '-'}`,
    );
  return bad.join('; ');
}

// ---- the cluster run --------------------------------------------------------------------------------

export interface ClusterRun {
  secs: number;
  /** CPU seconds during the run. */
  cpu: { worker: number; master: number; source: number; target: number };
  /** CPU and run-queue wait seconds of the bench process itself (its polls) during the run. */
  bench: { cpu: number; runWait: number };
  /** Run-queue wait seconds during the run (treeRunWait), same processes. */
  runWait: { worker: number; master: number; source: number; target: number };
  peakRssMB: number;
  hwmMB: number;
  /** Seconds from start-task until query-status first showed a subtask Running (or later). */
  toRunningSecs: number | undefined;
  /**
   * Seconds from start-task until query-status first showed loaded bytes (`load.finishedBytes`
   * > 0), or the task Finished if no poll saw the Load unit at work (an upper bound).
   */
  toFirstRowsSecs: number | undefined;
  /**
   * The worker's VmRSS (MB) idle after start (no source), with the source bound (before
   * start-task), and when a subtask first showed Running.
   */
  rssAt: { idle: number; sourceBound: number; running: number | undefined };
  /** The worker's V8 heap (MB, from its /metrics) when the run is over, before stop-task. */
  heapAtEnd: Record<string, number> | undefined;
  /** ClusterTask.steady's result, with the worker's CPU seconds and peak RSS during it. */
  steady?: {
    result: unknown;
    workerCpu: number;
    peakRssMB: number;
    hwmMB: number;
    heapAtEnd?: Record<string, number>;
    /** Times the worker fenced itself (keep-alive not acknowledged in time) during the phase: each stops and restarts its subtasks. */
    fences: number;
  };
}

export interface ClusterTask {
  /** Task name (and `<meta-schema>.<name>_*` tables). */
  name: string;
  /** The task YAML (its target-database block included). */
  yaml: string;
  /** Whether the run is over (polled every 100 ms after start-task); gets the subtasks' stages. */
  done: (stages: string[]) => Promise<boolean> | boolean;
  timeoutMs?: number;
  /** A phase run after `done` with the task still running (e.g. a steady-state lag measurement). */
  steady?: () => Promise<unknown>;
}

/** How many times the worker's log says it fenced itself (src/worker/session.ts). */
function fenceCount(log: string): number {
  try {
    return readFileSync(log, 'utf8').split('keepalive not acknowledged in time').length - 1;
  } catch {
    return 0;
  }
}

/**
 * A fresh one-master, one-worker cluster with the source registered as `sourceId`; runs `task`
 * (start-task → done) and tears the cluster down. The time excludes cluster start and source
 * registration.
 */
export async function runClusterTask(
  src: MariaDBServer,
  dst: MariaDBServer,
  sourceId: string,
  task: ClusterTask,
): Promise<ClusterRun> {
  // the deployed keep-alive TTL (keepalive-ttl's default), not the test helper's 3 s: with 3 s a
  // worker on a loaded box fences itself and restarts its subtasks (seconds of lag); BENCH_KEEPALIVE_TTL overrides
  const keepaliveTtl = process.env['BENCH_KEEPALIVE_TTL'] ?? `${DEFAULT_KEEPALIVE_TTL_MS / 1000}s`;
  const cluster = await DMCluster.start({ masters: 1, workers: 1, prefix: 'bench-cluster', keepaliveTtl });
  try {
    const w0 = cluster.workers[0]?.child?.pid;
    // idle: a second after the worker registered, so its start-up's garbage had a chance to go
    await sleep(1000);
    const idleRss = w0 === undefined ? 0 : rssMB(w0);
    const srcFile = join(cluster.dir, 'source.yaml');
    writeFileSync(srcFile, sourceYaml(sourceId, src.port));
    const os = await cluster.ctl(['operate-source', 'create', srcFile]);
    if (os.json['result'] !== true) throw new Error(`operate-source create failed: ${os.stdout}${os.stderr}`);
    const taskFile = join(cluster.dir, 'task.yaml');
    writeFileSync(taskFile, task.yaml);
    const master = cluster.masters[0] as Proc;
    const worker = cluster.workers[0] as Proc;
    const wpid = worker.child?.pid;
    if (wpid === undefined) throw new Error('no worker pid');
    const c0 = {
      worker: treeCpu(wpid),
      master: treeCpu(master.child?.pid),
      source: cpuSeconds(src.pid),
      target: cpuSeconds(dst.pid),
    };
    const w0wait = {
      worker: treeRunWait(wpid),
      master: treeRunWait(master.child?.pid),
      source: treeRunWait(src.pid),
      target: treeRunWait(dst.pid),
    };
    const selfCpu0 = process.cpuUsage();
    const selfWait0 = threadsRunWait(process.pid);
    const sourceBoundRss = rssMB(wpid);
    const rss = new RssSampler(wpid);
    const t0 = performance.now();
    let toRunning: number | undefined;
    let toFirstRows: number | undefined;
    let runningRss: number | undefined;
    try {
      const r = await cluster.ctl(['start-task', taskFile]);
      if (r.json['result'] !== true) throw new Error(`start-task failed: ${r.stdout}${r.stderr}`);
      const deadline = Date.now() + (task.timeoutMs ?? 30 * 60_000);
      for (;;) {
        const st = await cluster.ctl(['query-status', task.name]);
        const subs = subtasksOf(st.json);
        const stages = subs.map((s) => s.stage);
        const errs = subs.flatMap((s) => s.result?.errors ?? []);
        if (stages.includes('Paused') || errs.length > 0)
          throw new Error(`task paused/failed: ${st.stdout}\n${cluster.logs()}`);
        if (toRunning === undefined && stages.some((s) => s === 'Running' || s === 'Finished')) {
          toRunning = (performance.now() - t0) / 1000;
          runningRss = rssMB(wpid);
        }
        if (toFirstRows === undefined && subs.some((s) => Number(s.load?.['finishedBytes'] ?? 0) > 0 || s.stage === 'Finished'))
          toFirstRows = (performance.now() - t0) / 1000;
        if (await task.done(stages)) break;
        if (!cluster.alive(worker)) throw new Error(`dm-worker exited\n${cluster.logs()}`);
        if (Date.now() > deadline) throw new Error(`timed out; last status ${st.stdout}\n${cluster.logs()}`);
        await sleep(100);
      }
    } catch (e) {
      rss.stop();
      throw e;
    }
    const secs = (performance.now() - t0) / 1000;
    const { peakRssMB, hwmMB } = rss.stop();
    const heapAtEnd = await workerHeapMB(worker.addr);
    // BENCH_WORKER_SNAPSHOT=1 with DM_WORKER_NODE_ARGS='--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=<dir>':
    // a heap snapshot of the worker when the run is over (V8 collects garbage first, so it shows what is retained)
    if (process.env['BENCH_WORKER_SNAPSHOT'] === '1') {
      process.kill(wpid, 'SIGUSR2');
      await sleep(Number(process.env['BENCH_WORKER_SNAPSHOT_WAIT_MS'] ?? 20_000));
    }
    const cpu = {
      worker: treeCpu(wpid) - c0.worker,
      master: treeCpu(master.child?.pid) - c0.master,
      source: cpuSeconds(src.pid) - c0.source,
      target: cpuSeconds(dst.pid) - c0.target,
    };
    const runWait = {
      worker: treeRunWait(wpid) - w0wait.worker,
      master: treeRunWait(master.child?.pid) - w0wait.master,
      source: treeRunWait(src.pid) - w0wait.source,
      target: treeRunWait(dst.pid) - w0wait.target,
    };
    const su = process.cpuUsage(selfCpu0);
    const benchCpu = (su.user + su.system) / 1e6;
    const selfWait = threadsRunWait(process.pid) - selfWait0;
    let steady: ClusterRun['steady'];
    if (task.steady) {
      const c1 = treeCpu(wpid);
      const fences0 = fenceCount(worker.log);
      const sRss = new RssSampler(wpid);
      let result: unknown;
      // BENCH_LAG_TRACE=<dir>: the worker's query-status every 250 ms during the phase
      // (<dir>/status.jsonl, with the bench's clock) and its log (<dir>/worker.log) after it
      const traceDir = process.env['BENCH_LAG_TRACE'];
      let tracing = traceDir !== undefined && traceDir !== '';
      const tracer = (async () => {
        if (!tracing || !traceDir) return;
        mkdirSync(traceDir, { recursive: true });
        const lines: string[] = [];
        while (tracing) {
          const at = Date.now();
          const st = await cluster.ctl(['query-status', task.name]).catch(() => undefined);
          const sub = st ? subtasksOf(st.json)[0] : undefined;
          lines.push(JSON.stringify({ at, took: Date.now() - at, sync: sub?.sync ?? null }));
          await sleep(250);
        }
        writeFileSync(join(traceDir, 'status.jsonl'), lines.join('\n') + '\n');
      })();
      try {
        result = await task.steady();
      } finally {
        tracing = false;
        await tracer;
        if (traceDir) {
          writeFileSync(join(traceDir, 'worker.log'), readFileSync(worker.log, 'utf8'));
          writeFileSync(join(traceDir, 'master.log'), readFileSync(master.log, 'utf8'));
        }
        const r = sRss.stop();
        const heap = await workerHeapMB(worker.addr);
        steady = { result, workerCpu: treeCpu(wpid) - c1, ...r, ...(heap ? { heapAtEnd: heap } : {}), fences: fenceCount(worker.log) - fences0 };
      }
      if (!cluster.alive(worker))
        throw new Error(`dm-worker exited during the steady phase\n${cluster.logs()}`);
    }
    await cluster.ctl(['stop-task', task.name]).catch(() => undefined);
    // a profiled worker (DM_WORKER_NODE_ARGS=--cpu-prof …) writes its profile on a graceful exit only
    if (process.env['DM_WORKER_NODE_ARGS']) await cluster.stop(worker).catch(() => undefined);
    return {
      secs,
      cpu,
      runWait,
      bench: { cpu: benchCpu, runWait: selfWait },
      peakRssMB,
      hwmMB,
      toRunningSecs: toRunning,
      toFirstRowsSecs: toFirstRows,
      rssAt: { idle: idleRss, sourceBound: sourceBoundRss, running: runningRss },
      heapAtEnd,
      ...(steady ? { steady } : {}),
    };
  } finally {
    await cluster.close();
  }
}

// ---- rounds and results -------------------------------------------------------------------------

export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** One tool's run in one round. */
export interface ToolRun {
  round: number;
  tool: string;
  secs: number;
  /** CPU seconds by process name (worker, master, source, target, tool). */
  cpu: Record<string, number>;
  peakRssMB?: number;
  hwmMB?: number;
  /** DM.ts runs: the worker's RSS at stages of the run (see ClusterRun). */
  rssAt?: ClusterRun['rssAt'];
  heapAtEnd?: Record<string, number>;
  toRunningSecs?: number;
  toFirstRowsSecs?: number;
  digestOk: boolean;
  digestDiff?: string;
  /** Rows / row events this run moved (overrides printRuns' `amount`). */
  amount?: number;
  extra?: Record<string, unknown>;
}

/** Per-round ratios peer secs / DM.ts secs and their median, for every peer. */
export function pairedRatios(
  runs: ToolRun[],
  dmTool: string,
): Record<string, { perRound: number[]; median: number }> {
  const out: Record<string, { perRound: number[]; median: number }> = {};
  const rounds = [...new Set(runs.map((r) => r.round))].sort((a, b) => a - b);
  const peers = [...new Set(runs.map((r) => r.tool))].filter((t) => t !== dmTool);
  for (const p of peers) {
    const perRound = rounds.map((k) => {
      const dm = runs.find((r) => r.round === k && r.tool === dmTool);
      const pr = runs.find((r) => r.round === k && r.tool === p);
      return dm && pr ? pr.secs / dm.secs : NaN;
    });
    out[p] = { perRound, median: median(perRound) };
  }
  return out;
}

const fmtCpu = (c: Record<string, number>): string =>
  Object.entries(c)
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join(', ');

/** Print the runs as a table and the paired ratios. `unit`/`amount`: e.g. rows, 1e6 → rows/s. */
export function printRuns(
  runs: ToolRun[],
  dmTool: string,
  amount: number,
  unit: string,
): Record<string, { perRound: number[]; median: number }> {
  console.log(
    `\n| round | tool | wall s | ${unit}/s | CPU s | worker peak RSS MB (VmRSS poll / VmHWM) | start-task → Running / first rows s | digest |`,
  );
  console.log('|---:|---|---:|---:|---|---:|---:|---|');
  for (const r of runs)
    console.log(
      `| ${r.round + 1} | ${r.tool} | ${r.secs.toFixed(2)} | ${Math.round((r.amount ?? amount) / r.secs)} | ${fmtCpu(r.cpu)} | ${r.peakRssMB !== undefined ? `${r.peakRssMB} / ${r.hwmMB}` : '-'} | ${r.toRunningSecs?.toFixed(2) ?? '-'}${r.toFirstRowsSecs !== undefined ? ` / ${r.toFirstRowsSecs.toFixed(2)}` : ''} | ${r.digestOk ? 'equal' : `MISMATCH ${r.digestDiff}`} |`,
    );
  const ratios = pairedRatios(runs, dmTool);
  console.log('');
  for (const r of runs.filter((x) => x.rssAt))
    console.log(
      `round ${r.round + 1} ${r.tool}: dm-worker RSS MB idle ${r.rssAt?.idle}, source bound ${r.rssAt?.sourceBound}, at Running ${r.rssAt?.running ?? '-'}, peak ${r.peakRssMB}${
        r.heapAtEnd
          ? `; V8 heap at end (MB): ${Object.entries(r.heapAtEnd)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}`
          : ''
      }`,
    );
  for (const [peer, x] of Object.entries(ratios))
    console.log(
      `${dmTool} speed / ${peer}: per round ${x.perRound.map((v) => `${v.toFixed(2)}x`).join(', ')}; median ${x.median.toFixed(2)}x`,
    );
  return ratios;
}

/** The machine the figures were taken on. */
export function machine(): Record<string, unknown> {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memGB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadavgAtEnd: loadavg().map((x) => Number(x.toFixed(2))),
  };
}

/** Write `bench-results/<bench>-<iso time>.json`; returns its path. */
export function writeResults(bench: string, data: Record<string, unknown>): string {
  const dir = join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${bench}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
  return file;
}

/**
 * Compile src/ with tsc into `<dir>/dist` (as `npm run build` does, without the web UI) and return
 * that dir: `node <dist>/src/bin/dm-worker.js` is the deployed worker. (Other areas' type errors
 * do not stop tsc from emitting.)
 */
export function compiledDist(dir: string): string {
  const out = join(dir, 'dist');
  spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', out], { stdio: 'ignore' });
  if (!existsSync(join(out, 'src/bin/dm-worker.js')))
    throw new Error(`tsc produced no ${out}/src/bin/dm-worker.js`);
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as Record<string, unknown>;
  // the version lookup (src/util/version.ts) finds this one first
  writeFileSync(
    join(out, 'package.json'),
    JSON.stringify({ name: pkg['name'], version: pkg['version'], type: 'module' }),
  );
  symlinkSync(join(process.cwd(), 'node_modules'), join(out, 'node_modules'));
  return out;
}
