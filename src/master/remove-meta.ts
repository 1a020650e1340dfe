/**
 * `start-task --remove-meta`: delete a task's checkpoints for some sources from the target meta
 * schema (full-phase plan, snapshot rows, recorded structures and deferred-key records, sync
 * checkpoint and ledger), so the task starts from scratch. Tables that do not exist are ignored. The master runs it before it writes the
 * subtasks, and only when the task is not running.
 */
import mysql from 'mysql2/promise';
import { dbConnOf, type TaskConfig } from '../config/index.js';
import { toDMError } from '../errors/index.js';
import { connect } from '../sql/index.js';

/** errno of ER_NO_SUCH_TABLE */
const ER_NO_SUCH_TABLE = 1146;

export async function removeTaskMeta(task: TaskConfig, sourceIds: readonly string[]): Promise<void> {
  const c = await connect(dbConnOf(task.targetDatabase, `task ${task.name}: target-database`));
  try {
    const q = (n: string): string => `${mysql.escapeId(task.metaSchema)}.${mysql.escapeId(`${task.name}_${n}`)}`;
    const del = async (table: string, col: string, id: string): Promise<void> => {
      try {
        await c.query(`DELETE FROM ${table} WHERE ${mysql.escapeId(col)} = ?`, [id]);
      } catch (e) {
        if ((e as { errno?: number }).errno !== ER_NO_SUCH_TABLE) throw toDMError(e, 'ErrCheckpointSave', `cannot remove the meta of task ${task.name}`);
      }
    };
    for (const id of sourceIds) {
      await del(q('load_checkpoint'), 'source_id', id);
      await del(q('load_snapshot'), 'source_id', id);
      await del(q('load_index'), 'source_id', id);
      await del(q('load_schema'), 'source_id', id);
      await del(q('syncer_checkpoint'), 'id', id);
      await del(q('syncer_ledger'), 'id', id);
    }
  } finally {
    await c.end().catch(() => undefined);
  }
}
