/**
 * DM's continuous-validator metrics (pingcap/tiflow dm/syncer/metrics/validator_metrics.go) on the
 * worker's Registry: same names, gauges, labels {task, source_id}; plus DM.ts's
 * `dm_validator_validator_pending_rows` and `dm_validator_validator_verified_binlog_pos`.
 * `dm_validator_validator_error_count` is the number of errors not yet ignored or resolved: the
 * alert rule in deploy/prometheus fires while it is above 0.
 */
import { Gauge, type Registry } from 'prom-client';

const LABELS = ['task', 'source_id'] as const;

function gauge(reg: Registry, name: string, help: string): Gauge {
  return (reg.getSingleMetric(name) as Gauge | undefined) ?? new Gauge({ name, help, labelNames: LABELS, registers: [reg] });
}

export interface ValidatorMetrics {
  errorCount: Gauge;
  logPosLatency: Gauge;
  logFileLatency: Gauge;
  binlogPos: Gauge;
  binlogFile: Gauge;
  pendingRows: Gauge;
  verifiedPos: Gauge;
}

export function validatorMetrics(reg: Registry): ValidatorMetrics {
  return {
    errorCount: gauge(reg, 'dm_validator_validator_error_count', 'total number of validator errors'),
    logPosLatency: gauge(reg, 'dm_validator_validator_logpos_latency', 'the log pos latency between validator and syncer'),
    logFileLatency: gauge(reg, 'dm_validator_validator_logfile_latency', 'the log file latency between validator and syncer'),
    binlogPos: gauge(reg, 'dm_validator_validator_binlog_pos', 'binlog position of the validator'),
    binlogFile: gauge(reg, 'dm_validator_validator_binlog_file', 'current binlog file of the validator'),
    pendingRows: gauge(reg, 'dm_validator_validator_pending_rows', 'rows applied and not yet verified equal on the target'),
    verifiedPos: gauge(reg, 'dm_validator_validator_verified_binlog_pos', 'binlog position (in its file) up to which every applied change is verified equal'),
  };
}

/** Remove a subtask's series (the subtask stopped). */
export function forgetValidatorMetrics(m: ValidatorMetrics, task: string, sourceId: string): void {
  for (const g of Object.values(m)) g.remove({ task, source_id: sourceId });
}
