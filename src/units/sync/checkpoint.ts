/**
 * Checkpoint and ledger in the target's meta schema:
 *
 * - `<meta>.<task>_syncer_checkpoint`: one global row per source, the low-water mark (every
 *   upstream transaction up to it is in the target).
 * - `<meta>.<task>_syncer_ledger`: one row per upstream transaction applied ABOVE the low-water
 *   mark, written in the same target transaction as its rows. Rows at or below the mark are pruned
 *   in the same transaction that advances it.
 *
 * Restart = replay from the mark and skip exactly the ledgered transactions: exactly-once.
 */
import type { Pool, PoolConnection } from 'mysql2/promise';
import { DMError } from '../../errors/index.js';
import type { Position } from '../../binlog/position.js';
import { quoteId, quoteValue as lit } from '../../sql/index.js';

export interface LoadedCheckpoint {
  pos: Position | undefined;
  /** Schema-tracker snapshot valid at `pos` (for sources without binlog_row_metadata=FULL). */
  schemas: string | undefined;
  ledger: Set<string>;
}

export class CheckpointStore {
  readonly cpTable: string;
  readonly ledgerTable: string;
  private readonly metaSchema: string;
  private readonly sourceId: string;

  constructor(metaSchema: string, taskName: string, sourceId: string) {
    this.metaSchema = metaSchema;
    this.sourceId = sourceId;
    this.cpTable = `${quoteId(metaSchema)}.${quoteId(`${taskName}_syncer_checkpoint`)}`;
    this.ledgerTable = `${quoteId(metaSchema)}.${quoteId(`${taskName}_syncer_ledger`)}`;
  }

  async ensureTables(pool: Pool): Promise<void> {
    await pool.query(`CREATE DATABASE IF NOT EXISTS ${quoteId(this.metaSchema)}`);
    await pool.query(`CREATE TABLE IF NOT EXISTS ${this.cpTable} (
      id VARCHAR(128) NOT NULL,
      cp_schema VARCHAR(128) NOT NULL DEFAULT '',
      cp_table VARCHAR(128) NOT NULL DEFAULT '',
      binlog_name VARCHAR(128) NOT NULL,
      binlog_pos BIGINT UNSIGNED NOT NULL,
      binlog_gtid TEXT,
      table_info LONGTEXT NULL,
      is_global TINYINT(1) NOT NULL DEFAULT 1,
      create_time TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      update_time TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id, cp_schema, cp_table))`);
    await pool.query(`CREATE TABLE IF NOT EXISTS ${this.ledgerTable} (
      id VARCHAR(128) NOT NULL,
      txn_id VARCHAR(255) NOT NULL,
      binlog_name VARCHAR(128) NOT NULL,
      binlog_pos BIGINT UNSIGNED NOT NULL,
      is_ddl TINYINT(1) NOT NULL DEFAULT 0,
      create_time TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id, txn_id))`);
  }

  async load(pool: Pool): Promise<LoadedCheckpoint> {
    const [rows] = await pool.query(
      `SELECT binlog_name, binlog_pos, binlog_gtid, table_info FROM ${this.cpTable} WHERE id = ? AND cp_schema = '' AND cp_table = ''`,
      [this.sourceId],
    );
    const r = (rows as { binlog_name: string; binlog_pos: number | string; binlog_gtid: string | null; table_info: string | null }[])[0];
    let pos: Position | undefined;
    if (r) {
      const offset = Number(r.binlog_pos);
      if (!Number.isFinite(offset)) throw new DMError('ErrCheckpointCorrupt', `bad binlog_pos ${String(r.binlog_pos)} in ${this.cpTable}`);
      pos = { file: r.binlog_name, offset, gtid: r.binlog_gtid ?? '' };
    }
    const [lrows] = await pool.query(`SELECT txn_id FROM ${this.ledgerTable} WHERE id = ?`, [this.sourceId]);
    return { pos, schemas: r?.table_info ?? undefined, ledger: new Set((lrows as { txn_id: string }[]).map((x) => x.txn_id)) };
  }

  /** The ledger INSERT that goes into a target transaction. */
  ledgerInsertSQL(txns: { id: string; pos: Position }[], isDDL = false): string {
    const vals = txns
      .map((t) => `(${lit(this.sourceId)},${lit(t.id)},${lit(t.pos.file)},${t.pos.offset},${isDDL ? 1 : 0})`)
      .join(',');
    return `INSERT INTO ${this.ledgerTable} (id, txn_id, binlog_name, binlog_pos, is_ddl) VALUES ${vals}`;
  }

  checkpointSQL(pos: Position, schemas?: string): string {
    const ti = schemas === undefined ? '' : ', table_info = VALUES(table_info)';
    return (
      `INSERT INTO ${this.cpTable} (id, cp_schema, cp_table, binlog_name, binlog_pos, binlog_gtid, table_info, is_global) ` +
      `VALUES (${lit(this.sourceId)}, '', '', ${lit(pos.file)}, ${pos.offset}, ${lit(pos.gtid)}, ${lit(schemas ?? null)}, 1) ` +
      `ON DUPLICATE KEY UPDATE binlog_name = VALUES(binlog_name), binlog_pos = VALUES(binlog_pos), binlog_gtid = VALUES(binlog_gtid)${ti}`
    );
  }

  pruneSQL(ids: string[]): string | undefined {
    if (ids.length === 0) return undefined;
    return `DELETE FROM ${this.ledgerTable} WHERE id = ${lit(this.sourceId)} AND txn_id IN (${ids.map(lit).join(',')})`;
  }

  /** Advance the low-water mark and prune the ledger below it, atomically. */
  async flush(conn: PoolConnection, pos: Position, prune: string[], schemas?: string): Promise<void> {
    const stmts = ['START TRANSACTION', this.checkpointSQL(pos, schemas)];
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
