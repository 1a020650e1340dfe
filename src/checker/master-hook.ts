/**
 * The two entry points the dm-master calls:
 * - `taskPrecheck` — the `precheck` option of DMMaster (src/master/precheck.ts); it runs
 *   before start-task writes anything, throws ErrTaskCheckFailed when a check fails and otherwise
 *   returns the report (warnings only) as JSON for `check_result`.
 * - `checkTaskReply` — the `checkTask` option, the body of the CheckTask RPC (`dmctl check-task`):
 *   `{result, msg}` with every failure and warning of the report as JSON in `msg`. The dm-master
 *   applies dmctl's `-e/--error`, `-w/--warn` limits itself (MasterCore.checkTask, 0 means none),
 *   so they are not applied here.
 */
import { isDMError } from '../errors/index.js';
import type { CompiledTask } from '../config/index.js';
import { checkTask, sourceConfigsOf } from './from-task.js';
import { limitReport, precheckError } from './run.js';

export interface PrecheckHookInput {
  /** The task as start-task compiled it (not parsed again here). */
  task: CompiledTask;
  sourceIds: string[];
  /** source-id → source.yaml text as stored (password may be encrypted). */
  sourceYamls: Map<string, string>;
  signal: AbortSignal;
  /** The master's secret key for encrypted passwords (default: the built-in key). */
  secretKey?: Buffer;
}

export async function taskPrecheck(input: PrecheckHookInput): Promise<string> {
  const report = await checkTask(input.task, sourceConfigsOf(input.sourceYamls, input.secretKey), {
    sourceIds: input.sourceIds,
    signal: input.signal,
    ...(input.secretKey ? { secretKey: input.secretKey } : {}),
  });
  if (!report.summary.passed) throw precheckError(report);
  return JSON.stringify(limitReport(report, 0, 100));
}

export async function checkTaskReply(
  task: CompiledTask,
  sourceYamls: Map<string, string>,
  opts: { signal?: AbortSignal; secretKey?: Buffer } = {},
): Promise<{ result: boolean; msg: string }> {
  try {
    const report = await checkTask(task, sourceConfigsOf(sourceYamls, opts.secretKey), {
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.secretKey ? { secretKey: opts.secretKey } : {}),
    });
    return { result: report.summary.passed, msg: JSON.stringify(limitReport(report, Infinity, Infinity)) };
  } catch (e) {
    return { result: false, msg: isDMError(e) ? e.toString() : e instanceof Error ? e.message : String(e) };
  }
}

