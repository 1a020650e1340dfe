import type { Connection } from 'mysql2/promise';
import { classifyMySQLError, quoteTable } from './conn.js';

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
  /** Primary key, or the first unique key on NOT NULL columns without prefix; [] when none. */
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

export async function readTableInfo(conn: Connection, schema: string, table: string): Promise<SourceTableInfo> {
  try {
    const [cols] = await conn.query(
      'SELECT COLUMN_NAME AS n, COLUMN_TYPE AS ct, DATA_TYPE AS dt, GENERATION_EXPRESSION AS g, IS_NULLABLE AS nl ' +
        'FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
      [schema, table],
    );
    const crow = cols as { n: string; ct: string; dt: string; g: string | null; nl: string }[];
    const columns: ColumnInfo[] = crow.map((c) => ({ name: c.n, type: c.ct, dataType: c.dt.toLowerCase(), generated: !!c.g }));
    const nullable = new Map(crow.map((c) => [c.n, c.nl === 'YES']));
    const [idx] = await conn.query(
      'SELECT INDEX_NAME AS i, NON_UNIQUE AS nu, COLUMN_NAME AS c, SUB_PART AS sp FROM information_schema.STATISTICS ' +
        'WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY INDEX_NAME = \'PRIMARY\' DESC, INDEX_NAME, SEQ_IN_INDEX',
      [schema, table],
    );
    const keys = new Map<string, { cols: string[]; ok: boolean }>();
    for (const r of idx as { i: string; nu: number | string; c: string; sp: unknown }[]) {
      if (Number(r.nu) !== 0) continue;
      const k = keys.get(r.i) ?? { cols: [], ok: true };
      k.cols.push(r.c);
      if (r.sp !== null || nullable.get(r.c) !== false) k.ok = false;
      keys.set(r.i, k);
    }
    let handleKey: string[] = [];
    for (const [, k] of keys)
      if (k.ok) {
        handleKey = k.cols;
        break;
      }
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
      handleKey,
      estimatedRows: Number(s0?.r ?? 0),
      estimatedBytes: Number(s0?.d ?? 0),
      createSQL,
    };
  } catch (e) {
    throw classifyMySQLError(e, 'source', `read structure of ${schema}.${table}`);
  }
}
