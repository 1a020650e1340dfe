import { basename } from 'node:path';
import type { BAListRule, EventFilterRule, ExpressionFilterRule, RouteRule } from '../filter/types.js';
import { compileExpression } from '../filter/expression-filter.js';
import { onlineDDLRuleProblem } from '../filter/online-ddl.js';
import { DMError } from '../errors/index.js';
import type { DBConfig } from './common-schema.js';
import { configPassword, readConfigFile, type LoadOptions } from './load-common.js';
import { deepFreeze, type DeepReadonly } from './freeze.js';
import { parseWith, throwProblems, type Problem } from './problems.js';
import { unsupportedTaskKeys } from './unsupported.js';
import {
  MAX_IDENTIFIER_LENGTH,
  MAX_SOURCE_ID_LENGTH,
  MAX_TASK_NAME_LENGTH,
  taskSchema,
  type LoaderConfig,
  type MetaConfig,
  type MydumperConfig,
  type RawMySQLInstance,
  type RawTaskConfig,
  type ShardMode,
  type SyncerConfig,
  type TaskMode,
  type ValidatorConfig,
} from './task-schema.js';
import { parseYamlFile, type YamlFile } from './yaml-doc.js';

export type { LoadOptions } from './load-common.js';

/** One entry of `mysql-instances` after loading (rule references are names into the task's blocks). */
export interface MySQLInstanceConfig {
  sourceId: string;
  meta?: MetaConfig;
  routeRules: string[];
  filterRules: string[];
  expressionFilters: string[];
  /** Name of the block-allow-list rule (`black-white-list` is folded in here). */
  blockAllowList?: string;
  mydumperConfigName?: string;
  mydumper?: MydumperConfig;
  mydumperThread?: number;
  loaderConfigName?: string;
  loader?: LoaderConfig;
  loaderThread?: number;
  syncerConfigName?: string;
  syncer?: SyncerConfig;
  syncerThread?: number;
  validatorConfigName?: string;
  validator?: ValidatorConfig;
}

/**
 * The task-wide settings, the same in the task and in each of its subtasks (SubtaskConfigData
 * extends this too): one list, so the two cannot drift apart.
 */
export interface TaskWideConfig {
  /** The task name. */
  name: string;
  taskMode: TaskMode;
  /** `''` = no shard DDL coordination. */
  shardMode: ShardMode;
  strictOptimisticShardMode: boolean;
  ignoreCheckingItems: string[];
  /** Downstream schema of checkpoints and other metadata (default `dm_meta`). */
  metaSchema: string;
  /** Time zone for the target session; absent = the target's own. */
  timezone?: string;
  caseSensitive: boolean;
  collationCompatible: 'loose' | 'strict';
  /** Target connection; `password` is plaintext. */
  targetDatabase: DBConfig;
  /** Handle gh-ost / pt-osc shadow tables. */
  onlineDDL: boolean;
  shadowTableRules: string[];
  trashTableRules: string[];
  cleanDumpFile: boolean;
  experimental: { asyncCheckpointFlush: boolean };
}

/** The keys of TaskWideConfig, for copying them from a task to its subtasks. */
export const TASK_WIDE_KEYS = [
  'name',
  'taskMode',
  'shardMode',
  'strictOptimisticShardMode',
  'ignoreCheckingItems',
  'metaSchema',
  'timezone',
  'caseSensitive',
  'collationCompatible',
  'targetDatabase',
  'onlineDDL',
  'shadowTableRules',
  'trashTableRules',
  'cleanDumpFile',
  'experimental',
] as const satisfies readonly (keyof TaskWideConfig)[];

/**
 * A loaded task file: DM's task.yaml with camelCase keys, defaults applied, deprecated aliases
 * folded (`is-sharding` → `shardMode`, `black-white-list` → `blockAllowList`, `online-ddl-scheme`
 * → `onlineDDL`), cross-field checks passed, deep-frozen. `targetDatabase.password` is plaintext.
 */
