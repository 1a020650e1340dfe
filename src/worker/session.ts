import { EventEmitter } from 'node:events';
import type { Etcd3, Lease } from 'etcd3';
import type { Logger } from '../log/index.js';
import { aborted, sleepAbortable } from '../util/index.js';
import type { Keys, WorkerAlive } from '../store/index.js';

/**
 * The worker's liveness session: `worker/alive/<name>` under a lease of `ttlSec`, re-granted
 * when lost, plus the worker's own FENCING deadline. etcd expires the lease `ttl` after the last
 * keepalive it received; the worker knows when it sent each acknowledged keepalive, so once
 * `lastAckedSend + ttl − margin` passes it emits `fenced` (stop all work) — before the lease can
 * expire and the scheduler give the source to another worker. `recovered` follows when the
 * session is back (same lease acknowledged again, or a new lease and alive key in place).
 *
 * States: Connecting → Alive → Fenced → Alive ... → Closed.
 */
export class WorkerSession extends EventEmitter {
  private state: 'Connecting' | 'Alive' | 'Fenced' | 'Closed' = 'Connecting';
  private lastAckedSend = 0;
  private lastFired = 0;
  private lease: Lease | undefined;
  private readonly ac = new AbortController();
  private loop: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private recheck: NodeJS.Immediate | undefined;
  readonly marginMs: number;

  constructor(
    private readonly client: Etcd3,
    private readonly keys: Keys,
    private readonly alive: WorkerAlive,
    readonly ttlSec: number,
    private readonly log: Logger,
  ) {
    super();
    this.marginMs = Math.max(300, Math.round((ttlSec * 1000) / 4));
  }

  get isAlive(): boolean {
    return this.state === 'Alive';
  }
  get stateName(): string {
    return this.state;
  }
  /** ms until this worker fences itself (negative: past it). */
  get deadlineInMs(): number {
    return this.lastAckedSend + this.ttlSec * 1000 - this.marginMs - Date.now();
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run(this.ac.signal);
    this.timer = setInterval(() => this.check(), 100);
  }

  private check(): void {
    if (this.state !== 'Alive' || this.deadlineInMs > 0 || this.recheck) return;
    // After the event loop was blocked, this timer runs before the I/O already waiting on the
    // socket: an acknowledgement that arrived in time would be read only after the fence. Decide
    // after one poll phase (setImmediate runs after it); the margin covers that turn.
    this.recheck = setImmediate(() => {
      this.recheck = undefined;
      this.fenceIfLate();
    });
  }

  private fenceIfLate(): void {
    if (this.state === 'Alive' && this.deadlineInMs <= 0) {
      this.state = 'Fenced';
      this.log.warn({ ttlSec: this.ttlSec }, 'keepalive not acknowledged in time: fencing, stopping all work');
      this.emit('fenced');
    }
  }

  private markAlive(sentAt: number): void {
    this.lastAckedSend = Math.max(this.lastAckedSend, sentAt);
    if (this.deadlineInMs <= 0) return;
    if (this.state === 'Connecting' || this.state === 'Fenced') {
      const was = this.state;
      this.state = 'Alive';
      this.log.info({ was }, 'worker session alive');
      this.emit('recovered');
    }
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const lease = this.client.lease(this.ttlSec, { autoKeepAlive: true });
      this.lease = lease;
      let lostResolve: () => void = () => undefined;
      const lost = new Promise<void>((res) => (lostResolve = res));
      lease.on('lost', (err) => {
        this.log.warn({ err: err.message }, 'worker lease lost');
        lostResolve();
      });
      lease.on('keepaliveFired', () => (this.lastFired = Date.now()));
      lease.on('keepaliveSucceeded', () => this.markAlive(this.lastFired));
      try {
        const sent = Date.now();
        await lease.put(this.keys.workerAlive(this.alive.name)).value(JSON.stringify(this.alive)).exec();
        this.markAlive(sent);
        await Promise.race([lost, aborted(signal)]);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'putting the alive key failed');
      }
      if (signal.aborted) return;
      if (this.state === 'Alive' && this.deadlineInMs > 0) {
        // Lease gone although the deadline has not passed (revoked): fence now.
        this.state = 'Fenced';
        this.emit('fenced');
      }
      void lease.revoke().catch(() => undefined);
      await sleepAbortable(300, signal);
    }
  }

  /** Revoke the lease (the scheduler sees the worker gone at once) and stop. Idempotent. */
  async close(): Promise<void> {
    if (this.state === 'Closed') return;
    this.state = 'Closed';
    this.ac.abort();
    if (this.timer) clearInterval(this.timer);
    if (this.recheck) clearImmediate(this.recheck);
    await this.lease?.revoke().catch(() => undefined);
    await this.loop;
  }
}
