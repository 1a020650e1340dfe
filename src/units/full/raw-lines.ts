/**
 * LOAD DATA lines straight from the source's result-set packets: every row of the text protocol is
 * a list of length-prefixed byte strings, which are copied into one output buffer as the LOAD DATA
 * escaped format (see tsv-encoder.ts) without ever becoming JavaScript values — no string
 * decoding, no per-field objects, no re-encoding to UTF-8. The bytes are the server's own text of
 * each value (the connection's utf8mb4, its time zone +00:00), i.e. exactly what the value-based
 * encoder writes, for every type; binary columns go as hex, text columns are escaped byte by byte
 * (a UTF-8 multi-byte sequence never contains an ASCII byte, so this is safe).
 *
 * Hooks mysql2's result-set state machine for one query: the Query command's `row` step (called
 * once per row packet) is replaced on that query object only; the EOF packet goes back to mysql2.
 */
import type { Connection } from 'mysql2/promise';
import { rawConnection, chunkBatches, pagedBatches, keyIndexes, type Page } from './row-stream.js';
import { typeCastFor } from '../../sql/index.js';
import type { ChunkDef, BoundValue } from './chunk-plan.js';
import type { ColumnInfo } from './dump-table-info.js';
import { fieldKinds, isBinaryColumn, makeLineEncoder, type FieldKinds } from './tsv-encoder.js';

/** Byte after the backslash for bytes that must be escaped (0 = copy the byte). */
const ESC = new Uint8Array(256);
ESC[0x5c] = 0x5c; // \ -> \\
ESC[0x09] = 0x74; // tab -> \t
ESC[0x0a] = 0x6e; // newline -> \n
ESC[0x0d] = 0x72; // CR -> \r
ESC[0x00] = 0x30; // NUL -> \0
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/** A growable byte buffer of LOAD DATA lines. */
export class LineBuffer {
  buf: Buffer;
  len = 0;
  constructor(size = 64 << 10) {
    this.buf = Buffer.allocUnsafe(size);
  }
  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  /** The bytes written so far (a view: the buffer is not reused). */
  data(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/** Length of the length-encoded string at p: [length, offset of its first byte], length -1 for NULL. */
function lenenc(b: Buffer, p: number): [number, number] {
  const x = b[p] ?? 0;
  if (x < 0xfb) return [x, p + 1];
  if (x === 0xfb) return [-1, p + 1];
  if (x === 0xfc) return [b.readUInt16LE(p + 1), p + 3];
  if (x === 0xfd) return [b.readUIntLE(p + 1, 3), p + 4];
  return [b.readUInt32LE(p + 1) + b.readUInt32LE(p + 5) * 2 ** 32, p + 9];
}

/** Appends one text-protocol row (payload bytes [p, end) of `b`) as one LOAD DATA line. */
export function appendRowLine(out: LineBuffer, b: Buffer, p: number, end: number, kinds: FieldKinds): void {
  const n = kinds.length;
  // worst case: every byte escaped or hex (2x), `\N` for NULLs, separators and newline
  out.reserve(2 * (end - p) + 2 * n + 1);
  const o = out.buf;
  let w = out.len;
  for (let i = 0; i < n; i++) {
    if (i > 0) o[w++] = 0x09;
    const [len, start] = lenenc(b, p);
    if (len < 0) {
      o[w++] = 0x5c;
      o[w++] = 0x4e; // \N
      p = start;
      continue;
    }
    const e = start + len;
    const k = kinds[i];
    if (k === 1) {
      if (len > 32) w += b.copy(o, w, start, e);
      else for (let q = start; q < e; q++) o[w++] = b[q] as number;
    } else if (k === 0) {
      for (let q = start; q < e; q++) {
        const c = b[q] as number;
        const x = ESC[c] as number;
        if (x === 0) o[w++] = c;
        else {
          o[w++] = 0x5c;
          o[w++] = x;
        }
      }
    } else {
      for (let q = start; q < e; q++) {
        const c = b[q] as number;
        o[w++] = HEX[c >> 4] as number;
        o[w++] = HEX[c & 15] as number;
      }
    }
    p = e;
  }
  o[w++] = 0x0a;
  out.len = w;
}

const INT_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'year']);

/**
 * The key values of one row, as the value-based reader gives them to the next page's bound:
 * numbers for the integer types mysql2 returns as numbers, {hex} for binary, text otherwise.
 */
