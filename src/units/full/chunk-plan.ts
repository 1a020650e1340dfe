import type { Connection } from 'mysql2/promise';
import { classifyMySQLError, quoteValue as escapeValue, quoteId, quoteTable, typeCastFor } from '../../sql/index.js';
import type { SourceTableInfo } from './dump-table-info.js';

/** A key value of a chunk boundary as stored in JSON: Buffers become {hex}. */
export type BoundValue = string | number | null | { hex: string };

/** One chunk: rows with key in (lower, upper]; an absent bound is open. */
export interface ChunkDef {
  schema: string;
  table: string;
  chunkNo: number;
  key: string[];
  lower: BoundValue[] | null;
  upper: BoundValue[] | null;
  estimatedRows: number;
}

export function toBound(v: unknown): BoundValue {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return { hex: v.toString('hex') };
  if (typeof v === 'number') return v;
  return typeof v === 'string' ? v : JSON.stringify(v);
}
function fromBound(v: BoundValue): unknown {
  if (v !== null && typeof v === 'object') return Buffer.from(v.hex, 'hex');
  return v;
}

/** `(a,b) > (x,y)` expanded so that the optimizer uses a range scan: a > x OR (a = x AND b > y). */
function tupleCompare(key: string[], vals: BoundValue[], op: '>' | '<='): string {
  const parts: string[] = [];
  for (let i = 0; i < key.length; i++) {
    const eqs = key.slice(0, i).map((k, j) => `${quoteId(k)} = ${escapeValue(fromBound(vals[j] ?? null))}`);
    const last = i === key.length - 1;
    const cmp = op === '>' ? '>' : last ? '<=' : '<';
    eqs.push(`${quoteId(key[i] ?? '')} ${cmp} ${escapeValue(fromBound(vals[i] ?? null))}`);
    parts.push(eqs.length > 1 ? `(${eqs.join(' AND ')})` : (eqs[0] ?? ''));
  }
  return parts.length > 1 ? `(${parts.join(' OR ')})` : (parts[0] ?? '');
}

/** WHERE clause of a chunk (without the keyword), combined with the mydumpers `where`; '' when none. */
export function chunkWhere(c: Pick<ChunkDef, 'key' | 'lower' | 'upper'>, where: string): string {
  const conds: string[] = [];
  if (c.lower) conds.push(tupleCompare(c.key, c.lower, '>'));
  if (c.upper) conds.push(tupleCompare(c.key, c.upper, '<='));
  if (where.trim()) conds.push(`(${where})`);
  return conds.join(' AND ');
}

/**
 * Above this many estimated bytes a table is planned by walking its key whatever its estimated row
 * count (a wide-row table of few rows is still split).
 */
export const SMALL_TABLE_MAX_BYTES = 16 << 20;

/**
 * A table whose estimates (information_schema TABLE_ROWS / DATA_LENGTH) say it fits in one chunk:
 * it is planned as one chunk without a planning query, created with its secondary keys (no
 * deferred ALTER), and its chunk is loaded in one target transaction with other small tables'.
 * An estimate that is too low (statistics not yet updated after a bulk insert) makes that one
 * chunk larger than `rows`; the chunk still covers the whole table.
 */
export function isSmallTable(t: Pick<SourceTableInfo, 'estimatedRows' | 'estimatedBytes'>, rows: number): boolean {
  return t.estimatedRows < rows && t.estimatedBytes <= SMALL_TABLE_MAX_BYTES;
}

/** The whole table as one chunk (no bounds). */
export function wholeTableChunk(t: SourceTableInfo): ChunkDef {
  return { schema: t.schema, table: t.table, key: t.handleKey, chunkNo: 0, lower: null, upper: null, estimatedRows: t.estimatedRows };
}

/**
 * Split a table into chunks of `rows` rows by walking its handle key (primary key or NOT NULL
 * unique key): each step reads the key of the rows-th next row, an index range scan of `rows`
 * entries, so planning is O(table) and chunks have equal sizes whatever the key distribution.
 * A table without such a key, or a small one (isSmallTable), is one chunk. Boundaries need not be consistent with the snapshot:
 * the chunks always partition the whole key space.
 */
export async function planChunks(conn: Connection, t: SourceTableInfo, rows: number): Promise<ChunkDef[]> {
  const base = { schema: t.schema, table: t.table, key: t.handleKey };
  if (t.handleKey.length === 0 || isSmallTable(t, rows)) return [wholeTableChunk(t)];
  const keyList = t.handleKey.map(quoteId).join(', ');
  const typeCast = typeCastFor(t.columns.filter((c) => t.handleKey.includes(c.name)));
  const out: ChunkDef[] = [];
  let lower: BoundValue[] | null = null;
  try {
    for (;;) {
      const where: string = lower ? `WHERE ${tupleCompare(t.handleKey, lower, '>')}` : '';
      const [r]: [unknown, unknown] = await conn.query({
        sql: `SELECT ${keyList} FROM ${quoteTable(t.schema, t.table)} ${where} ORDER BY ${keyList} LIMIT 1 OFFSET ${rows - 1}`,
        rowsAsArray: true,
        ...(typeCast ? { typeCast } : {}),
      });
      const row: unknown[] | undefined = (r as unknown[][])[0];
      if (!row) break;
      const upper: BoundValue[] = row.map(toBound);
      out.push({ ...base, chunkNo: out.length, lower, upper, estimatedRows: rows });
      lower = upper;
    }
  } catch (e) {
    throw classifyMySQLError(e, 'source', `plan chunks of ${t.schema}.${t.table}`);
  }
  out.push({ ...base, chunkNo: out.length, lower, upper: null, estimatedRows: Math.max(0, t.estimatedRows - rows * out.length) });
  return out;
}