export interface TaskConfigData extends TaskWideConfig {
  mysqlInstances: MySQLInstanceConfig[];
  /** Kept only to write the file back; `onlineDDL` is what matters. */
  onlineDDLScheme: '' | 'pt' | 'gh-ost';
  routes: Record<string, RouteRule>;
  filters: Record<string, EventFilterRule>;
  expressionFilter: Record<string, ExpressionFilterRule>;
  blockAllowList: Record<string, BAListRule>;
  mydumpers: Record<string, MydumperConfig>;
  loaders: Record<string, LoaderConfig>;
  syncers: Record<string, SyncerConfig>;
  validators: Record<string, ValidatorConfig>;
  enableHeartbeat: boolean;
  ansiQuotes: boolean;
  removeMeta: boolean;
}
export type TaskConfig = DeepReadonly<TaskConfigData>;

/** Read and load a task file. */
export function loadTaskConfigFile(path: string, opts: LoadOptions = {}): TaskConfig {
  return parseTaskConfig(readConfigFile(path), { ...opts, file: opts.file ?? basename(path) });
}

/** Load task YAML text (e.g. from `dmctl start-task` or etcd). */
export function parseTaskConfig(text: string, opts: LoadOptions = {}): TaskConfig {
  return loadTaskText(text, opts).task;
}

/** The one parse of a task text: the loaded task and the parsed file it came from (compile.ts keeps both). */
export function loadTaskText(text: string, opts: LoadOptions = {}): { task: TaskConfig; src: YamlFile } {
  const src = parseYamlFile(text, opts.file ?? 'task.yaml');
  const raw = parseWith(taskSchema, src);
  const problems = checkTask(raw);
  // keys DM.ts does not implement yet, once the file is otherwise valid
  if (problems.length === 0) problems.push(...unsupportedTaskKeys(raw));
  if (problems.length) throwProblems(src, problems);
  return { task: deepFreeze(buildTask(raw, src, opts.secretKey)), src };
}

const REFS = [
  ['route-rules', 'routeRules', 'routes'],
  ['filter-rules', 'filterRules', 'filters'],
  ['expression-filters', 'expressionFilters', 'expression-filter'],
] as const;
const NAMED = [
  ['mydumper-config-name', 'mydumperConfigName', 'mydumper', 'mydumpers'],
  ['loader-config-name', 'loaderConfigName', 'loader', 'loaders'],
  ['syncer-config-name', 'syncerConfigName', 'syncer', 'syncers'],
  ['validator-config-name', 'validatorConfigName', 'validator', 'validators'],
] as const;

function topBlock(raw: RawTaskConfig, key: string): Record<string, unknown> {
  switch (key) {
    case 'routes':
      return raw.routes;
    case 'filters':
      return raw.filters;
    case 'expression-filter':
      return raw.expressionFilter;
    case 'mydumpers':
      return raw.mydumpers;
    case 'loaders':
      return raw.loaders;
    case 'syncers':
      return raw.syncers;
    case 'validators':
      return raw.validators;
    default:
      return { ...raw.blackWhiteList, ...raw.blockAllowList };
  }
}

function undefinedRule(
  path: (string | number)[],
  what: string,
  name: string,
  block: string,
  defined: string[],
): Problem {
  return {
    code: 'ErrConfigUndefinedRule',
    path,
    detail: `${what} "${name}" is not defined in ${block}; defined: ${defined.length ? defined.join(', ') : '(none)'}`,
  };
}

