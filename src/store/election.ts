import { EventEmitter } from 'node:events';
import type { Etcd3, Campaign, ElectionObserver } from 'etcd3';
import type { Logger } from '../log/index.js';
import { silentLogger } from '../log/index.js';
import { sleepAbortable, untilDoneOrAborted } from '../util/index.js';
import { Keys, type LeaderInfo } from './keys.js';
import type { Fence } from './fenced-txn.js';

export type ElectionState = 'Follower' | 'Leader' | 'Evicted' | 'Closed';

/**
 * dm-master leader election on etcd3's election API.
 *
 * States: Follower → Leader → Follower (lease lost / campaign error / fence lost / resign) ...;
 * Evicted (operate-leader evict: resigned and not campaigning) → Follower (cancel-evict); Closed.
 *
 * Events: `elected` (fence), `stepDown` (reason), `leader` (LeaderInfo | undefined, from observe()).
 * Step-down is idempotent: etcd3 may report a lost lease twice.
 */
export class LeaderElection extends EventEmitter {
  private state: ElectionState = 'Follower';
  private campaign: Campaign | undefined;
  private observer: ElectionObserver | undefined;
  private currentFence: Fence | undefined;
  private currentLeader: LeaderInfo | undefined;
  private readonly ac = new AbortController();
  private campaignLoop: Promise<void> | undefined;
  private observeLoop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly log: Logger;
  private readonly keys: Keys;

  constructor(
    private readonly client: Etcd3,
    keys: Keys,
    private readonly self: LeaderInfo,
    private readonly ttlSec: number,
    logger: Logger = silentLogger,
  ) {
    super();
    this.keys = keys;
    this.log = logger.child({ component: 'election' });
  }

  get isLeader(): boolean {
    return this.state === 'Leader';
  }
  get stateName(): ElectionState {
    return this.state;
  }
  /** The fencing token while leader. */
  get fence(): Fence | undefined {
    return this.state === 'Leader' ? this.currentFence : undefined;
  }
  /** The leader as last observed (may be this master). */
  get leader(): LeaderInfo | undefined {
    if (this.state === 'Leader') return this.self;
    return this.currentLeader;
  }

  private election() {
    return this.client.namespace(this.keys.electionNamespace()).election(Keys.ELECTION_NAME, this.ttlSec);
  }

  /** Start campaigning (unless `evicted`) and observing. */
  start(evicted = false): void {
    if (this.campaignLoop) return;
    if (evicted) this.state = 'Evicted';
    this.campaignLoop = this.runCampaigns(this.ac.signal);
    this.observeLoop = this.runObserver(this.ac.signal);
  }

  /** The etcd key of the campaign running now (undefined when not campaigning). */
  async campaignKey(): Promise<string | undefined> {
    const c = this.campaign;
    if (!c) return undefined;
    try {
      return await c.getCampaignKey();
    } catch {
      return undefined;
    }
  }

  /** The current leader read from etcd (not the cached one). */
  async readLeader(): Promise<LeaderInfo | undefined> {
    const v = await this.election().leader();
    if (v === undefined) return undefined;
    try {
      return JSON.parse(v) as LeaderInfo;
    } catch {
      return undefined;
    }
  }

