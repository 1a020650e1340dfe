/**
 * Causality scheduler: groups upstream transactions into target transactions and runs them on
 * `workerCount` appliers. An upstream transaction is never split. A group waits for every earlier
 * group that touches any of its keys, so per-key order is upstream order; groups with disjoint
 * keys commit concurrently. Consecutive transactions are merged into the open group up to `batch`
 * rows: an idle applier takes the open group at once unless the group would only wait there for
 * an earlier group sharing a key — then it stays open and keeps merging until its predecessors
 * finish or it is full. So merging never adds latency, and with a backlog (appliers busy, or
 * conflicting work in flight) target transactions are full batches.
 *
 * "Full" depends on why the group is waiting. Ready to run (no unfinished predecessor), a group
 * holds at most `batch` rows. Blocked behind a predecessor, it could not run anyway, so it keeps
 * merging up to `batch × WAIT_MERGE_FACTOR` rows (and WAIT_MERGE_BYTES): on a hot-key workload
 * every group depends on the one before, so apply is a chain, and bigger links mean fewer target
 * commits and more changes compacted per key (a row updated 30 times is written once).
 */
import type { UpstreamTxn } from './txn.js';

/** How many times `batch` a group blocked behind a predecessor may grow to. */
export const WAIT_MERGE_FACTOR = 30;
/** Byte ceiling of a group that grew while blocked. */
export const WAIT_MERGE_BYTES = 16 << 20;

export interface Group {
  txns: UpstreamTxn[];
  rows: number;
  bytes: number;
  keys: Set<string>;
  deps: Set<Group>;
  finished: boolean;
  done?: Promise<void>;
  /** Its transactions were committed one per target transaction (each with its own ledger row). */
  ledgerEach?: boolean;
}

export type GroupApplier = (g: Group) => Promise<void>;

export class CausalityScheduler {
  private lastWriter = new Map<string, Group>();
  private inflight = new Set<Group>();
  private open: Group | undefined;
  private failure: unknown;
  private waiters: (() => void)[] = [];
  private readonly workerCount: number;
  private readonly batch: number;
  private readonly blockedRows: number;
  private readonly apply: GroupApplier;
  /** Time groups spent waiting for earlier groups sharing a key (ms, cumulative). */
  dependencyWaitMs = 0;
  /** Called after each group commits (in completion order). */
  onCommitted: ((g: Group) => void) | undefined;

  constructor(opts: { workerCount: number; batch: number; apply: GroupApplier; waitMergeFactor?: number }) {
    this.workerCount = opts.workerCount;
    this.batch = opts.batch;
    this.blockedRows = opts.batch * (opts.waitMergeFactor ?? WAIT_MERGE_FACTOR);
    this.apply = opts.apply;
  }

  /** The first error of any group, after which nothing new is started. */
  get error(): unknown {
    return this.failure;
  }
  get inflightGroups(): number {
    return this.inflight.size;
  }
  get pendingRows(): number {
    let n = this.open?.rows ?? 0;
    for (const g of this.inflight) n += g.rows;
    return n;
  }

  /** Add one upstream transaction; waits while the open group is full and every applier is busy. */
  async add(txn: UpstreamTxn, signal: AbortSignal): Promise<void> {
    const rows = txn.changes.length;
    while (this.open && this.open.rows > 0 && this.failure === undefined && !this.fits(this.open, rows, txn.bytes)) {
      if (this.inflight.size < this.workerCount && this.startable(this.open)) {
        this.startOpen();
        break;
      }
      await this.waitChange(signal);
    }
    if (this.failure !== undefined) throw this.failure;
    const g: Group = this.open ?? { txns: [], rows: 0, bytes: 0, keys: new Set(), deps: new Set(), finished: false };
    this.open = g;
    for (const k of txn.keys) {
      const w = this.lastWriter.get(k);
      if (w && w !== g && !w.finished) g.deps.add(w);
      this.lastWriter.set(k, g);
      g.keys.add(k);
    }
    g.txns.push(txn);
    g.rows += rows;
    g.bytes += txn.bytes;
    if (this.inflight.size < this.workerCount && this.startable(g)) this.startOpen();
  }

  /** Whether `rows`/`bytes` more may be merged into the open group `g` (see the class comment). */
  private fits(g: Group, rows: number, bytes: number): boolean {
    if (this.depsDone(g)) return g.rows + rows <= this.batch;
    return g.rows + rows <= this.blockedRows && g.bytes + bytes <= WAIT_MERGE_BYTES;
  }

  /**
   * An open group starts only when its predecessors are done: a group never occupies an applier
   * just to wait, and while it is blocked and full, `add` waits (backpressure), so memory holds at
   * most one blocked group besides the running ones.
   */
  private startable(g: Group): boolean {
    return this.depsDone(g);
  }

  /**
   * Whether every predecessor of `g` has finished. Finished ones are dropped from `g.deps` on the
   * way (their `done` is settled, so run() has nothing to wait for there): an open group is asked
   * on every add and every wake-up, and its deps would otherwise be scanned again each time.
   */
  private depsDone(g: Group): boolean {
    for (const d of g.deps) {
      if (!d.finished) return false;
      g.deps.delete(d);
    }
    return true;
  }

  private startOpen(): void {
    const g = this.open;
    if (!g || g.txns.length === 0) return;
    this.open = undefined;
    this.inflight.add(g);
    g.done = this.run(g);
    // failures are observed through `error`/drain(); keep the rejection from going unhandled
    g.done.catch(() => undefined);
  }

  private async run(g: Group): Promise<void> {
    try {
      if (g.deps.size > 0) {
        const t0 = performance.now();
        for (const d of g.deps) await d.done;
        this.dependencyWaitMs += performance.now() - t0;
      }
      if (this.failure !== undefined) throw this.failure;
      await this.apply(g);
      g.finished = true;
      for (const k of g.keys) if (this.lastWriter.get(k) === g) this.lastWriter.delete(k);
      g.deps.clear();
      this.onCommitted?.(g);
    } catch (e) {
      if (this.failure === undefined) this.failure = e;
      throw e;
    } finally {
      this.inflight.delete(g);
      const o = this.open;
      if (this.failure === undefined && o && this.inflight.size < this.workerCount && this.startable(o)) this.startOpen();
      this.notify();
    }
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private waitChange(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason as Error);
      const onAbort = (): void => reject(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  /** Start the open group and wait until every group has finished; throws the first failure. */
  async drain(): Promise<void> {
    if (this.failure === undefined) this.startOpen();
    while (this.inflight.size > 0) {
      await Promise.allSettled([...this.inflight].map((g) => g.done ?? Promise.resolve()));
    }
    if (this.failure !== undefined) throw this.failure;
    // nothing open can remain: a failure stops starting, otherwise drain started it
    if (this.open) {
      this.startOpen();
      return this.drain();
    }
  }

  /** Drop the open (not started) group, e.g. on pause; its transactions will be replayed. */
  discardOpen(): UpstreamTxn[] {
    const g = this.open;
    this.open = undefined;
    if (!g) return [];
    for (const k of g.keys) if (this.lastWriter.get(k) === g) this.lastWriter.delete(k);
    return g.txns;
  }
}
