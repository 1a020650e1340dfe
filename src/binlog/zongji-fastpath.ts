/**
 * Decoding speedups for @vlasky/zongji 0.9.0, installed on its classes' prototypes at runtime
 * (the package is used unmodified; its internal modules are loaded by file URL because its
 * `exports` map only exposes the entry point). Measured with test/bench/binlog-read.ts: these
 * are the hot spots of a one-row-per-statement (OLTP) binlog once our own per-event overhead
 * is gone. Every patch keeps zongji's results identical except where noted, and those that
 * change behaviour apply only to ZongJi instances marked with `enableFastpath(zj)`:
 *
 * - rows as arrays (marked instances only): `rows[i]` are arrays in column order instead of
 *   objects keyed by column name; the reader consumes them as they are, instead of building a
 *   keyed object and then an array from it. Of an UpdateRows event, `rows[i]` is the after
 *   image and `beforeImagesOf(ev)[i]` the before image (no `{ before, after }` object per row).
 * - TABLE_MAP memo (marked instances only): MariaDB and MySQL write a TableMap before every
 *   rows event, and with binlog_row_metadata=FULL zongji parses the column names, charsets,
 *   keys… and rebuilds its column schemas each time. When a TableMap's bytes (table id to the
 *   end) equal the previous one of that table id, the optional-metadata fields and the column
 *   schemas of the previous parse are reused (shared, read-only).
 * - packet paths (marked instances, network transport: the Binlog command class zongji builds
 *   at start() gets its `binlogData` wrapped when zongji emits 'ready'): a TABLE_MAP packet
 *   identical to the last one of its table id is delivered without being parsed again (see
 *   "The TableMap packet fast path" below), and WRITE/UPDATE/DELETE_ROWS packets are built by
 *   zongji's own event classes without the packet wrapper around them (`rowsEvent`). Every
 *   other packet goes through zongji's `binlogData` as before.
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
/** Property of an UpdateRows event (marked instances): the before images, parallel to `rows` (the after images). */
const BEFORE = '__dmBefore';

/**
 * The before images of an UpdateRows event decoded on a marked instance (its `rows` are then
 * the after images, as arrays), or undefined (zongji's `{ before, after }` rows).
 */
export function beforeImagesOf(ev: object): unknown[][] | undefined {
  return (ev as RowsEventLike)[BEFORE];
}

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
  [BEFORE]?: unknown[][];
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

/** Set by install(): puts the TableMap packet fast path on a started instance's packet class. */
let patchPacketClass: ((zj: ZongjiLike) => void) | undefined;

