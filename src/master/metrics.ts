import { Counter, Gauge, cpuUsageGauge, type Registry } from '../metrics/index.js';
import type { ClusterView } from './scheduler/index.js';
import type { KeeperMetrics, LockView } from './shardddl/index.js';

/**
 * dm-master metrics with DM's names and labels (pingcap/tiflow dm/master/metrics/metrics.go), on
 * the master's own registry. Like DM, the leader-only series (worker states, DDL lock and worker
 * event errors) are reset when this master stops being the leader.
 */
export class MasterMetrics {
  /** 0 offline, 1 free, 2 bound (as seen by the leader's scheduler). */
  readonly workerState: Gauge<'worker'>;
  readonly startLeader: Counter;
  /** dm_master_ddl_state_number{task,type}: pending shard DDLs by state (`Un-synced`, `Synced`). */
  readonly ddlPending: Gauge<'task' | 'type'>;
  /** dm_master_shard_ddl_error{task,type}: shard DDL lock / operation errors. */
  readonly ddlError: Counter<'task' | 'type'>;
  /** dm_master_worker_event_error{type}: errors handling (`handle`) or watching (`watch`) worker events. */
  readonly workerEventError: Counter<'type'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.workerState = new Gauge({ name: 'dm_master_worker_state', help: 'state of worker, -1 - unrecognized, 0 - offline, 1 - free, 2 - bound', labelNames: ['worker'], registers });
    this.startLeader = new Counter({ name: 'dm_master_start_leader_counter', help: 'number of this dm-master try to start leader components', registers });
    this.ddlPending = new Gauge({ name: 'dm_master_ddl_state_number', help: 'number of pending DDL in different states, Un-synced (waiting all upstream), Synced (all upstream finished, waiting all downstream)', labelNames: ['task', 'type'], registers });
    this.ddlError = new Counter({ name: 'dm_master_shard_ddl_error', help: 'number of shard DDL lock/operation error', labelNames: ['task', 'type'], registers });
    this.workerEventError = new Counter({ name: 'dm_master_worker_event_error', help: 'number of error related to worker event, during handling or watching', labelNames: ['type'], registers });
    cpuUsageGauge(registry, 'dm_master_cpu_usage', 'the cpu usage of master');
  }

  /** A master that is no longer the leader publishes no worker states (only the leader's view is current). */
  steppedDown(): void {
    this.workerState.reset();
    this.ddlPending.reset();
    this.ddlError.reset();
    this.workerEventError.reset();
  }

  /**
   * The shard DDL keeper's view, every pass (DM's ReportDDLPending): per task, the number of
   * locks waiting for sources (`Un-synced`) and of locks whose DDL is being executed or skipped
   * (`Synced`); a lock in error counts as `Un-synced`.
   */
  observeLocks(locks: readonly LockView[]): void {
    this.ddlPending.reset();
    const n = new Map<string, { unsynced: number; synced: number }>();
    for (const l of locks) {
      const c = n.get(l.task) ?? { unsynced: 0, synced: 0 };
      if (l.stage === 'executing' || l.stage === 'skipping') c.synced++;
      else c.unsynced++;
      n.set(l.task, c);
    }
    for (const [task, c] of n) {
      this.ddlPending.set({ task, type: 'Un-synced' }, c.unsynced);
      this.ddlPending.set({ task, type: 'Synced' }, c.synced);
    }
  }

  /** The hooks the shard DDL keeper reports through. */
  keeperMetrics(): KeeperMetrics {
    return {
      locks: (views) => this.observeLocks(views),
      error: (task, type) => this.ddlError.inc({ task, type }),
    };
  }

  observe(view: ClusterView): void {
    this.workerState.reset();
    for (const w of view.workers.values()) this.workerState.set({ worker: w.name }, w.stage === 'offline' ? 0 : w.stage === 'free' ? 1 : 2);
  }
}
