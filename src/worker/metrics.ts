import { Counter, Gauge, cpuUsageGauge, type Registry } from '../metrics/index.js';
import type { Stage, UnitType } from '../units/index.js';

/** DM's stage numbers for dm_worker_task_state. */
export const STAGE_NUMBER: Record<Stage, number> = { New: 1, Running: 2, Paused: 3, Stopped: 4, Finished: 5 };

type ExitLabels = 'task' | 'source_id' | 'resumable_err';

/**
 * dm-worker metrics with DM's names and labels (pingcap/tiflow dm/worker/metrics.go, and the units'
 * `*_exit_with_error_count` of dm/syncer, dm/loader, dm/dumpling), on the worker's own registry.
 */
export class WorkerMetrics {
  /** dm_worker_task_state{task,source_id,worker}: 1 New, 2 Running, 3 Paused, 4 Stopped, 5 Finished. */
  readonly taskState: Gauge<'task' | 'source_id' | 'worker'>;
  /** dm_worker_operate_error{worker,type}: errors of operations on the worker (DM's types: BeforeAnyOp, SourceBound, RelaySource). */
  readonly operateError: Counter<'worker' | 'type'>;
  /**
   * Unit exits with an error, by unit: `resumable_err` "true" when the task checker resumes the
   * subtask by itself (every error retryable), "false" when it needs the operator. Dump errors are
   * counted under DM's `dm_dumpling_exit_with_error_count` and under `dm_mydumper_exit_with_error_count`,
   * the name DM's published alert rules still select.
   */
  private readonly exits: Record<'Dump' | 'Load' | 'Sync', Counter<ExitLabels>[]>;
  private readonly seen = new Set<string>();

  constructor(
    registry: Registry,
    private readonly worker: string,
  ) {
    const registers = [registry];
    this.taskState = new Gauge({
      name: 'dm_worker_task_state',
      help: 'state of task, 0 - invalidStage, 1 - New, 2 - Running, 3 - Paused, 4 - Stopped, 5 - Finished',
      labelNames: ['task', 'source_id', 'worker'],
      registers,
    });
    this.operateError = new Counter({ name: 'dm_worker_operate_error', help: 'number of different operate error', labelNames: ['worker', 'type'], registers });
    cpuUsageGauge(registry, 'dm_worker_cpu_usage', 'the cpu usage of worker');
    const exit = (name: string, help: string): Counter<ExitLabels> =>
      new Counter({ name, help, labelNames: ['task', 'source_id', 'resumable_err'], registers });
    const dumpling = exit('dm_dumpling_exit_with_error_count', 'counter for dumpling exit with error');
    const mydumper = exit('dm_mydumper_exit_with_error_count', 'counter for dump unit exit with error (the name DM alert rules use)');
    this.exits = {
      Dump: [dumpling, mydumper],
      Load: [exit('dm_loader_exit_with_error_count', 'counter for loader exits with error')],
      Sync: [exit('dm_syncer_exit_with_error_count', 'counter for syncer exits with error')],
    };
  }

  setStage(task: string, source: string, stage: Stage): void {
    this.taskState.set({ task, source_id: source, worker: this.worker }, STAGE_NUMBER[stage]);
    const key = `${task}\u0000${source}`;
    if (!this.seen.has(key)) {
      // the exit counters start at 0, so increase()/changes() see the first error
      this.seen.add(key);
      for (const cs of Object.values(this.exits))
        for (const c of cs) for (const resumable_err of ['true', 'false']) c.inc({ task, source_id: source, resumable_err }, 0);
    }
  }

  /** A unit of the subtask ended with errors (resumable: the task checker resumes it). */
  unitExited(task: string, source: string, unit: UnitType, resumable: boolean): void {
    const cs = unit === 'Dump' || unit === 'Load' || unit === 'Sync' ? this.exits[unit] : [];
    for (const c of cs) c.inc({ task, source_id: source, resumable_err: String(resumable) });
  }

  forget(task: string, source: string): void {
    this.taskState.remove({ task, source_id: source, worker: this.worker });
    this.seen.delete(`${task}\u0000${source}`);
    for (const cs of Object.values(this.exits))
      for (const c of cs) for (const resumable_err of ['true', 'false']) c.remove({ task, source_id: source, resumable_err });
  }
}