/** Mark a ZongJi instance for the array-rows and TableMap-cache paths (call before start()). */
export function enableFastpath(zj: object): void {
  (zj as Record<string, unknown>)[FLAG] = true;
  const patch = patchPacketClass;
  // zongji builds its Binlog command class in start(), right before it emits 'ready' and
  // enqueues the command: its packet method is patched then
  if (patch !== undefined) (zj as { on(ev: string, f: () => void): void }).on('ready', () => patch(zj as ZongjiLike));
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
    // the null bitmap read in place (zongji slices it into a new Buffer per row)
    const b = parser._buffer;
    const nullsAt = parser._offset;
    parser._offset = nullsAt + ((present + 7) >> 3);
    const cols = tm.columns;
    const schemas = tm.columnSchemas;
    const n = cols.length;
    const kinds = kindsOf(cols, schemas);
    const out = new Array<unknown>(n);
    for (let i = 0, nb = 0; i < n; i++) {
      if ((bitmap[i >> 3]! & (1 << (i & 7))) === 0) {
        out[i] = null;
        continue;
      }
      const isNull = (b[nullsAt + (nb >> 3)]! & (1 << (nb & 7))) !== 0;
      nb++;
      if (isNull) out[i] = null;
      else {
        const k = kinds[i]!;
        out[i] = k === K_OTHER ? readMysqlValue.call(common, parser, cols[i], schemas[i], tm, zongji) : readFast(parser, k);
      }
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
    // rows[i] is the after image, the before images go to a parallel array (no object per row)
    const bs = this[BEFORE];
    if (bs === undefined) this[BEFORE] = [before];
    else bs.push(before);
    return after;
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
    if (memo && from >= 0 && from <= start && memo.bytes.length === end - from && sameBytes(memo.bytes, b, from)) {
      const f = memo.fields;
      // plain stores (a loop over OPT_FIELDS would make every one a keyed store)
      this['signedness'] = f['signedness'];
      this['columnNames'] = f['columnNames'];
      this['_enumSetValues'] = f['_enumSetValues'];
      this['primaryKey'] = f['primaryKey'];
      this['geometryTypes'] = f['geometryTypes'];
      this['columnVisibility'] = f['columnVisibility'];
      this['_columnCharsetIds'] = f['_columnCharsetIds'];
      this[MEMO] = memo;
      parser._offset = end;
      parsedTableMap(this);
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
      parsedTableMap(this);
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

  const rowsClasses = rows as { WriteRows?: RowsCtor; UpdateRows?: RowsCtor; DeleteRows?: RowsCtor };
  const ParserClass = reader.Parser as unknown as (new (packet: PacketLike) => ParserLike) | undefined;
  const rowsBy = new Map<number, { cls: RowsCtor; name: string }>();
  if (rowsClasses.WriteRows && rowsClasses.UpdateRows && rowsClasses.DeleteRows) {
    for (const [code, cls, name] of [
      [23, rowsClasses.WriteRows, 'writerows'],
      [24, rowsClasses.UpdateRows, 'updaterows'],
      [25, rowsClasses.DeleteRows, 'deleterows'],
      [30, rowsClasses.WriteRows, 'writerows'],
      [31, rowsClasses.UpdateRows, 'updaterows'],
      [32, rowsClasses.DeleteRows, 'deleterows'],
    ] as const) {
      rowsBy.set(code, { cls, name });
    }
  }
  patchPacketClass = (zj) => patchBinlogData(zj, tmProto, ParserClass, rowsBy);

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

/**
 * The TableMap packet fast path (marked instances): MariaDB and MySQL write a TableMap before
 * every rows event, identical for every statement on the table until a DDL or a new table id.
 * zongji handles each one as a whole event: a Parser, a BinlogPacket and its generator, the
 * TableMap's names, types and metadata parsed, and (with FULL metadata) the table map entry
 * rebuilt with a new column array. Here a TABLE_MAP packet whose bytes (table id to the end)
 * equal those of the last one of that table id, while zongji's table map entry is still the one
 * that TableMap left, is delivered without any of that: the same as zongji's `binlogData` and
 * `binlogHandler` do for it (the resume position frozen, no position update, the entry kept:
 * zongji would rebuild an equal one, or keep it without FULL metadata; the current GTID
 * attached), with an event that carries the previous one's parsed fields (after zongji's
 * updateColumnInfo) and this packet's timestamp, next position and size.
 *
 * Anything else (another event type, a first or changed TableMap, an entry that was dropped or
 * replaced, a filtered table, an instance not current, a lookup still pending) goes through
 * zongji's own path, which records the fast path's memo when it delivered the TableMap with an
 * entry that matches it.
 */
interface ZongjiLike {
  BinlogClass?: { prototype: Record<string, unknown> };
  tableMap: Record<number, { parentSchema: string; tableName: string; columns?: unknown[] } | undefined>;
  stopped: boolean;
  connection: unknown;
  useChecksum: boolean;
  _positionFrozen: boolean;
  _currentGtid: unknown;
  _skipEvent(name: string): boolean;
  emit(ev: string, arg: unknown): boolean;
}
interface PacketLike {
  buffer: Buffer;
  offset: number;
  end: number;
}
interface FastTableMap {
  /** the packet's bytes from the table id to the end of the event (checksum excluded) */
  bytes: Buffer;
  /** zongji's table map entry the TableMap left */
  entry: object;
  /** the parsed event's own fields (gtid excluded) */
  fields: Record<string, unknown>;
}

/** TABLE_MAP and rows packets delivered by the fast paths in this process (tests check that they run). */
let tableMapHits = 0;
let rowsEvents = 0;
export function zongjiFastpathStats(): { tableMapHits: number; rowsEvents: number } {
  return { tableMapHits, rowsEvents };
}

/** The last TableMap event parsed on a marked instance (set by _readOptionalMetadata). */
let lastTableMap: TableMapLike | undefined;
function parsedTableMap(ev: TableMapLike): void {
  lastTableMap = ev;
}
const TABLE_MAP_EVENT = 19;
/** binlog event header after the OK marker: timestamp 4, type 1, server id 4, length 4, next position 4, flags 2 */
const EVENT_HEADER = 19;
const PATCHED = '__dmFastTableMap';
/** A TableMap event's fields in zongji 0.9.0 (with the memo and the GTID zongji attaches). */
const FAST_FIELDS = new Set(['timestamp', 'nextPosition', 'size', 'tableMap', 'tableId', 'flags', 'schemaName', 'tableName', 'columnCount', 'columnTypes', 'columnsMetadata', ...OPT_FIELDS, MEMO, 'gtid']);

type RowsCtor = new (parser: ParserLike, options: Record<string, unknown>, zongji: unknown) => Record<string, unknown>;

function patchBinlogData(zj: ZongjiLike, tmProto: object, ParserClass: (new (packet: PacketLike) => ParserLike) | undefined, rowsBy: ReadonlyMap<number, { cls: RowsCtor; name: string }>): void {
  const proto = zj.BinlogClass?.prototype;
  if (proto === undefined || proto[PATCHED] === true) return;
  const orig = proto['binlogData'] as ((this: unknown, packet: PacketLike, connection: unknown) => unknown) | undefined;
  if (typeof orig !== 'function') return;
  const fast = new Map<number, FastTableMap>();
  // the events of hits: zongji's TableMap prototype, its fields (0.9.0's) set in one order
  const FastEvent = function (this: Record<string, unknown>, f: Record<string, unknown>, timestamp: number, nextPosition: number, size: number, gtid: unknown): void {
    this['timestamp'] = timestamp;
    this['nextPosition'] = nextPosition;
    this['size'] = size;
    this['tableMap'] = f['tableMap'];
    this['tableId'] = f['tableId'];
    this['flags'] = f['flags'];
    this['schemaName'] = f['schemaName'];
    this['tableName'] = f['tableName'];
    this['columnCount'] = f['columnCount'];
    this['columnTypes'] = f['columnTypes'];
    this['columnsMetadata'] = f['columnsMetadata'];
    this['signedness'] = f['signedness'];
    this['columnNames'] = f['columnNames'];
    this['_enumSetValues'] = f['_enumSetValues'];
    this['primaryKey'] = f['primaryKey'];
    this['geometryTypes'] = f['geometryTypes'];
    this['columnVisibility'] = f['columnVisibility'];
    this['_columnCharsetIds'] = f['_columnCharsetIds'];
    this[MEMO] = f[MEMO];
    this['gtid'] = gtid;
  } as unknown as { new (f: Record<string, unknown>, timestamp: number, nextPosition: number, size: number, gtid: unknown): TableMapLike; prototype: object };
  FastEvent.prototype = tmProto;
  /** the fields FastEvent copies, when the event has no others (else no fast path for it) */
  const fieldsOf = (ev: TableMapLike): Record<string, unknown> | undefined => {
    const f: Record<string, unknown> = {};
    for (const k of Object.keys(ev)) {
      if (k !== 'gtid' && !FAST_FIELDS.has(k)) return undefined;
      f[k] = ev[k];
    }
    return f;
  };
  const binlogData = function (this: { _callback?: unknown }, packet: PacketLike, connection: unknown): unknown {
    const b = packet.buffer;
    const at = packet.offset;
    // b[at] is the OK marker (0: not EOF, not an error); b[at + 5] the event type
    if (b[at] !== 0 || zj.stopped || zj.connection !== connection || this._callback === undefined || packet.end - at < 1 + EVENT_HEADER + 6) {
      return orig.call(this, packet, connection);
    }
    const type = b[at + 5]!;
    if (type !== TABLE_MAP_EVENT) {
      const rowsClass = ParserClass === undefined ? undefined : rowsBy.get(type);
      if (rowsClass === undefined || zj._skipEvent(rowsClass.name)) return orig.call(this, packet, connection);
      // a rows event: zongji's own event class, without the packet wrapper around it (see rowsEvent)
      rowsEvent(zj, ParserClass!, rowsClass.cls, packet, type);
      return proto['binlogData'];
    }
    const from = at + 1 + EVENT_HEADER;
    const end = packet.end - (zj.useChecksum ? 4 : 0);
    const tableId = b[from]! + b[from + 1]! * 0x100 + b[from + 2]! * 0x10000 + b[from + 3]! * 0x1000000 + (b[from + 4]! + b[from + 5]! * 0x100) * 0x100000000;
    const f = fast.get(tableId);
    if (f !== undefined && f.bytes.length === end - from && zj.tableMap[tableId] === f.entry && !zj._skipEvent('tablemap') && sameBytes(f.bytes, b, from)) {
      const len = b[at + 10]! + b[at + 11]! * 0x100 + b[at + 12]! * 0x10000 + b[at + 13]! * 0x1000000;
      const ev = new FastEvent(
        f.fields,
        (b[at + 1]! + b[at + 2]! * 0x100 + b[at + 3]! * 0x10000 + b[at + 4]! * 0x1000000) * 1000,
        b[at + 14]! + b[at + 15]! * 0x100 + b[at + 16]! * 0x10000 + b[at + 17]! * 0x1000000,
        len - EVENT_HEADER - (zj.useChecksum ? 4 : 0),
        zj._currentGtid,
      );
      zj._positionFrozen = true;
      tableMapHits++;
      zj.emit('binlog', ev);
      return proto['binlogData'];
    }
    lastTableMap = undefined;
    const r = orig.call(this, packet, connection);
    const ev = lastTableMap as TableMapLike | undefined;
    lastTableMap = undefined;
    // delivered by zongji just now with an entry that matches it (not filtered, no lookup pending)
    const entry = zj.tableMap[tableId];
    const fields = ev !== undefined && ev.tableId === tableId && entry !== undefined && entry.parentSchema === ev['schemaName'] && entry.tableName === ev['tableName'] && entry.columns?.length === ev['columnCount'] && end > from ? fieldsOf(ev) : undefined;
    if (fields !== undefined) {
      if (fast.size >= TM_CACHE_MAX) fast.clear();
      fast.set(tableId, { bytes: Buffer.from(b.subarray(from, end)), entry: entry!, fields });
    } else fast.delete(tableId);
    return r;
  };
  proto['binlogData'] = binlogData;
  proto[PATCHED] = true;
}

/**
 * A WRITE/UPDATE/DELETE_ROWS packet (not compressed, on a current marked instance, its event type
 * not excluded): what zongji 0.9.0's `binlogData` and `binlogHandler` do for it, without the
 * BinlogPacket, its generator, the event class lookup and the event name strings. The event is
 * built by zongji's own class from a Parser at the event body, with the options its BinlogPacket
 * would pass; a parse error is emitted as zongji's handler does; a filtered event (its TableMap was
 * filtered) is dropped; the resume position advances as zongji's handler advances it; the current
 * GTID is attached.
 */
function rowsEvent(zj: ZongjiLike, ParserClass: new (packet: PacketLike) => ParserLike, cls: RowsCtor, packet: PacketLike, type: number): void {
  const b = packet.buffer;
  const at = packet.offset;
  const len = b[at + 10]! + b[at + 11]! * 0x100 + b[at + 12]! * 0x10000 + b[at + 13]! * 0x1000000;
  const nextPosition = b[at + 14]! + b[at + 15]! * 0x100 + b[at + 16]! * 0x10000 + b[at + 17]! * 0x1000000;
  const options = {
    timestamp: (b[at + 1]! + b[at + 2]! * 0x100 + b[at + 3]! * 0x10000 + b[at + 4]! * 0x1000000) * 1000,
    nextPosition,
    size: len - EVENT_HEADER - (zj.useChecksum ? 4 : 0),
    eventType: type,
    serverId: b[at + 6]! + b[at + 7]! * 0x100 + b[at + 8]! * 0x10000 + b[at + 9]! * 0x1000000,
  };
  const parser = new ParserClass(packet);
  parser._offset = at + 1 + EVENT_HEADER;
  let ev: Record<string, unknown>;
  try {
    ev = new cls(parser, options, zj);
  } catch (err) {
    zj.emit('error', err);
    return;
  }
  if (ev['_filtered'] === true) return;
  if (!zj._positionFrozen && nextPosition > 0) (zj as unknown as { options: { position: number } }).options.position = nextPosition;
  ev['gtid'] = zj._currentGtid;
  rowsEvents++;
  zj.emit('binlog', ev);
}

/** `a` equals `b` from `at` on for a.length bytes (short TableMaps: a loop beats Buffer#compare's call). */
function sameBytes(a: Buffer, b: Buffer, at: number): boolean {
  const n = a.length;
  if (n > 256) return b.compare(a, 0, n, at, at + n) === 0;
  for (let i = 0; i < n; i++) if (a[i] !== b[at + i]) return false;
  return true;
}

function popcount(x: number): number {
  x = x - ((x >> 1) & 0x55);
  x = (x & 0x33) + ((x >> 2) & 0x33);
  return (x + (x >> 4)) & 0x0f;
}

/**
 * Column kinds decoded in place by readFast(), with exactly zongji's results (common.js
 * readMysqlValue): 1/2/4-byte integers (parseAnyInt: signedness from UNSIGNED, else from
 * COLUMN_TYPE), and CHAR/VARCHAR text in a UTF-8 charset (decodeTextColumn's utf8 branch) that
 * is none of MariaDB's logical types (uuid, inet4, inet6, vector) nor binary/varbinary. Every
 * other column goes through zongji's readMysqlValue.
 */
const K_OTHER = 0;
const K_U8 = 1;
const K_I8 = 2;
const K_U16 = 3;
const K_I16 = 4;
const K_U32 = 5;
const K_I32 = 6;
/** text with a 1-byte / 2-byte length prefix */
const K_TEXT1 = 7;
const K_TEXT2 = 8;

const T_TINY = 1;
const T_SHORT = 2;
const T_LONG = 3;
const T_VARCHAR = 15;
const T_STRING = 254;
/** Charsets zongji decodes with Buffer#toString('utf8') (its ICONV_CHARSET_OVERRIDES and default). */
const UTF8_CHARSETS = new Set(['utf8', 'utf8mb3', 'utf8mb4']);

interface ColumnFull {
  type: number;
  charset?: string | null;
  metadata?: Record<string, unknown> | null;
}
interface SchemaFull {
  COLUMN_TYPE?: string;
  UNSIGNED?: boolean;
}

/**
 * The kinds of a table map's columns, cached per column-schema array: the TableMap memo shares
 * that array between identical TableMaps, while zongji builds a new `columns` array at every
 * TableMap (one per statement). The columns' type, charset and length are checked against the
 * cached ones whenever the array differs from the last one seen (a few comparisons per event).
 */
interface KindEntry {
  cols: ColumnLike[];
  types: number[];
  charsets: unknown[];
  maxLens: unknown[];
  kinds: Uint8Array;
}
const kindCache = new WeakMap<object, KindEntry>();

function kindsOf(cols: ColumnLike[], schemas: unknown[]): Uint8Array {
  const e = kindCache.get(schemas);
  if (e !== undefined) {
    if (e.cols === cols) return e.kinds;
    if (sameColumns(e, cols)) {
      e.cols = cols;
      return e.kinds;
    }
  }
  const n = cols.length;
  const kinds = new Uint8Array(n);
  const types = new Array<number>(n);
  const charsets = new Array<unknown>(n);
  const maxLens = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    const c = cols[i] as ColumnFull;
    kinds[i] = kindOf(c, schemas[i] as SchemaFull | undefined);
    types[i] = c.type;
    charsets[i] = c.charset;
    maxLens[i] = c.metadata?.['max_length'];
  }
  kindCache.set(schemas, { cols, types, charsets, maxLens, kinds });
  return kinds;
}

function sameColumns(e: KindEntry, cols: ColumnLike[]): boolean {
  const n = cols.length;
  if (n !== e.types.length) return false;
  for (let i = 0; i < n; i++) {
    const c = cols[i] as ColumnFull;
    if (c.type !== e.types[i] || c.charset !== e.charsets[i] || c.metadata?.['max_length'] !== e.maxLens[i]) return false;
  }
  return true;
}

function kindOf(c: ColumnFull, cs: SchemaFull | undefined): number {
  if (cs === undefined || typeof cs.COLUMN_TYPE !== 'string') return K_OTHER;
  const def = cs.COLUMN_TYPE;
  switch (c.type) {
    case T_TINY:
    case T_SHORT:
    case T_LONG: {
      const unsigned = cs.UNSIGNED !== undefined ? cs.UNSIGNED : def.indexOf('unsigned') !== -1;
      if (c.type === T_TINY) return unsigned ? K_U8 : K_I8;
      if (c.type === T_SHORT) return unsigned ? K_U16 : K_I16;
      return unsigned ? K_U32 : K_I32;
    }
    case T_VARCHAR:
    case T_STRING: {
      const prefix = def.substr(0, 6);
      if (def === 'uuid' || def === 'inet4' || def === 'inet6' || prefix === 'vector' || prefix === 'binary' || prefix === 'varbin') return K_OTHER;
      const charset = c.charset;
      if (charset !== null && charset !== undefined && charset !== '' && !UTF8_CHARSETS.has(charset)) return K_OTHER;
      const max = c.metadata?.['max_length'];
      if (typeof max !== 'number') return K_OTHER;
      return max > 255 ? K_TEXT2 : K_TEXT1;
    }
    default:
      return K_OTHER;
  }
}

/** A value of a kind other than K_OTHER, read at the parser's offset (zongji's arithmetic, see kindOf). */
function readFast(parser: ParserLike, kind: number): unknown {
  const b = parser._buffer;
  const off = parser._offset;
  switch (kind) {
    case K_U8:
    case K_I8: {
      parser._offset = off + 1;
      const r = b[off]!;
      return kind === K_I8 && r & (1 << 7) ? (r ^ 0xff) * -1 - 1 : r;
    }
    case K_U16:
    case K_I16: {
      parser._offset = off + 2;
      const r = b[off]! | (b[off + 1]! << 8);
      return kind === K_I16 && r & (1 << 15) ? (r ^ 0xffff) * -1 - 1 : r;
    }
    case K_U32:
    case K_I32: {
      parser._offset = off + 4;
      const r = (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16)) + b[off + 3]! * 0x1000000;
      return kind === K_I32 && r & (1 << 31) ? (r ^ 0xffffffff) * -1 - 1 : r;
    }
    case K_TEXT1: {
      const size = b[off]!;
      parser._offset = off + 1 + size;
      return b.toString('utf8', off + 1, off + 1 + size);
    }
    default: {
      const size = b[off]! | (b[off + 1]! << 8);
      parser._offset = off + 2 + size;
      return b.toString('utf8', off + 2, off + 2 + size);
    }
  }
}
