/**
 * Checkpoint and ledger in the target's meta schema (names and columns: src/units/meta-tables.ts):
 *
 * - `<meta>.<task>_syncer_checkpoint`: one global row per source, the low-water mark (every
 *   upstream transaction up to it is in the target).
 * - `<meta>.<task>_syncer_ledger`: one row per TARGET transaction applied above the low-water
 *   mark, written in the same target transaction as its rows: `txn_id` = the id of the last upstream
 *   transaction it contains (the row's key), `txn_ids` = the ids of all of them. A target
 *   transaction holds a contiguous run of upstream transactions, so the mark passes all of them at
 *   once; its row is pruned (by `txn_id`) in the same transaction that advances the mark.
 *
 * Restart = replay from the mark and skip exactly the ledgered transactions: exactly-once.
 */
import type { Pool, PoolConnection } from 'mysql2/promise';
import { DMError } from '../../errors/index.js';
import type { Position } from '../../binlog/position.js';
import { quoteId, quoteValue as lit } from '../../sql/index.js';
import { META_TABLES, createTableSQL, metaTableName } from '../meta-tables.js';

export interface LoadedCheckpoint {
  pos: Position | undefined;
  /** The last run ended with a final checkpoint (pause/stop/error), not a crash; false when no checkpoint. */
  cleanExit: boolean;
  /** Schema-tracker snapshot valid at `pos` (for sources without binlog_row_metadata=FULL); `dmctl binlog-schema` rewrites it while Paused (schema-store.ts). */
  schemas: string | undefined;
  /** Ids of every upstream transaction recorded in the ledger (applied above `pos`). */
  ledger: Set<string>;
  /** The ledger row keys (last transaction of each target transaction). */
  rowKeys: Set<string>;
}

/** Separator of the ids in `txn_ids` (GTIDs and `file:offset` never contain it). */
const LEDGER_ID_SEP = ',';

export class CheckpointStore {
  readonly cpTable: string;
  readonly ledgerTable: string;
  private readonly metaSchema: string;
  private readonly sourceId: string;

  constructor(metaSchema: string, taskName: string, sourceId: string) {
    this.metaSchema = metaSchema;
    this.sourceId = sourceId;
    this.cpTable = metaTableName(metaSchema, taskName, 'syncerCheckpoint');
    this.ledgerTable = metaTableName(metaSchema, taskName, 'syncerLedger');
  }

  async ensureTables(pool: Pool): Promise<void> {
    await pool.query(`CREATE DATABASE IF NOT EXISTS ${quoteId(this.metaSchema)}`);
    await pool.query(createTableSQL(META_TABLES.syncerCheckpoint, this.cpTable));
    await pool.query(createTableSQL(META_TABLES.syncerLedger, this.ledgerTable));
  }

  async load(pool: Pool): Promise<LoadedCheckpoint> {
    const [rows] = await pool.query(
      `SELECT binlog_name, binlog_pos, binlog_gtid, table_info, clean_exit FROM ${this.cpTable} WHERE id = ? AND cp_schema = '' AND cp_table = ''`,
      [this.sourceId],
    );
    const r = (rows as { binlog_name: string; binlog_pos: number | string; binlog_gtid: string | null; table_info: string | null; clean_exit: number | string }[])[0];
    let pos: Position | undefined;
    if (r) {
      const offset = Number(r.binlog_pos);
      if (!Number.isFinite(offset)) throw new DMError('ErrCheckpointCorrupt', `bad binlog_pos ${String(r.binlog_pos)} in ${this.cpTable}`);
      pos = { file: r.binlog_name, offset, gtid: r.binlog_gtid ?? '' };
    }
    const [lrows] = await pool.query(`SELECT txn_id, txn_ids FROM ${this.ledgerTable} WHERE id = ?`, [this.sourceId]);
    const ledger = new Set<string>();
    const rowKeys = new Set<string>();
    for (const x of lrows as { txn_id: string; txn_ids: string | null }[]) {
      rowKeys.add(x.txn_id);
      ledger.add(x.txn_id);
      if (x.txn_ids) for (const id of x.txn_ids.split(LEDGER_ID_SEP)) ledger.add(id);
    }
    return { pos, cleanExit: r !== undefined && Number(r.clean_exit) === 1, schemas: r?.table_info ?? undefined, ledger, rowKeys };
  }

