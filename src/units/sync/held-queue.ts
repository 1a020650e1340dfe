/**
 * The events a shard coordinator holds back while a shard table waits for a DDL lock, in binlog
 * order: transactions (their row changes) and QUERY events (the caller's own record `Q`), each with
 * the upstream tables (`schema\u0000table`) it touches. Used by the pessimist
 * (shard-pessimist.ts): DM re-reads held rows from the binlog, DM.ts keeps them here.
 *
 * `drain()` takes out everything pushed before it was called, in order; events pushed while it
 * runs (held again) go to the queue as it is then, and come out of the next drain.
 */
import type { UpstreamTxn } from './txn.js';

export type HeldItem<Q> = { kind: 'txn'; txn: UpstreamTxn } | { kind: 'query'; q: Q };

export class HeldQueue<Q> {
  private items: HeldItem<Q>[] = [];
  /** Upstream tables touched by held events (count of held events per table). */
  private tables = new Map<string, number>();
  private txnBytes = 0;

  /** Hold an event back (after every event held before it). */
  async push(item: HeldItem<Q>, tables: Iterable<string>): Promise<void> {
    this.items.push(item);
    for (const t of tables) this.tables.set(t, (this.tables.get(t) ?? 0) + 1);
    if (item.kind === 'txn') this.txnBytes += item.txn.bytes;
  }

  /** Whether a held event touches this upstream table (`schema\u0000table`). */
  has(table: string): boolean {
    return this.tables.has(table);
  }

  /** Held events. */
  get size(): number {
    return this.items.length;
  }

  /** Bytes of the held transactions (UpstreamTxn.bytes). */
  get bytes(): number {
    return this.txnBytes;
  }

  /**
   * Take out every event held now, in order. The queue is empty as soon as this is called: what
   * the caller pushes while iterating is kept for the next drain.
   */
  drain(): AsyncIterable<HeldItem<Q>> {
    const items = this.items;
    this.items = [];
    this.tables = new Map();
    this.txnBytes = 0;
    return {
      [Symbol.asyncIterator]: async function* () {
        for (let i = 0; i < items.length; i++) yield items[i]!;
      },
    };
  }

  /** Drop everything held (the run ends: nothing held was applied, a restart reads it again). */
  async close(): Promise<void> {
    this.items = [];
    this.tables = new Map();
    this.txnBytes = 0;
  }
}
