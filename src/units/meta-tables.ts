/**
 * Every table DM.ts keeps in the TARGET's meta schema (`meta-schema`, default `dm_meta`), the way
 * src/store/keys.ts lists every etcd key: one `<meta-schema>.<task><suffix>` table per entry of
 * META_TABLES, each with its columns (the CREATE TABLE), who writes it and who reads it. Every
 * row belongs to one source (the `source` column), so several subtasks of a task share a table.
 *
 * Also here, because they read or write other units' tables:
 * - the full → sync hand-off (readFullPhaseHandOff, syncHandOff): where sync starts after a full
 *   phase and how far it stays in safe mode, from the snapshot rows of `<task>_load_snapshot`;
 * - the structures recorded with that snapshot (readSnapshotSchemasAt) and whether the full
 *   phase has finished for good (readFullPhaseFinished), asked by the worker's pipeline;
 * - removeTaskMeta: `start-task --remove-meta` (src/master/remove-meta.ts) clears a source's rows
 *   from every one of them, so nothing of an earlier run (e.g. a pending deferred-key record)
 *   replays into the new task.
 *
 * The units keep their own statements on their own tables (src/units/full/meta-store.ts,
 * src/units/sync/checkpoint.ts); the names and columns come from here.
 */
import { compareFilePos, type Flavor } from '../binlog/position.js';
import { toDMError } from '../errors/index.js';
import { quoteId, quoteTable, type MasterStatus } from '../sql/index.js';

/** One meta table: `<task><suffix>` in the meta schema. */
export interface MetaTable {
  readonly suffix: string;
  /** The column that names the source a row belongs to. */
  readonly sourceColumn: 'source_id' | 'id';
  readonly writer: string;
  readonly readers: string;
  /** Column definitions, in table order. */
  readonly columns: readonly string[];
  readonly primaryKey: readonly string[];
  /** Table options after the column list. */
  readonly options: string;
}

const SOURCE_ID = 'source_id VARCHAR(32) NOT NULL';
const CREATE_TIME = 'create_time TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP';
const UPDATE_TIME = 'update_time TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP';
const STATUS = "status VARCHAR(8) NOT NULL DEFAULT 'pending'";
const BINLOG_NAME = 'binlog_name VARCHAR(128) NOT NULL';
const BINLOG_POS = 'binlog_pos BIGINT UNSIGNED NOT NULL';
const UTF8 = 'DEFAULT CHARSET=utf8mb4';
const UTF8_BIN = 'DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

