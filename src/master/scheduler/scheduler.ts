import type { Etcd3, IOperation } from 'etcd3';
import { DMError } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import { silentLogger } from '../../log/index.js';
import {
  Keys,
  leaderTxn,
  listJSON,
  listPrefix,
  listText,
  parseJSON,
  PrefixWatcher,
  type Fence,
  type SourceBound,
  type WorkerAlive,
  type WorkerInfo,
  type TxnCompare,
} from '../../store/index.js';
import { sleepAbortable, Waker } from '../../util/index.js';

export type WorkerStageName = 'offline' | 'free' | 'bound';

export interface WorkerView {
  name: string;
  addr: string;
  stage: WorkerStageName;
  source: string;
  labels: Record<string, string>;
  /** etcd create revision of the worker's alive key ('' when offline). */
  aliveRevision: string;
  /** The worker's keepalive-ttl in seconds (0 when offline or not reported). */
  ttlSec: number;
  /** etcd lease ID of the worker's alive key ('' when offline). */
  aliveLease: string;
}

/** The scheduler's view of the cluster, read from etcd in one pass. */
export interface ClusterView {
  workers: Map<string, WorkerView>;
  /** source id → bound worker name */
  boundBy: Map<string, string>;
  sources: Set<string>;
  lastBound: Map<string, string>;
  /** etcd revision the view was read at. */
  revision: string;
}

/** Read the whole scheduling state from etcd (any master may call this: it is a read). */
export async function readClusterView(client: Etcd3, keys: Keys): Promise<ClusterView> {
  const [aliveKvs, infos, bounds, sources, last] = await Promise.all([
    listPrefix(client, keys.workerAlive()),
    listJSON<WorkerInfo>(client, keys.workerInfo()),
    listJSON<SourceBound>(client, keys.sourceBound()),
    listText(client, keys.sourceConfig()),
    listJSON<SourceBound>(client, keys.sourceLastBound()),
  ]);
  const alive = new Map<string, WorkerAlive & { createRevision: string; lease: string }>();
  for (const kv of aliveKvs.kvs) {
    alive.set(kv.key.slice(kv.key.lastIndexOf('/') + 1), { ...parseJSON<WorkerAlive>(kv.key, kv.value), createRevision: kv.createRevision, lease: kv.lease });
  }
  const workers = new Map<string, WorkerView>();
  const names = new Set([...infos.keys(), ...alive.keys(), ...bounds.keys()]);
  for (const name of names) {
    const b = bounds.get(name);
    const a = alive.get(name);
    const i = infos.get(name);
    workers.set(name, {
      name,
      addr: a?.addr ?? i?.addr ?? '',
      stage: a === undefined ? 'offline' : b ? 'bound' : 'free',
      source: b?.source ?? '',
      labels: i?.labels ?? {},
      aliveRevision: a?.createRevision ?? '',
      ttlSec: a?.ttlSec ?? 0,
      aliveLease: a?.lease ?? '',
    });
  }
  const boundBy = new Map<string, string>();
  for (const [w, b] of bounds) boundBy.set(b.source, w);
  const lastBound = new Map<string, string>();
  for (const [s, b] of last) lastBound.set(s, b.worker);
  return { workers, boundBy, sources: new Set(sources.keys()), lastBound, revision: aliveKvs.revision };
}

export interface SchedulerOptions {
  client: Etcd3;
  keys: Keys;
  /** Current fence (undefined when not leader). */
  fence: () => Fence | undefined;
  onFenceLost: (e: DMError) => void;
  logger?: Logger;
  /** Called after every reconcile with the view it acted on (metrics). */
  onView?: (view: ClusterView) => void;
  /** Safety re-check period. */
  resyncMs?: number;
  /**
   * After this scheduler starts (a new leader), sources bound to offline workers stay put this
   * long, so that after a full cluster restart every worker gets its own source back.
   */
  rebindGraceMs?: number;
}

/**
 * The writes that bind `source` to `worker`, and the compare that the worker has no source yet.
 * Callers add their own compares and run it as one fenced txn.
 */
export function bindingOps(client: Etcd3, keys: Keys, source: string, worker: string): { ops: IOperation[]; compares: TxnCompare[] } {
  const rec = JSON.stringify({ source, worker, at: new Date().toISOString() } satisfies SourceBound);
  return {
    ops: [client.put(keys.sourceBound(worker)).value(rec), client.put(keys.sourceLastBound(source)).value(rec)],
    compares: [{ key: keys.sourceBound(worker), target: 'Create', cmp: '==', value: 0 }],
  };
}

/**
 * Leader-only scheduler (DM's scheduler): binds sources to workers.
 * - a free (alive, unbound) worker gets an unbound source, preferring the source's last worker;
 * - a source whose worker's lease expired (worker/alive gone) moves to a free worker;
 * - transfer-source and offline-member by hand.
 * Level-triggered: any change under worker/ or source/ (and every `resyncMs`) re-reads etcd and
 * converges. Every write is a fenced txn with compares on the keys it read.
 * States: New → Running → Stopped (close()).
 */
