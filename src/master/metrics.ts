import { Counter, Gauge, type Registry } from '../metrics/index.js';
import type { ClusterView } from './scheduler/index.js';

/** dm-master metrics (DM's names), on the master's own registry. */
export class MasterMetrics {
  /** 0 offline, 1 free, 2 bound (as seen by the leader's scheduler). */
  readonly workerState: Gauge<'worker'>;
  readonly startLeader: Counter;

  constructor(registry: Registry) {
    this.workerState = new Gauge({ name: 'dm_master_worker_state', help: 'state of each dm-worker: 0 offline, 1 free, 2 bound', labelNames: ['worker'], registers: [registry] });
    this.startLeader = new Counter({ name: 'dm_master_start_leader_counter', help: 'times this dm-master became the leader', registers: [registry] });
  }

  /** A master that is no longer the leader publishes no worker states (only the leader's view is current). */
  steppedDown(): void {
    this.workerState.reset();
  }

  observe(view: ClusterView): void {
    this.workerState.reset();
    for (const w of view.workers.values()) this.workerState.set({ worker: w.name }, w.stage === 'offline' ? 0 : w.stage === 'free' ? 1 : 2);
  }
}
