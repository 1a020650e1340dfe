import type { DMErrorJSON } from '../errors/index.js';

/**
 * The one contract of a processing unit (dump, load, sync, relay, validate), as in DM's
 * `unit.Unit`. A subtask runs its units in order (DESIGN.md §3):
 *
 *   init(signal) → process(signal) → [pause() → resume(signal)] → close()
 *
 * `process` resolves with a result carrying errors; it does not throw. A unit that is paused
 * (or whose signal aborts) resolves `process` with `isCanceled: true` and keeps its
 * checkpoints, so `resume` continues where it stopped.
 *
 * Stage machine of the subtask around a unit: New → Running → Paused → Running → Stopped | Finished.
 */
export type UnitType = 'Dump' | 'Load' | 'Sync' | 'Relay' | 'Validate' | 'Check';

export type Stage = 'New' | 'Running' | 'Paused' | 'Stopped' | 'Finished';

export interface ProcessResult {
  /** True when process() returned because of pause/abort rather than completion or error. */
  isCanceled: boolean;
  /** Errors that ended processing; empty on success. */
  errors: DMErrorJSON[];
  /** Extra detail (e.g. the snapshot position handed from dump/load to sync). */
  detail?: Record<string, unknown>;
}

export interface Unit {
  readonly type: UnitType;
  /** Prepare connections and state; throws a DMError when the unit cannot start. */
  init(signal: AbortSignal): Promise<void>;
  /** Do the work until done, paused, aborted or failed. Never throws. */
  process(signal: AbortSignal): Promise<ProcessResult>;
  /** Ask a running process() to stop at the next safe point; it then resolves with isCanceled. */
  pause(): void;
  /** Continue after pause: runs process() again from the unit's checkpoint. */
  resume(signal: AbortSignal): Promise<ProcessResult>;
  /** Release everything. Idempotent; awaits background work. */
  close(): Promise<void>;
  /** A JSON-serialisable status (progress, positions, rates) shown by query-status. */
  status(): Record<string, unknown>;
  /**
   * Re-read what status() compares against when it may be stale (Sync: the source's master
   * position behind `synced`); bounded in time, never throws. query-status awaits it first.
   */
  refreshStatus?(): Promise<void>;
  /** True when the unit has finished its work for good (e.g. dump+load of a full task). */
  isFreshTask?(): Promise<boolean>;
}

export function okResult(detail?: Record<string, unknown>): ProcessResult {
  return detail ? { isCanceled: false, errors: [], detail } : { isCanceled: false, errors: [] };
}

export function canceledResult(): ProcessResult {
  return { isCanceled: true, errors: [] };
}

export function errorResult(...errors: DMErrorJSON[]): ProcessResult {
  return { isCanceled: false, errors };
}
