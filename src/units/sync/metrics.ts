/** DM's `dm_syncer_*` metrics on the Registry the unit is given (never the global one). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

function getOr<T>(reg: Registry, name: string, make: () => T): T {
  return (reg.getSingleMetric(name) as T | undefined) ?? make();
}

export interface SyncMetrics {
  lag: Gauge;
  binlogFile: Gauge;
  binlogPos: Gauge;
  finishedTxn: Counter;
  txnDuration: Histogram;
  queueSize: Gauge;
  remainingTime: Gauge;
  eventRows: Histogram;
}

export function syncMetrics(reg: Registry): SyncMetrics {
  const r = [reg];
  return {
    lag: getOr(reg, 'dm_syncer_replication_lag', () => new Gauge({ name: 'dm_syncer_replication_lag', help: 'replication lag in seconds between upstream and the syncer', labelNames: ['task', 'source_id'], registers: r })),
    binlogFile: getOr(reg, 'dm_syncer_binlog_file', () => new Gauge({ name: 'dm_syncer_binlog_file', help: 'binlog file index of master and syncer', labelNames: ['node', 'task', 'source_id'], registers: r })),
    binlogPos: getOr(reg, 'dm_syncer_binlog_pos', () => new Gauge({ name: 'dm_syncer_binlog_pos', help: 'binlog position of master and syncer', labelNames: ['node', 'task', 'source_id'], registers: r })),
    finishedTxn: getOr(reg, 'dm_syncer_finished_transaction_total', () => new Counter({ name: 'dm_syncer_finished_transaction_total', help: 'upstream transactions applied to the target', labelNames: ['task', 'source_id'], registers: r })),
    txnDuration: getOr(reg, 'dm_syncer_txn_duration_time', () => new Histogram({ name: 'dm_syncer_txn_duration_time', help: 'target transaction duration in seconds', labelNames: ['task', 'source_id'], buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10], registers: r })),
    queueSize: getOr(reg, 'dm_syncer_queue_size', () => new Gauge({ name: 'dm_syncer_queue_size', help: 'row changes waiting for or being applied', labelNames: ['task', 'source_id'], registers: r })),
    remainingTime: getOr(reg, 'dm_syncer_remaining_time', () => new Gauge({ name: 'dm_syncer_remaining_time', help: 'estimated seconds to catch up with the master', labelNames: ['task', 'source_id'], registers: r })),
    eventRows: getOr(reg, 'dm_syncer_binlog_event_row', () => new Histogram({ name: 'dm_syncer_binlog_event_row', help: 'rows per binlog rows event', labelNames: ['task', 'source_id'], buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], registers: r })),
  };
}

/** `mysql-bin.000012` → 12 */
export function fileIndex(file: string): number {
  const n = Number(file.slice(file.lastIndexOf('.') + 1));
  return Number.isFinite(n) ? n : 0;
}
