import type { Connection } from 'mysql2/promise';

/**
 * `fn` for every item, each connection running one at a time, the results in `items` order; the
 * first error stops the others from taking new items and is thrown once all have settled.
 */
export async function inParallel<I, R>(conns: readonly Connection[], items: readonly I[], signal: AbortSignal, fn: (c: Connection, item: I) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const results = await Promise.allSettled(
    conns.map(async (c) => {
      while (!failed && next < items.length) {
        signal.throwIfAborted();
        const i = next++;
        try {
          out[i] = await fn(c, items[i] as I);
        } catch (e) {
          failed = true;
          throw e;
        }
      }
    }),
  );
  const err = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (err) throw err.reason;
  return out;
}