/** Cross-field checks DM does in TaskConfig.adjust, with paths for the messages. */
function checkTask(raw: RawTaskConfig): Problem[] {
  const out: Problem[] = [];
  const cross = (path: (string | number)[], detail: string): void =>
    void out.push({ code: 'ErrConfigCrossField', path, detail });

  if (raw.strictOptimisticShardMode && raw.shardMode !== 'optimistic') {
    cross(['strict-optimistic-shard-mode'], 'strict-optimistic-shard-mode needs shard-mode: optimistic');
  }
  if (Object.keys(raw.blackWhiteList).length && Object.keys(raw.blockAllowList).length) {
    cross(
      ['black-white-list'],
      'black-white-list is the deprecated name of block-allow-list: use only block-allow-list',
    );
  }
  if (raw.metaSchema.trim() === '')
    out.push({ code: 'ErrConfigInvalidValue', path: ['meta-schema'], detail: 'must not be empty' });
  else if (raw.metaSchema.length > MAX_IDENTIFIER_LENGTH)
    out.push({
      code: 'ErrConfigInvalidValue',
      path: ['meta-schema'],
      detail: `a schema name may have at most ${MAX_IDENTIFIER_LENGTH} characters; this one has ${raw.metaSchema.length}`,
    });
  if (raw.name.trim() === '')
    out.push({ code: 'ErrConfigInvalidValue', path: ['name'], detail: 'the task name must not be empty' });
  else if (raw.name.length > MAX_TASK_NAME_LENGTH)
    out.push({
      code: 'ErrConfigTaskNameTooLong',
      path: ['name'],
      detail: `task name "${raw.name}" has ${raw.name.length} characters; its meta table ${raw.name}_syncer_checkpoint would exceed MySQL's ${MAX_IDENTIFIER_LENGTH}-character limit: use at most ${MAX_TASK_NAME_LENGTH}`,
    });
  if (raw.timezone !== undefined && !validTimezone(raw.timezone)) {
    out.push({
      code: 'ErrConfigInvalidValue',
      path: ['timezone'],
      detail: `unknown time zone "${raw.timezone}"; use an IANA name like "Asia/Shanghai" or an offset like "+08:00"`,
    });
  }
  // online DDL (docs/online-ddl.md): DM's rule checks; rules without online DDL would do nothing
  const onlineOn = raw.onlineDdl || raw.onlineDdlScheme !== '';
  for (const [key, rules] of [['shadow-table-rules', raw.shadowTableRules], ['trash-table-rules', raw.trashTableRules]] as const) {
    if (!onlineOn && rules.length > 0) {
      out.push({ code: 'ErrConfigInvalidValue', path: [key], detail: `${key} has no effect with online-ddl: false; remove it, or set online-ddl: true` });
      continue;
    }
    rules.forEach((rule, i) => {
      const why = onlineDDLRuleProblem(rule);
      if (why !== undefined) out.push({ code: 'ErrConfigInvalidValue', path: [key, i], detail: why });
    });
  }
  for (const [name, r] of Object.entries(raw.expressionFilter)) {
    if (r.schema === '')
      out.push({
        code: 'ErrConfigInvalidValue',
        path: ['expression-filter', name, 'schema'],
        detail: 'must not be empty',
      });
    if (r.table === '')
      out.push({
        code: 'ErrConfigInvalidValue',
        path: ['expression-filter', name, 'table'],
        detail: 'must not be empty',
      });
    // DM: one rule filters one kind of change (update old and new values count as one)
    const kinds = [r.insertValueExpr ? 'insert' : '', r.updateOldValueExpr || r.updateNewValueExpr ? 'update' : '', r.deleteValueExpr ? 'delete' : ''].filter(Boolean);
    if (kinds.length > 1)
      out.push({
        code: 'ErrConfigExprFilterManyExpr',
        path: ['expression-filter', name],
        detail: `a rule may set the expressions of one kind of change only, but this one sets ${kinds.join(' and ')}; write one rule per kind (a change is skipped when any rule matches)`,
      });
    const exprKeys = [
      ['insert-value-expr', r.insertValueExpr],
      ['update-old-value-expr', r.updateOldValueExpr],
      ['update-new-value-expr', r.updateNewValueExpr],
      ['delete-value-expr', r.deleteValueExpr],
    ] as const;
    for (const [key, expr] of exprKeys) {
      if (expr === undefined || expr.trim() === '') continue;
      try {
        compileExpression(expr);
      } catch (e) {
        out.push({
          code: e instanceof DMError ? e.codeName : 'ErrExprFilterInvalid',
          path: ['expression-filter', name, key],
          detail: e instanceof Error ? e.message : String(e),
        });
      }
    }
  }

  const used = new Map<string, Set<string>>();
  const use = (block: string, name: string): void => {
    let s = used.get(block);
    if (!s) used.set(block, (s = new Set()));
    s.add(name);
  };
  const seen = new Map<string, number>();
  raw.mysqlInstances.forEach((inst: RawMySQLInstance, i) => {
    const at = (...p: (string | number)[]): (string | number)[] => ['mysql-instances', i, ...p];
    if (inst.sourceId === '')
      out.push({
        code: 'ErrConfigInvalidValue',
        path: at('source-id'),
        detail: 'source-id must not be empty',
      });
    else if (inst.sourceId.length > MAX_SOURCE_ID_LENGTH) {
      out.push({
        code: 'ErrConfigInvalidValue',
        path: at('source-id'),
        detail: `source-id is longer than ${MAX_SOURCE_ID_LENGTH} characters`,
      });
    }
    const prev = seen.get(inst.sourceId);
    if (prev !== undefined) {
      out.push({
        code: 'ErrConfigDuplicateSourceID',
        path: at('source-id'),
        detail: `source-id "${inst.sourceId}" is already used by mysql-instances[${prev}]`,
      });
    } else seen.set(inst.sourceId, i);

    if (inst.meta && !inst.meta.binlogName && inst.meta.binlogGtid === undefined) {
      cross(at('meta'), 'meta needs binlog-name (with binlog-pos) or binlog-gtid');
    }
    for (const [key, field, block] of REFS) {
      const defined = Object.keys(topBlock(raw, block));
      inst[field].forEach((name, j) => {
        use(block, name);
        if (!defined.includes(name))
          out.push(
            undefinedRule(at(key, j), key.replace(/s$/, '').replace(/-rule$/, ' rule'), name, block, defined),
          );
      });
    }
    if (
      inst.blockAllowList !== undefined &&
      inst.blackWhiteList !== undefined &&
      inst.blockAllowList !== inst.blackWhiteList
    ) {
      cross(
        at('black-white-list'),
        'black-white-list is the deprecated name of block-allow-list: set only block-allow-list',
      );
    }
    const ba = inst.blockAllowList ?? inst.blackWhiteList;
    if (ba !== undefined) {
      const defined = Object.keys(topBlock(raw, 'block-allow-list'));
      if (!defined.includes(ba)) {
        out.push(
          undefinedRule(
            at(inst.blockAllowList !== undefined ? 'block-allow-list' : 'black-white-list'),
            'block-allow-list rule',
            ba,
            'block-allow-list',
            defined,
          ),
        );
      }
    }
    for (const [key, field, inline, block] of NAMED) {
      const name = inst[field];
      if (name === undefined) continue;
      use(block, name);
      if (inst[inline] !== undefined)
        cross(at(key), `set either ${key} or an inline ${inline} block, not both`);
      const defined = Object.keys(topBlock(raw, block));
      if (!defined.includes(name)) out.push(undefinedRule(at(key), `${inline} config`, name, block, defined));
    }
  });

  // DM refuses rules defined at the top level that no instance uses (ErrConfigGlobalConfigsUnused).
  for (const block of [
    'routes',
    'filters',
    'expression-filter',
    'mydumpers',
    'loaders',
    'syncers',
    'validators',
  ]) {
    for (const name of Object.keys(topBlock(raw, block))) {
      if (!used.get(block)?.has(name)) {
        out.push({
          code: 'ErrConfigGlobalConfigsUnused',
          path: [block, name],
          detail: `"${name}" is defined in ${block} but no mysql-instances entry uses it`,
        });
      }
    }
  }
  return out;
}