export const META_TABLES = {
  /**
   * `<task>_load_snapshot`: one row per snapshot whose data was (or may have been) loaded. seq 1
   * is the snapshot of the plan; later rows are new snapshots taken on resume (`start`) or upper
   * bounds of lock-free snapshots (`bound`). Sync starts at the lowest and stays in safe mode past
   * the highest (syncHandOff).
   */
  loadSnapshot: {
    suffix: '_load_snapshot',
    sourceColumn: 'source_id',
    writer: 'the full phase (src/units/full/meta-store.ts: persistPlan, appendSnapshot), with the plan or its load_schema row',
    readers: 'the full phase on resume; the worker pipeline (readFullPhaseHandOff, readSnapshotSchemasAt)',
    columns: [
      SOURCE_ID,
      'seq INT NOT NULL',
      'kind VARCHAR(8) NOT NULL',
      BINLOG_NAME,
      BINLOG_POS,
      'binlog_gtid TEXT NOT NULL',
      'flavor VARCHAR(8) NOT NULL',
      CREATE_TIME,
    ],
    primaryKey: ['source_id', 'seq'],
    options: UTF8,
  },
  /**
   * `<task>_load_checkpoint`: the chunk plan, one row per chunk with `status` pending|done. A
   * chunk's rows and its `done` update are committed in one target transaction.
   */
  loadCheckpoint: {
    suffix: '_load_checkpoint',
    sourceColumn: 'source_id',
    writer: 'the full phase: the Dump unit plans, the Load unit marks chunks done (markDoneSQL, markDoneManySQL)',
    readers: 'the full phase on resume; the worker pipeline (readFullPhaseFinished)',
    columns: [
      SOURCE_ID,
      'cp_schema VARCHAR(128) NOT NULL',
      'cp_table VARCHAR(128) NOT NULL',
      'chunk_no INT NOT NULL',
      'key_cols TEXT NOT NULL',
      'lower_bound LONGTEXT NULL',
      'upper_bound LONGTEXT NULL',
      'est_rows BIGINT NOT NULL DEFAULT 0',
      STATUS,
      'rows_loaded BIGINT NOT NULL DEFAULT 0',
      'snapshot_seq INT NOT NULL DEFAULT 0',
      UPDATE_TIME,
    ],
    primaryKey: ['source_id', 'cp_schema', 'cp_table', 'chunk_no'],
    options: UTF8_BIN,
  },
  /**
   * `<task>_load_index`: one row per target table the Load unit created without its secondary
   * indexes (added after the rows, src/units/full/deferred-index.ts): the `ADD KEY` clauses (JSON),
   * `status` pending|done. Written before the table is created, so a crash in between is harmless.
   */
  loadIndex: {
    suffix: '_load_index',
    sourceColumn: 'source_id',
    writer: 'the Load unit (recordDeferredIndexes before CREATE TABLE, markIndexesDone after ALTER TABLE)',
    readers: 'the Load unit (readPendingIndexes); the worker pipeline (readFullPhaseFinished)',
    columns: [
      SOURCE_ID,
      'tgt_schema VARCHAR(128) NOT NULL',
      'tgt_table VARCHAR(128) NOT NULL',
      'definitions LONGTEXT NOT NULL',
      STATUS,
      UPDATE_TIME,
    ],
    primaryKey: ['source_id', 'tgt_schema', 'tgt_table'],
    options: UTF8_BIN,
  },
  /**
   * `<task>_load_schema`: one row per snapshot (`seq` of its `start` row in `<task>_load_snapshot`):
   * the structure of the tables read at that snapshot, taken under its lock
   * (src/units/full/snapshot.ts), in the schema tracker's export format
   * (SchemaTracker.exportSchemas). Written in the same transaction as its snapshot row.
   */
  loadSchema: {
    suffix: '_load_schema',
    sourceColumn: 'source_id',
    writer: 'the full phase, with its snapshot row',
    readers: "the full phase on resume (a pending table's structure then vs now); the worker pipeline (readSnapshotSchemasAt: sync's tracker starts from it)",
    columns: [
      SOURCE_ID,
      'seq INT NOT NULL',
      'table_info LONGTEXT NOT NULL',
      CREATE_TIME,
    ],
    primaryKey: ['source_id', 'seq'],
    options: UTF8,
  },
  /**
   * `<task>_syncer_checkpoint`: one global row per source (cp_schema = cp_table = ''), the
   * low-water mark: every upstream transaction up to it is in the target; `table_info` holds the
   * schema tracker's snapshot valid at it.
   */
  syncerCheckpoint: {
    suffix: '_syncer_checkpoint',
    sourceColumn: 'id',
    writer: 'the sync unit (src/units/sync/checkpoint.ts); dmctl binlog-schema rewrites table_info while Paused (src/units/sync/schema-store.ts)',
    readers: 'the sync unit at start; dmctl binlog-schema; dmctl check-data (readAppliedThrough)',
    columns: [
      'id VARCHAR(128) NOT NULL',
      "cp_schema VARCHAR(128) NOT NULL DEFAULT ''",
      "cp_table VARCHAR(128) NOT NULL DEFAULT ''",
      BINLOG_NAME,
      BINLOG_POS,
      'binlog_gtid TEXT',
      'table_info LONGTEXT NULL',
      'is_global TINYINT(1) NOT NULL DEFAULT 1',
      'clean_exit TINYINT(1) NOT NULL DEFAULT 0',
      'create_time TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)',
      'update_time TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)',
    ],
    primaryKey: ['id', 'cp_schema', 'cp_table'],
    options: '',
  },
  /**
   * `<task>_syncer_ledger`: one row per TARGET transaction applied above the low-water mark,
   * written in the same target transaction as its rows (`txn_id` = its last upstream
   * transaction, `txn_ids` = all of them); pruned when the mark passes it. Exactly-once apply.
   */
  syncerLedger: {
    suffix: '_syncer_ledger',
    sourceColumn: 'id',
    writer: 'the sync unit (src/units/sync/checkpoint.ts)',
    readers: 'the sync unit at start (which transactions above the mark to skip); dmctl check-data (readAppliedThrough)',
    columns: [
      'id VARCHAR(128) NOT NULL',
      'txn_id VARCHAR(255) NOT NULL',
      'txn_ids MEDIUMTEXT NULL',
      BINLOG_NAME,
      BINLOG_POS,
      'is_ddl TINYINT(1) NOT NULL DEFAULT 0',
      'create_time TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)',
    ],
    primaryKey: ['id', 'txn_id'],
    options: '',
  },
  /**
   * `<task>_onlineddl` (DM's name and columns): one row per upstream shadow table of an online
   * schema change in progress (gh-ost `_t_gho`, pt-osc `_t_new`): the ALTERs applied to it so far
   * (`ddls`, JSON `{schema, table, ddls}` with the real table), replayed on the real (routed) table
   * at the cut-over RENAME. Written in the same target transaction as the DDL's ledger row; deleted
   * with the cut-over's ledger row (or when the shadow table is created afresh or dropped).
   */
  onlineDDL: {
    suffix: '_onlineddl',
    sourceColumn: 'id',
    writer: 'the sync unit (src/units/sync/online-ddl.ts)',
    readers: 'the sync unit at the start of every run',
    columns: [
      'id VARCHAR(32) NOT NULL',
      'ghost_schema VARCHAR(128) NOT NULL',
      'ghost_table VARCHAR(128) NOT NULL',
      'ddls LONGTEXT NULL',
      UPDATE_TIME,
    ],
    primaryKey: ['id', 'ghost_schema', 'ghost_table'],
    options: UTF8_BIN,
  },
  /**
   * `<task>_validator_ckpt` (DM: `_validator_checkpoint`): one row per source, the continuous
   * validator's saved state: `binlog_*` = the sync position its saved rows cover (every change
   * applied up to it is either verified or in `<task>_validator_pending`), `verified_*` = the
   * verified-through position (every change applied in (from, through] verified equal on the
   * target), its counters (JSON) and `blocked` (unprocessed errors hold the verified position).
   */
  validatorCheckpoint: {
    suffix: '_validator_ckpt',
    sourceColumn: 'source_id',
    writer: 'the continuous validator (src/units/validate/validator-store.ts), before each sync checkpoint and every meta-flush-interval',
    readers: 'the continuous validator at start',
    columns: [
      SOURCE_ID,
      BINLOG_NAME,
      BINLOG_POS,
      'binlog_gtid TEXT NULL',
      "verified_from VARCHAR(200) NOT NULL DEFAULT ''",
      "verified_through VARCHAR(200) NOT NULL DEFAULT ''",
      "verified_gtid TEXT NULL",
      'counters TEXT NULL',
      'revision BIGINT NOT NULL DEFAULT 0',
      UPDATE_TIME,
    ],
    primaryKey: ['source_id'],
    options: UTF8,
  },
  /**
   * `<task>_validator_pending` (DM: `_validator_pending_change`): applied row changes not yet
   * verified equal, one row per target row (`row_pk` = its key as JSON, `pk_hash` its SHA-1): the expected image (or its
   * absence) and the columns, as JSON in `data`.
   */
  validatorPending: {
    suffix: '_validator_pending',
    sourceColumn: 'source_id',
    writer: 'the continuous validator (upserts new pending rows, deletes verified ones), with its checkpoint row',
    readers: 'the continuous validator at start',
    columns: [
      SOURCE_ID,
      'tgt_schema VARCHAR(128) NOT NULL',
      'tgt_table VARCHAR(128) NOT NULL',
      'pk_hash CHAR(40) CHARACTER SET ascii NOT NULL',
      'row_pk TEXT NOT NULL',
      'data LONGTEXT NOT NULL',
      'revision BIGINT NOT NULL DEFAULT 0',
      UPDATE_TIME,
    ],
    primaryKey: ['source_id', 'tgt_schema', 'tgt_table', 'pk_hash'],
    options: UTF8_BIN,
  },
  /**
   * `<task>_validator_error` (DM: `_validator_error_change`): rows found different for longer than
   * `row-error-delay`; `id` is the error id of `dmctl validation show-error / ignore-error /
   * resolve-error / clear-error`; `status` new | ignored | resolved; `data` / `dst_data` the
   * binlog image and the target's row (JSON objects; dst_data NULL when the row is missing).
   */
  validatorError: {
    suffix: '_validator_error',
    sourceColumn: 'source_id',
    writer: 'the continuous validator (new errors); dmctl validation ignore-error / resolve-error / clear-error (via the worker)',
    readers: 'dmctl validation show-error and status (via the worker); the continuous validator at start',
    columns: [
      'id BIGINT NOT NULL AUTO_INCREMENT',
      SOURCE_ID,
      'src_schema VARCHAR(128) NOT NULL',
      'src_table VARCHAR(128) NOT NULL',
      'tgt_schema VARCHAR(128) NOT NULL',
      'tgt_table VARCHAR(128) NOT NULL',
      'pk_hash CHAR(40) CHARACTER SET ascii NOT NULL',
      'row_pk TEXT NOT NULL',
      'data LONGTEXT NULL',
      'dst_data LONGTEXT NULL',
      'error_type VARCHAR(32) NOT NULL',
      "status VARCHAR(16) NOT NULL DEFAULT 'new'",
      "message VARCHAR(512) NOT NULL DEFAULT ''",
      CREATE_TIME,
      UPDATE_TIME,
      'UNIQUE KEY uk_row (source_id, tgt_schema, tgt_table, pk_hash)',
    ],
    primaryKey: ['id'],
    options: UTF8_BIN,
  },
  /**
   * `<task>_validator_table` (DM: `_validator_table_status`): one row per upstream table the
   * validator has seen, with its stage (Running, or Stopped with the reason: no key).
   */
  validatorTable: {
    suffix: '_validator_table',
    sourceColumn: 'source_id',
    writer: 'the continuous validator, with its checkpoint row',
    readers: 'dmctl validation status (via the worker); the continuous validator at start',
    columns: [
      SOURCE_ID,
      'src_schema VARCHAR(128) NOT NULL',
      'src_table VARCHAR(128) NOT NULL',
      'tgt_schema VARCHAR(128) NOT NULL',
      'tgt_table VARCHAR(128) NOT NULL',
      'stage VARCHAR(16) NOT NULL',
      "message VARCHAR(512) NOT NULL DEFAULT ''",
      UPDATE_TIME,
    ],
    primaryKey: ['source_id', 'src_schema', 'src_table'],
    options: UTF8_BIN,
  },
} as const satisfies Record<string, MetaTable>;

