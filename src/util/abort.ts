import { setTimeout as sleep } from 'node:timers/promises';

/** Sleep that resolves to false (instead of throwing) when the signal aborts. */
export async function sleepAbortable(ms: number, signal?: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, signal ? { signal } : undefined);
    return true;
  } catch (e) {
    if (signal?.aborted) return false;
    throw e;
  }
}

/** Throw the signal's reason if it has aborted. */
export function throwIfAborted(signal?: AbortSignal): void {
  signal?.throwIfAborted();
}

/** A root AbortController aborted by SIGINT / SIGTERM (one per process). */
export function rootController(onSignal?: (sig: NodeJS.Signals) => void): AbortController {
  const ac = new AbortController();
  const handler = (sig: NodeJS.Signals): void => {
    onSignal?.(sig);
    if (!ac.signal.aborted) ac.abort(new Error(`received ${sig}`));
    else process.exit(130);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return ac;
}

/** Resolves when `signal` aborts — at once if it already has (a listener added late never fires). */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/**
 * Resolves when `signal` aborts or `listen` calls the `done` it is given, whichever comes first;
 * at once, without calling `listen`, if the signal has already aborted. For "serve events until
 * the source fails or we are told to stop" loops (an etcd watch, an election observer).
 */
export function untilDoneOrAborted(signal: AbortSignal, listen: (done: () => void) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    if (signal.aborted) return done();
    signal.addEventListener('abort', done, { once: true });
    listen(done);
  });
}
