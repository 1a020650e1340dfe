/**
 * Detached sandbox processes: started with their own session (they outlive the quickstart),
 * stdout/stderr appended to .sandbox/logs/<name>.log, pid in .sandbox/<name>.pid. Stopping reads the
 * pid files, checks that the pid still belongs to this sandbox (its command line names the
 * sandbox dir), sends SIGTERM, then SIGKILL after a grace period. Linux only (/proc).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Member, SandboxPaths } from './sandbox-paths.js';

export interface DetachedSpec {
  cmd: string;
  args: string[];
  cwd: string;
  logFile: string;
  pidFile: string;
  env?: NodeJS.ProcessEnv;
}

/** Start a process in its own session, not tied to this one; returns its pid. */
export function spawnDetached(spec: DetachedSpec): number {
  const fd = openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.cmd, spec.args, {
      cwd: spec.cwd,
      detached: true,
      stdio: ['ignore', fd, fd],
      env: spec.env ?? process.env,
    });
    if (child.pid === undefined) throw new Error(`cannot start ${spec.cmd}; see ${spec.logFile}`);
    child.unref();
    writeFileSync(spec.pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

function procFile(pid: number, name: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${name}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Alive = exists and is not a zombie (a reaped-later zombie holds no ports or files). */
export function isAlive(pid: number): boolean {
  const stat = procFile(pid, 'stat');
  if (stat === undefined) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

function cmdlineOf(pid: number): string {
  return (procFile(pid, 'cmdline') ?? '').split('\0').join(' ');
}

function parentOf(pid: number): number {
  const stat = procFile(pid, 'stat');
  if (stat === undefined) return 0;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[1] ?? 0);
}

/** Whether `pid` is a live process of the sandbox in `dir` (guards against recycled pids). */
export function belongsTo(pid: number, dir: string): boolean {
  return isAlive(pid) && cmdlineOf(pid).includes(`${dir}/`);
}

export function readPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const n = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(n) && n > 1 ? n : undefined;
}

/** Live processes whose command line names the sandbox dir, except this process and its ancestors. */
export function strayProcesses(dir: string): number[] {
  const mine = new Set<number>();
  for (let p = process.pid; p > 1 && !mine.has(p); p = parentOf(p)) mine.add(p);
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (!mine.has(pid) && belongsTo(pid, dir)) out.push(pid);
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/** SIGTERM, wait up to graceMs, then SIGKILL and wait for the exit. Returns the pids that needed SIGKILL. */
export async function terminate(pids: number[], graceMs: number): Promise<number[]> {
  for (const p of pids) signal(p, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.some(isAlive) && Date.now() < deadline) await sleep(100);
  const stubborn = pids.filter(isAlive);
  for (const p of stubborn) signal(p, 'SIGKILL');
  const hard = Date.now() + 10_000;
  while (stubborn.some(isAlive) && Date.now() < hard) await sleep(50);
  return stubborn;
}

export interface StopReport {
  /** "worker1 (pid 123)" per process stopped. */
  stopped: string[];
  killed: string[];
}

/** Grace periods: DM processes close quickly; MariaDB flushes InnoDB on SIGTERM. */
const GRACE_MS: Record<Member, number> = { worker1: 10_000, master1: 15_000, source: 30_000, target: 30_000 };

/**
 * Stop every sandbox process (worker, then master, then both MariaDBs) and any stray process
 * of the sandbox (e.g. the master's etcd child). Idempotent: no pid files → nothing to do.
 */
export async function stopSandbox(paths: SandboxPaths): Promise<StopReport> {
  const report: StopReport = { stopped: [], killed: [] };
  const groups: Member[][] = [['worker1'], ['master1'], ['source', 'target']];
  for (const group of groups) {
    const live: { m: Member; pid: number }[] = [];
    for (const m of group) {
      const pid = readPid(paths.pidFile(m));
      if (pid !== undefined && belongsTo(pid, paths.dir)) live.push({ m, pid });
    }
    const grace = Math.max(0, ...live.map((x) => GRACE_MS[x.m]));
    const hard = await terminate(
      live.map((x) => x.pid),
      grace,
    );
    for (const x of live) {
      (hard.includes(x.pid) ? report.killed : report.stopped).push(`${x.m} (pid ${x.pid})`);
    }
    for (const m of group) rmSync(paths.pidFile(m), { force: true });
  }
  const strays = strayProcesses(paths.dir);
  if (strays.length > 0) {
    const hard = await terminate(strays, 5_000);
    for (const p of strays)
      (hard.includes(p) ? report.killed : report.stopped).push(`leftover process (pid ${p})`);
  }
  return report;
}
