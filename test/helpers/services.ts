/**
 * Real services for tests and the quickstart: find free loopback ports, make temp dirs,
 * install missing Debian packages when running as root, and clean up every child process
 * and temp dir at exit (also on SIGINT/SIGTERM and uncaught errors).
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Ask the kernel for a free loopback port (bind to port 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') return reject(new Error('no address'));
      const port = addr.port;
      srv.close(() => resolve(port));
    });
  });
}

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

export function trackChild(c: ChildProcess): void {
  children.add(c);
  c.once('exit', () => children.delete(c));
}
export function untrackChild(c: ChildProcess): void {
  children.delete(c);
}

export function makeTempDir(prefix: string): string {
  const d = mkdtempSync(join(process.env['DM_TEST_TMPDIR'] ?? tmpdir(), `dmts-${prefix}-`));
  tempDirs.add(d);
  return d;
}
export function removeTempDir(d: string): void {
  rmSync(d, { recursive: true, force: true });
  tempDirs.delete(d);
}

/** Leave `d` behind at exit (DM_KEEP_LOGS): cleanupAllSync no longer removes it. */
export function keepTempDir(d: string): void {
  tempDirs.delete(d);
}

/** Kill every tracked child and remove every temp dir, synchronously (safe in 'exit'). */
export function cleanupAllSync(): void {
  for (const c of children) {
    try {
      if (c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  children.clear();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

let hooksInstalled = false;
export function installCleanupHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', cleanupAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      cleanupAllSync();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}
installCleanupHooks();

function which(bin: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  const p = r.stdout.trim();
  if (p) return p;
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/bin', '/usr/local/sbin']) {
    if (existsSync(join(dir, bin))) return join(dir, bin);
  }
  return undefined;
}

/** The Debian packages of the services the tests start. */
const SERVICE_PACKAGES = ['mariadb-server', 'etcd-server', 'etcd-client'];

/**
 * Find a binary from Debian packages (by default the services' packages; benchmarks pass their
 * tools', e.g. ['sysbench']); install the packages when missing and running as root, otherwise
 * fail with the exact command to run.
 */
export function requireBinary(bin: string, packages: readonly string[] = SERVICE_PACKAGES): string {
  const hint = `apt-get update && apt-get install -y ${packages.join(' ')}`;
  let p = which(bin);
  if (p) return p;
  if (process.getuid?.() === 0) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const upd = spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    if (upd.status !== 0) throw new Error(`apt-get update failed; run: ${hint}`);
    const inst = spawnSync('apt-get', ['install', '-y', ...packages], { stdio: 'inherit', env });
    if (inst.status !== 0) throw new Error(`apt-get install failed; run: ${hint}`);
    p = which(bin);
    if (p) return p;
  }
  throw new Error(`'${bin}' is not installed. Install it with: ${hint}`);
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) {
      const why = lastErr instanceof Error ? `: ${lastErr.message}` : '';
      throw new Error(`timed out waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}
