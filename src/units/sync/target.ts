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
import { retry, handleWhen, ExponentialBackoff } from 'cockatiel';
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
  const t0 = Date.now();
  const policy = retry(
    handleWhen((e) => !signal.aborted && isRetryable(e) && Date.now() - t0 < retryTimeoutMs),
    { maxAttempts: 1_000_000, backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 5000 }) },
  );
  policy.onRetry((r) =>
    log.warn(
      { err: 'error' in r ? r.error : undefined, delayMs: r.delay },
      'retrying target operation',
    ),
  );
  return policy.execute(() => fn(), signal);
}

/** The error a stage ends with when retrying gave up (or was stopped) on `what`. */
export function retryExhausted(e: unknown, what: string): DMError {
  if (e instanceof DMError) return e;
  return new DMError('ErrSyncTargetRetryExhausted', `target kept failing for ${what}`, { cause: e });
}