export type MetaTableId = keyof typeof META_TABLES;

/** The CREATE TABLE IF NOT EXISTS statement of `table` for the quoted name `name`. */
export function createTableSQL(table: MetaTable, name: string): string {
  const body = [...table.columns, `PRIMARY KEY (${table.primaryKey.join(', ')})`].join(',\n  ');
  return `CREATE TABLE IF NOT EXISTS ${name} (\n  ${body})${table.options ? ` ${table.options}` : ''}`;
}

/** `<meta-schema>`.`<task><suffix>`, quoted. */
export function metaTableName(metaSchema: string, task: string, id: MetaTableId): string {
  return quoteTable(metaSchema, `${task}${META_TABLES[id].suffix}`);
}

/** The quoted names of the full phase's four tables. */
export interface MetaNames {
  schema: string;
  snapshot: string;
  checkpoint: string;
  index: string;
  schemaInfo: string;
}

export function metaNames(metaSchema: string, task: string): MetaNames {
  return {
    schema: metaSchema,
    snapshot: metaTableName(metaSchema, task, 'loadSnapshot'),
    checkpoint: metaTableName(metaSchema, task, 'loadCheckpoint'),
    index: metaTableName(metaSchema, task, 'loadIndex'),
    schemaInfo: metaTableName(metaSchema, task, 'loadSchema'),
  };
}

