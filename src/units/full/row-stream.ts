import type { Connection } from 'mysql2/promise';
import type { Connection as CbConnection, TypeCast } from 'mysql2';
import { quoteValue as escapeValue, quoteId, quoteTable } from '../../sql/index.js';
import { chunkWhere, toBound, type BoundValue, type ChunkDef } from './chunk-plan.js';
import type { ColumnInfo } from './dump-table-info.js';

/** Types whose values are bare numbers in SQL (and plain text in LOAD DATA). */
export const NUMERIC_TYPES: ReadonlySet<string> = new Set([
  'tinyint',
  'smallint',
  'mediumint',
  'int',
  'integer',
  'bigint',
  'decimal',
  'numeric',
  'float',
  'double',
  'real',
  'year',
]);

/** Encodes one row (array of exact values) as a SQL tuple `(v1,v2,...)`; extra constant values appended. */
export type RowEncoder = (row: unknown[]) => string;

export function makeRowEncoder(columns: readonly ColumnInfo[], extra: readonly string[] = []): RowEncoder {
  const numeric = columns.map((c) => NUMERIC_TYPES.has(c.dataType));
  const tail = extra.map((v) => `,${escapeValue(v)}`).join('');
  const n = columns.length;
  return (row) => {
    let s = '(';
    for (let i = 0; i < n; i++) {
      const v = row[i];
      if (i > 0) s += ',';
      if (v === null || v === undefined) s += 'NULL';
      else if (numeric[i] && (typeof v === 'number' || typeof v === 'string')) s += String(v);
      else if (typeof v === 'object' && !Buffer.isBuffer(v)) s += escapeValue(JSON.stringify(v));
      else s += escapeValue(v);
    }
    return s + tail + ')';
  };
}

export function selectChunkSQL(chunk: ChunkDef, columns: readonly string[], where: string): string {
  const w = chunkWhere(chunk, where);
  return `SELECT ${columns.map(quoteId).join(', ')} FROM ${quoteTable(chunk.schema, chunk.table)}${w ? ` WHERE ${w}` : ''}`;
}

/** The callback-API connection under a promise connection (present at runtime, missing from the typings). */
export function rawConnection(conn: Connection): CbConnection {
  return (conn as unknown as { connection: CbConnection }).connection;
}

/** How rows are read and joined: tuples joined by ',' (INSERT) or lines joined by '' (LOAD DATA). */
export interface BatchFormat {
  /** Joins the encoded rows of a batch. Default ','. */
  sep?: string;
  /** Per-query mysql2 typeCast (only for tables that need one: a connection-level one costs a call per field). */
  typeCast?: TypeCast;
}

/** How the rows of one read become batches. */
export interface BatchOptions extends BatchFormat {
  encode: RowEncoder;
  /** A batch closes once it holds about this many bytes. */
  maxBytes: number;
  signal: AbortSignal;
}

/** The query options of a row read: rows as arrays, with the table's typeCast if it needs one. */
function rowQuery(sql: string, typeCast: TypeCast | undefined): { sql: string; rowsAsArray: true; typeCast?: TypeCast } {
  return { sql, rowsAsArray: true, ...(typeCast ? { typeCast } : {}) };
}

export interface Batch {
  /** `(..),(..)` tuples joined by commas. */
  values: string;
  rows: number;
  bytes: number;
}

/**
 * Stream the rows of one SELECT from a source connection as batches of encoded tuples of at
 * most `maxBytes` bytes (the stream pauses while the consumer writes: backpressure down to TCP).
 */
