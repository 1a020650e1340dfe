/**
 * A task compiled once (DESIGN.md §4; Temporal's worker options: raw → defaulted → compiled once,
 * passed down as one object). `compileTask` parses the task text, applies every default, runs the
 * cross-field checks and resolves each source's subtask, all in one pass; start-task hands the
 * result to everyone who needs the task (task facts, prechecks, `--remove-meta`, the text stored in
 * etcd), so nobody parses it again. The worker compiles the one subtask it runs with
 * `compileSubtask` and hands that object to its units, which keep no defaults of their own.
 */
import { parseDocument } from 'yaml';
import { DMError } from '../errors/index.js';
import { withEncryptedPassword } from './encrypt.js';
import { deepFreeze } from './freeze.js';
import type { LoadOptions } from './load-common.js';
import { resolveSubtask, type SubtaskConfig } from './subtask.js';
import { loadTaskText, type TaskConfig } from './task.js';

export interface CompiledTask {
  /** The task, defaulted, checked and deep-frozen. */
  readonly task: TaskConfig;
  /** Source ids in the order of `mysql-instances`. */
  readonly sourceIds: readonly string[];
  /** Each source's subtask (rules picked, unit blocks resolved and defaulted), deep-frozen. */
  readonly subtasks: Readonly<Record<string, SubtaskConfig>>;
  /**
   * The task text as stored in etcd: the submitted text (comments and layout kept) with
   * `target-database.password` encrypted with the compile's secret key, from the same parse.
   */
  storedText(): string;
}

/** Parse, default, check and resolve a task text once. Throws the config DMErrors of parseTaskConfig. */
export function compileTask(text: string, opts: LoadOptions = {}): CompiledTask {
  const { task, src } = loadTaskText(text, opts);
  const sourceIds = task.mysqlInstances.map((m) => m.sourceId);
  const subtasks: Record<string, SubtaskConfig> = {};
  for (const id of sourceIds) subtasks[id] = resolveSubtask(task, id);
  const key = opts.secretKey;
  return Object.freeze({
    task,
    sourceIds: deepFreeze(sourceIds),
    subtasks: Object.freeze(subtasks),
    storedText: (): string => withEncryptedPassword(src.document ?? parseDocument(text), 'target-database', key),
  });
}

/** The subtask of `sourceId` in a compiled task; ErrConfigInvalidValue when the task has no such source. */
export function subtaskOf(c: CompiledTask, sourceId: string): SubtaskConfig {
  const sub = Object.hasOwn(c.subtasks, sourceId) ? c.subtasks[sourceId] : undefined;
  if (sub === undefined) {
    throw new DMError(
      'ErrConfigInvalidValue',
      `task "${c.task.name}" has no mysql-instances entry with source-id "${sourceId}"; it has: ${c.sourceIds.join(', ')}`,
    );
  }
  return sub;
}

/** The worker's one compile of the task text it received for `sourceId` (a SubtaskRecord). */
export function compileSubtask(text: string, sourceId: string, opts: LoadOptions = {}): SubtaskConfig {
  const { task } = loadTaskText(text, opts);
  return resolveSubtask(task, sourceId);
}
