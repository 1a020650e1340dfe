/**
 * Decoding speedups for @vlasky/zongji 0.9.0, installed on its classes' prototypes at runtime
 * (the package is used unmodified; its internal modules are loaded by file URL because its
 * `exports` map only exposes the entry point). Measured with test/bench/binlog-read.ts: these
 * are the hot spots of a one-row-per-statement (OLTP) binlog once our own per-event overhead
 * is gone. Every patch keeps zongji's results identical except where noted, and the two that
 * change behaviour apply only to ZongJi instances marked with `enableFastpath(zj)`:
 *
 * - rows as arrays (marked instances only): `rows[i]` (and `before`/`after` of updates) are
 *   arrays in column order instead of objects keyed by column name; the reader consumes them
 *   as they are, instead of building a keyed object and then an array from it.
 * - TABLE_MAP memo (marked instances only): MariaDB and MySQL write a TableMap before every
 *   rows event, and with binlog_row_metadata=FULL zongji parses the column names, charsets,
 *   keys… and rebuilds its column schemas each time. When a TableMap's bytes (table id to the
 *   end) equal the previous one of that table id, the optional-metadata fields and the column
 *   schemas of the previous parse are reused (shared, read-only).
 * - `Parser.parseUnsignedNumber` (all instances, same results): 1/2/3/4-byte reads use
 *   direct indexed reads instead of Buffer#readUIntLE.
 *
 * Installed once per process by `installZongjiFastpath()`; when the zongji version is not the
 * one these patches were written against, or anything is missing, nothing is patched and the
 * reader works as before (the unmarked path).
 */
import { readFileSync } from 'node:fs';

const SUPPORTED_VERSION = '0.9.0';
/** Property set on a ZongJi instance to opt it in. */
const FLAG = '__dmFastpath';
const TM_CACHE_MAX = 4096;
/** Property of a TableMap event that reused (or recorded) a memo. */
const MEMO = '__dmMemo';

interface TableMapMemo {
  bytes: Buffer;
  fields: Record<string, unknown>;
  schemas: unknown;
}

type Fn = (this: unknown, ...args: unknown[]) => unknown;
interface ParserLike {
  _buffer: Buffer;
  _offset: number;
  _packetEnd: number;
  parseBuffer(n: number): Buffer;
}
interface ColumnLike {
  type: number;
}
interface TableMapEntry {
  columns: ColumnLike[];
  columnSchemas: unknown[];
}
interface RowsEventLike {
  _zongji: Record<string, unknown> | undefined;
  tableMap: Record<number, TableMapEntry>;
  tableId: number;
  columns_present_bitmap: Buffer;
  columns_present_bitmap2: Buffer;
}
interface TableMapLike {
  tableId: number;
  /** post-header + body length (checksum excluded) */
  size: number;
  [k: string]: unknown;
}

/** Fields `_readOptionalMetadata` sets on a TableMap event. */
const OPT_FIELDS = ['signedness', 'columnNames', '_enumSetValues', 'primaryKey', 'geometryTypes', 'columnVisibility', '_columnCharsetIds'] as const;

let installing: Promise<boolean> | undefined;

/** Mark a ZongJi instance for the array-rows and TableMap-cache paths (call before start()). */
export function enableFastpath(zj: object): void {
  (zj as Record<string, unknown>)[FLAG] = true;
}

/** Patch zongji once per process; resolves to whether the fast path is available. */
export function installZongjiFastpath(): Promise<boolean> {
  installing ??= install().catch(() => false);
  return installing;
}