export class Scheduler {
  private readonly ac = new AbortController();
  private loop: Promise<void> | undefined;
  private watchers: PrefixWatcher[] = [];
  private dirty = true;
  private readonly waker = new Waker();
  private readonly log: Logger;
  private startedAt = Date.now();
  private graceTimer: NodeJS.Timeout | undefined;
  private readonly seenAlive = new Set<string>();
  /** Per alive-key lease: when it was first sampled, its remaining TTL then, and at the last sample. */
  private readonly leaseSamples = new Map<string, { at: number; firstTtl: number; lastTtl: number }>();
  /** etcd revision of this scheduler's first view: alive keys created after it registered under us. */
  private startRevision: bigint | undefined;

  constructor(private readonly o: SchedulerOptions) {
    this.log = (o.logger ?? silentLogger).child({ component: 'scheduler' });
  }

  start(): void {
    if (this.loop) return;
    const trigger = { reset: () => this.kick(), put: () => this.kick(), del: () => this.kick() };
    this.watchers = [
      new PrefixWatcher(this.o.client, `${this.o.keys.prefix}worker/`, trigger, this.log),
      new PrefixWatcher(this.o.client, `${this.o.keys.prefix}source/`, trigger, this.log),
    ];
    for (const w of this.watchers) w.start();
    this.startedAt = Date.now();
    const grace = this.o.rebindGraceMs ?? 0;
    if (grace > 0) {
      this.graceTimer = setTimeout(() => this.kick(), grace + 50);
      this.graceTimer.unref();
    }
    this.loop = this.run(this.ac.signal);
    this.log.info('scheduler started');
  }

  /** Whether this scheduler is still in its rebind grace (offline workers it has not seen keep their source). */
  private inGrace(): boolean {
    return Date.now() < this.startedAt + (this.o.rebindGraceMs ?? 0);
  }