  private async runObserver(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const obs = await this.election().observe();
        this.observer = obs;
        this.setLeader(obs.leader());
        await untilDoneOrAborted(signal, (done) => {
          obs.on('change', (v) => this.setLeader(v));
          obs.on('error', (err) => {
            this.log.warn({ err }, 'election observer failed');
            done();
          });
        });
        this.observer = undefined;
        void obs.cancel().catch(() => undefined);
      } catch (err) {
        if (signal.aborted) return;
        this.log.debug({ err }, 'election observe failed, retrying');
      }
      await sleepAbortable(300, signal);
    }
  }

  private setLeader(v: string | undefined): void {
    let info: LeaderInfo | undefined;
    if (v !== undefined) {
      try {
        info = JSON.parse(v) as LeaderInfo;
      } catch {
        info = undefined;
      }
    }
    const prev = this.currentLeader;
    this.currentLeader = info;
    if (prev?.name !== info?.name || prev?.addr !== info?.addr) this.emit('leader', info);
  }

  private async runCampaigns(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (this.state === 'Evicted') {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          if (signal.aborted) return resolve();
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
        this.wake = undefined;
        continue;
      }
      const c = this.election().campaign(JSON.stringify(this.self));
      this.campaign = c;
      // etcd3 may report a lost lease more than once: never leave 'error' without a listener.
      c.on('error', () => undefined);
      const outcome = await new Promise<'elected' | 'error' | 'abort'>((resolve) => {
        c.once('elected', () => resolve('elected'));
        c.once('error', (err) => {
          this.log.warn({ err }, 'campaign failed');
          resolve('error');
        });
        if (signal.aborted) return resolve('abort');
        signal.addEventListener('abort', () => resolve('abort'), { once: true });
        this.wake = () => resolve('abort');
      });
      this.wake = undefined;
      if (outcome === 'elected') {
        try {
          const key = await c.getCampaignKey();
          const res = await this.client.get(key).exec();
          const kv = res.kvs[0];
          if (!kv) throw new Error('campaign key vanished');
          this.currentFence = { key, createRevision: kv.create_revision };
          if (this.campaign === c && !signal.aborted) {
            this.state = 'Leader';
            this.log.info({ fence: this.currentFence }, 'became leader');
            this.emit('elected', this.currentFence);
            this.emit('leader', this.self);
          }
          // Wait until the campaign errors (lease lost) or we are told to step down.
          await new Promise<void>((resolve) => {
            c.once('error', (err) => {
              this.log.warn({ err }, 'leader lease lost');
              resolve();
            });
            // close() may have aborted while the campaign key was read: a listener added to an
            // already-aborted signal never fires, and close() would wait for this loop forever
            if (signal.aborted) return resolve();
            signal.addEventListener('abort', () => resolve(), { once: true });
            this.wake = resolve;
          });
          this.wake = undefined;
        } catch (err) {
          this.log.warn({ err }, 'reading the campaign key failed');
        }
      }
      this.stepDownLocal(outcome === 'elected' ? 'leadership ended' : 'campaign ended');
      // Resign: revoke the lease so a successor is elected at once (harmless if already lost).
      await Promise.race([c.resign().catch(() => undefined), sleepAbortable(1000)]);
      if (this.campaign === c) this.campaign = undefined;
      if (!signal.aborted && !this.evicted()) await sleepAbortable(outcome === 'error' ? 500 : 100, signal);
    }
  }

  private evicted(): boolean {
    return this.state === 'Evicted';
  }

  private stepDownLocal(reason: string): void {
    const wasLeader = this.state === 'Leader';
    if (this.state === 'Leader') this.state = 'Follower';
    this.currentFence = undefined;
    if (wasLeader) {
      this.log.warn({ reason }, 'stepped down');
      this.emit('stepDown', reason);
    }
  }

  /** Step down now (fence lost, or asked to); campaigns again unless evicted. Idempotent. */
  stepDown(reason: string): void {
    this.stepDownLocal(reason);
    this.wake?.();
  }

  /** operate-leader evict: resign and stop campaigning until cancelEvict(). */
  evict(): void {
    this.state = this.state === 'Closed' ? 'Closed' : 'Evicted';
    this.stepDown('evicted');
    this.wake?.();
  }

  /** operate-leader cancel-evict: campaign again. */
  cancelEvict(): void {
    if (this.state !== 'Evicted') return;
    this.state = 'Follower';
    this.wake?.();
  }

  /** Resign and stop. Idempotent. */
  async close(): Promise<void> {
    if (this.state === 'Closed' && !this.campaignLoop) return;
    const wasLeader = this.state === 'Leader';
    this.ac.abort();
    const c = this.campaign;
    this.campaign = undefined;
    if (c) await Promise.race([c.resign().catch(() => undefined), sleepAbortable(1500)]);
    const obs = this.observer;
    this.observer = undefined;
    if (obs) void obs.cancel().catch(() => undefined);
    await this.campaignLoop;
    await this.observeLoop;
    this.campaignLoop = undefined;
    this.state = 'Closed';
    if (wasLeader) this.emit('stepDown', 'closed');
  }
}
