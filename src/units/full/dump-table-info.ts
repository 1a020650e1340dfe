import type { Connection } from 'mysql2/promise';
import { DMError } from '../../errors/index.js';
import { classifyMySQLError, getTableInfo, quoteTable, type TableInfo } from '../../sql/index.js';

export interface ColumnInfo {
  name: string;
  /** COLUMN_TYPE, e.g. `bigint(20) unsigned` */
  type: string;
  dataType: string;
  generated: boolean;
}

export interface SourceTableInfo {
  schema: string;
  table: string;
  columns: ColumnInfo[];
  /** Columns that are copied (all but generated ones), in table order. */
  copyColumns: string[];
  /** Primary key, or the first unique key on NOT NULL columns (src/sql TableInfo.handleKey); [] when none. */
  handleKey: string[];
  estimatedRows: number;
  estimatedBytes: number;
  createSQL: string;
}

/** Base tables of the source (system schemas excluded), in name order. */
export async function listSourceTables(conn: Connection): Promise<{ schema: string; table: string }[]> {
  try {
    const [rows] = await conn.query(
      "SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' " +
        "AND TABLE_SCHEMA NOT IN ('mysql','information_schema','performance_schema','sys') ORDER BY 1, 2",
    );
    return (rows as { s: string; t: string }[]).map((r) => ({ schema: r.s, table: r.t }));
  } catch (e) {
    throw classifyMySQLError(e, 'source', 'list source tables');
  }
}

/**
 * Structure (columns and row key from src/sql getTableInfo), size estimates and SHOW CREATE TABLE
 * of one source table.
 */
export async function readTableInfo(conn: Connection, schema: string, table: string): Promise<SourceTableInfo> {
  let ti: TableInfo;
  try {
    ti = await getTableInfo(conn, schema, table);
  } catch (e) {
    if (e instanceof DMError && e.cause === undefined) throw e; // table missing: ErrDBSchemaMismatch
    throw classifyMySQLError(e instanceof DMError ? e.cause : e, 'source', `read structure of ${schema}.${table}`);
  }
  try {
    const columns: ColumnInfo[] = ti.columns.map((c) => ({ name: c.name, type: c.columnType, dataType: c.type, generated: c.generated }));
    const [st] = await conn.query(
      'SELECT TABLE_ROWS AS r, DATA_LENGTH AS d FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
      [schema, table],
    );
    const s0 = (st as { r: unknown; d: unknown }[])[0];
    const [cr] = await conn.query(`SHOW CREATE TABLE ${quoteTable(schema, table)}`);
    const createSQL = (cr as Record<string, string | undefined>[])[0]?.['Create Table'] ?? '';
    return {
      schema,
      table,
      columns,
      copyColumns: columns.filter((c) => !c.generated).map((c) => c.name),
      handleKey: ti.handleKey,
      estimatedRows: Number(s0?.r ?? 0),
      estimatedBytes: Number(s0?.d ?? 0),
      createSQL,
    };
  } catch (e) {
    throw classifyMySQLError(e, 'source', `read structure of ${schema}.${table}`);
  }
}