export async function* streamBatches(conn: Connection, sql: string, o: BatchOptions): AsyncGenerator<Batch> {
  const { encode, maxBytes, signal } = o;
  const sep = o.sep ?? ',';
  const raw = rawConnection(conn);
  const stream = raw.query(rowQuery(sql, o.typeCast)).stream({ highWaterMark: 1000 });
  const onAbort = (): void => {
    stream.destroy();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  // a killed connection does not always end the row stream (e.g. while it is paused): watch the socket
  const socket = (raw as unknown as { stream?: NodeJS.EventEmitter }).stream;
  const onClose = (): void => {
    if (!stream.destroyed)
      stream.destroy(
        Object.assign(new Error('connection lost while reading rows'), {
          code: 'PROTOCOL_CONNECTION_LOST',
          fatal: true,
        }),
      );
  };
  const onConnError = (e: unknown): void => {
    if (!stream.destroyed) stream.destroy(e instanceof Error ? e : new Error(String(e)));
  };
  socket?.once('close', onClose);
  raw.once('error', onConnError);
  let parts: string[] = [];
  let bytes = 0;
  try {
    for await (const row of stream as AsyncIterable<unknown[]>) {
      const t = encode(row);
      parts.push(t);
      bytes += t.length + 1;
      if (bytes >= maxBytes) {
        yield { values: parts.join(sep), rows: parts.length, bytes };
        parts = [];
        bytes = 0;
      }
    }
    signal.throwIfAborted();
    if (parts.length > 0) yield { values: parts.join(sep), rows: parts.length, bytes };
  } finally {
    signal.removeEventListener('abort', onAbort);
    socket?.removeListener('close', onClose);
    raw.removeListener('error', onConnError);
    if (!stream.destroyed) stream.destroy();
  }
}

/** One page of a keyed chunk read: its batch, and the key of its last row (undefined when empty). */
export interface Page<B> {
  batch: B;
  rows: number;
  bytes: number;
  lastKey: BoundValue[] | undefined;
}

/**
 * Reads a keyed chunk in key-ordered pages (`key > last ORDER BY key LIMIT n`, the next page
 * fetched while the previous batch is written; page size adapted so a page is about `maxBytes`):
 * every read is an ordinary query that resolves or fails, also when the connection is killed.
 * `fetch(sql)` runs one page query and encodes it.
 */
export async function* pagedBatches<B>(
  chunk: ChunkDef,
  copyColumns: readonly string[],
  where: string,
  maxBytes: number,
  signal: AbortSignal,
  fetch: (sql: string) => Promise<Page<B>>,
): AsyncGenerator<B> {
  let pageRows = 1000;
  const orderBy = chunk.key.map(quoteId).join(', ');
  const query = (lower: BoundValue[] | null, n: number): Promise<Page<B>> =>
    fetch(`${selectChunkSQL({ ...chunk, lower }, copyColumns, where)} ORDER BY ${orderBy} LIMIT ${n}`);
  let want = pageRows;
  let next: Promise<Page<B>> | undefined = query(chunk.lower, want);
  while (next) {
    const page: Page<B> = await next;
    signal.throwIfAborted();
    if (page.rows < want || !page.lastKey) next = undefined;
    else {
      want = pageRows;
      next = query(page.lastKey, want);
      // a failed prefetch is awaited (and thrown) on the next turn, never left unhandled
      next.catch(() => undefined);
    }
    if (page.rows === 0) break;
    pageRows = Math.max(100, Math.min(20_000, Math.floor((maxBytes * page.rows) / Math.max(1, page.bytes))));
    yield page.batch;
  }
}

/** Whether a chunk is read in key-ordered pages (it has a key, and every key column is copied). */
export function keyIndexes(chunk: ChunkDef, copyColumns: readonly string[]): number[] | undefined {
  const keyIdx = chunk.key.map((k) => copyColumns.indexOf(k));
  return chunk.key.length === 0 || keyIdx.some((i) => i < 0) ? undefined : keyIdx;
}

/**
 * The batches of one chunk: a chunk with a usable key is read in pages (pagedBatches), a chunk
 * without key (the whole table) is streamed.
 */
export async function* chunkBatches(conn: Connection, chunk: ChunkDef, copyColumns: readonly string[], where: string, o: BatchOptions): AsyncGenerator<Batch> {
  const sep = o.sep ?? ',';
  const keyIdx = keyIndexes(chunk, copyColumns);
  if (!keyIdx) {
    yield* streamBatches(conn, selectChunkSQL(chunk, copyColumns, where), o);
    return;
  }
  const encode = o.encode;
  yield* pagedBatches(chunk, copyColumns, where, o.maxBytes, o.signal, async (sql) => {
    const [res] = await conn.query(rowQuery(sql, o.typeCast));
    const rows = res as unknown[][];
    const last = rows[rows.length - 1];
    let bytes = 0;
    const parts = rows.map((r) => {
      const t = encode(r);
      bytes += t.length + 1;
      return t;
    });
    return {
      batch: { values: parts.join(sep), rows: rows.length, bytes },
      rows: rows.length,
      bytes,
      lastKey: last ? keyIdx.map((i) => toBound(last[i])) : undefined,
    };
  });
}
