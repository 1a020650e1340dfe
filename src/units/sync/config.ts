/**
 * The plain input of the sync unit. The worker's subtask maps the task config (kebab-case YAML,
 * DM key names) onto this; nothing here parses YAML.
 */
import type { Flavor, Position } from '../../binlog/position.js';
import type { BAListRule, EventFilterRule, ExpressionFilterRule, RouteRule } from '../../filter/types.js';
import type { ConnConfig } from '../../sql/index.js';

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
   * exit (a crash: the last run did not write its final checkpoint); 0 = never. Default: twice the
   * checkpoint flush interval (DM: 2 × 30 s = 60 s).
   */
  safeModeDurationSec: number;
  /** Checkpoint (low-water mark) flush interval. */
  checkpointFlushIntervalMs: number;
  /** How long a retryable target error is retried in-process before process() ends with it. */
  retryTimeoutMs: number;
  /** Bounded queue between the reader and the appliers. */
  maxQueueEvents: number;
  maxQueueBytes: number;
}

export const DEFAULT_WORKER_COUNT = 16;
export const DEFAULT_BATCH = 100;
export const DEFAULT_CHECKPOINT_FLUSH_INTERVAL_MS = 1000;
export const DEFAULT_RETRY_TIMEOUT_MS = 60_000;
/**
 * Reader queue bound. Small on purpose: an event that waits long in the queue survives V8's young
 * generation and becomes old-generation garbage; at 2,000 events (tens of ms at backlog speed) most
 * die young — peak RSS on a 1.9M-event backlog 245 MB vs 264 MB with 10,000, at the same speed.
 */
export const DEFAULT_MAX_QUEUE_EVENTS = 2_000;
export const DEFAULT_MAX_QUEUE_BYTES = 16 * 1024 * 1024;
export const DEFAULT_META_SCHEMA = 'dm_meta';

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
  metaSchema?: string;
  /** Resume from the checkpoint's GTID set instead of its file:offset (DM `enable-gtid`). */
  enableGtid?: boolean;
  caseSensitive?: boolean;
  baList?: BAListRule;
  routes?: readonly RouteRule[];
  filters?: readonly EventFilterRule[];
  /** DM `expression-filter` rules the source's instance references (`expression-filters`); sync phase only, as DM. */
  expressionFilters?: readonly ExpressionFilterRule[];
  syncer?: Partial<SyncerSettings>;
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
}

export function resolveSettings(s: Partial<SyncerSettings> | undefined): SyncerSettings {
  return {
    workerCount: Math.max(1, s?.workerCount ?? DEFAULT_WORKER_COUNT),
    batch: Math.max(1, s?.batch ?? DEFAULT_BATCH),
    safeMode: s?.safeMode ?? false,
    safeModeDurationSec: s?.safeModeDurationSec ?? (2 * (s?.checkpointFlushIntervalMs ?? DEFAULT_CHECKPOINT_FLUSH_INTERVAL_MS)) / 1000,
    checkpointFlushIntervalMs: s?.checkpointFlushIntervalMs ?? DEFAULT_CHECKPOINT_FLUSH_INTERVAL_MS,
    retryTimeoutMs: s?.retryTimeoutMs ?? DEFAULT_RETRY_TIMEOUT_MS,
    maxQueueEvents: s?.maxQueueEvents ?? DEFAULT_MAX_QUEUE_EVENTS,
    maxQueueBytes: s?.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES,
  };
}
