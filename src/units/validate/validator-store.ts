/**
 * The continuous validator's state in the target's meta schema (the four `<task>_validator_*`
 * tables of src/units/meta-tables.ts): its checkpoint row, the rows still pending, the errors and
 * the per-table stages. `save` writes a checkpoint row and the pending-row changes since the last
 * save in ONE target transaction, so what is saved always matches its checkpoint.
 */
import { createHash } from 'node:crypto';
import type { Pool } from 'mysql2/promise';
import type { Position } from '../../binlog/position.js';
import { createMetaTables, metaTableName, type MetaTableId } from '../meta-tables.js';
import { decodeValue, encodeValue, imageBytes, type PendingRow, type ValidationErrorType } from './validator-rows.js';

export const VALIDATOR_TABLES: readonly MetaTableId[] = ['validatorCheckpoint', 'validatorPending', 'validatorError', 'validatorTable'];

export type ErrorStatus = 'new' | 'ignored' | 'resolved';

/** A row found different, as saved and as show-error lists it. */
export interface ValidationErrorRow {
  id: number;
  source: string;
  srcSchema: string;
  srcTable: string;
  tgtSchema: string;
  tgtTable: string;
  pk: string;
  data: Record<string, unknown>;
  dstData: Record<string, unknown> | undefined;
  type: ValidationErrorType;
  status: ErrorStatus;
  message: string;
  time: Date;
}

/** A row found different, before it is saved (the store adds id, source, status and time). */
export type NewError = Omit<ValidationErrorRow, 'id' | 'source' | 'status' | 'time'>;

export interface TableStage {
  srcSchema: string;
  srcTable: string;
  tgtSchema: string;
  tgtTable: string;
  stage: 'Running' | 'Stopped';
  message: string;
}

export interface SavedCheckpoint {
  pos: Position;
  verifiedFrom: string;
  verifiedThrough: string;
  verifiedGtid: string;
  counters: Record<string, number>;
}

/** What one save writes. */
export interface SaveBatch {
  pos: Position;
  verifiedFrom: string;
  verifiedThrough: string;
  verifiedGtid: string;
  counters: Record<string, number>;
  upsert: readonly PendingRow[];
  remove: readonly { schema: string; table: string; pk: string }[];
  tables: readonly TableStage[];
}

const CHUNK = 200;

/** `pk_hash`: the key column of the pending and error tables (a key's JSON may exceed an index's length). */
const pkHash = (pk: string): string => createHash('sha1').update(pk).digest('hex');
const ER_NO_SUCH_TABLE = 1146;

function chunks<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

function pendingData(r: PendingRow): string {
  return JSON.stringify({
    srcSchema: r.srcSchema,
    srcTable: r.srcTable,
    columns: r.columns,
    keyIdx: r.keyIdx,
    expect: r.expect,
    op: r.op,
    image: r.image.map(encodeValue),
    pos: r.pos,
  });
}

export class ValidatorStore {
  private readonly names: Record<'cp' | 'pending' | 'error' | 'table', string>;
  private revision = 0;

  constructor(
    private readonly metaSchema: string,
    private readonly task: string,
    private readonly source: string,
  ) {
    this.names = {
      cp: metaTableName(metaSchema, task, 'validatorCheckpoint'),
      pending: metaTableName(metaSchema, task, 'validatorPending'),
      error: metaTableName(metaSchema, task, 'validatorError'),
      table: metaTableName(metaSchema, task, 'validatorTable'),
    };
  }

  async ensureTables(pool: Pool): Promise<void> {
    await createMetaTables(pool, this.metaSchema, this.task, VALIDATOR_TABLES);
  }

