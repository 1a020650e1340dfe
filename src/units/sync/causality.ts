/**
 * Causality scheduler: routes upstream transactions to `workerCount` applier lanes and groups them
 * into target transactions. An upstream transaction is never split.
 *
 * Every key (old/new PK, unique keys, table-wide key of a keyless table) of a transaction that is
 * not yet committed is held by the lane the transaction went to. A new transaction goes to the lane
 * holding any of its keys (so it runs after those earlier transactions, in upstream order), or to
 * the least-loaded lane when no lane holds them. A transaction whose keys are held by two or more
 * lanes waits until all but one have committed them (rare: it joins two independent histories).
 *
 * Each lane applies its queue in order; everything queued is merged into one target transaction up
 * to `batch` rows (a transaction larger than `batch` goes alone). With a backlog lanes build full
 * batches; an idle lane takes a single transaction at once, so merging never adds latency.
 * Conflicting transactions are serialised inside one lane instead of waiting across lanes, so a
 * conflict costs no parallelism elsewhere.
 */
import type { UpstreamTxn } from './txn.js';

export interface Group {
  txns: UpstreamTxn[];
  rows: number;
  bytes: number;
}

export type GroupApplier = (g: Group) => Promise<void>;

interface Lane {
  id: number;
  queue: UpstreamTxn[];
  head: number;
  /** rows queued or being applied */
  rows: number;
  running: Promise<void> | undefined;
  busy: boolean;
}

interface Holder {
  lane: Lane;
  /** uncommitted transactions holding the key */
  count: number;
}

export class CausalityScheduler {
  private readonly lanes: Lane[];
  private readonly holders = new Map<string, Holder>();
  private failure: unknown;
  private waiters: (() => void)[] = [];
  private readonly batch: number;
  private readonly maxQueuedRows: number;
  private readonly apply: GroupApplier;
  private queuedRows = 0;
  /** Time the producer spent waiting for a transaction whose keys two lanes held (ms, cumulative). */
  dependencyWaitMs = 0;
  /** Called after each group commits (in completion order). */
  onCommitted: ((g: Group) => void) | undefined;

  constructor(opts: { workerCount: number; batch: number; apply: GroupApplier; maxQueuedRows?: number }) {
    this.batch = opts.batch;
    this.apply = opts.apply;
    this.lanes = Array.from({ length: Math.max(1, opts.workerCount) }, (_, id) => ({ id, queue: [], head: 0, rows: 0, running: undefined, busy: false }));
    // enough queued work for every lane to build a full batch while its previous one commits
    this.maxQueuedRows = opts.maxQueuedRows ?? Math.max(opts.batch, 2 * this.lanes.length * opts.batch);
  }

  /** The first error of any group, after which nothing new is started. */
  get error(): unknown {
    return this.failure;
  }
  get inflightGroups(): number {
    let n = 0;
    for (const l of this.lanes) if (l.busy) n++;
    return n;
  }
  get pendingRows(): number {
    let n = 0;
    for (const l of this.lanes) n += l.rows;
    return n;
  }

  /** Add one upstream transaction; waits while too much is queued or while two lanes hold its keys. */
  async add(txn: UpstreamTxn, signal: AbortSignal): Promise<void> {
    let lane: Lane | undefined;
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      if (this.queuedRows > 0 && this.queuedRows + txn.changes.length > this.maxQueuedRows) {
        await this.waitChange(signal);
        continue;
      }
      lane = undefined;
      let conflict = false;
      for (const k of txn.keys) {
        const h = this.holders.get(k);
        if (!h) continue;
        if (lane === undefined) lane = h.lane;
        else if (h.lane !== lane) {
          conflict = true;
          break;
        }
      }
      if (!conflict) break;
      const t0 = performance.now();
      await this.waitChange(signal);
      this.dependencyWaitMs += performance.now() - t0;
    }
    if (lane === undefined) {
      lane = this.lanes[0] as Lane;
      for (const l of this.lanes) if (l.rows < lane.rows) lane = l;
    }
    for (const k of txn.keys) {
      const h = this.holders.get(k);
      if (h) h.count++;
      else this.holders.set(k, { lane, count: 1 });
    }
    lane.queue.push(txn);
    lane.rows += txn.changes.length;
    this.queuedRows += txn.changes.length;
    if (!lane.running) this.startLane(lane);
  }

  private startLane(lane: Lane): void {
    const p = this.runLane(lane);
    lane.running = p;
    // failures are observed through `error`/drain(); keep the rejection from going unhandled
    p.catch(() => undefined);
  }

  private takeGroup(lane: Lane): Group {
    const txns: UpstreamTxn[] = [];
    let rows = 0;
    let bytes = 0;
    while (lane.head < lane.queue.length) {
      const t = lane.queue[lane.head] as UpstreamTxn;
      const n = t.changes.length;
      if (txns.length > 0 && rows + n > this.batch) break;
      txns.push(t);
      rows += n;
      bytes += t.bytes;
      lane.head++;
    }
    if (lane.head === lane.queue.length) {
      lane.queue = [];
      lane.head = 0;
    } else if (lane.head > 1024) {
      lane.queue = lane.queue.slice(lane.head);
      lane.head = 0;
    }
    this.queuedRows -= rows;
    return { txns, rows, bytes };
  }

  private async runLane(lane: Lane): Promise<void> {
    try {
      while (this.failure === undefined && lane.head < lane.queue.length) {
        const g = this.takeGroup(lane);
        lane.busy = true;
        this.notify(); // queued rows went down
        try {
          await this.apply(g);
        } catch (e) {
          if (this.failure === undefined) this.failure = e;
          throw e;
        } finally {
          lane.busy = false;
        }
        lane.rows -= g.rows;
        for (const t of g.txns) {
          for (const k of t.keys) {
            const h = this.holders.get(k);
            if (h && --h.count === 0) this.holders.delete(k);
          }
        }
        this.onCommitted?.(g);
        this.notify();
      }
    } finally {
      lane.running = undefined;
      this.notify();
    }
  }

  private notify(): void {
    if (this.waiters.length === 0) return;
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

  /** Wait until every queued transaction is applied (or, after a failure, every lane stopped); throws the first failure. */
  async drain(): Promise<void> {
    for (;;) {
      const running = this.lanes.map((l) => l.running).filter((p): p is Promise<void> => p !== undefined);
      if (running.length === 0) break;
      await Promise.allSettled(running);
    }
    if (this.failure !== undefined) throw this.failure;
  }
}
