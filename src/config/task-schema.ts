import { z } from 'zod';
import {
  baListRuleSchema,
  dbConfigSchema,
  eventFilterRuleSchema,
  expressionFilterRuleSchema,
  routeRuleSchema,
} from './common-schema.js';
import { bool, duration, lowerEnum, obj, posInt, str, strList, uint } from './schema-helpers.js';

import {
  DEFAULT_CHECKPOINT_FLUSH_INTERVAL_S,
  DEFAULT_CHUNK_FILESIZE,
  DEFAULT_CLEAN_DUMP_FILE,
  DEFAULT_COLLATION_COMPATIBLE,
  DEFAULT_LOADER_DIR,
  DEFAULT_LOADER_POOL_SIZE,
  DEFAULT_META_SCHEMA,
  DEFAULT_ONLINE_DDL,
  DEFAULT_MYDUMPER_THREADS,
  DEFAULT_SKIP_TZ_UTC,
  DEFAULT_SYNCER_BATCH,
  DEFAULT_SYNCER_QUEUE_SIZE,
  DEFAULT_SYNCER_WORKER_COUNT,
  DEFAULT_VALIDATOR_BATCH_QUERY_SIZE,
  DEFAULT_VALIDATOR_CHECK_INTERVAL_MS,
  DEFAULT_VALIDATOR_MAX_PENDING_ROW_COUNT,
  DEFAULT_VALIDATOR_MAX_PENDING_ROW_SIZE,
  DEFAULT_VALIDATOR_META_FLUSH_INTERVAL_MS,
  DEFAULT_VALIDATOR_ROW_ERROR_DELAY_MS,
  DEFAULT_VALIDATOR_VALIDATE_INTERVAL_MS,
  DEFAULT_VALIDATOR_WORKER_COUNT,
  SAFE_MODE_DURATION_FLUSH_FACTOR,
} from './defaults.js';
import { parseByteSize } from './byte-size.js';

// The defaults are named in defaults.ts (the only place with defaults); DEFAULT_META_SCHEMA is
// re-exported for the importers of this file.
export { DEFAULT_META_SCHEMA };

// ---- limits --------------------------------------------------------------------------------------
export const MAX_SOURCE_ID_LENGTH = 32;
/** MySQL's limit on a table or schema name. */
export const MAX_IDENTIFIER_LENGTH = 64;
/**
 * Suffixes of the task's meta tables in `meta-schema` (src/units/sync/checkpoint.ts,
 * src/units/meta-tables.ts): `<task><suffix>` must fit MAX_IDENTIFIER_LENGTH.
 */
export const META_TABLE_SUFFIXES = [
  '_syncer_checkpoint',
  '_syncer_ledger',
  '_load_checkpoint',
  '_load_snapshot',
  '_load_index',
  '_load_schema',
  '_onlineddl',
  '_validator_ckpt',
  '_validator_pending',
  '_validator_error',
  '_validator_table',
] as const;
/** The longest task name whose meta table names all fit (64 - len('_syncer_checkpoint') = 46). */
export const MAX_TASK_NAME_LENGTH =
  MAX_IDENTIFIER_LENGTH - Math.max(...META_TABLE_SUFFIXES.map((s) => s.length));

/**
 * DM's task modes: `all` (dump + load, then sync), `full` (dump + load), `incremental` (sync),
 * `dump` (dump to files only), `load` (load the files of a `dump` task) and `load&sync` (load the
 * files, then sync from the binlog position recorded in their metadata) — the last three DM 7.x's.
 */
export const TASK_MODES = ['all', 'full', 'incremental', 'dump', 'load', 'load&sync'] as const;
export type TaskMode = (typeof TASK_MODES)[number];
export const SHARD_MODES = ['', 'pessimistic', 'optimistic'] as const;
export type ShardMode = (typeof SHARD_MODES)[number];

// ---- unit blocks ------------------------------------------------------------------------------

/** `mydumpers.<name>` / `mysql-instances[i].mydumper`: the dump unit. */
export const mydumperSchema = obj({
  'mydumper-path': str.optional(),
  threads: posInt.default(DEFAULT_MYDUMPER_THREADS),
  /** MB per dump file chunk. */
  'chunk-filesize': str.default(DEFAULT_CHUNK_FILESIZE),
  'statement-size': uint.optional(),
  rows: uint.optional(),
  where: str.optional(),
  'skip-tz-utc': bool.default(DEFAULT_SKIP_TZ_UTC),
  'extra-args': str.default(''),
});
export type MydumperConfig = z.output<typeof mydumperSchema>;

