import type { Etcd3, Watcher } from 'etcd3';
import type { Logger } from '../log/index.js';
import { silentLogger } from '../log/index.js';
import { listPrefix, type KV } from './records.js';
import { sleepAbortable, untilDoneOrAborted } from '../util/index.js';

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
    while (!signal.aborted) {
      try {
        const { kvs, revision } = await listPrefix(this.client, this.prefix);
        if (signal.aborted) return;
        this.handlers.reset(kvs, revision);
        const w = await this.client.watch().prefix(this.prefix).startRevision(String(BigInt(revision) + 1n)).create();
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

  /** Stop watching. Idempotent. */
  async close(): Promise<void> {
    this.ac.abort();
    const w = this.watcher;
    this.watcher = undefined;
    if (w) void w.cancel().catch(() => undefined);
    await this.loop;
  }
}