  /** The saved checkpoint, pending rows and table stages (nothing when the tables do not exist). */
  async load(pool: Pool): Promise<{ cp: SavedCheckpoint | undefined; pending: PendingRow[]; tables: TableStage[] }> {
    try {
      const [cpRows] = await pool.query(`SELECT binlog_name AS f, binlog_pos AS p, binlog_gtid AS g, verified_from AS vf, verified_through AS vt, verified_gtid AS vg, counters, revision FROM ${this.names.cp} WHERE source_id = ?`, [this.source]);
      const c = (cpRows as Record<string, string | number | null>[])[0];
      const cp: SavedCheckpoint | undefined = c
        ? {
            pos: { file: String(c['f']), offset: Number(c['p']), gtid: String(c['g'] ?? '') },
            verifiedFrom: String(c['vf'] ?? ''),
            verifiedThrough: String(c['vt'] ?? ''),
            verifiedGtid: String(c['vg'] ?? ''),
            counters: c['counters'] ? (JSON.parse(String(c['counters'])) as Record<string, number>) : {},
          }
        : undefined;
      if (c) this.revision = Number(c['revision']) || 0;
      const [pRows] = await pool.query(`SELECT tgt_schema AS s, tgt_table AS t, row_pk AS pk, data FROM ${this.names.pending} WHERE source_id = ?`, [this.source]);
      const pending: PendingRow[] = (pRows as { s: string; t: string; pk: string; data: string }[]).map((r) => {
        const d = JSON.parse(r.data) as { srcSchema: string; srcTable: string; columns: string[]; keyIdx: number[]; expect: 'present' | 'absent'; op: PendingRow['op']; image: unknown[]; pos: Position };
        const image = d.image.map(decodeValue);
        return {
          key: `${r.s}\u0000${r.t}\u0000${r.pk}`,
          pk: r.pk,
          schema: r.s,
          table: r.t,
          srcSchema: d.srcSchema,
          srcTable: d.srcTable,
          columns: d.columns,
          keyIdx: d.keyIdx,
          expect: d.expect,
          op: d.op,
          image,
          pos: d.pos,
          dueAt: 0,
          firstFailAt: 0,
          version: 0,
          recs: [],
          // its own column list (a row told by the sync unit shares its table's)
          bytes: imageBytes(image) + d.columns.reduce((n, c) => n + c.length + 16, 0),
        };
      });
      const [tRows] = await pool.query(`SELECT src_schema AS ss, src_table AS st, tgt_schema AS ts, tgt_table AS tt, stage, message FROM ${this.names.table} WHERE source_id = ?`, [this.source]);
      const tables = (tRows as { ss: string; st: string; ts: string; tt: string; stage: string; message: string }[]).map((r) => ({
        srcSchema: r.ss,
        srcTable: r.st,
        tgtSchema: r.ts,
        tgtTable: r.tt,
        stage: r.stage === 'Stopped' ? ('Stopped' as const) : ('Running' as const),
        message: r.message,
      }));
      return { cp, pending, tables };
    } catch (e) {
      if ((e as { errno?: number }).errno === ER_NO_SUCH_TABLE) return { cp: undefined, pending: [], tables: [] };
      throw e;
    }
  }

  /** One target transaction: the checkpoint row, pending rows added or changed, pending rows done, table stages. */
  async save(pool: Pool, b: SaveBatch): Promise<void> {
    const conn = await pool.getConnection();
    try {
      await conn.query('START TRANSACTION');
      this.revision++;
      await conn.query(
        `INSERT INTO ${this.names.cp} (source_id, binlog_name, binlog_pos, binlog_gtid, verified_from, verified_through, verified_gtid, counters, revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE binlog_name = VALUES(binlog_name), binlog_pos = VALUES(binlog_pos), binlog_gtid = VALUES(binlog_gtid), verified_from = VALUES(verified_from),
           verified_through = VALUES(verified_through), verified_gtid = VALUES(verified_gtid), counters = VALUES(counters), revision = VALUES(revision)`,
        [this.source, b.pos.file, b.pos.offset, b.pos.gtid, b.verifiedFrom, b.verifiedThrough, b.verifiedGtid, JSON.stringify(b.counters), this.revision],
      );
      for (const part of chunks(b.remove, CHUNK)) {
        const cond = part.map(() => '(tgt_schema = ? AND tgt_table = ? AND pk_hash = ?)').join(' OR ');
        await conn.query(`DELETE FROM ${this.names.pending} WHERE source_id = ? AND (${cond})`, [this.source, ...part.flatMap((r) => [r.schema, r.table, pkHash(r.pk)])]);
      }
      for (const part of chunks(b.upsert, CHUNK)) {
        await conn.query(
          `INSERT INTO ${this.names.pending} (source_id, tgt_schema, tgt_table, pk_hash, row_pk, data, revision) VALUES ${part.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}
           ON DUPLICATE KEY UPDATE data = VALUES(data), revision = VALUES(revision)`,
          part.flatMap((r) => [this.source, r.schema, r.table, pkHash(r.pk), r.pk, pendingData(r), this.revision]),
        );
      }
      for (const t of b.tables) {
        await conn.query(
          `INSERT INTO ${this.names.table} (source_id, src_schema, src_table, tgt_schema, tgt_table, stage, message) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON DUPLICATE KEY UPDATE tgt_schema = VALUES(tgt_schema), tgt_table = VALUES(tgt_table), stage = VALUES(stage), message = VALUES(message)`,
          [this.source, t.srcSchema, t.srcTable, t.tgtSchema, t.tgtTable, t.stage, t.message.slice(0, 500)],
        );
      }
      await conn.query('COMMIT');
      conn.release();
    } catch (e) {
      this.revision--;
      conn.destroy();
      throw e;
    }
  }

