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

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);

/**
 * How much wider than the estimated row count a key range may be for planByRange to split it: at
 * this density or above a range of `rows` key values holds on average at least half a chunk.
 */
export const RANGE_PLAN_MAX_SPREAD = 2;

/**
 * The chunk bounds of an integer key from `min` to `max` in ranges of `rows` key values: chunk i
 * holds keys in (min - 1 + i*rows, min - 1 + (i+1)*rows], the first one open below, the last one
 * open above. undefined when that would take more than `maxChunks` chunks (a sparse key).
 */
export function rangeBounds(min: number, max: number, rows: number, maxChunks: number): { lower: number | null; upper: number | null }[] | undefined {
  const n = Math.max(1, Math.ceil((max - min + 1) / rows));
  if (n > maxChunks) return undefined;
  return Array.from({ length: n }, (_, i) => ({
    lower: i === 0 ? null : min - 1 + i * rows,
    upper: i === n - 1 ? null : min - 1 + (i + 1) * rows,
  }));
}

/**
 * A table keyed by ONE integer column whose key values are dense (max - min + 1 at most
 * RANGE_PLAN_MAX_SPREAD times the estimated rows, plus a chunk) is split by key value from one
 * MIN/MAX query (two index dives) instead of walking the key: what dumpling does for an integer
 * key, and O(1) instead of O(table) before the first rows can be loaded. A range of `rows` key
 * values holds at most `rows` rows (the key is unique), so no chunk is larger than with the walk;
 * with gaps some hold fewer. undefined: another key, keys outside ±2^53, or a sparse key (the
 * caller walks it).
 */
async function planByRange(conn: Connection, t: SourceTableInfo, rows: number): Promise<ChunkDef[] | undefined> {
  const k = t.handleKey[0];
  const col = t.columns.find((c) => c.name === k);
  if (t.handleKey.length !== 1 || k === undefined || !col || !INTEGER_TYPES.has(col.dataType.toLowerCase())) return undefined;
  let r: unknown;
  try {
    [r] = await conn.query({ sql: `SELECT MIN(${quoteId(k)}) AS lo, MAX(${quoteId(k)}) AS hi FROM ${quoteTable(t.schema, t.table)}`, rowsAsArray: true });
  } catch (e) {
    throw classifyMySQLError(e, 'source', `plan chunks of ${t.schema}.${t.table}`);
  }
  const [lo, hi] = ((r as unknown[][])[0] ?? []).map((v) => (v === null || v === undefined ? NaN : Number(v)));
  if (lo === undefined || hi === undefined || !Number.isSafeInteger(lo) || !Number.isSafeInteger(hi)) return undefined;
  const maxChunks = RANGE_PLAN_MAX_SPREAD * Math.ceil(Math.max(rows, t.estimatedRows) / rows) + 1;
  const bounds = rangeBounds(lo, hi, rows, maxChunks);
  if (!bounds) return undefined;
  const per = Math.max(1, Math.round(t.estimatedRows / bounds.length));
  return bounds.map((b, i) => ({
    schema: t.schema,
    table: t.table,
    key: t.handleKey,
    chunkNo: i,
    lower: b.lower === null ? null : [b.lower],
    upper: b.upper === null ? null : [b.upper],
    estimatedRows: per,
  }));
}

/**
 * Split a table into chunks of `rows` rows by walking its handle key (primary key or NOT NULL
 * unique key): each step reads the key of the rows-th next row, an index range scan of `rows`
 * entries, so planning is O(table) and chunks have equal sizes whatever the key distribution.
 * A table without such a key, or a small one (isSmallTable), is one chunk; a dense integer key is
 * split by value without the walk (planByRange). Boundaries need not be consistent with the snapshot:
 * the chunks always partition the whole key space.
 */
export async function planChunks(conn: Connection, t: SourceTableInfo, rows: number): Promise<ChunkDef[]> {
  const base = { schema: t.schema, table: t.table, key: t.handleKey };
  if (t.handleKey.length === 0 || isSmallTable(t, rows)) return [wholeTableChunk(t)];
  const ranged = await planByRange(conn, t, rows);
  if (ranged) return ranged;
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
