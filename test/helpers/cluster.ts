/**
 * The one DM cluster harness of the tests, benches and chaos runs: real dm-master / dm-worker
 * binaries (`node --import tsx src/bin/dm-*.ts`) as child processes on free loopback ports, each
 * with its own YAML config file and log file under the cluster's temp dir.
 *
 * - Every process runs in its own process group: `kill9(p)` / `stop(p)` hit a master together
 *   with its embedded etcd child, as a machine crash would; `killProc(p, sig)` signals the
 *   process alone (its etcd child lives on, orphaned). Everything is killed at exit.
 * - Masters: `startMasters(n)` (one `initial-cluster`), `joinMaster(name)` (`join:`),
 *   `restartMaster(i)` / `spawn(p)` restart one with the same config. Workers: `startWorker(name)`
 *   (returns at once) or `addWorker()` (waits until the masters list it as registered).
 * - Control: `client(i)` (the master RPC client), `ctl([...])` (dmctl in-process against all
 *   masters; see `./dmctl.ts` for `waitTask` and the real dmctl binary), `waitLeader()`,
 *   `waitAllUp()`, `logs()` (the tail of every log, for failure messages).
 * - `DMCluster.start({ masters, workers })` does all of that at once (the e2e cases' shape).
 *
 * The in-process masters and workers of the integration tests (`new DMMaster(...)`) need no
 * harness: they share the test's process and close with it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT } from './paths.js';
import { freePort, makeTempDir, keepTempDir, removeTempDir, waitFor } from './services.js';
import { createMasterClient, fromConnectError } from '../../src/rpc/index.js';
import { dmctl, type CtlResult } from './dmctl.js';
import { Etcd3 } from 'etcd3';

export { BIN, ROOT };
export { dmctl, dmctlBin, subtasksOf, waitTask, type CtlResult, type SubtaskView } from './dmctl.js';

/** Why the control-plane cases cannot run yet ('' when they can). */
/**
 * Why the cluster tests cannot run (binaries not built), or false. Never '': node:test skips a
 * test whose `skip` option is any string, the empty one included.
 */
export function missingBinaries(): string | false {
  const miss = [BIN.master, BIN.worker].filter((p) => !existsSync(p));
  return miss.length === 0 ? false : `not built yet: ${miss.map((p) => p.slice(ROOT.length + 1)).join(', ')}`;
}

/** Process groups started here, killed at exit. */
const groups = new Set<number>();
process.on('exit', () => {
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

/** One dm-master or dm-worker process (restartable: `child` is replaced by each spawn). */
export interface Proc {
  name: string;
  bin: 'dm-master' | 'dm-worker';
  /** The RPC port and `127.0.0.1:<port>`. */
  port: number;
  addr: string;
  configFile: string;
  /** Command-line arguments after the script (`--config <file>`, plus any flags pushed here). */
  args: string[];
  /** Log file (stdout and stderr). */
  log: string;
  child?: ChildProcess;
}

export interface MasterProc extends Proc {
  bin: 'dm-master';
  peerPort: number;
  etcdPort: number;
  peerUrl: string;
  /** Client URL of the embedded etcd member. */
  clientUrl: string;
  dataDir: string;
}

export interface ClusterOptions {
  /** Temp dir name prefix (default 'dmcluster'), or a dir to use. */
  prefix?: string;
  dir?: string;
  /** Keep-alive TTL of masters and workers: seconds or a duration string (default 3 s). */
  keepaliveTtl?: number | string;
  /** Extra YAML lines for every dm-master / dm-worker config file (e.g. `secret-key-path: ...`). */
  masterConfig?: string[];
  workerConfig?: string[];
  /** Master names: `${masterPrefix}${i}` (default 'm'); worker names of addWorker(): 'worker<i>'. */
  masterPrefix?: string;
}

function ttlText(ttl: number | string): string {
  return typeof ttl === 'number' ? `${ttl}s` : ttl;
}

function alive(p: Proc): boolean {
  return !!p.child && p.child.exitCode === null && p.child.signalCode === null;
}

/** Signal the process alone (not its group) and wait for it to exit; SIGKILL after 15 s. */
export async function killProc(p: Proc, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const c = p.child;
  if (!c || !alive(p)) return;
  const ex = once(c, 'exit');
  c.kill(signal);
  const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
  await ex;
  clearTimeout(t);
}

/** SIGKILL every process whose command line mentions `dir` (by pid, from /proc). */
export function killStrays(dir: string): void {
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return;
  }
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(dir)) process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* gone or not ours */
    }
  }
}

