import type { Connection } from 'mysql2/promise';
import { DMError } from '../../errors/index.js';
import { classifyMySQLError, quoteId } from '../../sql/index.js';
import { META_TABLES, createTableSQL, selectSnapshots, type MetaNames, type SnapshotRow } from '../meta-tables.js';
import type { BoundValue, ChunkDef } from './chunk-plan.js';
import type { MasterStatus } from '../../sql/index.js';

/**
 * The full phase's durable state, in the TARGET (`<meta-schema>`), so that a restarted unit on
 * the same or another worker resumes. The tables (`<task>_load_snapshot`, `_load_checkpoint`,
 * `_load_index`, `_load_schema`), their columns, writers and readers are declared in
 * src/units/meta-tables.ts; this file holds the full phase's own statements on them.
 */
export interface ChunkRow extends ChunkDef {
  done: boolean;
  rowsLoaded: number;
}

async function run<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const d = classifyMySQLError(e, 'target', what);
    if (d.codeName === 'ErrLoadExecFailed') throw new DMError('ErrLoadCheckpoint', d.message, { cause: e });
    throw d;
  }
}

export async function ensureMetaTables(conn: Connection, m: MetaNames): Promise<void> {
  await run('create load checkpoint tables', async () => {
    await conn.query(`CREATE DATABASE IF NOT EXISTS ${quoteId(m.schema)}`);
    await conn.query(createTableSQL(META_TABLES.loadSnapshot, m.snapshot));
    await conn.query(createTableSQL(META_TABLES.loadCheckpoint, m.checkpoint));
    await conn.query(createTableSQL(META_TABLES.loadIndex, m.index));
    await conn.query(createTableSQL(META_TABLES.loadSchema, m.schemaInfo));
  });
}

/** The table structures recorded with each snapshot (seq → SchemaTracker export), see `<task>_load_schema`. */
export async function readSnapshotSchemas(conn: Connection, m: MetaNames, sourceId: string): Promise<Map<number, string>> {
  return run('read load snapshot structures', async () => {
    const [rows] = await conn.query(`SELECT seq, table_info AS ti FROM ${m.schemaInfo} WHERE source_id = ? ORDER BY seq`, [sourceId]);
    return new Map((rows as { seq: number; ti: string }[]).map((r) => [Number(r.seq), r.ti]));
  });
}

async function insertSnapshotSchemas(conn: Connection, m: MetaNames, sourceId: string, seq: number, schemas: string): Promise<void> {
  await conn.query(`REPLACE INTO ${m.schemaInfo} (source_id, seq, table_info) VALUES (?,?,?)`, [sourceId, seq, schemas]);
}

export async function readSnapshots(conn: Connection, m: MetaNames, sourceId: string): Promise<SnapshotRow[]> {
  return run('read load snapshots', () => selectSnapshots(conn, m, sourceId));
}

export async function readChunks(conn: Connection, m: MetaNames, sourceId: string): Promise<ChunkRow[]> {
  return run('read load checkpoint', async () => {
    const [rows] = await conn.query(
      `SELECT cp_schema AS s, cp_table AS t, chunk_no AS n, key_cols AS k, lower_bound AS lo, upper_bound AS up, est_rows AS e,
        status, rows_loaded AS r FROM ${m.checkpoint} WHERE source_id = ? ORDER BY cp_schema, cp_table, chunk_no`,
      [sourceId],
    );
    return (
      rows as { s: string; t: string; n: number; k: string; lo: string | null; up: string | null; e: unknown; status: string; r: unknown }[]
    ).map((r) => ({
      schema: r.s,
      table: r.t,
      chunkNo: Number(r.n),
      key: JSON.parse(r.k) as string[],
      lower: r.lo === null ? null : (JSON.parse(r.lo) as BoundValue[]),
      upper: r.up === null ? null : (JSON.parse(r.up) as BoundValue[]),
      estimatedRows: Number(r.e),
      done: r.status === 'done',
      rowsLoaded: Number(r.r),
    }));
  });
}

export async function insertSnapshot(conn: Connection, m: MetaNames, sourceId: string, seq: number, kind: SnapshotRow['kind'], p: MasterStatus): Promise<void> {
  await conn.query(`INSERT INTO ${m.snapshot} (source_id, seq, kind, binlog_name, binlog_pos, binlog_gtid, flavor) VALUES (?,?,?,?,?,?,?)`, [
    sourceId,
    seq,
    kind,
    p.file,
    p.offset,
    p.gtid,
    p.flavor,
  ]);
}

