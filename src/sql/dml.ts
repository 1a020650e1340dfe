/**
 * DML statement builders. Identifiers are quoted with mysql2 `escapeId`, values are bound with
 * mysql2's `escape` (the same escaping `format` uses): Buffers become X'..' literals (zero bytes kept), exact
 * DECIMAL/BIGINT strings stay strings, `null`/`undefined` become NULL (distinct from ''), JSON
 * objects become their JSON text, date/time strings are passed through unchanged.
 *
 * Generated columns are never written (and never used in WHERE). A table without a key is
 * matched on all its columns (`IS NULL` for nulls) with `LIMIT 1`.
 */
import { DMError } from '../errors/index.js';
import type { ExtractedColumn } from '../filter/index.js';
import { quoteId, quoteTable, quoteValue } from './quote.js';

export interface DMLColumn {
  name: string;
  /** Generated (virtual/stored) columns are skipped. */
  generated?: boolean;
}

/** The target table and the layout of the row images given to the builders. */
export interface DMLTable {
  schema: string;
  table: string;
  /** Columns in row-image order. */
  columns: readonly DMLColumn[];
  /** Columns that identify a row (primary key or a NOT NULL unique key); empty for a keyless table. */
  keyColumns: readonly string[];
  /** Constant columns appended to every row (route extract-table/schema/source); also part of WHERE. */
  extra?: readonly ExtractedColumn[];
}

export type Row = readonly unknown[];

export type InsertMode = 'insert' | 'ignore' | 'replace' | 'upsert';

interface Prepared {
  target: string;
  /** Writable column indexes in the row image. */
  writable: number[];
  /** Quoted names of the writable columns followed by the extra columns. */
  colList: string;
  extraVals: unknown[];
  extraCols: string[];
  /** Indexes of the key columns in the row image (empty for keyless). */
  keyIdx: number[];
}

const prepCache = new WeakMap<DMLTable, Prepared>();

function prepare(t: DMLTable): Prepared {
  const hit = prepCache.get(t);
  if (hit) return hit;
  const writable: number[] = [];
  t.columns.forEach((c, i) => {
    if (!c.generated) writable.push(i);
  });
  const extra = t.extra ?? [];
  const names = [...writable.map((i) => quoteId((t.columns[i] as DMLColumn).name)), ...extra.map((e) => quoteId(e.column))];
  const lower = new Map(t.columns.map((c, i) => [c.name.toLowerCase(), i]));
  const keyIdx = t.keyColumns.map((k) => {
    const i = lower.get(k.toLowerCase());
    if (i === undefined) throw new DMError('ErrSQLBuildStatement', `key column ${JSON.stringify(k)} is not a column of ${t.schema}.${t.table}`);
    return i;
  });
  const p: Prepared = {
    target: quoteTable(t.schema, t.table),
    writable,
    colList: names.join(', '),
    extraVals: extra.map((e) => e.value),
    extraCols: extra.map((e) => quoteId(e.column)),
    keyIdx,
  };
  prepCache.set(t, p);
  return p;
}

/** Normalise a row value for mysql2 `format`. */
export function toSqlValue(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (typeof v === 'object' && !Buffer.isBuffer(v) && !(v instanceof Date)) {
    if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    return JSON.stringify(v);
  }
  return v;
}

function checkRow(t: DMLTable, row: Row): void {
  if (row.length !== t.columns.length) {
    throw new DMError('ErrSQLBuildStatement', `row has ${row.length} values but ${t.schema}.${t.table} has ${t.columns.length} columns`);
  }
}

function valuesTuple(p: Prepared, t: DMLTable, row: Row): string {
  checkRow(t, row);
  let out = '(';
  for (let j = 0; j < p.writable.length; j++) {
    if (j > 0) out += ', ';
    out += quoteValue(toSqlValue(row[p.writable[j] as number]));
  }
  for (const v of p.extraVals) out += `${out.length > 1 ? ', ' : ''}${quoteValue(v)}`;
  return out + ')';
}

/**
 * Multi-row `INSERT` (`mode`: 'insert', 'ignore' = INSERT IGNORE, 'replace' = REPLACE,
 * 'upsert' = INSERT ... ON DUPLICATE KEY UPDATE every written column).
 */
export function buildInsert(t: DMLTable, rows: readonly Row[], mode: InsertMode = 'insert'): string {
  if (rows.length === 0) throw new DMError('ErrSQLBuildStatement', 'no rows to insert');
  const p = prepare(t);
  const verb = mode === 'replace' ? 'REPLACE INTO' : mode === 'ignore' ? 'INSERT IGNORE INTO' : 'INSERT INTO';
  let sql = `${verb} ${p.target} (${p.colList}) VALUES `;
  for (let i = 0; i < rows.length; i++) sql += (i > 0 ? ',' : '') + valuesTuple(p, t, rows[i] as Row);
  if (mode === 'upsert') {
    const cols = [...p.writable.map((i) => quoteId((t.columns[i] as DMLColumn).name)), ...p.extraCols];
    sql += ` ON DUPLICATE KEY UPDATE ${cols.map((c) => `${c} = VALUES(${c})`).join(', ')}`;
  }
  return sql;
}

