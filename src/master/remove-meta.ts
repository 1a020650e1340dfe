/**
 * `start-task --remove-meta`: delete a task's checkpoints for some sources from the target meta
 * schema, every table src/units/meta-tables.ts declares (full-phase plan, snapshot rows, recorded
 * structures and deferred-key records, sync checkpoint and ledger), so the task starts from
 * scratch. Tables that do not exist are ignored. The master runs it before it writes the
 * subtasks, and only when the task is not running.
 */
import { dbConnOf, type TaskConfig } from '../config/index.js';
import { connect } from '../sql/index.js';
import { removeTaskMeta as removeMetaTables } from '../units/index.js';

export async function removeTaskMeta(task: TaskConfig, sourceIds: readonly string[]): Promise<void> {
  const c = await connect(dbConnOf(task.targetDatabase, `task ${task.name}: target-database`));
  try {
    await removeMetaTables(c, task.metaSchema, task.name, sourceIds);
  } finally {
    await c.end().catch(() => undefined);
  }
}
