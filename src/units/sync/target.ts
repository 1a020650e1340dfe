/**
 * The target database as every stage of the sync unit sees it: the session its connections
 * run under, and how a retryable target error is retried.
 *
 * Why a file: the checkpoint load, the applier, the DDL barrier and the structure look-ups all
 * talk to the target, and must agree on both. One retry policy: retryable errors (by errno and
 * error class, src/sql's isRetryable) are retried with exponential backoff for
 * `retry-timeout` (SyncerSettings.retryTimeoutMs); anything else, or a stop, ends the call at
 * once. Nothing here keeps state between calls.
 */
import { retryWithin, SYNC_TARGET_BACKOFF } from '../../util/index.js';
import type { Logger } from 'pino';
import { DMError } from '../../errors/index.js';
import { isRetryable, type ConnConfig } from '../../sql/index.js';

/**
 * The target connection: src/sql's session (UTC `time_zone`, DM.ts's `sql_mode` with
 * NO_AUTO_VALUE_ON_ZERO: row images are exact) with no FK checks (as DM), then the task's
 * `target-database.session`, which may replace any of them.
 */
export function targetConnConfig(target: ConnConfig): ConnConfig {
  return { ...target, session: { foreign_key_checks: 0, ...target.session } };
}

/** Runs `fn`, retrying retryable target errors (a bound retryTarget()). */
export type TargetRetry = <T>(fn: () => Promise<T>, signal: AbortSignal) => Promise<T>;

/** Run `fn`, retrying retryable target errors with exponential backoff for `retryTimeoutMs`. */
export async function retryTarget<T>(fn: () => Promise<T>, signal: AbortSignal, retryTimeoutMs: number, log: Logger): Promise<T> {
  return retryWithin(fn, {
    retryable: (e) => isRetryable(e),
    budgetMs: retryTimeoutMs,
    backoff: SYNC_TARGET_BACKOFF,
    signal,
    onRetry: (err, delayMs) => log.warn({ err, delayMs }, 'retrying target operation'),
  });
}

/** The error a stage ends with when retrying gave up (or was stopped) on `what`. */
export function retryExhausted(e: unknown, what: string): DMError {
  if (e instanceof DMError) return e;
  return new DMError('ErrSyncTargetRetryExhausted', `target kept failing for ${what}`, { cause: e });
}
