/**
 * Run the prechecks of a task: each applicable item for each source, then the target-side
 * items, honouring `ignore-checking-items`. Results carry name, state, message, instruction.
 */
import { checkFailedError } from './dm-report.js';
import { DMError } from '../errors/index.js';
import type { TableName } from '../filter/types.js';
import { CheckConn, errText } from './conn.js';
import { checkOnlineDDL } from './online-ddl-check.js';
import { ALL_CHECK_ITEMS, CHECK_ITEMS, isCheckItemName, type CheckItemName } from './items.js';
import {
  checkBinlogEnable,
  checkBinlogFormat,
  checkBinlogRowImage,
  checkBinlogRowMetadata,
  checkDumpPrivilege,
  checkGtid,
  checkMetaPosition,
  checkReplicationPrivilege,
  checkServerId,
  checkTableSchema,
  checkVersion,
  connCounts,
  connVerdict,
  gatherSourceFacts,
  type SourceFacts,
} from './source-checks.js';
import { checkAutoIncrement, checkShardTables, checkTargetPrivilege, checkTargetTables, type MappedTable } from './target-checks.js';
import { autoIncrementKeyOf, readTableFacts, tableFactsKey, type TableFacts } from './table-facts.js';
import type { CheckInput, CheckReport, CheckResult, CheckSource } from './types.js';
import { fail, type Verdict } from './verdict.js';

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_DUMP_THREADS = 4;
const DEFAULT_LOAD_THREADS = 16;
const DEFAULT_SYNC_THREADS = 16;

/** Validate `ignore-checking-items`; throws ErrTaskCheckInvalidItem on an unknown name. */
export function validateIgnoreItems(items: readonly string[]): void {
  for (const it of items) {
    if (it !== 'all' && !isCheckItemName(it)) {
      throw new DMError('ErrTaskCheckInvalidItem', `unknown check item '${it}' in ignore-checking-items; allowed: all, ${ALL_CHECK_ITEMS.join(', ')}`);
    }
  }
}

/** The items that run for a task mode after `ignore-checking-items`. */
export function itemsToRun(mode: CheckInput['mode'], ignore: readonly string[] = []): CheckItemName[] {
  if (ignore.includes('all')) return [];
  return ALL_CHECK_ITEMS.filter((n) => (CHECK_ITEMS[n].modes as readonly string[]).includes(mode) && !ignore.includes(n));
}

