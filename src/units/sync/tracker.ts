/**
 * The low-water mark: upstream transactions in binlog order, each marked done when committed to
 * the target (or skipped). The checkpoint is the position of the last transaction of the longest
 * all-done prefix; ledger rows of that prefix may then be pruned.
 */
import type { Position } from '../../binlog/position.js';

export interface TrackEntry {
  id: string;
  pos: Position;
  timestamp: number;
  done: boolean;
  /** A ledger row exists for it in the target (applied by us, or found there at start). */
  ledgered: boolean;
}

export class LowWaterMark {
  private q: TrackEntry[] = [];
  private head = 0;
  private lwm: Position;
  private lwmTs = 0;
  private prune: string[] = [];
  private dirty = false;

  constructor(start: Position) {
    this.lwm = start;
  }

  push(id: string, pos: Position, timestamp: number): TrackEntry {
    const e: TrackEntry = { id, pos, timestamp, done: false, ledgered: false };
    this.q.push(e);
    return e;
  }

  markDone(e: TrackEntry, ledgered: boolean): void {
    e.done = true;
    e.ledgered = ledgered;
    this.advance();
  }

  private advance(): void {
    while (this.head < this.q.length) {
      const e = this.q[this.head];
      if (!e?.done) break;
      this.lwm = e.pos;
      if (e.timestamp > 0) this.lwmTs = e.timestamp;
      if (e.ledgered) this.prune.push(e.id);
      this.head++;
      this.dirty = true;
    }
    if (this.head > 4096 && this.head * 2 > this.q.length) {
      this.q = this.q.slice(this.head);
      this.head = 0;
    }
  }

  /** Position of the last transaction of the all-done prefix. */
  get position(): Position {
    return this.lwm;
  }
  /** Upstream timestamp of that transaction (seconds; 0 when unknown). */
  get timestamp(): number {
    return this.lwmTs;
  }
  /** Upstream timestamp of the oldest transaction not yet in the target (undefined when none). */
  get oldestPendingTimestamp(): number | undefined {
    return this.q[this.head]?.timestamp;
  }
  get pending(): number {
    return this.q.length - this.head;
  }
  get changed(): boolean {
    return this.dirty;
  }

  /** Take the flush work: the position and the ledger ids now below it. */
  takeFlush(): { pos: Position; prune: string[] } {
    const prune = this.prune;
    this.prune = [];
    this.dirty = false;
    return { pos: this.lwm, prune };
  }

  /** Give back ids whose prune failed (retried on the next flush). */
  restorePrune(ids: string[]): void {
    this.prune.push(...ids);
    this.dirty = true;
  }
}