function validTimezone(tz: string): boolean {
  if (/^[+-]\d{1,2}:\d{2}$/.test(tz) || tz.toUpperCase() === 'SYSTEM') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function buildTask(raw: RawTaskConfig, src: YamlFile, key?: Buffer): TaskConfigData {
  const {
    isSharding,
    blackWhiteList,
    blockAllowList,
    onlineDdl,
    onlineDdlScheme,
    heartbeatUpdateInterval: _hu,
    heartbeatReportInterval: _hr,
    mysqlInstances,
    targetDatabase,
    ...rest
  } = raw;
  return {
    ...rest,
    shardMode: rest.shardMode === '' && isSharding ? 'pessimistic' : rest.shardMode,
    onlineDDL: onlineDdl || onlineDdlScheme !== '',
    onlineDDLScheme: onlineDdlScheme,
    blockAllowList: { ...blackWhiteList, ...blockAllowList },
    targetDatabase: {
      ...targetDatabase,
      password: configPassword(src, ['target-database', 'password'], targetDatabase.password, key),
    },
    mysqlInstances: mysqlInstances.map(({ blackWhiteList: bw, blockAllowList: ba, ...inst }) => {
      const name = ba ?? bw;
      return name === undefined ? inst : { ...inst, blockAllowList: name };
    }),
  };
}