export async function runPrechecks(input: CheckInput, signal?: AbortSignal): Promise<CheckReport> {
  const ignore = input.ignoreCheckingItems ?? [];
  validateIgnoreItems(ignore);
  const items = new Set(itemsToRun(input.mode, ignore));
  const timeoutMs = input.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // each source's results, then the target's, kept apart while they run concurrently and numbered
  // in that order at the end (the report does not depend on which connection answered first)
  const parts: Omit<CheckResult, 'id'>[][] = [];
  const recorder = (): { out: Omit<CheckResult, 'id'>[]; add: AddFn; run: RunFn } => {
    const out: Omit<CheckResult, 'id'>[] = [];
    parts.push(out);
    const add: AddFn = (name, sourceId, v) => {
      out.push({ name, desc: CHECK_ITEMS[name].desc, sourceId, ...v });
    };
    const run: RunFn = async (name, sourceId, fn) => {
      if (!items.has(name)) return;
      signal?.throwIfAborted();
      try {
        add(name, sourceId, await fn());
      } catch (e) {
        add(name, sourceId, fail(`the check could not run: ${errText(e)}`, 'Fix the error shown and run check-task again.'));
      }
    };
    return { out, add, run };
  };

  const targetItems: CheckItemName[] = ['target_privilege', 'target_table', 'schema_of_shard_tables', 'auto_increment_ID', 'conn_number_checking'];
  const needTarget = targetItems.some((n) => items.has(n));
  // the target connection opens while the sources are checked
  const targetConn: Promise<CheckConn | Error> | undefined = needTarget
    ? CheckConn.open(input.target, timeoutMs).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))))
    : undefined;
  const mapped: MappedTable[][] = [];
  const mapErrors: string[] = [];
  const sourceRecorders = input.sources.map(() => recorder());
  try {
    await Promise.all(
      input.sources.map(async (src, i) => {
        const r = sourceRecorders[i]!;
        const m: MappedTable[] = [];
        mapped[i] = m;
        await checkSource(input, src, items, r.run, r.add, m, mapErrors, timeoutMs);
      }),
    );
  } catch (e) {
    const tc = await targetConn;
    if (tc instanceof CheckConn) await tc.close();
    throw e;
  }
  const all = mapped.flat();

  if (needTarget && targetConn) {
    const { add, run } = recorder();
    // a source whose tables could not be listed fails the items that compare tables
    const mappedOr = (check: () => Verdict | Promise<Verdict>) => (): Verdict | Promise<Verdict> =>
      mapErrors.length > 0 ? fail(`cannot read the columns of the source tables: ${mapErrors.join('; ')}`, 'Check the source user can read information_schema.') : check();
    // DM: shard schemas must agree except in optimistic mode (which joins them); auto-increment keys are checked for shard-mode tasks
    if (input.shardMode !== 'optimistic') await run('schema_of_shard_tables', '', mappedOr(() => checkShardTables(all)));
    if (input.shardMode) await run('auto_increment_ID', '', mappedOr(() => checkAutoIncrement(all)));
    const tc = await targetConn;
    if (!(tc instanceof CheckConn)) {
      for (const n of ['target_privilege', 'target_table', 'conn_number_checking'] as const) {
        if (items.has(n)) {
          add(n, '', fail(`cannot connect to the target ${input.target.host}:${input.target.port}: ${errText(tc)}`, 'Check `target-database` in the task config (host, port, user, password, security, session) and that the target is up.'));
        }
      }
    } else {
      const conn = tc;
      try {
        const schemas = [...new Set([...all.map((m) => m.target.schema), 'dm_meta'])];
        await run('target_privilege', '', () => checkTargetPrivilege(conn, schemas));
        await run('target_table', '', mappedOr(() => checkTargetTables(conn, all, input.mode)));
        await run('conn_number_checking', '', async () => {
          const perSource = (input.mode === 'dump' ? 0 : (input.mode === 'incremental' ? 0 : (input.loadThreads ?? DEFAULT_LOAD_THREADS))) +
            (input.mode === 'all' || input.mode === 'incremental' ? (input.syncThreads ?? DEFAULT_SYNC_THREADS) : 0) + 1;
          const needed = input.mode === 'dump' ? 0 : perSource * input.sources.length;
          const counts = await connCounts(conn);
          return connVerdict('target', { needed, ...counts }, `${input.sources.length} source(s) × (pool-size + worker-count + 1)`);
        });
      } finally {
        await conn.close();
      }
    }
  }
  return summarize(parts.flat().map((r, i) => ({ id: i + 1, ...r })));
}

type AddFn = (name: CheckItemName, sourceId: string, v: Verdict) => void;
type RunFn = (name: CheckItemName, sourceId: string, fn: () => Verdict | Promise<Verdict>) => Promise<void>;