  /** The ledger INSERT (one row) that goes into a target transaction holding `txns` (upstream order, non-empty). */
  ledgerInsertSQL(txns: readonly { id: string; pos: Position }[], isDDL = false): string {
    const last = txns[txns.length - 1];
    if (!last) throw new DMError('ErrInternal', 'ledger row without transactions');
    const ids = txns.length === 1 ? null : txns.map((t) => t.id).join(LEDGER_ID_SEP);
    return (
      `INSERT INTO ${this.ledgerTable} (id, txn_id, txn_ids, binlog_name, binlog_pos, is_ddl) VALUES ` +
      `(${lit(this.sourceId)},${lit(last.id)},${lit(ids)},${lit(last.pos.file)},${last.pos.offset},${isDDL ? 1 : 0})`
    );
  }

  /** `clean`: this is the final checkpoint of a run (pause/stop/error), not a crash. */
  checkpointSQL(pos: Position, schemas?: string, clean = false): string {
    const ti = schemas === undefined ? '' : ', table_info = VALUES(table_info)';
    return (
      `INSERT INTO ${this.cpTable} (id, cp_schema, cp_table, binlog_name, binlog_pos, binlog_gtid, table_info, is_global, clean_exit) ` +
      `VALUES (${lit(this.sourceId)}, '', '', ${lit(pos.file)}, ${pos.offset}, ${lit(pos.gtid)}, ${lit(schemas ?? null)}, 1, ${clean ? 1 : 0}) ` +
      `ON DUPLICATE KEY UPDATE binlog_name = VALUES(binlog_name), binlog_pos = VALUES(binlog_pos), binlog_gtid = VALUES(binlog_gtid), clean_exit = VALUES(clean_exit)${ti}`
    );
  }

  /** Mark the checkpoint as "a run is in progress" (a crash from here on is an unclean exit). */
  async markRunning(pool: Pool): Promise<void> {
    await pool.query(`UPDATE ${this.cpTable} SET clean_exit = 0 WHERE id = ? AND cp_schema = '' AND cp_table = ''`, [this.sourceId]);
  }

  pruneSQL(ids: string[]): string | undefined {
    if (ids.length === 0) return undefined;
    return `DELETE FROM ${this.ledgerTable} WHERE id = ${lit(this.sourceId)} AND txn_id IN (${ids.map(lit).join(',')})`;
  }

  /** Advance the low-water mark and prune the ledger below it, atomically. */
  async flush(conn: PoolConnection, pos: Position, prune: string[], schemas?: string, clean = false): Promise<void> {
    const stmts = ['START TRANSACTION', this.checkpointSQL(pos, schemas, clean)];
    for (let i = 0; i < prune.length; i += 1000) {
      const s = this.pruneSQL(prune.slice(i, i + 1000));
      if (s) stmts.push(s);
    }
    stmts.push('COMMIT');
    try {
      await conn.query(stmts.join(';\n'));
    } catch (e) {
      await conn.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  /** Whether the target transaction whose ledger row key is `id` (its last upstream transaction) committed. */
  async hasTxn(pool: Pool, id: string): Promise<boolean> {
    const [rows] = await pool.query(`SELECT 1 AS x FROM ${this.ledgerTable} WHERE id = ? AND txn_id = ?`, [this.sourceId, id]);
    return (rows as unknown[]).length > 0;
  }

  /** Remove this source's checkpoint and ledger (stop-task --remove-meta). */
  async remove(pool: Pool): Promise<void> {
    await pool.query(`DELETE FROM ${this.cpTable} WHERE id = ?`, [this.sourceId]);
    await pool.query(`DELETE FROM ${this.ledgerTable} WHERE id = ?`, [this.sourceId]);
  }
}