/** The little of a connection, pool or pool connection the statements here need. */
export interface MetaConn {
  query(sql: string, values?: unknown): Promise<[unknown, unknown]>;
}

/** CREATE DATABASE IF NOT EXISTS the meta schema and CREATE TABLE IF NOT EXISTS the given tables. */
export async function createMetaTables(conn: MetaConn, metaSchema: string, task: string, ids: readonly MetaTableId[]): Promise<void> {
  await conn.query(`CREATE DATABASE IF NOT EXISTS ${quoteId(metaSchema)}`);
  for (const id of ids) await conn.query(createTableSQL(META_TABLES[id], metaTableName(metaSchema, task, id)));
}

// ---- sync progress -------------------------------------------------------------------------------

/**
 * The furthest upstream position of `sourceId` the task has applied on the target: the greater of
 * its checkpoint (low-water mark) and its newest ledger row. Undefined when neither table has a
 * row (or exists yet: full mode, not started).
 */
export async function readAppliedThrough(conn: MetaConn, metaSchema: string, task: string, sourceId: string): Promise<{ file: string; offset: number } | undefined> {
  let best: { file: string; offset: number } | undefined;
  for (const id of ['syncerCheckpoint', 'syncerLedger'] as const) {
    let rows: unknown;
    try {
      [rows] = await conn.query(`SELECT binlog_name AS f, binlog_pos AS p FROM ${metaTableName(metaSchema, task, id)} WHERE id = ? ORDER BY binlog_name DESC, binlog_pos + 0 DESC LIMIT 1`, [sourceId]);
    } catch {
      continue; // the table does not exist yet
    }
    const r = (rows as { f: string; p: number | string }[])[0];
    if (!r) continue;
    const p = { file: r.f, offset: Number(r.p) };
    if (!best || compareFilePos(p, best) > 0) best = p;
  }
  return best;
}

