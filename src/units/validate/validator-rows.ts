/**
 * The rows the continuous validator (validator.ts) waits on, and how one batch of them is compared
 * with the target.
 *
 * A pending row is one TARGET row (table + key) with what the last applied change says it must be:
 * present with an image (insert, update) or absent (delete, the old key of a key-moving update).
 * A batch of rows of one table is read back in ONE query, a UNION ALL of primary-key look-ups;
 * each look-up also asks the target itself whether every column equals the image
 * (`col <=> literal`, the literal written exactly as the applier writes it), so values are
 * compared with the target's own types and collations, not re-parsed in Node.
 */
import { compareFilePos, type Position } from '../../binlog/position.js';
import { quoteId, quoteTable, quoteValue } from '../../sql/index.js';

export type ValidationMode = 'full' | 'fast';
export type ValidationErrorType = 'expected-row-missing' | 'extra-row' | 'column-mismatch';

/** An upstream transaction's share of the verified-through position (validator.ts). */
export interface TxnRec {
  pos: Position;
  /** Its row changes not yet verified (or held by an unprocessed error). */
  open: number;
}

export interface PendingRow {
  /** `schema\0table\0pk` */
  key: string;
  /** The key values as a JSON array (`row_pk` in the meta tables). */
  pk: string;
  schema: string;
  table: string;
  srcSchema: string;
  srcTable: string;
  columns: string[];
  keyIdx: number[];
  expect: 'present' | 'absent';
  image: unknown[];
  op: 'insert' | 'update' | 'delete';
  /** The upstream transaction of the last change (end position). */
  pos: Position;
  /** When it is compared next (ms). */
  dueAt: number;
  /** First failed comparison since the last change (ms; 0 = none). */
  firstFailAt: number;
  /** Bumped on every change: a comparison started before it is void. */
  version: number;
  /** Transactions whose changes this row carries (verified together). */
  recs: TxnRec[];
  bytes: number;
}

/** Outcome of comparing one row: equal, or the kind of difference and the target's row. */
export type RowOutcome = { equal: true } | { equal: false; type: ValidationErrorType; target: Record<string, unknown> | undefined };

// ---- values as JSON (pending rows are saved in the meta schema and read back on restart) -------

/** A row image value as JSON: Buffers, bigints and Dates tagged so they come back as they were. */
export function encodeValue(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return { $b: v.toString('base64') };
  if (typeof v === 'bigint') return { $n: v.toString() };
  if (v instanceof Date) return { $d: v.toISOString() };
  return v;
}

export function decodeValue(v: unknown): unknown {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (typeof o['$b'] === 'string') return Buffer.from(o['$b'], 'base64');
    if (typeof o['$n'] === 'string') return BigInt(o['$n']);
    if (typeof o['$d'] === 'string') return new Date(o['$d']);
  }
  return v;
}

/** A value as a user reads it in show-error (binary as hex, numbers and text as text). */
export function displayValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return `0x${v.toString('hex')}`;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return v;
}

/** An image as `{column: value}` for display. */
export function imageObject(columns: readonly string[], image: readonly unknown[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  columns.forEach((c, i) => (o[c] = displayValue(image[i])));
  return o;
}

/** The key values of an image as `row_pk` (a JSON array of display values). */
export function pkOf(image: readonly unknown[], keyIdx: readonly number[]): string {
  return JSON.stringify(keyIdx.map((i) => displayValue(image[i])));
}

export function rowKey(schema: string, table: string, pk: string): string {
  return `${schema}\u0000${table}\u0000${pk}`;
}

/** Whether position `a` is after `b` (file positions; a GTID-only position counts as unknown → false). */
export function isAfter(a: Position, b: Position): boolean {
  if (!a.file || !b.file) return false;
  return compareFilePos(a, b) > 0;
}

// ---- one batch ---------------------------------------------------------------------------------

const IDX = '__dm_vi';
const EQ = '__dm_veq';

/**
 * The query that reads back `rows` (one table, one column layout): per row, its key look-up
 * with its index and, in full mode for a row that must be present, whether every column equals
 * the image.
 */
export function batchQuery(rows: readonly PendingRow[], mode: ValidationMode): string {
  const first = rows[0];
  if (!first) return '';
  const table = quoteTable(first.schema, first.table);
  const cols = first.columns.map((c) => `${quoteId(c)}`).join(', ');
  const parts = rows.map((r, i) => {
    const where = r.keyIdx.map((k) => `${quoteId(r.columns[k] ?? '')} <=> ${quoteValue(r.image[k])}`).join(' AND ');
    const eq = mode === 'full' && r.expect === 'present' ? r.columns.map((c, j) => `(${quoteId(c)} <=> ${quoteValue(r.image[j])})`).join(' AND ') || '1' : '1';
    return `(SELECT ${i} AS ${IDX}, (${eq}) AS ${EQ}, ${cols} FROM ${table} WHERE ${where} LIMIT 1)`;
  });
  return parts.join('\nUNION ALL\n');
}

/** The outcome of each row of a batch, from the rows the batch query returned. */
export function batchOutcomes(rows: readonly PendingRow[], result: readonly Record<string, unknown>[]): RowOutcome[] {
  const found = new Map<number, Record<string, unknown>>();
  for (const r of result) found.set(Number(r[IDX]), r);
  return rows.map((row, i) => {
    const hit = found.get(i);
    const target = hit ? targetImage(row.columns, hit) : undefined;
    if (row.expect === 'absent') return hit ? { equal: false, type: 'extra-row', target } : { equal: true };
    if (!hit) return { equal: false, type: 'expected-row-missing', target: undefined };
    return Number(hit[EQ]) === 1 ? { equal: true } : { equal: false, type: 'column-mismatch', target };
  });
}

function targetImage(columns: readonly string[], r: Record<string, unknown>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const c of columns) o[c] = displayValue(r[c]);
  return o;
}

/**
 * What a pending row costs the validator besides its values: the PendingRow object, its key
 * strings, its entries in the pending and unsaved-rows maps, its share of the transaction list.
 * Measured with test/bench/validator-memory.ts (retained heap per pending row).
 */
const PENDING_ROW_OVERHEAD = 680;
/** Per value: a string's or Buffer's header, a number's slot. */
const VALUE_OVERHEAD = 16;
const BUFFER_OVERHEAD = 96;

/**
 * Estimated heap bytes of one pending row with this image (for max-pending-row-size, so that the
 * limit bounds the validator's memory, not only the row data).
 */
export function imageBytes(img: readonly unknown[]): number {
  let n = PENDING_ROW_OVERHEAD;
  for (const v of img) {
    if (typeof v === 'string') n += v.length + VALUE_OVERHEAD;
    else if (Buffer.isBuffer(v)) n += v.length + BUFFER_OVERHEAD;
    else n += VALUE_OVERHEAD;
  }
  return n;
}
