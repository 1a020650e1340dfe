/**
 * Every default of a task and of the units it runs, in one place (DESIGN.md §4: src/config is the
 * only place with defaults). The task schema (task-schema.ts) applies the ones a task file can
 * set; the rest are settings a task file cannot set (yet) that the worker hands to the units
 * together with the task's (unitSettings.ts). No unit, reader or worker keeps a default of its own:
 * a unit receives a complete, compiled config and uses it as it is.
 */

// ---- task file (DM's values) --------------------------------------------------------------------
export const DEFAULT_META_SCHEMA = 'dm_meta';
export const DEFAULT_COLLATION_COMPATIBLE = 'loose';
/** DM 2.x: `online-ddl: true` (gh-ost / pt-osc shadow and trash tables are handled, docs/online-ddl.md). */
export const DEFAULT_ONLINE_DDL = true;
/** DM's `shadow-table-rules` when none are given: gh-ost `_t_gho`, pt-osc `_t_new`. */
export const DEFAULT_SHADOW_TABLE_RULES: readonly string[] = ['^_(.+)_(?:new|gho)$'];
/** DM's `trash-table-rules` when none are given: gh-ost `_t_ghc` / `_t_del`, pt-osc `_t_old`. */
export const DEFAULT_TRASH_TABLE_RULES: readonly string[] = ['^_(.+)_(?:ghc|del|old)$'];

// `mydumpers` block
export const DEFAULT_MYDUMPER_THREADS = 4;
export const DEFAULT_CHUNK_FILESIZE = '64';
export const DEFAULT_SKIP_TZ_UTC = true;

// `loaders` block
export const DEFAULT_LOADER_POOL_SIZE = 16;
export const DEFAULT_LOADER_DIR = './dumped_data';
/** DM `clean-dump-file`: task-mode load removes the data files it loaded. */
export const DEFAULT_CLEAN_DUMP_FILE = true;

// `syncers` block
export const DEFAULT_SYNCER_WORKER_COUNT = 16;
export const DEFAULT_SYNCER_BATCH = 100;
export const DEFAULT_SYNCER_QUEUE_SIZE = 1024;
/** DM's `checkpoint-flush-interval` (seconds): 30. */
export const DEFAULT_CHECKPOINT_FLUSH_INTERVAL_S = 30;
/** DM's `safe-mode-duration` when unset: twice `checkpoint-flush-interval`. */
export const SAFE_MODE_DURATION_FLUSH_FACTOR = 2;

// `validators` block
export const DEFAULT_VALIDATOR_WORKER_COUNT = 4;
export const DEFAULT_VALIDATOR_VALIDATE_INTERVAL_MS = 10_000;
export const DEFAULT_VALIDATOR_CHECK_INTERVAL_MS = 5_000;
export const DEFAULT_VALIDATOR_ROW_ERROR_DELAY_MS = 30 * 60_000;
export const DEFAULT_VALIDATOR_META_FLUSH_INTERVAL_MS = 5 * 60_000;
export const DEFAULT_VALIDATOR_BATCH_QUERY_SIZE = 100;
export const DEFAULT_VALIDATOR_MAX_PENDING_ROW_SIZE = '500m';
export const DEFAULT_VALIDATOR_MAX_PENDING_ROW_COUNT = 2_147_483_647;

// ---- unit settings a task file does not set (DM.ts's values) -----------------------------------

/** Full phase: rows per chunk when `mydumpers.rows` is 0 or unset, so that a resume stays fine-grained. */
export const DEFAULT_CHUNK_ROWS = 10_000;
/** Full phase: `mydumpers.consistency` (DM.ts reads no such key from the task file yet). */
export const DEFAULT_CONSISTENCY = 'auto';
/** Full phase: retries of a chunk on retryable errors (target or source unreachable, deadlock). */
export const DEFAULT_LOAD_RETRY_ATTEMPTS = 5;
/** Full phase: first retry delay of a chunk (ms); doubles per retry up to DEFAULT_LOAD_RETRY_MAX_DELAY_MS. */
export const DEFAULT_LOAD_RETRY_INITIAL_DELAY_MS = 500;
export const DEFAULT_LOAD_RETRY_MAX_DELAY_MS = 10_000;

/** Sync: how long a retryable target error is retried in-process before process() ends with it. */
export const DEFAULT_SYNC_RETRY_TIMEOUT_MS = 60_000;
/**
 * Binlog reader queue bound, in events, between the reader and the appliers. Small on purpose: an
 * event that waits long in the queue survives V8's young generation and becomes old-generation
 * garbage; at 2,000 events (tens of ms at backlog speed) most die young — peak RSS on a
 * 1.9M-event backlog 245 MB vs 264 MB with 10,000, at the same speed.
 */
export const DEFAULT_BINLOG_QUEUE_EVENTS = 2_000;
/** Binlog reader queue bound, in bytes of decoded events. */
export const DEFAULT_BINLOG_QUEUE_BYTES = 16 * 1024 * 1024;
/**
 * `shard-mode: pessimistic`: bytes of row changes a sync unit holds back in memory while shard
 * tables that reached a DDL wait for the rest of their group (src/units/sync/shard-pessimist.ts);
 * the rows of further held transactions go to a spill file (src/units/sync/held-queue.ts).
 */
export const DEFAULT_SHARD_HOLD_MEM_BYTES = 64 * 1024 * 1024;
/** The spill file of held-back rows may reach this many bytes; over it the subtask pauses with 36104. */
export const DEFAULT_SHARD_HOLD_DISK_BYTES = 256 * 1024 * 1024 * 1024;
/** The spill file's file system keeps at least this many bytes free; else the subtask pauses with 36104. */
export const DEFAULT_SHARD_HOLD_MIN_FREE_BYTES = 1024 * 1024 * 1024;
/**
 * Binlog reader: with nothing read for this long (and no transaction open) it queues a heartbeat
 * event, so lag shows 0 on an idle source. The sync unit passes it to its reader.
 */
export const DEFAULT_BINLOG_HEARTBEAT_MS = 1000;

/**
 * The online-DDL rules a task runs with (DM's subtask adjust): undefined with `online-ddl: false`,
 * else the task's `shadow-table-rules` / `trash-table-rules`, each DM's default when empty.
 * Compile them with src/filter's compileOnlineDDLRules.
 */
export function onlineDDLRulesOf(t: {
  readonly onlineDDL: boolean;
  readonly shadowTableRules: readonly string[];
  readonly trashTableRules: readonly string[];
}): { shadowTableRules: readonly string[]; trashTableRules: readonly string[] } | undefined {
  if (!t.onlineDDL) return undefined;
  return {
    shadowTableRules: t.shadowTableRules.length > 0 ? t.shadowTableRules : DEFAULT_SHADOW_TABLE_RULES,
    trashTableRules: t.trashTableRules.length > 0 ? t.trashTableRules : DEFAULT_TRASH_TABLE_RULES,
  };
}