/**
 * The sync checkpoint (low-water mark) of `sourceId`: where a restart of the task's sync unit
 * replays from, so the earliest upstream position the task still needs. Undefined when there is
 * no checkpoint row or table (not synced yet); other errors (target unreachable) are thrown.
 */
export async function readSyncCheckpoint(conn: MetaConn, metaSchema: string, task: string, sourceId: string): Promise<{ file: string; offset: number } | undefined> {
  let rows: unknown;
  try {
    [rows] = await conn.query(`SELECT binlog_name AS f, binlog_pos AS p FROM ${metaTableName(metaSchema, task, 'syncerCheckpoint')} WHERE id = ? AND cp_schema = '' AND cp_table = ''`, [sourceId]);
  } catch (e) {
    if ((e as { errno?: number }).errno === ER_NO_SUCH_TABLE) return undefined;
    throw e;
  }
  const r = (rows as { f: string; p: number | string }[])[0];
  return r ? { file: r.f, offset: Number(r.p) } : undefined;
}

// ---- full → sync hand-off ---------------------------------------------------------------------

/** A row of `<task>_load_snapshot`. */
export interface SnapshotRow extends MasterStatus {
  seq: number;
  kind: 'start' | 'bound';
}

/** Where sync starts after a full phase and how far it applies idempotently (safe mode). */
export interface FullPhaseHandOff {
  startPos: MasterStatus;
  safeModeUntil?: MasterStatus;
}

/** The hand-off of a full phase whose snapshots are `snapshots`: start at the lowest, safe mode until the highest. */
export function syncHandOff(snapshots: readonly SnapshotRow[]): FullPhaseHandOff | undefined {
  if (snapshots.length === 0) return undefined;
  const strip = (s: SnapshotRow): MasterStatus => ({ file: s.file, offset: s.offset, gtid: s.gtid, flavor: s.flavor });
  let lo = snapshots[0] as SnapshotRow;
  let hi = lo;
  for (const s of snapshots) {
    if (compareFilePos(s, lo) < 0) lo = s;
    if (compareFilePos(s, hi) > 0) hi = s;
  }
  return compareFilePos(lo, hi) === 0 ? { startPos: strip(lo) } : { startPos: strip(lo), safeModeUntil: strip(hi) };
}