const onDupLogical = lowerEnum(['replace', 'error', 'ignore']);
/** `loaders.<name>` / `mysql-instances[i].loader`: the load unit. */
export const loaderSchema = obj({
  'pool-size': posInt.default(DEFAULT_LOADER_POOL_SIZE),
  dir: str.default(DEFAULT_LOADER_DIR),
  'sorting-dir-physical': str.optional(),
  /**
   * DM's `logical` (default), `physical`, `loader`, and DM.ts's `loaddata` (LOAD DATA LOCAL INFILE,
   * what the DM values select) and `sql` (multi-row INSERTs); kept as written for the load unit.
   */
  'import-mode': lowerEnum(['logical', 'physical', 'loader', 'sql', 'loaddata']).default('logical'),
  /** Deprecated DM name of `on-duplicate-logical`. */
  'on-duplicate': onDupLogical.optional(),
  'on-duplicate-logical': onDupLogical.optional(),
  'on-duplicate-physical': lowerEnum(['none', 'manual']).default('none'),
  'disk-quota-physical': str.optional(),
  'checksum-physical': lowerEnum(['required', 'optional', 'off']).default('required'),
  analyze: lowerEnum(['required', 'optional', 'off']).default('optional'),
  'range-concurrency': uint.optional(),
  'compress-kv-pairs': str.optional(),
  'pd-addr': str.optional(),
}).transform(({ onDuplicate, onDuplicateLogical, ...rest }) => ({
  ...rest,
  /** How the load unit treats a row whose key already exists: REPLACE it, ERROR, or IGNORE the new row. */
  onDuplicateLogical: onDuplicateLogical ?? onDuplicate ?? ('replace' as const),
}));
export type LoaderConfig = z.output<typeof loaderSchema>;

/** `syncers.<name>` / `mysql-instances[i].syncer`: the sync unit. */
export const syncerSchema = obj({
  'meta-file': str.optional(),
  'worker-count': posInt.default(DEFAULT_SYNCER_WORKER_COUNT),
  batch: posInt.default(DEFAULT_SYNCER_BATCH),
  'queue-size': posInt.default(DEFAULT_SYNCER_QUEUE_SIZE),
  /** Seconds between checkpoint flushes. */
  'checkpoint-flush-interval': posInt.default(DEFAULT_CHECKPOINT_FLUSH_INTERVAL_S),
  compact: bool.default(false),
  'multiple-rows': bool.default(false),
  'max-retry': uint.optional(),
  'auto-fix-gtid': bool.optional(),
  'enable-gtid': bool.optional(),
  'disable-detect': bool.optional(),
  'safe-mode': bool.default(false),
  /**
   * Milliseconds of automatic safe mode after an unclean stop; unset or `""` means DM's default,
   * twice `checkpoint-flush-interval`.
   */
  'safe-mode-duration': z
    .union([z.literal(''), duration])
    .optional()
    .transform((v) => (v === '' ? undefined : v)),
  'enable-ansi-quotes': bool.default(false),
}).transform((o) => ({
  ...o,
  safeModeDuration: o.safeModeDuration ?? SAFE_MODE_DURATION_FLUSH_FACTOR * o.checkpointFlushInterval * 1000,
}));
export type SyncerConfig = z.output<typeof syncerSchema>;

/** `validators.<name>`: continuous validation. Durations are milliseconds. */
export const validatorSchema = obj({
  mode: lowerEnum(['none', 'full', 'fast']).default('none'),
  'worker-count': posInt.default(DEFAULT_VALIDATOR_WORKER_COUNT),
  'validate-interval': duration.default(DEFAULT_VALIDATOR_VALIDATE_INTERVAL_MS),
  'check-interval': duration.default(DEFAULT_VALIDATOR_CHECK_INTERVAL_MS),
  'row-error-delay': duration.default(DEFAULT_VALIDATOR_ROW_ERROR_DELAY_MS),
  'meta-flush-interval': duration.default(DEFAULT_VALIDATOR_META_FLUSH_INTERVAL_MS),
  'batch-query-size': posInt.default(DEFAULT_VALIDATOR_BATCH_QUERY_SIZE),
  'max-pending-row-size': str
    .refine((v) => parseByteSize(v) !== undefined, { message: 'a size such as 500m, 2g or 1048576 (bytes)' })
    .default(DEFAULT_VALIDATOR_MAX_PENDING_ROW_SIZE),
  'max-pending-row-count': posInt.default(DEFAULT_VALIDATOR_MAX_PENDING_ROW_COUNT),
});
export type ValidatorConfig = z.output<typeof validatorSchema>;

