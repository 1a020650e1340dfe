import { EtcdInvalidAuthTokenError, type Etcd3, type Watcher } from 'etcd3';
import type { Logger } from '../log/index.js';
import { silentLogger } from '../log/index.js';
import { listPrefix, type KV } from './records.js';
import { sleepAbortable, untilDoneOrAborted } from '../util/index.js';

/** A watch whose creation etcd does not confirm within this is given up and tried again. */
const CREATE_TIMEOUT_MS = 15_000;

/**
 * Make etcd3 open a new watch stream (all watchers of the client resume on it from their last
 * revision). Needed with etcd user/password auth: the stream carries the auth token it was opened
 * with, and after an etcd restart (simple tokens do not survive one) etcd cancels every watch
 * created on a stream reconnected with the old token ("invalid auth token"), forever — etcd3
 * refreshes the token for unary calls only. etcd3 has no public way to do this: its WatchManager's
 * own error path (cancel the stream, reconnect after its backoff) is used.
 */
function reopenWatchStream(client: Etcd3, why: Error): void {
  const manager = (client as unknown as { watchManager?: { handleError?: (e: Error) => void } }).watchManager;
  manager?.handleError?.(why);
}


export interface PrefixWatchHandlers {
  /** The full current state under the prefix (at start and after every re-list). */
  reset(kvs: KV[], revision: string): void;
  put?(kv: KV): void;
  del?(key: string): void;
}

/**
 * Watches a key prefix and never misses a change: list → watch from the list's revision + 1;
 * etcd3 itself resumes a disconnected watch from the last revision it saw; when the watch is
 * cancelled by compaction (an `error` event), it re-lists and watches again (DEPENDENCIES.md).
 * Handlers are called in revision order.
 */
export class PrefixWatcher {
  private readonly ac = new AbortController();
  private loop: Promise<void> | undefined;
  private watcher: Watcher | undefined;
  private readonly log: Logger;

  constructor(
    private readonly client: Etcd3,
    readonly prefix: string,
    private readonly handlers: PrefixWatchHandlers,
    logger: Logger = silentLogger,
  ) {
    this.log = logger.child({ component: 'watch', prefix });
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run(this.ac.signal);
  }

  private async run(signal: AbortSignal): Promise<void> {
    let staleToken: Error | undefined;
    while (!signal.aborted) {
      try {
        // (with etcd auth, this unary call also makes etcd3 fetch a fresh token)
        const { kvs, revision } = await listPrefix(this.client, this.prefix);
        if (signal.aborted) return;
        this.handlers.reset(kvs, revision);
        if (staleToken) reopenWatchStream(this.client, staleToken);
        staleToken = undefined;
        const w = await this.create(revision, signal);
        if (!w) return;
        this.watcher = w;
        if (signal.aborted) {
          void w.cancel().catch(() => undefined);
          return;
        }
        await untilDoneOrAborted(signal, (done) => {
          w.on('put', (kv) =>
            this.handlers.put?.({
              key: kv.key.toString(),
              value: kv.value.toString(),
              modRevision: kv.mod_revision,
              createRevision: kv.create_revision,
              lease: kv.lease,
            }),
          );
          w.on('delete', (kv) => this.handlers.del?.(kv.key.toString()));
          w.on('error', (err) => {
            this.log.warn({ err }, 'watch failed, re-listing');
            if (err instanceof EtcdInvalidAuthTokenError) staleToken = err;
            done();
          });
        });
        this.watcher = undefined;
        // `await cancel()` hangs after a compaction error: do not wait for it.
        void w.cancel().catch(() => undefined);
      } catch (err) {
        if (signal.aborted) return;
        this.log.warn({ err }, 'watch list failed, retrying');
        await sleepAbortable(500, signal);
      }
    }
  }

  /**
   * Create the watch from `revision` + 1; undefined when `signal` aborts first. A creation etcd
   * does not confirm within CREATE_TIMEOUT_MS throws (the loop re-lists and tries again), so
   * neither a stuck stream nor `close()` can hang on it.
   */
  private async create(revision: string, signal: AbortSignal): Promise<Watcher | undefined> {
    const creating = this.client.watch().prefix(this.prefix).startRevision(String(BigInt(revision) + 1n)).create();
    const limit = AbortSignal.any([signal, AbortSignal.timeout(CREATE_TIMEOUT_MS)]);
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<undefined>((resolve, reject) => {
      onAbort = () => (signal.aborted ? resolve(undefined) : reject(new Error(`watch on ${this.prefix} not confirmed by etcd within ${CREATE_TIMEOUT_MS} ms`)));
      if (limit.aborted) onAbort();
      else limit.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const w = await Promise.race([creating, aborted]);
      if (w === undefined) {
        // given up: drop the watcher if it is confirmed later
        void creating.then((late) => late.cancel()).catch(() => undefined);
        return undefined;
      }
      return w;
    } catch (err) {
      void creating.then((late) => late.cancel()).catch(() => undefined);
      // a stream that carries a token etcd no longer knows, or that does not answer: open a new
      // one (the loop re-lists first, which also refreshes the token) and try again
      reopenWatchStream(this.client, err as Error);
      throw err;
    } finally {
      if (onAbort) limit.removeEventListener('abort', onAbort);
    }
  }

  /** Stop watching. Idempotent. */
  async close(): Promise<void> {
    this.ac.abort();
    const w = this.watcher;
    this.watcher = undefined;
    if (w) void w.cancel().catch(() => undefined);
    await this.loop;
  }
}