/**
 * Persist the snapshot, the table structures read at it (`schemas`, seq 1) and the whole chunk
 * plan atomically (a crash leaves either nothing or everything).
 */
export async function persistPlan(conn: Connection, m: MetaNames, sourceId: string, snapshots: MasterStatus[], chunks: ChunkDef[], schemas?: string): Promise<void> {
  await run('save load plan', async () => {
    await conn.query('BEGIN');
    try {
      await conn.query(`DELETE FROM ${m.snapshot} WHERE source_id = ?`, [sourceId]);
      await conn.query(`DELETE FROM ${m.checkpoint} WHERE source_id = ?`, [sourceId]);
      await conn.query(`DELETE FROM ${m.schemaInfo} WHERE source_id = ?`, [sourceId]);
      let seq = 1;
      for (const s of snapshots) await insertSnapshot(conn, m, sourceId, seq, seq++ === 1 ? 'start' : 'bound', s);
      if (schemas !== undefined) await insertSnapshotSchemas(conn, m, sourceId, 1, schemas);
      for (let i = 0; i < chunks.length; i += 500) {
        const part = chunks.slice(i, i + 500);
        await conn.query(
          `INSERT INTO ${m.checkpoint} (source_id, cp_schema, cp_table, chunk_no, key_cols, lower_bound, upper_bound, est_rows) VALUES ?`,
          [
            part.map((c) => [
              sourceId,
              c.schema,
              c.table,
              c.chunkNo,
              JSON.stringify(c.key),
              c.lower ? JSON.stringify(c.lower) : null,
              c.upper ? JSON.stringify(c.upper) : null,
              c.estimatedRows,
            ]),
          ],
        );
      }
      await conn.query('COMMIT');
    } catch (e) {
      await conn.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  });
}

/** Add a snapshot row (new snapshot on resume, or an upper bound) with the next seq, and the structures read at it. */
export async function appendSnapshot(conn: Connection, m: MetaNames, sourceId: string, kind: SnapshotRow['kind'], p: MasterStatus, schemas?: string): Promise<number> {
  return run('save load snapshot', async () => {
    await conn.query('BEGIN');
    try {
      const [rows] = await conn.query(`SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM ${m.snapshot} WHERE source_id = ? FOR UPDATE`, [sourceId]);
      const seq = Number((rows as { n: unknown }[])[0]?.n ?? 1);
      await insertSnapshot(conn, m, sourceId, seq, kind, p);
      if (schemas !== undefined) await insertSnapshotSchemas(conn, m, sourceId, seq, schemas);
      await conn.query('COMMIT');
      return seq;
    } catch (e) {
      await conn.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  });
}

/**
 * Start a table's copy over (its structure changed between the snapshot its first chunks were
 * read at and a new one): its chunk rows are replaced by `chunks` (all pending) and its deferred
 * index record is removed, in one transaction. The caller drops the target table first.
 */
export async function replanTable(conn: Connection, m: MetaNames, sourceId: string, schema: string, table: string, chunks: ChunkDef[], target: { schema: string; table: string }): Promise<void> {
  await run('save load plan', async () => {
    await conn.query('BEGIN');
    try {
      await conn.query(`DELETE FROM ${m.checkpoint} WHERE source_id = ? AND cp_schema = ? AND cp_table = ?`, [sourceId, schema, table]);
      await conn.query(`DELETE FROM ${m.index} WHERE source_id = ? AND tgt_schema = ? AND tgt_table = ?`, [sourceId, target.schema, target.table]);
      if (chunks.length > 0)
        await conn.query(
          `INSERT INTO ${m.checkpoint} (source_id, cp_schema, cp_table, chunk_no, key_cols, lower_bound, upper_bound, est_rows) VALUES ?`,
          [chunks.map((c) => [sourceId, c.schema, c.table, c.chunkNo, JSON.stringify(c.key), c.lower ? JSON.stringify(c.lower) : null, c.upper ? JSON.stringify(c.upper) : null, c.estimatedRows])],
        );
      await conn.query('COMMIT');
    } catch (e) {
      await conn.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  });
}

/** The statement that marks a chunk done; run inside the chunk's transaction (affectedRows 1 = ours). */
export function markDoneSQL(m: MetaNames): string {
  return `UPDATE ${m.checkpoint} SET status = 'done', rows_loaded = ?, snapshot_seq = ? WHERE source_id = ? AND cp_schema = ? AND cp_table = ? AND chunk_no = ? AND status = 'pending'`;
}

/**
 * markDoneSQL for `n` chunks in one statement (affectedRows n = all ours). Parameters: per chunk
 * (schema, table, chunk_no, rows_loaded), then snapshot_seq, source_id, then per chunk (schema,
 * table, chunk_no).
 */
export function markDoneManySQL(m: MetaNames, n: number): string {
  const one = '(cp_schema = ? AND cp_table = ? AND chunk_no = ?)';
  const rows = Array.from({ length: n }, () => `WHEN ${one} THEN ?`).join(' ');
  const which = Array.from({ length: n }, () => one).join(' OR ');
  return `UPDATE ${m.checkpoint} SET status = 'done', rows_loaded = CASE ${rows} END, snapshot_seq = ? WHERE source_id = ? AND status = 'pending' AND (${which})`;
}

export async function dropMeta(conn: Connection, m: MetaNames, sourceId: string): Promise<void> {
  await run('remove load checkpoint', async () => {
    await conn.query(`DELETE FROM ${m.snapshot} WHERE source_id = ?`, [sourceId]);
    await conn.query(`DELETE FROM ${m.checkpoint} WHERE source_id = ?`, [sourceId]);
    await conn.query(`DELETE FROM ${m.index} WHERE source_id = ?`, [sourceId]);
    await conn.query(`DELETE FROM ${m.schemaInfo} WHERE source_id = ?`, [sourceId]);
  });
}

/** A target table created without its secondary indexes, and the `ADD KEY ...` clauses that add them. */
export interface DeferredIndexes {
  schema: string;
  table: string;
  clauses: string[];
}

/** Record (as pending) the indexes a table is about to be created without; before the CREATE TABLE. */
export async function recordDeferredIndexes(conn: Connection, m: MetaNames, sourceId: string, d: DeferredIndexes): Promise<void> {
  await run('save deferred indexes', async () => {
    await conn.query(`REPLACE INTO ${m.index} (source_id, tgt_schema, tgt_table, definitions, status) VALUES (?,?,?,?,'pending')`, [
      sourceId,
      d.schema,
      d.table,
      JSON.stringify(d.clauses),
    ]);
  });
}

/** recordDeferredIndexes for many tables in one statement. */
export async function recordDeferredIndexesMany(conn: Connection, m: MetaNames, sourceId: string, ds: readonly DeferredIndexes[]): Promise<void> {
  if (ds.length === 0) return;
  await run('save deferred indexes', async () => {
    for (let i = 0; i < ds.length; i += 500) {
      const part = ds.slice(i, i + 500);
      await conn.query(`REPLACE INTO ${m.index} (source_id, tgt_schema, tgt_table, definitions, status) VALUES ?`, [
        part.map((d) => [sourceId, d.schema, d.table, JSON.stringify(d.clauses), 'pending']),
      ]);
    }
  });
}

export async function readPendingIndexes(conn: Connection, m: MetaNames, sourceId: string): Promise<DeferredIndexes[]> {
  return run('read deferred indexes', async () => {
    const [rows] = await conn.query(
      `SELECT tgt_schema AS s, tgt_table AS t, definitions AS d FROM ${m.index} WHERE source_id = ? AND status = 'pending' ORDER BY tgt_schema, tgt_table`,
      [sourceId],
    );
    return (rows as { s: string; t: string; d: string }[]).map((r) => ({ schema: r.s, table: r.t, clauses: JSON.parse(r.d) as string[] }));
  });
}

export async function markIndexesDone(conn: Connection, m: MetaNames, sourceId: string, d: DeferredIndexes): Promise<void> {
  await run('save deferred indexes', async () => {
    await conn.query(`UPDATE ${m.index} SET status = 'done' WHERE source_id = ? AND tgt_schema = ? AND tgt_table = ?`, [sourceId, d.schema, d.table]);
  });
}