/** The snapshot rows of one source, in seq order (raw errors: the caller classifies them). */
export async function selectSnapshots(conn: MetaConn, m: Pick<MetaNames, 'snapshot'>, sourceId: string): Promise<SnapshotRow[]> {
  const [rows] = await conn.query(
    `SELECT seq, kind, binlog_name AS f, binlog_pos AS p, binlog_gtid AS g, flavor FROM ${m.snapshot} WHERE source_id = ? ORDER BY seq`,
    [sourceId],
  );
  return (rows as { seq: number; kind: string; f: string; p: string | number; g: string | null; flavor: string }[]).map((r) => ({
    seq: Number(r.seq),
    kind: r.kind === 'bound' ? 'bound' : 'start',
    file: r.f,
    offset: Number(r.p),
    gtid: r.g ?? '',
    flavor: r.flavor as Flavor,
  }));
}

/** The full phase's hand-off as recorded in the target (undefined: no snapshot recorded for the source). */
export async function readFullPhaseHandOff(conn: MetaConn, metaSchema: string, task: string, sourceId: string): Promise<FullPhaseHandOff | undefined> {
  return syncHandOff(await selectSnapshots(conn, metaNames(metaSchema, task), sourceId));
}

/**
 * The table structures recorded with the snapshot at `pos` (`<task>_load_schema` of the first
 * snapshot row at exactly that position), SchemaTracker export format; undefined when none.
 */
export async function readSnapshotSchemasAt(conn: MetaConn, metaSchema: string, task: string, sourceId: string, pos: { file: string; offset: number }): Promise<string | undefined> {
  const m = metaNames(metaSchema, task);
  const [r] = await conn.query(
    `SELECT x.table_info AS ti FROM ${m.snapshot} s JOIN ${m.schemaInfo} x ON x.source_id = s.source_id AND x.seq = s.seq
        WHERE s.source_id = ? AND s.binlog_name = ? AND s.binlog_pos = ? ORDER BY s.seq LIMIT 1`,
    [sourceId, pos.file, pos.offset],
  );
  return (r as { ti: string }[])[0]?.ti;
}

/** Whether the full phase of the source has finished for good: a plan whose every chunk and every deferred index is done. */
export async function readFullPhaseFinished(conn: MetaConn, metaSchema: string, task: string, sourceId: string): Promise<boolean> {
  const m = metaNames(metaSchema, task);
  const [r] = await conn.query(`SELECT COUNT(*) AS n, COALESCE(SUM(status <> 'done'), 0) AS p FROM ${m.checkpoint} WHERE source_id = ?`, [sourceId]);
  const row = (r as { n: unknown; p: unknown }[])[0];
  if (!row || Number(row.n) === 0 || Number(row.p) > 0) return false;
  const [ix] = await conn.query(`SELECT COUNT(*) AS p FROM ${m.index} WHERE source_id = ? AND status <> 'done'`, [sourceId]);
  return Number((ix as { p: unknown }[])[0]?.p ?? 0) === 0;
}

// ---- remove ------------------------------------------------------------------------------------

/** errno of ER_NO_SUCH_TABLE */
const ER_NO_SUCH_TABLE = 1146;

/**
 * Remove every row of `sourceIds` from every one of the task's meta tables (META_TABLES: the
 * full phase's plan, snapshots, recorded structures and deferred-key records, the sync
 * checkpoint and ledger), so the task starts from scratch. A table that does not exist is skipped.
 */
export async function removeTaskMeta(conn: MetaConn, metaSchema: string, task: string, sourceIds: readonly string[]): Promise<void> {
  for (const id of sourceIds) {
    for (const [tid, t] of Object.entries(META_TABLES) as [MetaTableId, MetaTable][]) {
      try {
        await conn.query(`DELETE FROM ${metaTableName(metaSchema, task, tid)} WHERE ${quoteId(t.sourceColumn)} = ?`, [id]);
      } catch (e) {
        if ((e as { errno?: number }).errno === ER_NO_SUCH_TABLE) continue;
        throw toDMError(e, 'ErrCheckpointSave', `cannot remove the meta of task ${task}`);
      }
    }
  }
}

/** The task's meta table names without schema (`<task><suffix>`), e.g. for the task-name length check. */
export function metaTableSuffixes(): string[] {
  return Object.values(META_TABLES).map((t) => t.suffix);
}