/** `mysql-instances[i].meta`: where incremental replication starts when no checkpoint exists. */
export const metaSchema = obj({
  'binlog-name': str.optional(),
  'binlog-pos': uint.optional(),
  'binlog-gtid': str.optional(),
});
export type MetaConfig = z.output<typeof metaSchema>;

export const mysqlInstanceSchema = obj({
  'source-id': str,
  meta: metaSchema.optional(),
  'route-rules': strList.default([]),
  'filter-rules': strList.default([]),
  'expression-filters': strList.default([]),
  'block-allow-list': str.optional(),
  /** Deprecated DM name of `block-allow-list`. */
  'black-white-list': str.optional(),
  'mydumper-config-name': str.optional(),
  mydumper: mydumperSchema.optional(),
  'mydumper-thread': posInt.optional(),
  'loader-config-name': str.optional(),
  loader: loaderSchema.optional(),
  'loader-thread': posInt.optional(),
  'syncer-config-name': str.optional(),
  syncer: syncerSchema.optional(),
  'syncer-thread': posInt.optional(),
  'validator-config-name': str.optional(),
  /** DM.ts extension: an inline validator block. */
  validator: validatorSchema.optional(),
});

const rules = <T extends z.ZodType>(s: T) => z.record(z.string(), s).default({});

export const taskSchema = obj({
  name: str,
  'task-mode': lowerEnum(TASK_MODES),
  /** Deprecated: `true` means `shard-mode: pessimistic`. */
  'is-sharding': bool.default(false),
  'shard-mode': z.enum(SHARD_MODES).default(''),
  'strict-optimistic-shard-mode': bool.default(false),
  'ignore-checking-items': strList.default([]),
  'meta-schema': str.default(DEFAULT_META_SCHEMA),
  /** Deprecated in DM, accepted and ignored. */
  'enable-heartbeat': bool.default(false),
  'heartbeat-update-interval': uint.optional(),
  'heartbeat-report-interval': uint.optional(),
  timezone: str.optional(),
  'case-sensitive': bool.default(false),
  collation_compatible: lowerEnum(['loose', 'strict']).default(DEFAULT_COLLATION_COMPATIBLE),
  'target-database': dbConfigSchema,
  'mysql-instances': z.array(mysqlInstanceSchema).min(1),
  /** DM 2.x's default: true (docs/online-ddl.md). */
  'online-ddl': bool.default(DEFAULT_ONLINE_DDL),
  'online-ddl-scheme': z.enum(['', 'pt', 'gh-ost']).default(''),
  'shadow-table-rules': strList.default([]),
  'trash-table-rules': strList.default([]),
  routes: rules(routeRuleSchema),
  filters: rules(eventFilterRuleSchema),
  'expression-filter': rules(expressionFilterRuleSchema),
  'block-allow-list': rules(baListRuleSchema),
  /** Deprecated DM name of `block-allow-list`. */
  'black-white-list': rules(baListRuleSchema),
  mydumpers: rules(mydumperSchema),
  loaders: rules(loaderSchema),
  syncers: rules(syncerSchema),
  validators: rules(validatorSchema),
  'clean-dump-file': bool.default(DEFAULT_CLEAN_DUMP_FILE),
  /** Deprecated: use `syncers.*.enable-ansi-quotes`. */
  'ansi-quotes': bool.default(false),
  /** Deprecated: replaced by `start-task --remove-meta`. */
  'remove-meta': bool.default(false),
  experimental: obj({ 'async-checkpoint-flush': bool.default(false) }).prefault({}),
});
export type RawTaskConfig = z.output<typeof taskSchema>;
export type RawMySQLInstance = z.output<typeof mysqlInstanceSchema>;
