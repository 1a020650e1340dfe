/**
 * Where the quickstart sandbox lives and how it is tuned: `./.sandbox/` under the repository
 * root by default, or `DM_QUICKSTART_DIR`. Every path the sandbox uses is named here.
 */
import { resolve, join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (scripts/quickstart/ is two levels below it). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const BIN = {
  master: join(ROOT, 'src/bin/dm-master.ts'),
  worker: join(ROOT, 'src/bin/dm-worker.ts'),
  dmctl: join(ROOT, 'src/bin/dmctl.ts'),
};

/** The processes of the sandbox, in the order they start (stopped in reverse). */
export const MEMBERS = ['source', 'target', 'master1', 'worker1'] as const;
export type Member = (typeof MEMBERS)[number];

export interface SandboxPaths {
  dir: string;
  logs: string;
  portsFile: string;
  sourceYaml: string;
  taskYaml: string;
  /** Server dir of a MariaDB (data/, socket, pid file, error.log) or data dir of a DM process. */
  home(m: Member): string;
  pidFile(m: Member): string;
  logFile(m: Member): string;
}

export function sandboxPaths(dir: string): SandboxPaths {
  const d = resolve(dir);
  const logs = join(d, 'logs');
  return {
    dir: d,
    logs,
    portsFile: join(d, 'ports.json'),
    sourceYaml: join(d, 'source.yaml'),
    taskYaml: join(d, 'task.yaml'),
    home: (m) => join(d, m),
    pidFile: (m) => join(d, `${m}.pid`),
    logFile: (m) => join(logs, `${m}.log`),
  };
}

function envNumber(name: string, def: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got '${raw}'`);
  return n;
}

/** Knobs, all optional environment variables (documented in docs/quickstart.md). */
export interface QuickstartOptions {
  dir: string;
  /** Seconds of writes to the source while the task runs (DM_QUICKSTART_WRITE_SECONDS, default 12). */
  writeSeconds: number;
  /** Scale of the sample database; 1 ≈ 100k rows (DM_QUICKSTART_SCALE, default 1). */
  scale: number;
  /** Seconds to wait for the task to catch up before giving up (DM_QUICKSTART_SYNC_TIMEOUT, default 120). */
  syncTimeoutS: number;
  /** Always pick kernel-chosen free ports instead of 3307/3308/8261/... (DM_QUICKSTART_FREE_PORTS=1). */
  freePorts: boolean;
}

export function optionsFromEnv(dirFlag?: string): QuickstartOptions {
  return {
    dir: resolve(dirFlag ?? process.env['DM_QUICKSTART_DIR'] ?? join(ROOT, '.sandbox')),
    writeSeconds: envNumber('DM_QUICKSTART_WRITE_SECONDS', 12),
    scale: envNumber('DM_QUICKSTART_SCALE', 1),
    syncTimeoutS: envNumber('DM_QUICKSTART_SYNC_TIMEOUT', 120),
    freePorts: ['1', 'true', 'yes'].includes((process.env['DM_QUICKSTART_FREE_PORTS'] ?? '').toLowerCase()),
  };
}
