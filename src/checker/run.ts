/**
 * Run the prechecks of a task: each applicable item for each source, then the target-side
 * items, honouring `ignore-checking-items`. Results carry name, state, message, instruction.
 */
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
import { checkShardTables, checkTargetPrivilege, checkTargetTables, type MappedTable } from './target-checks.js';
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
  const results: CheckResult[] = [];
  const add = (name: CheckItemName, sourceId: string, v: Verdict): void => {
    results.push({ id: results.length + 1, name, desc: CHECK_ITEMS[name].desc, sourceId, ...v });
  };
  const run = async (name: CheckItemName, sourceId: string, fn: () => Verdict | Promise<Verdict>): Promise<void> => {
    if (!items.has(name)) return;
    signal?.throwIfAborted();
    try {
      add(name, sourceId, await fn());
    } catch (e) {
      add(name, sourceId, fail(`the check could not run: ${errText(e)}`, 'Fix the error shown and run check-task again.'));
    }
  };

  const mapped: MappedTable[] = [];
  for (const src of input.sources) {
    await checkSource(input, src, items, run, add, mapped, timeoutMs);
  }

  const targetItems: CheckItemName[] = ['target_privilege', 'target_table', 'schema_of_shard_tables', 'conn_number_checking'];
  if (targetItems.some((n) => items.has(n))) {
    await run('schema_of_shard_tables', '', () => checkShardTables(mapped));
    let tc: CheckConn | undefined;
    try {
      tc = await CheckConn.open(input.target, timeoutMs);
    } catch (e) {
      for (const n of ['target_privilege', 'target_table', 'conn_number_checking'] as const) {
        if (items.has(n)) {
          add(n, '', fail(`cannot connect to the target ${input.target.host}:${input.target.port}: ${errText(e)}`, 'Check `target-database` in the task config (host, port, user, password, security, session) and that the target is up.'));
        }
      }
    }
    if (tc) {
      const conn = tc;
      try {
        const schemas = [...new Set([...mapped.map((m) => m.target.schema), 'dm_meta'])];
        await run('target_privilege', '', () => checkTargetPrivilege(conn, schemas));
        await run('target_table', '', () => checkTargetTables(conn, mapped, input.mode));
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
  return summarize(results);
}

type RunFn = (name: CheckItemName, sourceId: string, fn: () => Verdict | Promise<Verdict>) => Promise<void>;

async function checkSource(
  input: CheckInput,
  src: CheckSource,
  items: Set<CheckItemName>,
  run: RunFn,
  add: (name: CheckItemName, sourceId: string, v: Verdict) => void,
  mapped: MappedTable[],
  timeoutMs: number,
): Promise<void> {
  const sourceItems = [...items].filter((n) => !['target_privilege', 'target_table', 'schema_of_shard_tables'].includes(n) && (n !== 'online_ddl' || src.onlineDDL !== undefined));
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
    await run('table_schema', id, () => checkTableSchema(c, f));
    const online = src.onlineDDL;
    if (online) await run('online_ddl', id, () => checkOnlineDDL(c, online.rules, online.migrated));
    await run('conn_number_checking', id, async () => {
      const needed = input.mode === 'incremental' ? 1 : (src.dumpThreads ?? DEFAULT_DUMP_THREADS) + 1 + (input.mode === 'all' ? 1 : 0);
      return connVerdict('source', { needed, ...(await connCounts(c)) }, input.mode === 'incremental' ? 'binlog reader' : 'dump threads + 1 + binlog reader');
    });
    if (items.has('target_table') || items.has('schema_of_shard_tables')) {
      try {
        mapped.push(...(await mapTables(c, f.tables, src)));
      } catch {
        /* column listing failed: the target-side checks see fewer tables */
      }
    }
  } finally {
    await c.close();
  }
}

async function mapTables(c: CheckConn, tables: readonly TableName[], src: CheckSource): Promise<MappedTable[]> {
  if (tables.length === 0) return [];
  const schemas = [...new Set(tables.map((t) => t.schema))];
  const rows = await c.rows<{ s: string; t: string; c: string }>(
    'SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN (?) ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION',
    [schemas],
  );
  const cols = new Map<string, string[]>();
  for (const r of rows) {
    const k = `${r.s}\u0000${r.t}`;
    const l = cols.get(k) ?? [];
    l.push(r.c);
    cols.set(k, l);
  }
  return tables.map((t) => {
    const target = src.route ? src.route(t) : t;
    return {
      sourceId: src.sourceId,
      source: t,
      target,
      columns: cols.get(`${t.schema}\u0000${t.table}`) ?? [],
      extraColumns: src.extraTargetColumns?.(t) ?? [],
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

/** The error start-task returns when prechecks fail. */
export function precheckError(r: CheckReport): DMError {
  const lines = r.results.filter((x) => x.state === 'fail').map((x) => `[${x.name}${x.sourceId ? ` ${x.sourceId}` : ''}] ${x.message}`);
  return new DMError('ErrTaskCheckFailed', `precheck failed: ${r.summary.failed} of ${r.summary.total} checks failed: ${lines.join('; ')}`);
}
