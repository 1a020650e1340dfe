/**
 * The plain input of the sync unit. The worker's subtask maps the compiled subtask config
 * (src/config compileSubtask) onto this; nothing here parses YAML, and nothing here has a default:
 * every setting arrives complete (the defaults are named constants in src/config/defaults.ts).
 */
import type { Flavor, Position } from '../../binlog/position.js';
import type { BAListRule, EventFilterRule, ExpressionFilterRule, RouteRule } from '../../filter/types.js';
import type { ConnConfig } from '../../sql/index.js';
import type { ShardConfig } from './shard-client.js';

/** Where to start when the target has no checkpoint yet. */
export type StartSpec =
  | { file: string; offset: number; gtid?: string }
  | { gtid: string }
  | { time: Date };

export interface SyncerSettings {
  /** Parallel target appliers (DM `worker-count`). */
  workerCount: number;
  /** Maximum rows merged into one target transaction (DM `batch`). */
  batch: number;
  /** Always use safe mode (INSERT→REPLACE, UPDATE→DELETE+REPLACE). */
  safeMode: boolean;
  /**
   * DM `safe-mode-duration`: safe mode for this many seconds after a start that follows an unclean
   * exit (a crash: the last run did not write its final checkpoint); 0 = never. The task's default
   * is twice the checkpoint flush interval (DM: 2 × 30 s = 60 s).
   */
  safeModeDurationSec: number;
  /**
   * Safe mode for this many seconds after every start of the unit, clean or not (the OpenAPI
   * start's `safe_mode_time_duration`, SubtaskRecord.safeModeSeconds); absent or 0 = none.
   */
  startSafeModeSec?: number;
  /** Checkpoint (low-water mark) flush interval (DM `checkpoint-flush-interval`, in ms here). */
  checkpointFlushIntervalMs: number;
  /** How long a retryable target error is retried in-process before process() ends with it. */
  retryTimeoutMs: number;
  /** Bounded queue between the reader and the appliers. */
  maxQueueEvents: number;
  maxQueueBytes: number;
}

/** What the unit does with an event the target rejected (hook for `dmctl binlog skip/replace/inject`). */
export type FailedEventDecision = { action: 'fail' } | { action: 'skip' } | { action: 'replace'; sql: string[] };

export interface FailedEventInfo {
  /** Position right after the failing transaction/DDL. */
  pos: Position;
  /** Upstream statement (DDL) or the generated target statements (DML). */
  sql: string[];
  isDDL: boolean;
  error: { code: number; message: string };
}

export interface SyncConfig {
  taskName: string;
  sourceId: string;
  /**
   * src/sql's connection settings. `session` (DM `from.session` / `target-database.session`) is
   * set on every target connection (after DM.ts's own) and on the source connection that polls
   * the master status, not on the binlog dump connection.
   */
  source: ConnConfig & { flavor: Flavor; serverId: number };
  target: ConnConfig;
  metaSchema: string;
  /** Resume from the checkpoint's GTID set instead of its file:offset (DM `enable-gtid`). */
  enableGtid?: boolean;
  caseSensitive?: boolean;
  baList?: BAListRule;
  routes?: readonly RouteRule[];
  filters?: readonly EventFilterRule[];
  /** DM `expression-filter` rules the source's instance references (`expression-filters`); sync phase only, as DM. */
  expressionFilters?: readonly ExpressionFilterRule[];
  /**
   * DM `online-ddl` (gh-ost / pt-osc, online-ddl.ts): the shadow and trash table rules as the task
   * resolved them (DM's defaults filled in); absent = off.
   */
  onlineDDL?: { shadowTableRules: readonly string[]; trashTableRules: readonly string[] };
  /** Complete settings: the unit applies no defaults of its own. */
  syncer: SyncerSettings;
  /** Start position when no checkpoint exists (task meta, full phase startPos, or a time). */
  start?: StartSpec;
  /** From the full phase: apply idempotently (safe mode) until this position is passed. */
  safeModeUntil?: Position;
  /**
   * From the full phase: the table structures at `start` (SchemaTracker export, recorded with the
   * snapshot). Used when no checkpoint exists; else the checkpoint's own structures are used.
   */
  startSchemas?: string;
  onFailedEvent?: (info: FailedEventInfo) => Promise<FailedEventDecision>;
  /** Task `shard-mode` (DM 1.0 `is-sharding`): shard DDL coordination through the lock keeper (shard-group.ts). */
  shard?: ShardConfig;
}

/** The settings the unit runs with: as given (no defaults), frozen; at least one applier and one row per batch. */
export function resolveSettings(s: SyncerSettings): Readonly<SyncerSettings> {
  return Object.freeze({ ...s, workerCount: Math.max(1, s.workerCount), batch: Math.max(1, s.batch) });
}