function safeRead(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

export class DMCluster {
  readonly dir: string;
  readonly masters: MasterProc[] = [];
  readonly workers: Proc[] = [];
  private readonly ttl: string;
  private readonly extraMaster: string[];
  private readonly extraWorker: string[];
  private readonly masterPrefix: string;
  private workerNo = 0;

  constructor(opts: ClusterOptions | string = {}) {
    const o = typeof opts === 'string' ? { prefix: opts } : opts;
    this.dir = o.dir ?? makeTempDir(o.prefix ?? 'dmcluster');
    this.ttl = ttlText(o.keepaliveTtl ?? 3);
    this.extraMaster = o.masterConfig ?? [];
    this.extraWorker = o.workerConfig ?? [];
    this.masterPrefix = o.masterPrefix ?? 'm';
  }

  /** A cluster of `masters` masters (leader elected) and `workers` registered workers. */
  static async start(opts: ClusterOptions & { masters?: number; workers?: number } = {}): Promise<DMCluster> {
    const c = new DMCluster({ masterPrefix: 'master', ...opts });
    try {
      await c.startMasters(opts.masters ?? 1);
      for (let i = 0; i < (opts.workers ?? 1); i++) await c.addWorker();
    } catch (e) {
      await c.close();
      throw e;
    }
    return c;
  }

  get masterAddrs(): string[] {
    return this.masters.map((m) => m.addr);
  }

  private async newMaster(name: string): Promise<MasterProc> {
    const port = await freePort();
    const peerPort = await freePort();
    const etcdPort = await freePort();
    const d = join(this.dir, name);
    mkdirSync(d, { recursive: true });
    const m: MasterProc = {
      name,
      bin: 'dm-master',
      port,
      addr: `127.0.0.1:${port}`,
      peerPort,
      etcdPort,
      peerUrl: `http://127.0.0.1:${peerPort}`,
      clientUrl: `http://127.0.0.1:${etcdPort}`,
      dataDir: join(d, 'data'),
      configFile: join(d, 'dm-master.yaml'),
      args: [],
      log: join(d, 'master.log'),
    };
    m.args = ['--config', m.configFile];
    return m;
  }

  private writeMasterConfig(m: MasterProc, ttl: string, cluster: { initial?: string; join?: string; state?: 'existing' }): void {
    writeFileSync(
      m.configFile,
      [
        `name: ${m.name}`,
        `master-addr: "${m.addr}"`,
        `advertise-addr: "${m.addr}"`,
        `data-dir: "${m.dataDir}"`,
        `peer-urls: "${m.peerUrl}"`,
        `advertise-peer-urls: "${m.peerUrl}"`,
        `etcd-client-urls: "${m.clientUrl}"`,
        ...(cluster.initial !== undefined ? [`initial-cluster: "${cluster.initial}"`] : []),
        ...(cluster.join !== undefined ? [`join: "${cluster.join}"`] : []),
        ...(cluster.state !== undefined ? [`initial-cluster-state: ${cluster.state}`] : []),
        `keepalive-ttl: "${ttl}"`,
        `log-file: ""`,
        ...this.extraMaster,
        '',
      ].join('\n'),
    );
  }

  /** Start `n` masters with one initial-cluster; resolves when a leader is elected and all answer. */
  async startMasters(n: number, keepaliveTtl?: number | string): Promise<void> {
    const ttl = keepaliveTtl === undefined ? this.ttl : ttlText(keepaliveTtl);
    const first = this.masters.length;
    const fresh: MasterProc[] = [];
    for (let i = 0; i < n; i++) fresh.push(await this.newMaster(`${this.masterPrefix}${first + i + 1}`));
    const initial = fresh.map((m) => `${m.name}=${m.peerUrl}`).join(',');
    for (const m of fresh) {
      this.writeMasterConfig(m, ttl, { initial });
      this.masters.push(m);
      this.spawn(m);
    }
    await this.waitLeader();
    await this.waitAllUp();
  }

  /** Start one more master that joins the running cluster (`join:` its live members' etcd). */
  async joinMaster(name: string, keepaliveTtl?: number | string): Promise<MasterProc> {
    const ttl = keepaliveTtl === undefined ? this.ttl : ttlText(keepaliveTtl);
    const joinList = this.masters.filter((m) => alive(m)).map((m) => m.clientUrl).join(',');
    const m = await this.newMaster(name);
    this.writeMasterConfig(m, ttl, { join: joinList });
    this.masters.push(m);
    this.spawn(m);
    await this.waitAllUp();
    if (!alive(m)) throw new Error(`${name} exited while joining; see ${m.log}`);
    return m;
  }

  /**
   * Start one more master the etcd way, without `join:`: `member add` its peer URL on the running
   * cluster, then start it with the resulting `initial-cluster` and `initial-cluster-state: existing`.
   */
  async addMasterExisting(name: string, keepaliveTtl?: number | string): Promise<MasterProc> {
    const ttl = keepaliveTtl === undefined ? this.ttl : ttlText(keepaliveTtl);
    const live = this.masters.find((m) => alive(m));
    if (!live) throw new Error('no live master to add a member to');
    const m = await this.newMaster(name);
    const etcd = new Etcd3({ hosts: live.clientUrl });
    let initial: string;
    try {
      // etcd refuses a reconfiguration while a member is not yet healthy (e.g. right after another change)
      let r: Awaited<ReturnType<typeof etcd.cluster.memberAdd>> | undefined;
      await waitFor('etcd member add', async () => {
        r = await etcd.cluster.memberAdd({ peerURLs: [m.peerUrl] }).catch((e: unknown) => {
          if (/unhealthy cluster/.test(String(e))) return undefined;
          throw e;
        });
        return r !== undefined;
      }, { timeoutMs: 30_000 });
      initial = (r?.members ?? []).flatMap((x) => x.peerURLs.map((u) => `${x.name || name}=${u}`)).join(',');
    } finally {
      etcd.close();
    }
    this.writeMasterConfig(m, ttl, { initial, state: 'existing' });
    this.masters.push(m);
    this.spawn(m);
    await this.waitAllUp();
    if (!alive(m)) throw new Error(`${name} exited while starting as an existing member; see ${m.log}`);
    return m;
  }

  /** Start a worker joined to every master; returns at once (see addWorker to wait). */
  async startWorker(name: string, keepaliveTtl?: number | string): Promise<Proc> {
    const ttl = keepaliveTtl === undefined ? this.ttl : ttlText(keepaliveTtl);
    const port = await freePort();
    const d = join(this.dir, name);
    mkdirSync(d, { recursive: true });
    const w: Proc = { name, bin: 'dm-worker', port, addr: `127.0.0.1:${port}`, configFile: join(d, 'dm-worker.yaml'), args: [], log: join(d, 'worker.log') };
    w.args = ['--config', w.configFile];
    writeFileSync(
      w.configFile,
      [
        `name: ${name}`,
        `worker-addr: "${w.addr}"`,
        `advertise-addr: "${w.addr}"`,
        `join: "${this.masterAddrs.join(',')}"`,
        `keepalive-ttl: "${ttl}"`,
        `relay-dir: "${join(d, 'relay')}"`,
        'log-format: json',
        ...this.extraWorker,
        '',
      ].join('\n'),
    );
    this.workers.push(w);
    this.spawn(w);
    return w;
  }

  /** Start a worker named `worker<i>` and wait until the masters list it online. */
  async addWorker(keepaliveTtl?: number | string): Promise<Proc> {
    const w = await this.startWorker(`worker${++this.workerNo}`, keepaliveTtl);
    await waitFor(
      `${w.name} registered`,
      async () => {
        if (!alive(w)) throw new Error(`${w.name} exited; see ${w.log}`);
        const r = await this.ctl(['list-member', '--worker']);
        const members = r.json['members'] as { worker?: { workers?: { name: string; stage: string }[] } }[] | undefined;
        const x = members?.[0]?.worker?.workers?.find((y) => y.name === w.name);
        return x !== undefined && x.stage !== 'offline';
      },
      { timeoutMs: 60_000, intervalMs: 300 },
    );
    return w;
  }

  /** (Re)start a process with its config, in a new process group. */
  spawn(p: Proc): void {
    const fd = openSync(p.log, 'a');
    // DM_WORKER_DIST=<dir>: dm-worker from tsc output (<dir>/src/bin/dm-worker.js), as deployed,
    // instead of through tsx (whose transpiler and source maps add ~50 MB RSS); benches only
    const dist = p.bin === 'dm-worker' ? process.env['DM_WORKER_DIST'] : undefined;
    const entry = dist ? [join(dist, 'src/bin/dm-worker.js')] : ['--import', 'tsx', p.bin === 'dm-master' ? BIN.master : BIN.worker];
    // DM_WORKER_NODE_ARGS: extra node flags for dm-worker processes (e.g. --cpu-prof for a bench)
    if (p.bin === 'dm-worker') entry.unshift(...(process.env['DM_WORKER_NODE_ARGS'] ?? '').split(' ').filter(Boolean));
    const child = spawn(process.execPath, [...entry, ...p.args], {
      cwd: ROOT,
      stdio: ['ignore', fd, fd],
      detached: true,
      // the binaries' logs go to files shown when a test fails: keep them at info (the test
      // runner sets DM_LOG_LEVEL=warn for in-process loggers); DM_CHILD_LOG_LEVEL overrides
      env: { ...process.env, DM_LOG_LEVEL: process.env['DM_CHILD_LOG_LEVEL'] ?? 'info' },
    });
    closeSync(fd);
    p.child = child;
    const pid = child.pid;
    if (pid !== undefined) {
      groups.add(pid);
      child.once('exit', () => groups.delete(pid));
    }
  }

  /** Restart master `i` with the same config (after a kill). */
  restartMaster(i: number): void {
    const m = this.masters[i];
    if (!m) throw new Error(`no master ${i}`);
    this.spawn(m);
  }

  alive(p: Proc): boolean {
    return alive(p);
  }

  /** kill -9 the whole process group (a master with its etcd child). */
  async kill9(p: Proc): Promise<void> {
    const c = p.child;
    if (!c || !alive(p) || c.pid === undefined) return;
    const ex = once(c, 'exit');
    process.kill(-c.pid, 'SIGKILL');
    await ex;
  }

  /** SIGTERM and wait (graceful stop); then the rest of its group (a master's etcd) is killed. */
  async stop(p: Proc): Promise<void> {
    const c = p.child;
    if (!c || !alive(p) || c.pid === undefined) return;
    const ex = once(c, 'exit');
    c.kill('SIGTERM');
    const t = setTimeout(() => {
      try {
        process.kill(-(c.pid ?? 0), 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 15_000);
    await ex;
    clearTimeout(t);
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }

  /** The master RPC client of master `i` (with `$DM_TOKEN` as bearer token when set, as dmctl does). */
  client(i: number) {
    const m = this.masters[i];
    if (!m) throw new Error(`no master ${i}`);
    const token = process.env['DM_TOKEN'];
    return createMasterClient(m.addr, token ? { interceptors: [(next) => (req) => (req.header.set('authorization', `Bearer ${token}`), next(req))] } : {});
  }

  /** Every running master answers RPCs. */
  async waitAllUp(timeoutMs = 60_000): Promise<void> {
    await waitFor(
      'all masters up',
      async () => {
        for (const [i, m] of this.masters.entries()) {
          if (!alive(m)) continue;
          await this.client(i).listMember({ leader: true }, { timeoutMs: 2000 });
        }
        return true;
      },
      { timeoutMs, intervalMs: 200 },
    );
  }

  /** Index of the current leader as a live master reports it (never `except`). */
  async waitLeader(timeoutMs = 60_000, except?: number): Promise<number> {
    return waitFor(
      'a dm-master leader',
      async () => {
        for (const [i, m] of this.masters.entries()) {
          if (!alive(m) || i === except) continue;
          try {
            const r = await this.client(i).listMember({ leader: true }, { timeoutMs: 2000 });
            const idx = this.masters.findIndex((x) => x.name === r.leader?.name);
            if (idx >= 0 && idx !== except && alive(this.masters[idx]!)) return idx + 1;
          } catch {
            /* not up */
          }
        }
        return false;
      },
      { timeoutMs, intervalMs: 200 },
    ).then((x) => x - 1);
  }

  /** dmctl in-process (same program as the binary) against the cluster's masters. */
  async ctl(args: string[], addrs: string[] = this.masterAddrs): Promise<CtlResult> {
    return dmctl(['--master-addr', addrs.join(','), '--rpc-timeout', '30s', ...args]);
  }

  /** The last lines of every process log. */
  logs(lines = 15): string {
    return [...this.masters, ...this.workers].map((p) => `--- ${p.name}\n${safeRead(p.log).split('\n').slice(-lines).join('\n')}`).join('\n');
  }

  /**
   * kill -9 every process group, then anything still running from this cluster's dir (the etcd
   * of a master killed alone is orphaned), and remove the dir (kept when DM_KEEP_LOGS is set).
   */
  /**
   * Write `text` to `name` in the cluster's dir, run `dmctl <args> <that file>` (operate-source
   * create, start-task, ...) and require `result: true`, with dmctl's output in the failure.
   */
  async ctlFile(args: string[], name: string, text: string): Promise<CtlResult> {
    const file = join(this.dir, name);
    writeFileSync(file, text);
    const r = await this.ctl([...args, file]);
    assert.equal(r.json['result'], true, r.stdout);
    return r;
  }

  async close(): Promise<void> {
    await Promise.all([...this.workers, ...this.masters].map((p) => this.kill9(p)));
    killStrays(this.dir);
    if (process.env['DM_KEEP_LOGS']) {
      keepTempDir(this.dir);
      process.stderr.write(`logs kept in ${this.dir}\n`);
    }
    else removeTempDir(this.dir);
  }
}

/** The DM error code an RPC call failed with (0 when it succeeded). */
export async function codeOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    return fromConnectError(e).code;
  }
  return 0;
}

/** A source config for root on a loopback MariaDB. */
export function sourceYaml(id: string, port: number, host = '127.0.0.1'): string {
  return `source-id: ${id}\nfrom:\n  host: ${host}\n  port: ${port}\n  user: root\n  password: ""\n`;
}

/** An incremental task from `meta` (binlog file + pos) into the target, replicating schema `db`. */
export function taskYaml(name: string, sources: string[], targetPort: number, meta?: { file: string; pos: number }, db = 'ha_test'): string {
  return [
    `name: ${name}`,
    `task-mode: ${meta ? 'incremental' : 'all'}`,
    'block-allow-list:',
    '  ba:',
    `    do-dbs: ["${db}"]`,
    'target-database:',
    '  host: 127.0.0.1',
    `  port: ${targetPort}`,
    '  user: root',
    '  password: ""',
    'mysql-instances:',
    ...sources.flatMap((s) => [
      `  - source-id: ${s}`,
      '    block-allow-list: ba',
      ...(meta ? ['    meta:', `      binlog-name: ${meta.file}`, `      binlog-pos: ${meta.pos}`] : []),
    ]),
    '',
  ].join('\n');
}