export function rowKey(
  b: Buffer,
  p: number,
  keyIdx: readonly number[],
  columns: readonly Pick<ColumnInfo, 'dataType'>[],
): BoundValue[] {
  const upto = Math.max(...keyIdx);
  const spans: [number, number][] = [];
  for (let i = 0; i <= upto; i++) {
    const [len, start] = lenenc(b, p);
    spans.push([len, start]);
    p = len < 0 ? start : start + len;
  }
  return keyIdx.map((i) => {
    const [len, start] = spans[i] ?? [-1, 0];
    const col = columns[i];
    if (len < 0 || !col) return null;
    if (isBinaryColumn(col)) return { hex: b.toString('hex', start, start + len) };
    const text = b.toString('utf8', start, start + len);
    return INT_TYPES.has(col.dataType) ? Number(text) : text;
  });
}

interface RowPacket {
  buffer: Buffer;
  offset: number;
  end: number;
  isEOF(): boolean;
}
type RowStep = (this: unknown, packet: RowPacket, conn: unknown) => unknown;

/** Runs one SELECT and returns its rows as LOAD DATA lines, and the key of its last row. */
export function queryLines(
  conn: Connection,
  sql: string,
  kinds: FieldKinds,
  key?: { idx: readonly number[]; columns: readonly ColumnInfo[] },
): Promise<Page<Buffer>> {
  return new Promise((resolve, reject) => {
    const out = new LineBuffer();
    let rows = 0;
    let lastBuf: Buffer | undefined;
    let lastOff = 0;
    const q = rawConnection(conn).query({ sql }, (err: Error | null) => {
      if (err) {
        reject(err);
        return;
      }
      const data = out.data();
      resolve({
        batch: data,
        rows,
        bytes: data.length,
        lastKey: key && lastBuf ? rowKey(lastBuf, lastOff, key.idx, key.columns) : undefined,
      });
    }) as unknown as { row: RowStep };
    const mysqlRow = q.row;
    const row: RowStep = function (this: unknown, packet, c) {
      if (packet.isEOF()) return mysqlRow.call(this, packet, c);
      appendRowLine(out, packet.buffer, packet.offset, packet.end, kinds);
      rows++;
      // the packet object is reused by mysql2, its buffer is not: keep the buffer and offset
      lastBuf = packet.buffer;
      lastOff = packet.offset;
      return row;
    };
    q.row = row;
  });
}

/** A batch of LOAD DATA lines. */
export interface LineBatch {
  data: Buffer;
  rows: number;
}

/** Per connection: whether result text arrives as UTF-8 (character_set_results utf8mb4/utf8mb3). */
const utf8Results = new WeakMap<Connection, Promise<boolean>>();

/**
 * The raw path needs the server to send text as UTF-8 (src/sql connects with utf8mb4); a
 * `from.session` that changes character_set_results (or sets it NULL: each column's own
 * charset) makes the chunk go through the value path, which decodes each field by its charset.
 */
function resultsAreUtf8(conn: Connection): Promise<boolean> {
  let p = utf8Results.get(conn);
  if (!p) {
    p = conn.query('SELECT @@session.character_set_results AS cs').then(([r]) => {
      const cs = String((r as { cs: string | null }[])[0]?.cs ?? '').toLowerCase();
      return cs === 'utf8mb4' || cs === 'utf8mb3' || cs === 'utf8';
    });
    utf8Results.set(conn, p);
  }
  return p;
}

/**
 * The LOAD DATA lines of one chunk, in batches of about `maxBytes`: key-ordered pages straight
 * from the packets (queryLines); a chunk without key (a whole table), or a connection whose
 * results are not UTF-8, read and encoded value by value.
 */
export async function* chunkLines(
  conn: Connection,
  chunk: ChunkDef,
  columns: readonly ColumnInfo[],
  copyColumns: readonly string[],
  where: string,
  maxBytes: number,
  signal: AbortSignal,
): AsyncGenerator<LineBatch> {
  const keyIdx = keyIndexes(chunk, copyColumns);
  if (!keyIdx || !(await resultsAreUtf8(conn))) {
    const typeCast = typeCastFor(columns);
    for await (const b of chunkBatches(conn, chunk, copyColumns, where, { encode: makeLineEncoder(columns), maxBytes, signal, sep: '', ...(typeCast ? { typeCast } : {}) }))
      yield { data: Buffer.from(b.values, 'utf8'), rows: b.rows };
    return;
  }
  const kinds = fieldKinds(columns);
  yield* pagedBatches(chunk, copyColumns, where, maxBytes, signal, async (sql) => {
    const page = await queryLines(conn, sql, kinds, { idx: keyIdx, columns });
    return { ...page, batch: { data: page.batch, rows: page.rows } };
  });
}
