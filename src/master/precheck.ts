/**
 * Hook the dmctl/precheck engineer fills in: runs before start-task writes anything. Throw a
 * DMError (e.g. ErrTaskCheckFailed) to refuse the task; resolve with a JSON report to show.
 */
import type { CompiledTask } from '../config/index.js';

export interface PrecheckInput {
  /** The task as start-task compiled it (src/config compileTask): checked, defaulted, resolved per source. */
  task: CompiledTask;
  sourceIds: string[];
  /** source-id → source.yaml text as stored (password encrypted). */
  sourceYamls: Map<string, string>;
  signal: AbortSignal;
  /** The master's secret key for encrypted passwords (default: the built-in key). */
  secretKey?: Buffer;
}

/** CheckTask RPC body (`dmctl check-task`), installed like the precheck. */
export type CheckTaskHandler = (
  task: CompiledTask,
  sourceYamls: Map<string, string>,
  opts: { errorCnt?: number; warnCnt?: number; signal?: AbortSignal; secretKey?: Buffer },
) => Promise<{ result: boolean; msg: string }>;

let globalCheckTask: CheckTaskHandler | undefined;

export function setCheckTaskHandler(fn: CheckTaskHandler | undefined): void {
  globalCheckTask = fn;
}

export function getCheckTaskHandler(): CheckTaskHandler | undefined {
  return globalCheckTask;
}
export type TaskPrecheck = (input: PrecheckInput) => Promise<string | void>;

let globalPrecheck: TaskPrecheck | undefined;

/** Install the precheck run by every master in this process (unless one is given in its options). */
export function setTaskPrecheck(fn: TaskPrecheck | undefined): void {
  globalPrecheck = fn;
}

export function getTaskPrecheck(): TaskPrecheck | undefined {
  return globalPrecheck;
}
