/**
 * Adapter from a compiled task config (src/config compileTask: each source's subtask already
 * resolved) and its source configs to the prechecks: builds each source's check input (block-allow
 * list, routes, threads, meta) and runs `runPrechecks`. This is
 * what the master's CheckTask and its start-task precheck hook call.
 */
import { compileTask, dbConnOf, onlineDDLRulesOf, parseSourceConfig, subtaskOf, type CompiledTask, type SourceConfig } from '../config/index.js';
import { DMError } from '../errors/index.js';
import { compileOnlineDDLRules, createBAList, createRouter } from '../filter/index.js';
import { resolveIgnoreItems } from './items.js';
import { runPrechecks } from './run.js';
import type { CheckInput, CheckReport, CheckSource } from './types.js';

export interface CheckTaskOptions {
  /** Only these sources of the task (start-task -s); default all. */
  sourceIds?: readonly string[];
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Secret key for encrypted passwords in YAML texts (checkTaskYaml). */
  secretKey?: Buffer;
}

/**
 * Build the precheck input of a task. Throws ErrConfigInvalidValue when a source config is missing
 * and ErrConfigTLSFile when a `security` file of `from` / `target-database` cannot be read.
 */
export function checkInputOf(compiled: CompiledTask, sources: ReadonlyMap<string, SourceConfig>, opts: CheckTaskOptions = {}): CheckInput {
  const task = compiled.task;
  const ids = compiled.sourceIds.filter((id) => !opts.sourceIds || opts.sourceIds.length === 0 || opts.sourceIds.includes(id));
  let loadThreads = 0;
  let syncThreads = 0;
  const checkSources: CheckSource[] = ids.map((id) => {
    const src = sources.get(id);
    if (!src) {
      throw new DMError('ErrConfigInvalidValue', `source "${id}" of task "${task.name}" does not exist; create it first with \`dmctl operate-source create\``);
    }
    const sub = subtaskOf(compiled, id);
    loadThreads = Math.max(loadThreads, sub.loader.poolSize);
    syncThreads = Math.max(syncThreads, sub.syncer.workerCount);
    const ba = createBAList(sub.blockAllowList, { caseSensitive: sub.caseSensitive });
    const router = createRouter(sub.routeRules, { caseSensitive: sub.caseSensitive, sourceId: id });
    const meta = sub.meta;
    const onlineRules = onlineDDLRulesOf(sub);
    const online = onlineRules ? compileOnlineDDLRules(onlineRules.shadowTableRules, onlineRules.trashTableRules) : undefined;
    return {
      sourceId: id,
      from: dbConnOf(src.from, `source ${id}: from`),
      enableGtid: src.enableGtid,
      ...(meta
        ? {
            meta: {
              ...(meta.binlogName !== undefined ? { binlogName: meta.binlogName } : {}),
              ...(meta.binlogPos !== undefined ? { binlogPos: meta.binlogPos } : {}),
              ...(meta.binlogGtid !== undefined ? { binlogGtid: meta.binlogGtid } : {}),
            },
          }
        : {}),
      // shadow / trash tables of online schema changes are never migrated (docs/online-ddl.md)
      tableFilter: (t) => (online === undefined || online.tableType(t.table) === 'real') && ba.matchTable(t.schema, t.table),
      ...(online ? { onlineDDL: { rules: online, migrated: (t) => ba.matchTable(t.schema, t.table) } } : {}),
      route: (t) => {
        const r = router.route(t.schema, t.table);
        return { schema: r.schema, table: r.table };
      },
      extraTargetColumns: (t) => router.route(t.schema, t.table).extracted.map((x) => x.column),
      dumpThreads: sub.mydumper.threads,
    };
  });
  const target = dbConnOf(task.targetDatabase, `task ${task.name}: target-database`);
  return {
    taskName: task.name,
    mode: task.taskMode,
    sources: checkSources,
    target,
    ignoreCheckingItems: resolveIgnoreItems(task.ignoreCheckingItems),
    ...(loadThreads > 0 ? { loadThreads } : {}),
    ...(syncThreads > 0 ? { syncThreads } : {}),
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  };
}

/** Run the prechecks of a compiled task against its sources. */
export async function checkTask(task: CompiledTask, sources: ReadonlyMap<string, SourceConfig>, opts: CheckTaskOptions = {}): Promise<CheckReport> {
  return runPrechecks(checkInputOf(task, sources, opts), opts.signal);
}

/** Same from YAML texts (task.yaml and source.yaml per source id), as stored in etcd. */
export async function checkTaskYaml(taskYaml: string, sourceYamls: ReadonlyMap<string, string>, opts: CheckTaskOptions = {}): Promise<CheckReport> {
  const task = compileTask(taskYaml, opts.secretKey ? { secretKey: opts.secretKey } : {});
  return checkTask(task, sourceConfigsOf(sourceYamls, opts.secretKey), opts);
}

/** The source.yaml texts as stored in etcd (source id → text), loaded; passwords decrypted with `secretKey`. */
export function sourceConfigsOf(yamls: ReadonlyMap<string, string>, secretKey?: Buffer): Map<string, SourceConfig> {
  const out = new Map<string, SourceConfig>();
  for (const [id, y] of yamls) out.set(id, parseSourceConfig(y, { file: `source ${id}`, ...(secretKey ? { secretKey } : {}) }));
  return out;
}
