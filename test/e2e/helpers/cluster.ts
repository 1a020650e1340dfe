/**
 * e2e helpers: the real dm-master / dm-worker binaries as child processes (node --import tsx
 * src/bin/...), each with its own YAML config under a temp dir, and dmctl run either as the real
 * binary (`dmctlBin`) or in-process through the same commander program (`dmctl`, faster).
 * Every process started here is tracked and killed at exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, openSync, writeFileSync, closeSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, makeTempDir, removeTempDir, trackChild, waitFor } from '../../helpers/index.js';
import { buildProgram, newContext, runArgs } from '../../../src/ctl/index.js';

export const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
export const BIN = {
  master: join(ROOT, 'src/bin/dm-master.ts'),
  worker: join(ROOT, 'src/bin/dm-worker.ts'),
  dmctl: join(ROOT, 'src/bin/dmctl.ts'),
};

/** Why the control-plane e2e cases cannot run yet ('' when they can). */
export function missingBinaries(): string {
  const miss = [BIN.master, BIN.worker].filter((p) => !existsSync(p));
  return miss.length === 0 ? '' : `not built yet: ${miss.map((p) => p.slice(ROOT.length + 1)).join(', ')}`;
}

export interface Proc {
  name: string;
  child: ChildProcess;
  logFile: string;
  configFile: string;
  args: string[];
}

function spawnNode(script: string, args: string[], logFile: string, env: Record<string, string> = {}): ChildProcess {
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    stdio: ['ignore', fd, fd],
    // logs go to files shown on failure: info, whatever the runner set for in-process loggers
    env: { ...process.env, DM_LOG_LEVEL: process.env['DM_CHILD_LOG_LEVEL'] ?? 'info', ...env },
  });
  closeSync(fd);
  trackChild(child);
  return child;
}

export async function killProc(p: Proc, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const c = p.child;
  if (c.exitCode !== null || c.signalCode !== null) return;
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

export interface MasterSpec {
  name: string;
  addr: string;
  peerUrl: string;
  clientUrl: string;
}

/**
 * A DM cluster on loopback: `masters` dm-masters (embedded etcd, one --initial-cluster) and
 * `workers` dm-workers joined to them. `keepaliveTtl` short so failover tests are quick.
 */
export class DMCluster {
  readonly dir: string;
  readonly masters: Proc[] = [];
  readonly workers: Proc[] = [];
  readonly masterSpecs: MasterSpec[] = [];
  private workerNo = 0;
  /** Extra YAML lines for every dm-master / dm-worker config file (e.g. `secret-key-path: ...`). */
  private extraMaster: string[] = [];
  private extraWorker: string[] = [];

  private constructor(dir: string) {
    this.dir = dir;
  }

  get masterAddrs(): string[] {
    return this.masterSpecs.map((m) => m.addr);
  }

  static async start(
    opts: { masters?: number; workers?: number; keepaliveTtl?: string; dir?: string; masterConfig?: string[]; workerConfig?: string[] } = {},
  ): Promise<DMCluster> {
    const c = new DMCluster(opts.dir ?? makeTempDir('dmcluster'));
    c.extraMaster = opts.masterConfig ?? [];
    c.extraWorker = opts.workerConfig ?? [];
    const n = opts.masters ?? 1;
    for (let i = 0; i < n; i++) {
      c.masterSpecs.push({
        name: `master${i + 1}`,
        addr: `127.0.0.1:${await freePort()}`,
        peerUrl: `http://127.0.0.1:${await freePort()}`,
        clientUrl: `http://127.0.0.1:${await freePort()}`,
      });
    }
    const ttl = opts.keepaliveTtl ?? '3s';
    for (const m of c.masterSpecs) c.masters.push(c.spawnMaster(m, ttl));
    await c.waitLeader();
    for (let i = 0; i < (opts.workers ?? 1); i++) await c.addWorker(ttl);
    return c;
  }

  private spawnMaster(m: MasterSpec, ttl: string): Proc {
    const d = join(this.dir, m.name);
    mkdirSync(d, { recursive: true });
    const initial = this.masterSpecs.map((x) => `${x.name}=${x.peerUrl}`).join(',');
    const configFile = join(d, 'dm-master.yaml');
    writeFileSync(
      configFile,
      [
        `name: ${m.name}`,
        `master-addr: "${m.addr}"`,
        `advertise-addr: "${m.addr}"`,
        `data-dir: "${join(d, 'data')}"`,
        `peer-urls: "${m.peerUrl}"`,
        `advertise-peer-urls: "${m.peerUrl}"`,
        `etcd-client-urls: "${m.clientUrl}"`,
        `initial-cluster: "${initial}"`,
        `keepalive-ttl: "${ttl}"`,
        `log-file: ""`,
        ...this.extraMaster,
        '',
      ].join('\n'),
    );
    const args = ['--config', configFile];
    const logFile = join(d, 'master.log');
    return { name: m.name, child: spawnNode(BIN.master, args, logFile), logFile, configFile, args };
  }

  async addWorker(ttl = '3s'): Promise<Proc> {
    const name = `worker${++this.workerNo}`;
    const d = join(this.dir, name);
    mkdirSync(d, { recursive: true });
    const addr = `127.0.0.1:${await freePort()}`;
    const configFile = join(d, 'dm-worker.yaml');
    writeFileSync(
      configFile,
      [`name: ${name}`, `worker-addr: "${addr}"`, `advertise-addr: "${addr}"`, `join: "${this.masterAddrs.join(',')}"`, `keepalive-ttl: "${ttl}"`, `relay-dir: "${join(d, 'relay')}"`, 'log-format: json', ...this.extraWorker, ''].join('\n'),
    );
    const args = ['--config', configFile];
    const logFile = join(d, 'worker.log');
    const p: Proc = { name, child: spawnNode(BIN.worker, args, logFile, {}), logFile, configFile, args };
    this.workers.push(p);
    await waitFor(
      `${name} registered`,
      async () => {
        if (p.child.exitCode !== null) throw new Error(`${name} exited; see ${logFile}`);
        const r = await this.ctl(['list-member', '--worker']);
        const members = r.json['members'] as { worker?: { workers?: { name: string; stage: string }[] } }[] | undefined;
        const w = members?.[0]?.worker?.workers?.find((x) => x.name === name);
        return w !== undefined && w.stage !== 'offline';
      },
      { timeoutMs: 60_000, intervalMs: 300 },
    );
    return p;
  }

  /** Restart a killed master with the same config. */
  restartMaster(i: number): void {
    const old = this.masters[i];
    if (!old) throw new Error(`no master ${i}`);
    this.masters[i] = { ...old, child: spawnNode(BIN.master, old.args, old.logFile) };
  }

  async waitLeader(timeoutMs = 60_000): Promise<string> {
    return waitFor(
      'a dm-master leader',
      async () => {
        const r = await this.ctl(['list-member', '--leader']);
        if (!r.json['result']) return false;
        const m = r.json['members'] as { leader?: { name?: string } }[] | undefined;
        const name = m?.[0]?.leader?.name;
        return name ? name : false;
      },
      { timeoutMs, intervalMs: 300 },
    );
  }

  /** dmctl in-process (same program as the binary) against the cluster's masters. */
  async ctl(args: string[], addrs: string[] = this.masterAddrs): Promise<CtlResult> {
    return dmctl(['--master-addr', addrs.join(','), '--rpc-timeout', '30s', ...args]);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.workers, ...this.masters].map((p) => killProc(p, 'SIGTERM')));
  }

  /**
   * Stop everything: workers and masters gracefully (a master stops its embedded etcd), then any
   * process still running from this cluster's dir (the etcd of a master killed with -9 is orphaned).
   */
  async destroy(): Promise<void> {
    await Promise.all(this.workers.map((p) => killProc(p, 'SIGKILL')));
    await Promise.all(this.masters.map((p) => killProc(p, 'SIGTERM')));
    killStrays(this.dir);
    removeTempDir(this.dir);
  }
}

