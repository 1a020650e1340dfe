/**
 * Prechecks (DM's `check-task`): the shapes of their input and report. The checker connects to
 * the source(s) and the target with plain connection options; the caller resolves passwords,
 * filters and routes (see from-task.ts for the adapter from a task config).
 */
import type { OnlineDDLRules, TableName } from '../filter/index.js';
import type { ConnConfig } from '../sql/index.js';

export type CheckState = 'pass' | 'warn' | 'fail';

export type TaskMode = 'all' | 'full' | 'incremental' | 'dump' | 'load' | 'load&sync';

export interface CheckMeta {
  binlogName?: string;
  binlogPos?: number;
  binlogGtid?: string;
}

export interface CheckSource {
  sourceId: string;
  /** `from`, resolved (src/sql's type); a bad `session` variable fails the connection check. */
  from: ConnConfig;
  enableGtid: boolean;
  /** The task's `meta` for this source (incremental mode start). */
  meta?: CheckMeta;
  /** Whether a source table is migrated by the task (block-allow list). Default: every non-system table. */
  tableFilter?: (t: TableName) => boolean;
  /** Where a source table goes on the target (routes). Default: same name. */
  route?: (t: TableName) => TableName;
  /**
   * Columns the route of a source table adds on the target: only those its rule really extracts
   * (a rule with `extract-table` alone adds its `target-column`, nothing else).
   */
  extraTargetColumns?: (source: TableName) => readonly string[];
  /**
   * Task `online-ddl`: the shadow / trash table rules, and whether a REAL table is migrated (the
   * block-allow list). Shadow and trash tables are left out of the other checks (never migrated);
   * `online_ddl` fails while a migrated table has a shadow table.
   */
  onlineDDL?: { rules: OnlineDDLRules; migrated: (t: TableName) => boolean };
  /** Dump threads (`mydumpers.threads`); default 4. */
  dumpThreads?: number;
}

export interface CheckInput {
  taskName: string;
  mode: TaskMode;
  sources: CheckSource[];
  target: ConnConfig;
  /** `ignore-checking-items` of the task ('all' skips every check). */
  ignoreCheckingItems?: readonly string[];
  /** Load threads (`loaders.pool-size`), default 16, and sync threads (`syncers.worker-count`), default 16. */
  loadThreads?: number;
  syncThreads?: number;
  /** Per-query timeout for the checks in ms (default 10 s). */
  timeoutMs?: number;
}

export interface CheckResult {
  id: number;
  /** The check item name (what `ignore-checking-items` takes). */
  name: string;
  desc: string;
  state: CheckState;
  /** Which source the result is about ('' for target-only checks). */
  sourceId: string;
  message: string;
  /** What to do about a warn/fail ('' on pass). */
  instruction: string;
}

export interface CheckSummary {
  passed: boolean;
  total: number;
  successful: number;
  failed: number;
  warning: number;
}

export interface CheckReport {
  summary: CheckSummary;
  results: CheckResult[];
}
