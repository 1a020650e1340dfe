import { Gauge, type Registry } from '../metrics/index.js';
import type { Stage } from '../units/index.js';

/** DM's stage numbers for dm_worker_task_state. */
export const STAGE_NUMBER: Record<Stage, number> = { New: 1, Running: 2, Paused: 3, Stopped: 4, Finished: 5 };

export class WorkerMetrics {
  /** dm_worker_task_state{task,source_id,worker}: 1 New, 2 Running, 3 Paused, 4 Stopped, 5 Finished. */
  readonly taskState: Gauge<'task' | 'source_id' | 'worker'>;

  constructor(
    registry: Registry,
    private readonly worker: string,
  ) {
    this.taskState = new Gauge({
      name: 'dm_worker_task_state',
      help: 'state of each subtask: 1 New, 2 Running, 3 Paused, 4 Stopped, 5 Finished',
      labelNames: ['task', 'source_id', 'worker'],
      registers: [registry],
    });
  }

  setStage(task: string, source: string, stage: Stage): void {
    this.taskState.set({ task, source_id: source, worker: this.worker }, STAGE_NUMBER[stage]);
  }

  forget(task: string, source: string): void {
    this.taskState.remove({ task, source_id: source, worker: this.worker });
  }
}
