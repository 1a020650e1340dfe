/**
 * The one retry/backoff policy module (cockatiel underneath): every retry loop and backoff of
 * DM.ts is built here, and each caller's counts and delays are named constants below, so that
 * what retries how often and how fast is read in one place.
 *
 * - `retryPolicy`: a cockatiel RetryPolicy that retries the errors `when` accepts, with
 *   exponential backoff (decorrelated jitter), at most `maxAttempts` retries.
 * - `retryWithin`: run a function, retrying for a time budget instead of a count.
 * - `Backoff`: the delays of a hand-driven loop (reconnects, auto-resume) with reset on progress.
 *
 * Which errors are retried is the caller's (always by code / errno, never by message text).
 */
import {
  ExponentialBackoff,
  handleWhen,
  noJitterGenerator,
  retry,
  type IBackoff,
  type RetryPolicy,
} from 'cockatiel';

export type { RetryPolicy } from 'cockatiel';

export interface BackoffSpec {
  /** First delay (ms); the delays grow exponentially up to maxDelayMs. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Decorrelated jitter (default true); false: exact doubling (initial, 2×, 4×, … capped). */
  jitter?: boolean;
}

/** The sync unit's retries of a retryable target error (for `retryTimeoutMs`, see retryWithin). */
export const SYNC_TARGET_BACKOFF: BackoffSpec = { initialDelayMs: 100, maxDelayMs: 5000 };
/** The binlog reader's reconnects after a lost stream (the count is the reader's `maxReconnects`). */
export const BINLOG_RECONNECT_BACKOFF: BackoffSpec = { initialDelayMs: 200, maxDelayMs: 10_000 };
/** The task checker's auto-resume of a subtask paused by retryable errors: 1 s doubling to 5 min, no jitter (a Backoff with `jitter: false`). */
export const AUTO_RESUME_MIN_MS = 1000;
export const AUTO_RESUME_MAX_MS = 5 * 60_000;
/** cockatiel's ExponentialBackoff for a spec. */
export function exponentialBackoff(spec: BackoffSpec): ExponentialBackoff<unknown> {
  return new ExponentialBackoff({
    initialDelay: spec.initialDelayMs,
    maxDelay: spec.maxDelayMs,
    ...(spec.jitter === false ? { generator: noJitterGenerator } : {}),
  });
}

/** Retry the errors `when` accepts, at most `maxAttempts` times, with exponential backoff. */
export function retryPolicy(o: {
  when: (e: Error) => boolean;
  maxAttempts: number;
  backoff: BackoffSpec;
}): RetryPolicy {
  return retry(handleWhen(o.when), { maxAttempts: o.maxAttempts, backoff: exponentialBackoff(o.backoff) });
}

/**
 * Run `fn`, retrying the errors `retryable` accepts with exponential backoff while less than
 * `budgetMs` has passed since the first attempt and `signal` is not aborted; the last error is thrown.
 */
export function retryWithin<T>(
  fn: () => Promise<T>,
  o: {
    retryable: (e: unknown) => boolean;
    budgetMs: number;
    backoff: BackoffSpec;
    signal: AbortSignal;
    onRetry?: (err: unknown, delayMs: number) => void;
  },
): Promise<T> {
  const t0 = Date.now();
  const policy = retry(
    handleWhen((e) => !o.signal.aborted && o.retryable(e) && Date.now() - t0 < o.budgetMs),
    // the budget ends the retries, not the count
    { maxAttempts: Number.MAX_SAFE_INTEGER, backoff: exponentialBackoff(o.backoff) },
  );
  if (o.onRetry) {
    const cb = o.onRetry;
    policy.onRetry((r) => cb('error' in r ? r.error : undefined, r.delay));
  }
  return policy.execute(() => fn(), o.signal);
}

/**
 * The delays of a loop that waits between attempts itself (a reconnect loop, an auto-resume
 * timer): `next()` gives the next delay, `reset()` starts over after progress.
 */
export class Backoff {
  private readonly factory: ExponentialBackoff<unknown>;
  private current: IBackoff<unknown> | undefined;

  constructor(spec: BackoffSpec) {
    this.factory = exponentialBackoff(spec);
  }

  /** The next delay (ms). */
  next(): number {
    this.current = this.current ? this.current.next(undefined) : this.factory.next();
    return this.current.duration;
  }

  reset(): void {
    this.current = undefined;
  }
}