  /** Ask for a reconcile soon. */
  kick(): void {
    this.dirty = true;
    this.waker.wake();
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      // During the rebind grace, look every second so liveness is sampled often (see reconcile).
      const resync = this.o.resyncMs ?? 5000;
      if (!this.dirty) await this.waker.sleep(this.inGrace() ? Math.min(resync, 1000) : resync, signal);
      if (signal.aborted) return;
      this.dirty = false;
      try {
        await this.reconcile();
      } catch (err) {
        if (err instanceof DMError && err.codeName === 'ErrEtcdFenced') {
          this.log.warn('scheduler write fenced off: not the leader any more');
          return;
        }
        this.log.warn({ err }, 'reconcile failed, retrying');
        this.dirty = true;
        await sleepAbortable(500, signal);
      }
    }
  }

  private async txn(ops: IOperation[], compares: TxnCompare[]): Promise<boolean> {
    return leaderTxn(this.o.client, this.o.fence(), ops, compares, this.o.onFenceLost);
  }

  /** One pass: drop bindings of deleted sources, bind unbound sources to free workers. */
  async reconcile(): Promise<void> {
    const { client, keys } = this.o;
    const view = await readClusterView(client, keys);
    let changed = false;
    // Bindings of sources that no longer exist.
    for (const w of view.workers.values()) {
      if (w.source && !view.sources.has(w.source)) {
        await this.txn([client.delete().key(keys.sourceBound(w.name))], []);
        this.log.info({ worker: w.name, source: w.source }, 'unbound a removed source');
        changed = true;
      }
    }
    if (changed) {
      this.dirty = true;
      return;
    }
    const free = [...view.workers.values()].filter((w) => w.stage === 'free').map((w) => w.name).sort();
    // A worker this scheduler has seen alive and then lost is rebound at once; any other offline
    // worker gets `rebindGraceMs` to come back first. An alive key is proof of a live worker only
    // if it was created under this scheduler, or its lease was seen renewed (its remaining TTL
    // went up between two samples), or it is still there when the grace ends: after a full restart
    // etcd revives the leases of workers that are already stopped (their TTL restarts with the new
    // Raft leader, and on a loaded box their expiry can lag well past one TTL), so such a key
    // vanishes later while its worker may be about to re-register and take its source back.
    this.startRevision ??= BigInt(view.revision);
    const inGraceNow = this.inGrace();
    if (!inGraceNow) this.leaseSamples.clear();
    for (const w of view.workers.values()) {
      if (w.stage === 'offline' || this.seenAlive.has(w.name)) continue;
      const created = BigInt(w.aliveRevision) > this.startRevision;
      if (created || !inGraceNow || (await this.leaseRenewed(w))) this.seenAlive.add(w.name);
    }
    const inGrace = this.inGrace();
    const needs = [...view.sources]
      .filter((s) => {
        const w = view.boundBy.get(s);
        if (w === undefined) return true;
        return view.workers.get(w)?.stage === 'offline' && (!inGrace || this.seenAlive.has(w));
      })
      .sort();
    for (const source of needs) {
      if (free.length === 0) break;
      const last = view.lastBound.get(source);
      const idx = last !== undefined && free.includes(last) ? free.indexOf(last) : 0;
      const worker = free.splice(idx, 1)[0];
      if (worker === undefined) break;
      const old = view.boundBy.get(source);
      const ok = await this.bind(source, worker, old);
      if (ok) this.log.info({ source, worker, previous: old }, old ? 'rebound source from an offline worker' : 'bound source');
      else this.dirty = true;
    }
    this.o.onView?.(view);
  }

  /**
   * Whether `w`'s alive-key lease is being renewed: its remaining TTL went up between two samples,
   * or it is still positive after the time the first sample said it would run out unrenewed.
   * A revived lease of a stopped worker only counts down (and, on a loaded box, its key may stay
   * a while after it ran out: etcd revokes lazily), so it never passes either test.
   */
  private async leaseRenewed(w: WorkerView): Promise<boolean> {
    if (w.aliveLease === '' || w.aliveLease === '0') return false;
    let ttl: number;
    try {
      const r = await this.o.client.leaseClient.leaseTimeToLive({ ID: w.aliveLease });
      ttl = Number(r.TTL);
    } catch {
      return false;
    }
    const now = Date.now();
    const seen = this.leaseSamples.get(w.aliveLease);
    if (seen === undefined) {
      this.leaseSamples.set(w.aliveLease, { at: now, firstTtl: ttl, lastTtl: ttl });
      return false;
    }
    const prev = seen.lastTtl;
    seen.lastTtl = ttl;
    return ttl > 0 && (ttl > prev || now > seen.at + (seen.firstTtl + 1) * 1000);
  }

  /** Bind `source` to `worker` (must be unbound), moving it away from `old` in the same txn. */
  private async bind(source: string, worker: string, old: string | undefined): Promise<boolean> {
    const { client, keys } = this.o;
    const { ops, compares } = bindingOps(client, keys, source, worker);
    compares.push({ key: keys.sourceConfig(source), target: 'Create', cmp: '>', value: 0 });
    if (old !== undefined && old !== worker) {
      ops.unshift(client.delete().key(keys.sourceBound(old)));
      // The old worker must still be offline (no alive key) when we move its source.
      compares.push({ key: keys.workerAlive(old), target: 'Create', cmp: '==', value: 0 });
    }
    return this.txn(ops, compares);
  }

  /** The view's record of `worker`, which must exist and be free (alive, no source). */
  static requireFree(view: ClusterView, worker: string): WorkerView {
    const w = view.workers.get(worker);
    if (!w) throw new DMError('ErrMasterWorkerNotFound', `worker ${worker} not found`);
    if (w.stage !== 'free') throw new DMError('ErrSchedulerWorkerNotFree', `worker ${worker} is ${w.stage}${w.source ? ` (bound to ${w.source})` : ''}`);
    return w;
  }

  /** transfer-source: move `source` to the free worker `worker`. */
  async transferSource(source: string, worker: string): Promise<void> {
    const { client, keys } = this.o;
    const view = await readClusterView(client, keys);
    if (!view.sources.has(source)) throw new DMError('ErrMasterSourceNotFound', `source ${source} not found`);
    if (!view.workers.has(worker)) throw new DMError('ErrMasterWorkerNotFound', `worker ${worker} not found`);
    const cur = view.boundBy.get(source);
    if (cur === worker) return;
    Scheduler.requireFree(view, worker);
    const { ops, compares } = bindingOps(client, keys, source, worker);
    if (cur !== undefined) ops.unshift(client.delete().key(keys.sourceBound(cur)));
    compares.push({ key: keys.workerAlive(worker), target: 'Create', cmp: '>', value: 0 });
    const ok = await this.txn(ops, compares);
    if (!ok) throw new DMError('ErrEtcdTxnConflict', `transfer of ${source} to ${worker} conflicted with a concurrent change`);
    this.log.info({ source, worker, previous: cur }, 'transferred source');
  }

  /** offline-member --worker: remove a stopped worker; a live one is refused. */
  async offlineWorker(name: string): Promise<void> {
    const { client, keys } = this.o;
    const view = await readClusterView(client, keys);
    const w = view.workers.get(name);
    if (!w) throw new DMError('ErrMasterWorkerNotFound', `worker ${name} not found`);
    if (w.stage !== 'offline') throw new DMError('ErrSchedulerMemberOnline', `worker ${name} is ${w.stage}: it is still running`);
    const ok = await this.txn(
      [client.delete().key(keys.workerInfo(name)), client.delete().key(keys.sourceBound(name))],
      [{ key: keys.workerAlive(name), target: 'Create', cmp: '==', value: 0 }],
    );
    if (!ok) throw new DMError('ErrSchedulerMemberOnline', `worker ${name} came back online`);
    this.log.info({ worker: name }, 'worker taken offline');
    this.kick();
  }

  /** Stop. Idempotent. */
  async close(): Promise<void> {
    this.ac.abort();
    this.waker.wake();
    if (this.graceTimer) clearTimeout(this.graceTimer);
    await Promise.all(this.watchers.map((w) => w.close()));
    this.watchers = [];
    await this.loop;
  }
}
