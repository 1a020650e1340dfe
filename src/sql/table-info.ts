/** Table structure from information_schema / SHOW INDEX: columns, keys and the key DM.ts uses for a row. */
import { DMError } from '../errors/index.js';
import { classifyError } from './errno.js';
import { quoteTable } from './quote.js';
import type { Connection, Pool, PoolConnection } from './connection.js';

/** Anything with mysql2's promise `query` (Connection, Pool, PoolConnection). */
export type Queryable = Connection | Pool | PoolConnection;

export interface ColumnDef {
  name: string;
  /** DATA_TYPE, lowercase (int, varchar, decimal, ...). */
  type: string;
  /** COLUMN_TYPE as the server shows it (e.g. `bigint(20) unsigned`, `enum('a','b')`). */
  columnType: string;
  nullable: boolean;
  /** Virtual or stored generated column: never written by DM.ts. */
  generated: boolean;
  unsigned: boolean;
  /** Character set of a text column, '' for others. */
  charset: string;
}

export interface TableInfo {
  schema: string;
  table: string;
  columns: ColumnDef[];
  primaryKey: string[];
  /** Unique keys other than the primary key, each in index column order. */
  uniqueKeys: string[][];
  /** The key that identifies a row: the primary key, else the first unique key whose columns are all NOT NULL, else []. */
  handleKey: string[];
}

async function rows<T>(q: Queryable, sql: string, params: unknown[]): Promise<T[]> {
  const [r] = await q.query(sql, params);
  return r as T[];
}

/** Whether the table (or view) exists. */
export async function tableExists(q: Queryable, schema: string, table: string): Promise<boolean> {
  try {
    const r = await rows<{ n: number | string }>(q, 'SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [schema, table]);
    return Number(r[0]?.n ?? 0) > 0;
  } catch (e) {
    throw classifyError(e, { action: `check table ${schema}.${table}` });
  }
}

/** Whether the schema exists. */
export async function schemaExists(q: Queryable, schema: string): Promise<boolean> {
  try {
    const r = await rows<{ n: number | string }>(q, 'SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [schema]);
    return Number(r[0]?.n ?? 0) > 0;
  } catch (e) {
    throw classifyError(e, { action: `check schema ${schema}` });
  }
}

/**
 * Read a table's structure. Throws ErrDBSchemaMismatch when the table does not exist, or a
 * classified database error.
 */
export async function getTableInfo(q: Queryable, schema: string, table: string): Promise<TableInfo> {
  interface ColRow {
    name: string;
    dataType: string;
    columnType: string;
    isNullable: string;
    genExpr: string | null;
    extra: string | null;
    charset: string | null;
  }
  interface IdxRow {
    Key_name: string;
    Non_unique: number | string;
    Seq_in_index: number | string;
    Column_name: string | null;
  }
  let cols: ColRow[];
  let idx: IdxRow[];
  try {
    cols = await rows<ColRow>(
      q,
      `SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType, IS_NULLABLE AS isNullable,
              GENERATION_EXPRESSION AS genExpr, EXTRA AS extra, CHARACTER_SET_NAME AS charset
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [schema, table],
    );
    if (cols.length === 0) {
      throw new DMError('ErrDBSchemaMismatch', `table ${quoteTable(schema, table)} does not exist`);
    }
    idx = await rows<IdxRow>(q, `SHOW INDEX FROM ${quoteTable(schema, table)}`, []);
  } catch (e) {
    throw classifyError(e, { action: `read structure of ${schema}.${table}` });
  }
  const columns: ColumnDef[] = cols.map((c) => {
    const extra = (c.extra ?? '').toUpperCase();
    return {
      name: c.name,
      type: c.dataType.toLowerCase(),
      columnType: c.columnType,
      nullable: c.isNullable === 'YES',
      // MySQL: '' for plain columns; MariaDB: NULL. EXTRA also names VIRTUAL/STORED/PERSISTENT GENERATED.
      generated: (c.genExpr !== null && c.genExpr !== '') || /\b(VIRTUAL|STORED|PERSISTENT)\b/.test(extra),
      unsigned: /\bunsigned\b/i.test(c.columnType),
      charset: c.charset ?? '',
    };
  });
  // Keys in SHOW INDEX order (definition order); functional key parts (no column) disqualify a key.
  const keys = new Map<string, { unique: boolean; cols: string[]; functional: boolean }>();
  for (const r of idx) {
    let k = keys.get(r.Key_name);
    if (!k) {
      k = { unique: Number(r.Non_unique) === 0, cols: [], functional: false };
      keys.set(r.Key_name, k);
    }
    if (r.Column_name === null) k.functional = true;
    else k.cols[Number(r.Seq_in_index) - 1] = r.Column_name;
  }
  const primaryKey = keys.get('PRIMARY')?.cols.filter((c) => c !== undefined) ?? [];
  const uniqueKeys: string[][] = [];
  for (const [name, k] of keys) {
    if (name === 'PRIMARY' || !k.unique || k.functional) continue;
    uniqueKeys.push(k.cols.filter((c) => c !== undefined));
  }
  const byName = new Map(columns.map((c) => [c.name.toLowerCase(), c]));
  let handleKey = primaryKey;
  if (handleKey.length === 0) {
    handleKey =
      uniqueKeys.find((uk) => uk.every((c) => {
        const col = byName.get(c.toLowerCase());
        return col !== undefined && !col.nullable && !col.generated;
      })) ?? [];
  }
  return { schema, table, columns, primaryKey, uniqueKeys, handleKey: [...handleKey] };
}
