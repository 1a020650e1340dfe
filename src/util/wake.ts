/**
 * The "sleep until woken, a timeout or abort" step of a reconcile loop (scheduler, converger).
 * The abort listener is removed after every sleep, so a long-lived signal does not collect one
 * listener per loop turn.
 */
export class Waker {
  private pending: (() => void) | undefined;

  /** Cut the current sleep short (no-op when nobody sleeps). */
  wake(): void {
    this.pending?.();
  }

  /** Resolve after `ms`, on `wake()`, or when `signal` aborts — whichever comes first. */
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        if (this.pending === done) this.pending = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.pending = done;
      if (signal.aborted) done();
      else signal.addEventListener('abort', done, { once: true });
    });
  }
}
