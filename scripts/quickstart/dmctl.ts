/**
 * dmctl from the quickstart: the REAL binary (`node --import tsx src/bin/dmctl.ts`) for the
 * steps a user would type, and the same commander program in-process for frequent polling
 * (one node+tsx start per poll is too heavy on a shared 2-core machine).
 */
import { spawn } from 'node:child_process';
import { BIN, ROOT } from './sandbox-paths.js';

export interface CtlResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The JSON reply dmctl printed (`{}` when it printed none). */
  json: Record<string, unknown>;
}

/** The last pretty-printed JSON object in dmctl's output. */
export function lastJson(out: string): Record<string, unknown> {
  const t = out.trim();
  const starts = [0, ...[...t.matchAll(/\n\{\n/g)].map((m) => (m.index ?? 0) + 1)].reverse();
  for (const s of starts) {
    try {
      const v: unknown = JSON.parse(t.slice(s));
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      /* try an earlier start */
    }
  }
  return {};
}

/** The command line a user types for the same call (printed by the quickstart). */
export function dmctlCommandLine(masterAddr: string, args: string[]): string {
  return ['npx tsx src/bin/dmctl.ts', '--master-addr', masterAddr, ...args].join(' ');
}

/** Run the real dmctl binary against the sandbox master. */
export async function dmctlBin(masterAddr: string, args: string[], signal: AbortSignal): Promise<CtlResult> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', BIN.dmctl, '--master-addr', masterAddr, '--rpc-timeout', '60s', ...args],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DMCTL_HISTORY: '/dev/null' },
      signal,
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c: number | null) => resolve(c ?? 1));
  });
  return { code, stdout, stderr, json: lastJson(stdout) };
}

type CtlModule = typeof import('../../src/ctl/index.js');
let ctlModule: Promise<CtlModule> | undefined;

/** Run one dmctl command in this process (same program as the binary), output captured. */
export async function dmctlInProcess(
  masterAddr: string,
  args: string[],
  signal: AbortSignal,
): Promise<CtlResult> {
  ctlModule ??= import('../../src/ctl/index.js');
  const { buildProgram, newContext, runArgs } = await ctlModule;
  let stdout = '';
  let stderr = '';
  const ctx = newContext(
    {
      out: (t) => (stdout += t.endsWith('\n') ? t : `${t}\n`),
      err: (t) => (stderr += t.endsWith('\n') ? t : `${t}\n`),
    },
    signal,
  );
  const code = await runArgs(ctx, buildProgram(ctx, true), [
    '--master-addr',
    masterAddr,
    '--rpc-timeout',
    '20s',
    ...args,
  ]);
  return { code, stdout, stderr, json: lastJson(stdout) };
}
