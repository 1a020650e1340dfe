/**
 * The master side of `dmctl check-data`: builds the one-shot data check of a task from its stored
 * config and its sources' configs (passwords decrypted with the cluster's secret key), opens one
 * small pool per source and one to the target, and runs `checkData`.
 *
 * On a running task a chunk that differs is read again (`recheck`): before each re-read of the
 * target, the check reads the source's current binlog position and waits (at most `settleMs`)
 * until the task's checkpoint or ledger on the target has passed it, so the target is read at or
 * after the point the source was read at. A chunk that still differs after the rechecks is
 * reported; a chunk that keeps changing under a heavy write load can therefore be reported even
 * though replication would converge — the report says how many rechecks were made.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { compareFilePos } from '../binlog/index.js';
import { dbConnOf, onlineDDLRulesOf, parseSourceConfig, parseTaskConfig, resolveSubtask } from '../config/index.js';
import { DMError } from '../errors/index.js';
import type { TableName } from '../filter/index.js';
import { createPool, getMasterStatus, type Pool } from '../sql/index.js';
import { readAppliedThrough } from '../units/meta-tables.js';
import { checkData, type CheckSourceInput, type DataCheckProgress, type DataCheckReport } from '../units/validate/index.js';

export interface DataCheckRequest {
  task: string;
  /** Only these sources of the task (default all). */
  sources?: readonly string[];
  /** Only these target tables. */
  tables?: readonly TableName[];
  chunkRows?: number;
  maxRows?: number;
  /** Re-reads of a differing chunk (default 3; 0 for a stopped task). */
  recheck?: number;
  /** Collect fix-up SQL in the reply. */
  fixSql?: boolean;
}

export interface DataCheckResult extends DataCheckReport {
  task: string;
  rechecks: number;
  fixSql: string[];
}

/** What the check needs from the master. */
export interface DataCheckDeps {
  taskConfig(name: string): Promise<string>;
  sourceConfig(id: string): Promise<string>;
  secretKey?: Buffer | undefined;
}

const DEFAULT_RECHECK = 3;
const RECHECK_DELAY_MS = 500;
const SETTLE_MS = 3_000;
const SETTLE_POLL_MS = 100;
/** Fix-up statements kept in one reply (a reply is bounded; re-run with --table for more). */
export const MAX_FIX_SQL = 10_000;

/** Runs the data check of a stored task. Throws DMError for an unknown task or source. */
export async function runDataCheck(deps: DataCheckDeps, req: DataCheckRequest, onProgress?: (p: DataCheckProgress) => void, signal?: AbortSignal): Promise<DataCheckResult> {
  const sk = deps.secretKey ? { secretKey: deps.secretKey } : {};
  const task = parseTaskConfig(await deps.taskConfig(req.task), { file: `task ${req.task}`, ...sk });
  const ids = task.mysqlInstances.map((m) => m.sourceId).filter((id) => !req.sources?.length || req.sources.includes(id));
  for (const id of req.sources ?? []) {
    if (!ids.includes(id)) throw new DMError('ErrConfigInvalidValue', `source "${id}" is not a source of task "${req.task}"`);
  }
  const pools: Pool[] = [];
  try {
    const target = createPool(dbConnOf(task.targetDatabase, `task ${task.name}: target-database`), { connectionLimit: 2 });
    pools.push(target);
    const sources: (CheckSourceInput & { pool: Pool })[] = [];
    for (const id of ids) {
      const src = parseSourceConfig(await deps.sourceConfig(id), { file: `source ${id}`, ...sk });
      const sub = resolveSubtask(task, id);
      const pool = createPool(dbConnOf(src.from, `source ${id}: from`), { connectionLimit: 2 });
      pools.push(pool);
      sources.push({ sourceId: id, q: pool, pool, baList: sub.blockAllowList, routes: sub.routeRules, caseSensitive: sub.caseSensitive, onlineDDL: onlineDDLRulesOf(sub) });
    }
    let rechecks = 0;
    const settle = async (sig?: AbortSignal): Promise<void> => {
      rechecks++;
      const deadline = Date.now() + SETTLE_MS;
      for (const s of sources) {
        const ms = await getMasterStatus(s.pool);
        for (;;) {
          const at = await readAppliedThrough(target, task.metaSchema, task.name, s.sourceId);
          if ((at && compareFilePos(at, ms) >= 0) || Date.now() >= deadline) break;
          await sleep(SETTLE_POLL_MS, undefined, sig ? { signal: sig } : {});
        }
      }
    };
    const fix: string[] = [];
    const report = await checkData({
      sources,
      target,
      tables: req.tables?.length ? req.tables : undefined,
      chunkRows: req.chunkRows,
      maxRows: req.maxRows,
      recheck: { attempts: req.recheck ?? DEFAULT_RECHECK, delayMs: RECHECK_DELAY_MS },
      afterSourceRead: settle,
      fixSql: req.fixSql ? (s) => void fix.push(s) : undefined,
      maxFixSql: MAX_FIX_SQL,
      onProgress,
      signal,
    });
    return { ...report, task: task.name, rechecks, fixSql: fix };
  } finally {
    await Promise.allSettled(pools.map((p) => p.end()));
  }
}