  /** Record rows found different (a row already recorded becomes `new` again with the new images). */
  async addErrors(pool: Pool, errs: readonly NewError[]): Promise<void> {
    for (const part of chunks(errs, CHUNK)) {
      await pool.query(
        `INSERT INTO ${this.names.error} (source_id, src_schema, src_table, tgt_schema, tgt_table, pk_hash, row_pk, data, dst_data, error_type, status, message) VALUES ${part.map(() => "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', ?)").join(', ')}
         ON DUPLICATE KEY UPDATE src_schema = VALUES(src_schema), src_table = VALUES(src_table), data = VALUES(data), dst_data = VALUES(dst_data), error_type = VALUES(error_type), status = 'new', message = VALUES(message), create_time = CURRENT_TIMESTAMP`,
        part.flatMap((e) => [this.source, e.srcSchema, e.srcTable, e.tgtSchema, e.tgtTable, pkHash(e.pk), e.pk, JSON.stringify(e.data), e.dstData ? JSON.stringify(e.dstData) : null, e.type, e.message.slice(0, 500)]),
      );
    }
  }

  /** The errors in `status` (all when undefined). */
  async errors(pool: Pool, status?: ErrorStatus): Promise<ValidationErrorRow[]> {
    try {
      const [rows] = await pool.query(
        `SELECT id, src_schema AS ss, src_table AS st, tgt_schema AS ts, tgt_table AS tt, row_pk AS pk, data, dst_data AS dd, error_type AS et, status, message, create_time AS ct FROM ${this.names.error} WHERE source_id = ?${status ? ' AND status = ?' : ''} ORDER BY id`,
        status ? [this.source, status] : [this.source],
      );
      return (rows as Record<string, string | number | Date | null>[]).map((r) => ({
        id: Number(r['id']),
        source: this.source,
        srcSchema: String(r['ss']),
        srcTable: String(r['st']),
        tgtSchema: String(r['ts']),
        tgtTable: String(r['tt']),
        pk: String(r['pk']),
        data: r['data'] ? (JSON.parse(String(r['data'])) as Record<string, unknown>) : {},
        dstData: r['dd'] ? (JSON.parse(String(r['dd'])) as Record<string, unknown>) : undefined,
        type: String(r['et']) as ValidationErrorType,
        status: String(r['status']) as ErrorStatus,
        message: String(r['message'] ?? ''),
        time: r['ct'] instanceof Date ? r['ct'] : new Date(`${String(r['ct'])}Z`),
      }));
    } catch (e) {
      if ((e as { errno?: number }).errno === ER_NO_SUCH_TABLE) return [];
      throw e;
    }
  }

  /** Error counts by status. */
  async errorCounts(pool: Pool): Promise<Record<ErrorStatus, number>> {
    const out: Record<ErrorStatus, number> = { new: 0, ignored: 0, resolved: 0 };
    try {
      const [rows] = await pool.query(`SELECT status, COUNT(*) AS n FROM ${this.names.error} WHERE source_id = ? GROUP BY status`, [this.source]);
      for (const r of rows as { status: string; n: unknown }[]) if (r.status in out) out[r.status as ErrorStatus] = Number(r.n);
    } catch (e) {
      if ((e as { errno?: number }).errno !== ER_NO_SUCH_TABLE) throw e;
    }
    return out;
  }

  /**
   * ignore / resolve (status) or clear (delete) one error (`id`) or all; returns the rows it
   * concerned (their held transactions are released by the caller).
   */
  async operate(pool: Pool, op: 'ignore' | 'resolve' | 'clear', id: number | 'all'): Promise<{ tgtSchema: string; tgtTable: string; pk: string }[]> {
    const where = id === 'all' ? 'source_id = ?' : 'source_id = ? AND id = ?';
    const args = id === 'all' ? [this.source] : [this.source, id];
    try {
      const [rows] = await pool.query(`SELECT tgt_schema AS s, tgt_table AS t, row_pk AS pk FROM ${this.names.error} WHERE ${where}`, args);
      if (op === 'clear') await pool.query(`DELETE FROM ${this.names.error} WHERE ${where}`, args);
      else await pool.query(`UPDATE ${this.names.error} SET status = ? WHERE ${where}`, [op === 'ignore' ? 'ignored' : 'resolved', ...args]);
      return (rows as { s: string; t: string; pk: string }[]).map((r) => ({ tgtSchema: r.s, tgtTable: r.t, pk: r.pk }));
    } catch (e) {
      if ((e as { errno?: number }).errno === ER_NO_SUCH_TABLE) return [];
      throw e;
    }
  }
}