/** `col = v` / `col IS NULL` conditions identifying the row (key columns, or all non-generated columns for a keyless table). */
function whereClause(p: Prepared, t: DMLTable, row: Row): { sql: string; limit: boolean } {
  checkRow(t, row);
  const idx = p.keyIdx.length > 0 ? p.keyIdx : p.writable;
  const parts: string[] = [];
  for (const i of idx) {
    const name = quoteId((t.columns[i] as DMLColumn).name);
    const v = toSqlValue(row[i]);
    parts.push(v === null ? `${name} IS NULL` : `${name} = ${quoteValue(v)}`);
  }
  p.extraCols.forEach((c, j) => parts.push(`${c} = ${quoteValue(p.extraVals[j])}`));
  if (parts.length === 0) throw new DMError('ErrSQLBuildStatement', `${t.schema}.${t.table} has no column to match rows on`);
  return { sql: parts.join(' AND '), limit: p.keyIdx.length === 0 };
}

/** `UPDATE t SET <all written columns> WHERE <key of before> [LIMIT 1]`. */
export function buildUpdate(t: DMLTable, before: Row, after: Row): string {
  const p = prepare(t);
  checkRow(t, after);
  const sets = p.writable.map((i) => `${quoteId((t.columns[i] as DMLColumn).name)} = ${quoteValue(toSqlValue(after[i]))}`);
  const w = whereClause(p, t, before);
  return `UPDATE ${p.target} SET ${sets.join(', ')} WHERE ${w.sql}${w.limit ? ' LIMIT 1' : ''}`;
}

/** `DELETE FROM t WHERE <key> [LIMIT 1]`. */
export function buildDelete(t: DMLTable, row: Row): string {
  const p = prepare(t);
  const w = whereClause(p, t, row);
  return `DELETE FROM ${p.target} WHERE ${w.sql}${w.limit ? ' LIMIT 1' : ''}`;
}

/**
 * Delete many rows in one statement by key: `WHERE k IN (...)` or `WHERE (k1, k2) IN ((..),(..))`.
 * A keyless table gets one `DELETE ... LIMIT 1` per row instead (returned as several statements).
 */
export function buildMultiDelete(t: DMLTable, rows: readonly Row[]): string[] {
  if (rows.length === 0) return [];
  const p = prepare(t);
  if (p.keyIdx.length === 0) return rows.map((r) => buildDelete(t, r));
  const keyNames = [...p.keyIdx.map((i) => quoteId((t.columns[i] as DMLColumn).name)), ...p.extraCols];
  const tuples = rows.map((r) => {
    checkRow(t, r);
    const vals = [...p.keyIdx.map((i) => toSqlValue(r[i])), ...p.extraVals];
    if (vals.some((v) => v === null)) throw new DMError('ErrSQLBuildStatement', `NULL in key columns of ${t.schema}.${t.table}`);
    const lits = vals.map((v) => quoteValue(v));
    return lits.length === 1 ? (lits[0] as string) : `(${lits.join(', ')})`;
  });
  const lhs = keyNames.length === 1 ? (keyNames[0] as string) : `(${keyNames.join(', ')})`;
  return [`DELETE FROM ${p.target} WHERE ${lhs} IN (${tuples.join(',')})`];
}

/** Safe mode INSERT: `REPLACE INTO ...` (idempotent when replayed). */
export function buildSafeInsert(t: DMLTable, rows: readonly Row[]): string {
  return buildInsert(t, rows, 'replace');
}

/**
 * Safe mode UPDATE: `DELETE` the old row then `REPLACE` the new one, as DM does; a keyless table
 * keeps a plain UPDATE ... LIMIT 1 (a REPLACE could not find the row again).
 */
export function buildSafeUpdate(t: DMLTable, before: Row, after: Row): string[] {
  const p = prepare(t);
  if (p.keyIdx.length === 0) return [buildUpdate(t, before, after)];
  return [buildDelete(t, before), buildInsert(t, [after], 'replace')];
}

/**
 * The key of a row for causality / conflict detection (undefined for keyless tables). Text is
 * lowercased and trailing spaces removed, so that keys equal under the usual case-insensitive,
 * PAD SPACE collations map to the same string (an over-approximation, which is safe for conflicts).
 */
export function rowKey(t: DMLTable, row: Row): string | undefined {
  const p = prepare(t);
  if (p.keyIdx.length === 0) return undefined;
  return JSON.stringify(
    p.keyIdx.map((i) => {
      const v = toSqlValue(row[i]);
      if (v === null) return null;
      if (Buffer.isBuffer(v)) return `0x${v.toString('hex')}`;
      if (typeof v === 'string') return v.toLowerCase().replace(/ +$/, '');
      if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
      return JSON.stringify(v);
    }),
  );
}