async function install(): Promise<boolean> {
  const base = import.meta.resolve('@vlasky/zongji');
  const pkg = JSON.parse(readFileSync(new URL('./package.json', base), 'utf8')) as { version?: string };
  if (pkg.version !== SUPPORTED_VERSION) return false;
  const common = (await import(new URL('./lib/common.js', base).href)) as { readMysqlValue?: Fn };
  const rows = (await import(new URL('./lib/rows_event.js', base).href)) as { WriteRows?: { prototype: object }; UpdateRows?: { prototype: object } };
  const events = (await import(new URL('./lib/binlog_event.js', base).href)) as { TableMap?: { prototype: object } };
  const reader = (await import(new URL('./lib/reader.js', base).href)) as { Parser?: { prototype: object } };
  const readMysqlValue = common.readMysqlValue;
  const rowsProto = rows.WriteRows ? (Object.getPrototypeOf(rows.WriteRows.prototype) as Record<string, Fn>) : undefined;
  const updateProto = rows.UpdateRows?.prototype as Record<string, Fn> | undefined;
  const tmProto = events.TableMap?.prototype as Record<string, Fn> | undefined;
  const parserProto = reader.Parser?.prototype as Record<string, Fn> | undefined;
  if (!readMysqlValue || !rowsProto || !updateProto || !tmProto || !parserProto) return false;
  const origFetch = rowsProto['_fetchOneRow'];
  const origFetchUpdate = updateProto['_fetchOneRow'];
  const origOpt = tmProto['_readOptionalMetadata'];
  const origSchemas = tmProto['buildColumnSchemas'];
  const origUnsigned = parserProto['parseUnsignedNumber'];
  if (!origFetch || !origFetchUpdate || !origOpt || !origSchemas || !origUnsigned) return false;

  /** zongji's readRow, producing an array in column order. */
  const readRowArray = (parser: ParserLike, tm: TableMapEntry, bitmap: Buffer, zongji: unknown): unknown[] => {
    let present = 0;
    for (let i = 0; i < bitmap.length; i++) present += popcount(bitmap[i]!);
    const nulls = parser.parseBuffer((present + 7) >> 3);
    const cols = tm.columns;
    const schemas = tm.columnSchemas;
    const n = cols.length;
    const out = new Array<unknown>(n);
    for (let i = 0, nb = 0; i < n; i++) {
      if ((bitmap[i >> 3]! & (1 << (i & 7))) === 0) {
        out[i] = null;
        continue;
      }
      out[i] = (nulls[nb >> 3]! & (1 << (nb & 7))) !== 0 ? null : readMysqlValue.call(common, parser, cols[i], schemas[i], tm, zongji);
      nb++;
    }
    return out;
  };

  rowsProto['_fetchOneRow'] = function (this: RowsEventLike, parser: ParserLike): unknown {
    if (this._zongji?.[FLAG] !== true) return origFetch.call(this, parser);
    return readRowArray(parser, this.tableMap[this.tableId]!, this.columns_present_bitmap, this._zongji);
  } as Fn;
  updateProto['_fetchOneRow'] = function (this: RowsEventLike, parser: ParserLike): unknown {
    if (this._zongji?.[FLAG] !== true) return origFetchUpdate.call(this, parser);
    const tm = this.tableMap[this.tableId]!;
    const before = readRowArray(parser, tm, this.columns_present_bitmap, this._zongji);
    const after = readRowArray(parser, tm, this.columns_present_bitmap2, this._zongji);
    return { before, after };
  } as Fn;

  // per table id: the last TableMap's bytes (table id to end: names, types, metadata, optional
  // metadata) and what zongji parsed from them; an identical TableMap reuses both
  const tmCache = new Map<number, TableMapMemo>();
  tmProto['_readOptionalMetadata'] = function (this: TableMapLike, parser: ParserLike, zongji: Record<string, unknown> | undefined): unknown {
    if (zongji?.[FLAG] !== true) return origOpt.call(this, parser, zongji);
    const start = parser._offset;
    const end = parser._packetEnd - (zongji['useChecksum'] ? 4 : 0);
    const from = end - this.size;
    const b = parser._buffer;
    const memo = tmCache.get(this.tableId);
    if (memo && from >= 0 && from <= start && memo.bytes.length === end - from && b.compare(memo.bytes, 0, memo.bytes.length, from, end) === 0) {
      for (const f of OPT_FIELDS) this[f] = memo.fields[f];
      this[MEMO] = memo;
      parser._offset = end;
      return undefined;
    }
    const r = origOpt.call(this, parser, zongji);
    if (from >= 0 && from <= start && parser._offset === end) {
      const fields: Record<string, unknown> = {};
      for (const f of OPT_FIELDS) fields[f] = this[f];
      const m: TableMapMemo = { bytes: Buffer.from(b.subarray(from, end)), fields, schemas: undefined };
      if (tmCache.size >= TM_CACHE_MAX) tmCache.clear();
      tmCache.set(this.tableId, m);
      this[MEMO] = m;
    }
    return r;
  } as Fn;
  tmProto['buildColumnSchemas'] = function (this: TableMapLike): unknown {
    const m = this[MEMO] as TableMapMemo | undefined;
    if (m === undefined) return origSchemas.call(this);
    // shared by the table map entries of identical TableMaps: zongji only re-sets UNSIGNED on them
    m.schemas ??= origSchemas.call(this);
    return m.schemas;
  } as Fn;

  parserProto['parseUnsignedNumber'] = function (this: ParserLike, bytes: number): unknown {
    const off = this._offset;
    const b = this._buffer;
    if (off + bytes <= b.length) {
      switch (bytes) {
        case 1:
          this._offset = off + 1;
          return b[off];
        case 2:
          this._offset = off + 2;
          return b[off]! | (b[off + 1]! << 8);
        case 3:
          this._offset = off + 3;
          return b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16);
        case 4:
          this._offset = off + 4;
          return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16)) + b[off + 3]! * 0x1000000;
      }
    }
    return origUnsigned.call(this, bytes);
  } as Fn;
  return true;
}

function popcount(x: number): number {
  x = x - ((x >> 1) & 0x55);
  x = (x & 0x33) + ((x >> 2) & 0x33);
  return (x + (x >> 4)) & 0x0f;
}
