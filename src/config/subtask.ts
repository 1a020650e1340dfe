import { DMError } from '../errors/index.js';
import type { BAListRule, EventFilterRule, ExpressionFilterRule, RouteRule } from '../filter/types.js';
import { deepFreeze, type DeepReadonly } from './freeze.js';
import {
  loaderSchema,
  mydumperSchema,
  syncerSchema,
  validatorSchema,
  type LoaderConfig,
  type MetaConfig,
  type MydumperConfig,
  type SyncerConfig,
  type ValidatorConfig,
} from './task-schema.js';
import { TASK_WIDE_KEYS, type TaskConfig, type TaskWideConfig } from './task.js';

/**
 * Everything one source's subtask needs, resolved from a task: rule names replaced by the rules,
 * unit settings merged (named `*-config-name` block, or the inline block, or DM's defaults; then the
 * `mydumper-thread` / `loader-thread` / `syncer-thread` overrides; then the deprecated top-level
 * `ansi-quotes`). The worker compiles it once (compileSubtask) and its units consume it as it is.
 */
export interface SubtaskConfigData extends TaskWideConfig {
  sourceId: string;
  /** Start position for incremental mode when no checkpoint exists. */
  meta?: MetaConfig;
  /** Name of the block-allow-list rule, when one is set. */
  blockAllowListName?: string;
  /** The block-allow-list rule; absent = every schema and table (system schemas are always skipped by the filter). */
  blockAllowList?: BAListRule;
  /** Route rules in the order of `route-rules`. */
  routeRules: RouteRule[];
  /** Binlog event filter rules in the order of `filter-rules`. */
  filterRules: EventFilterRule[];
  /** Expression filters in the order of `expression-filters`. */
  expressionFilters: ExpressionFilterRule[];
  /** Dump unit settings (threads = `mydumper-thread` when set). */
  mydumper: MydumperConfig;
  /**
   * Load unit settings (poolSize = `loader-thread` when set). As in DM, `dir` gets the task name
   * appended (`./dumped_data` → `./dumped_data.<task>`) unless it already ends with it.
   */
  loader: LoaderConfig;
  /** Sync unit settings (workerCount = `syncer-thread` when set). */
  syncer: SyncerConfig;
  /** Continuous validator settings (`mode: none` unless configured). */
  validator: ValidatorConfig;
}
export type SubtaskConfig = DeepReadonly<SubtaskConfigData>;

/** DM's defaults for a unit block nobody configured. */
export const DEFAULT_MYDUMPER: MydumperConfig = mydumperSchema.parse({});
export const DEFAULT_LOADER: LoaderConfig = loaderSchema.parse({});
export const DEFAULT_SYNCER: SyncerConfig = syncerSchema.parse({});
export const DEFAULT_VALIDATOR: ValidatorConfig = validatorSchema.parse({});

/** The task-wide settings of a task (TASK_WIDE_KEYS), as its subtasks carry them. */
function taskWide(task: TaskConfig): DeepReadonly<TaskWideConfig> {
  const out: Partial<Record<keyof TaskWideConfig, unknown>> = {};
  for (const k of TASK_WIDE_KEYS) if (task[k] !== undefined) out[k] = task[k];
  return out as DeepReadonly<TaskWideConfig>;
}

function pick<T>(what: string, names: readonly string[], block: Readonly<Record<string, T>>): T[] {
  return names.map((n) => {
    const r = block[n];
    if (r === undefined) throw new DMError('ErrConfigUndefinedRule', `${what} "${n}" is not defined`);
    return r;
  });
}

function unit<T>(
  name: string | undefined,
  inline: T | undefined,
  block: Readonly<Record<string, T>>,
  dflt: T,
): T {
  if (name !== undefined) {
    const named = block[name];
    if (named === undefined)
      throw new DMError('ErrConfigUndefinedRule', `unit config "${name}" is not defined`);
    return named;
  }
  return inline ?? dflt;
}

/** The resolved view of one source of a loaded task (deep-frozen). */
export function resolveSubtask(task: TaskConfig, sourceId: string): SubtaskConfig {
  const inst = task.mysqlInstances.find((m) => m.sourceId === sourceId);
  if (!inst) {
    throw new DMError(
      'ErrConfigInvalidValue',
      `task "${task.name}" has no mysql-instances entry with source-id "${sourceId}"; it has: ${task.mysqlInstances.map((m) => m.sourceId).join(', ')}`,
    );
  }
  const mydumper = {
    ...unit(inst.mydumperConfigName, inst.mydumper, task.mydumpers, DEFAULT_MYDUMPER),
  } as MydumperConfig;
  if (inst.mydumperThread !== undefined) mydumper.threads = inst.mydumperThread;
  const loader = { ...unit(inst.loaderConfigName, inst.loader, task.loaders, DEFAULT_LOADER) };
  if (inst.loaderThread !== undefined) loader.poolSize = inst.loaderThread;
  if (!loader.dir.endsWith(`.${task.name}`)) loader.dir = `${loader.dir}.${task.name}`;
  const syncer: SyncerConfig = { ...unit(inst.syncerConfigName, inst.syncer, task.syncers, DEFAULT_SYNCER) };
  if (inst.syncerThread !== undefined) syncer.workerCount = inst.syncerThread;
  if (task.ansiQuotes) syncer.enableAnsiQuotes = true;
  const validator = {
    ...unit(inst.validatorConfigName, inst.validator, task.validators, DEFAULT_VALIDATOR),
  } as ValidatorConfig;

  const ba = inst.blockAllowList === undefined ? undefined : task.blockAllowList[inst.blockAllowList];
  if (inst.blockAllowList !== undefined && ba === undefined) {
    throw new DMError(
      'ErrConfigUndefinedRule',
      `block-allow-list rule "${inst.blockAllowList}" is not defined`,
    );
  }
  const out: SubtaskConfigData = {
    ...(structuredClone(taskWide(task)) as TaskWideConfig),
    sourceId,
    routeRules: structuredClone(pick('route rule', inst.routeRules, task.routes)),
    filterRules: structuredClone(pick('filter rule', inst.filterRules, task.filters)),
    expressionFilters: structuredClone(
      pick('expression filter', inst.expressionFilters, task.expressionFilter),
    ),
    mydumper: structuredClone(mydumper),
    loader: structuredClone(loader),
    syncer: structuredClone(syncer),
    validator: structuredClone(validator),
  };
  if (inst.meta !== undefined) out.meta = { ...inst.meta };
  if (ba !== undefined && inst.blockAllowList !== undefined) {
    out.blockAllowListName = inst.blockAllowList;
    out.blockAllowList = structuredClone(ba);
  }
  return deepFreeze(out);
}
