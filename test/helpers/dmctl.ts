/**
 * dmctl for tests: in-process through the same commander program as the binary (`dmctl`, fast)
 * or the real binary (`dmctlBin`), and `waitTask`, which polls `query-status` until the subtasks
 * reach a stage.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { BIN, ROOT } from './paths.js';
import { trackChild, waitFor } from './services.js';
import { buildProgram, newContext, runArgs } from '../../src/ctl/index.js';


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

/** DM's error object in a reply (`result.errors[]`). */
export interface DmErrorView {
  ErrCode: number;
  ErrClass: string;
  ErrScope: string;
  ErrLevel: string;
  Message: string;
  RawCause: string;
  Workaround: string;
}

/** One subtask of `query-status <task>` as dmctl prints it (DM's shape plus DM.ts's added fields). */
export interface SubtaskView {
  name: string;
  stage: string;
  unit: string;
  result: { isCanceled: boolean; errors: DmErrorView[] } | null;
  unresolvedDDLLockID: string;
  sync?: { masterBinlog: string; syncerBinlog: string; synced: boolean; secondsBehindMaster: string; [k: string]: unknown };
  load?: Record<string, unknown>;
  dump?: Record<string, unknown>;
  // DM.ts's added fields
  source: string;
  worker: string;
  lagSeconds: number;
}

/** The subtasks of a task as query-status shows them. */
export function subtasksOf(status: Record<string, unknown>): SubtaskView[] {
  const sources = (status['sources'] as { subTaskStatus?: SubtaskView[] }[] | undefined) ?? [];
  return sources.flatMap((s) => s.subTaskStatus ?? []);
}

/** Whether a subtask's `sync` says it caught up with the upstream. */
export function isSynced(st: SubtaskView): boolean {
  return st.sync?.synced === true;
}

/** The errors a subtask shows (`result.errors`, empty when `result` is null). */
export function errorsOf(st: SubtaskView | undefined): DmErrorView[] {
  return st?.result?.errors ?? [];
}

/** What waitTask needs of a cluster: dmctl against it, and its logs for the failure message. */
export interface CtlTarget {
  ctl(args: string[]): Promise<CtlResult>;
  logs(): string;
}

/**
 * Poll `query-status <task>` until `pred` holds for its subtasks; on timeout the error carries
 * the last status and the tail of every process log.
 */
export async function waitTask(cluster: CtlTarget, task: string, what: string, pred: (subs: SubtaskView[]) => boolean, timeoutMs = 90_000): Promise<SubtaskView[]> {
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
    throw new Error(`${(e as Error).message}\nlast query-status:\n${last}\n${cluster.logs()}`);
  }
}