async function checkSource(
  input: CheckInput,
  src: CheckSource,
  items: Set<CheckItemName>,
  run: RunFn,
  add: AddFn,
  mapped: MappedTable[],
  mapErrors: string[],
  timeoutMs: number,
): Promise<void> {
  const sourceItems = [...items].filter((n) => !['target_privilege', 'target_table', 'schema_of_shard_tables', 'auto_increment_ID'].includes(n) && (n !== 'online_ddl' || src.onlineDDL !== undefined));
  let c: CheckConn;
  try {
    c = await CheckConn.open(src.from, timeoutMs);
  } catch (e) {
    for (const n of sourceItems) {
      add(n, src.sourceId, fail(`cannot connect to source ${src.sourceId} at ${src.from.host}:${src.from.port}: ${errText(e)}`, 'Check `from` in the source config (host, port, user, password, security, session) and that the source is up.'));
    }
    return;
  }
  try {
    let f: SourceFacts;
    try {
      f = await gatherSourceFacts(c, src);
    } catch (e) {
      for (const n of sourceItems) add(n, src.sourceId, fail(`cannot read the source: ${errText(e)}`, 'Check the source user can run SHOW GRANTS and read information_schema.'));
      return;
    }
    const id = src.sourceId;
    await run('dump_privilege', id, () => checkDumpPrivilege(f));
    await run('replication_privilege', id, () => checkReplicationPrivilege(f));
    await run('version', id, () => checkVersion(f));
    await run('server_id', id, () => checkServerId(c));
    await run('binlog_enable', id, () => checkBinlogEnable(c));
    await run('binlog_format', id, () => checkBinlogFormat(c));
    await run('binlog_row_image', id, () => checkBinlogRowImage(c));
    await run('binlog_row_metadata', id, () => checkBinlogRowMetadata(c));
    await run('gtid', id, () => checkGtid(c, f, src));
    await run('meta_position', id, () => checkMetaPosition(c, f, src));
    // the migrated tables' columns and keys, read once for table_schema and the target-side items
    let facts: Promise<Map<string, TableFacts>> | undefined;
    const tableFacts = (): Promise<Map<string, TableFacts>> => (facts ??= readTableFacts(c, f.tables));
    await run('table_schema', id, async () => checkTableSchema(f, await tableFacts()));
    const online = src.onlineDDL;
    if (online) await run('online_ddl', id, () => checkOnlineDDL(c, online.rules, online.migrated));
    await run('conn_number_checking', id, async () => {
      const needed = input.mode === 'incremental' ? 1 : (src.dumpThreads ?? DEFAULT_DUMP_THREADS) + 1 + (input.mode === 'all' ? 1 : 0);
      return connVerdict('source', { needed, ...(await connCounts(c)) }, input.mode === 'incremental' ? 'binlog reader' : 'dump threads + 1 + binlog reader');
    });
    if (items.has('target_table') || items.has('schema_of_shard_tables') || items.has('auto_increment_ID')) {
      try {
        mapped.push(...mapTables(f.tables, await tableFacts(), src));
      } catch (e) {
        mapErrors.push(`source ${id}: ${errText(e)}`);
      }
    }
  } finally {
    await c.close();
  }
}

function mapTables(tables: readonly TableName[], facts: ReadonlyMap<string, TableFacts>, src: CheckSource): MappedTable[] {
  return tables.map((t) => {
    const target = src.route ? src.route(t) : t;
    const f = facts.get(tableFactsKey(t));
    const autoKey = autoIncrementKeyOf(f);
    return {
      sourceId: src.sourceId,
      source: t,
      target,
      columns: f?.columns.map((c) => c.name) ?? [],
      extraColumns: src.extraTargetColumns?.(t) ?? [],
      ...(autoKey !== undefined ? { autoIncrementKey: autoKey } : {}),
    };
  });
}

export function summarize(results: CheckResult[]): CheckReport {
  const failed = results.filter((r) => r.state === 'fail').length;
  const warning = results.filter((r) => r.state === 'warn').length;
  return {
    summary: { passed: failed === 0, total: results.length, successful: results.length - failed - warning, failed, warning },
    results,
  };
}

/**
 * DM's `check-task -e N -w N`: show only failures and warnings, at most `maxErrors` failures and
 * `maxWarnings` warnings (the summary keeps the real counts).
 */
export function limitReport(r: CheckReport, maxErrors = 100, maxWarnings = 100): CheckReport {
  let e = 0;
  let w = 0;
  const results = r.results.filter((x) => {
    if (x.state === 'fail') return ++e <= maxErrors;
    if (x.state === 'warn') return ++w <= maxWarnings;
    return false;
  });
  return { summary: r.summary, results };
}

/**
 * The error start-task returns when prechecks fail: DM's 26005 text with the failed and warning
 * items (at most 10 each, DM's defaults) as DM's report after `detail:` (dm-report.ts).
 */
export function precheckError(r: CheckReport): DMError {
  return checkFailedError(limitReport(r, 10, 10));
}
