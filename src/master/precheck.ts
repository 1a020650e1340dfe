/**
 * The two checker seams of dm-master, passed as options when the master is built
 * (`DMMasterOptions.precheck` / `.checkTask`; src/bin/dm-master.ts gives src/checker's). A master
 * built without them runs start-task with no precheck and answers check-task `ErrNotImplemented`.
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

/**
 * Runs before start-task writes anything. Throw a DMError (e.g. ErrTaskCheckFailed) to refuse the
 * task; resolve with a JSON report to show.
 */
export type TaskPrecheck = (input: PrecheckInput) => Promise<string | void>;

/** CheckTask RPC body (`dmctl check-task`). */
export type CheckTaskHandler = (
  task: CompiledTask,
  sourceYamls: Map<string, string>,
  opts: { errorCnt?: number; warnCnt?: number; signal?: AbortSignal; secretKey?: Buffer },
) => Promise<{ result: boolean; msg: string }>;