export interface CtlResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The last JSON object printed (`{}` when none). */
  json: Record<string, unknown>;
}

function lastJson(out: string): Record<string, unknown> {
  const i = out.lastIndexOf('\n{\n');
  const text = out.startsWith('{') && i < 0 ? out : out.slice(i + 1);
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** Run dmctl in this process with captured output. */
export async function dmctl(args: string[]): Promise<CtlResult> {
  let stdout = '';
  let stderr = '';
  const ctx = newContext({ out: (t) => (stdout += t.endsWith('\n') ? t : `${t}\n`), err: (t) => (stderr += t.endsWith('\n') ? t : `${t}\n`) });
  const code = await runArgs(ctx, buildProgram(ctx, true), args);
  return { code, stdout, stderr, json: lastJson(stdout) };
}

/** Run the real dmctl binary. */
export async function dmctlBin(args: string[], input?: string): Promise<CtlResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', BIN.dmctl, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, DMCTL_HISTORY: '/dev/null' } });
  trackChild(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(input ?? '');
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code: code ?? 1, stdout, stderr, json: lastJson(stdout) };
}

export interface SubtaskView {
  name: string;
  source: string;
  worker: string;
  stage: string;
  unit: string;
  synced: boolean;
  result?: { errors?: { code?: number; message?: string; workaround?: string }[] };
}

/** The subtasks of a task as query-status shows them. */
export function subtasksOf(status: Record<string, unknown>): SubtaskView[] {
  const sources = (status['sources'] as { subTaskStatus?: SubtaskView[] }[] | undefined) ?? [];
  return sources.flatMap((s) => s.subTaskStatus ?? []);
}

/**
 * Poll `query-status <task>` until `pred` holds for its subtasks; on timeout the error carries
 * the last status and the tail of every process log.
 */
export async function waitTask(
  cluster: DMCluster,
  task: string,
  what: string,
  pred: (subs: SubtaskView[]) => boolean,
  timeoutMs = 90_000,
): Promise<SubtaskView[]> {
  let last = '';
  try {
    return await waitFor(
      `${task}: ${what}`,
      async () => {
        const r = await cluster.ctl(['query-status', task]);
        last = r.stdout;
        const subs = subtasksOf(r.json);
        return subs.length > 0 && pred(subs) ? subs : false;
      },
      { timeoutMs, intervalMs: 500 },
    );
  } catch (e) {
    const logs = [...cluster.masters, ...cluster.workers]
      .map((p) => {
        let text = '';
        try {
          text = readFileSync(p.logFile, 'utf8').split('\n').slice(-15).join('\n');
        } catch {
          /* no log */
        }
        return `--- ${p.name} ---\n${text}`;
      })
      .join('\n');
    throw new Error(`${(e as Error).message}\nlast query-status:\n${last}\n${logs}`);
  }
}
