/**
 * Checks a binlog TABLE_MAP against the structure the schema tracker has for that table, before
 * the tracked structure is used to name (and key) the columns of the rows that follow.
 *
 * Why: without binlog_row_metadata=FULL the binlog carries no column names, only per-column
 * type codes and their metadata (VARCHAR byte length, DECIMAL precision/scale, fractional
 * seconds of temporal types, BIT width, BLOB/TEXT length-prefix size, ENUM/SET real type, and,
 * with MINIMAL metadata, signedness). zongji decodes the VALUES with the binlog's types, but the
 * NAMES come from the tracker: a tracker that is behind (a DDL that was not binlogged, a wrong
 * snapshot, a DDL read wrongly) would put every value under the wrong column. The column count
 * alone does not catch `a INT, b VARCHAR(10)` tracked while the binlog has `b VARCHAR(10), a INT`.
 *
 * What is compared, per column: the type code (several codes where the server may write either:
 * DATETIME/DATETIME2, CHAR as STRING/VAR_STRING, TEXT/BLOB as BLOB, JSON as JSON or LONGBLOB on
 * MariaDB), and every metadata field the type has whose expected value follows from the tracked
 * column type; the byte length of CHAR/VARCHAR needs the column's character set, and is skipped
 * for a character set whose maximum byte length is not in the table below. Types this file does
 * not know (a MariaDB data type plugin such as INET6 or UUID) are checked only for their fixed
 * binary width when that is known, else not at all. With FULL metadata the binlog's column names
 * are compared too (MariaDB sends some FULL tables this way: those with 5.3 "hires" temporals).
 *
 * Pure functions; the reader turns a mismatch into ErrBinlogTableMapMismatch.
 */
import type { TrackedColumn, TrackedTable } from './schema-tracker.js';

/** MySQL wire type codes (mysql's enum_field_types; zongji's Common.MysqlTypes). */
export const T = {
  DECIMAL: 0,
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  TIMESTAMP: 7,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  TIME: 11,
  DATETIME: 12,
  YEAR: 13,
  NEWDATE: 14,
  VARCHAR: 15,
  BIT: 16,
  TIMESTAMP2: 17,
  DATETIME2: 18,
  TIME2: 19,
  BLOB_COMPRESSED: 140,
  VARCHAR_COMPRESSED: 141,
  JSON: 245,
  NEWDECIMAL: 246,
  ENUM: 247,
  SET: 248,
  BLOB: 252,
  VAR_STRING: 253,
  STRING: 254,
  GEOMETRY: 255,
} as const;

const TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(T).map(([k, v]) => [v, k.toLowerCase()]));

/** The parts of zongji's TableMap event this check reads (structural, so tests can build them). */
export interface TableMapInfo {
  columnCount: number;
  /** Type code per column (STRING for ENUM/SET until zongji's updateColumnInfo). */
  columnTypes: number[];
  /** zongji's decoded per-column metadata (`type` holds the real type of ENUM/SET). */
  columnsMetadata: (Record<string, number | undefined> | undefined)[];
  /** Per-column signedness (optional metadata, MINIMAL or FULL); undefined for non-numeric columns. */
  signedness?: (boolean | undefined)[];
  /** Column names (FULL metadata only). */
  columnNames?: string[];
}

/** Maximum bytes per character, for the byte length of CHAR/VARCHAR in the binlog. */
const MBMAXLEN: Record<string, number> = {
  binary: 1,
  latin1: 1,
  latin2: 1,
  latin5: 1,
  latin7: 1,
  ascii: 1,
  cp1250: 1,
  cp1251: 1,
  cp1256: 1,
  cp1257: 1,
  cp850: 1,
  cp852: 1,
  cp866: 1,
  dec8: 1,
  greek: 1,
  hebrew: 1,
  hp8: 1,
  keybcs2: 1,
  koi8r: 1,
  koi8u: 1,
  macce: 1,
  macroman: 1,
  swe7: 1,
  tis620: 1,
  armscii8: 1,
  geostd8: 1,
  utf8: 3,
  utf8mb3: 3,
  utf8mb4: 4,
  ucs2: 2,
  utf16: 4,
  utf16le: 4,
  utf32: 4,
  big5: 2,
  gbk: 2,
  gb2312: 2,
  sjis: 2,
  cp932: 2,
  euckr: 2,
  ujis: 3,
  eucjpms: 3,
  gb18030: 4,
};

const GEOMETRY_TYPES = new Set(['geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection', 'geomcollection']);
const BLOB_SIZES: Record<string, number> = { tinyblob: 1, tinytext: 1, blob: 2, text: 2, mediumblob: 3, mediumtext: 3, longblob: 4, longtext: 4 };
/** MariaDB data type plugins stored as fixed-width binary strings. */
const FIXED_BINARY: Record<string, number> = { inet6: 16, uuid: 16, inet4: 4 };
const NUMERIC = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'decimal', 'numeric', 'float', 'double', 'real']);

/** `(a,b)` arguments of a column type: `decimal(10,2)` → [10, 2]; `enum(...)` is not read here. */
function typeArgs(columnType: string): number[] {
  const m = /^[a-z0-9_ ]+\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)/.exec(columnType);
  if (!m) return [];
  return m[2] !== undefined ? [Number(m[1]), Number(m[2])] : [Number(m[1])];
}

interface Expect {
  codes: number[];
  /** Expected metadata values (a field absent from zongji's metadata is not compared). */
  meta?: Record<string, number>;
}

/** What the binlog should say for a tracked column; undefined = a type this check does not know. */
export function expectedBinlogType(c: TrackedColumn): Expect | undefined {
  const dt = c.dataType.toLowerCase();
  const ct = c.columnType.toLowerCase();
  const args = typeArgs(ct);
  const charLen = (n: number): Record<string, number> | undefined => {
    // a text column whose character set is not known: its byte length cannot be told
    const mb = c.charset === null ? undefined : MBMAXLEN[c.charset.toLowerCase()];
    return mb === undefined ? undefined : { max_length: n * mb };
  };
  switch (dt) {
    case 'tinyint':
    case 'bool':
    case 'boolean':
      return { codes: [T.TINY] };
    case 'smallint':
      return { codes: [T.SHORT] };
    case 'mediumint':
      return { codes: [T.INT24] };
    case 'int':
    case 'integer':
      return { codes: [T.LONG] };
    case 'bigint':
      return { codes: [T.LONGLONG] };
    case 'float':
      // FLOAT(p) with p > 24 is a DOUBLE
      return args.length === 1 && (args[0] ?? 0) > 24 ? { codes: [T.DOUBLE] } : { codes: [T.FLOAT] };
    case 'double':
    case 'real':
      return { codes: [T.DOUBLE] };
    case 'decimal':
    case 'numeric':
    case 'dec':
    case 'fixed':
      return { codes: [T.NEWDECIMAL], meta: { precision: args[0] ?? 10, decimals: args[1] ?? 0 } };
    case 'date':
      return { codes: [T.DATE, T.NEWDATE] };
    case 'time':
      return { codes: [T.TIME2, T.TIME], meta: { decimals: args[0] ?? 0 } };
    case 'datetime':
      return { codes: [T.DATETIME2, T.DATETIME], meta: { decimals: args[0] ?? 0 } };
    case 'timestamp':
      return { codes: [T.TIMESTAMP2, T.TIMESTAMP], meta: { decimals: args[0] ?? 0 } };
    case 'year':
      return { codes: [T.YEAR] };
    case 'bit':
      return { codes: [T.BIT], meta: { bits: args[0] ?? 1 } };
    case 'char':
    case 'binary': {
      const len = dt === 'binary' ? { max_length: args[0] ?? 1 } : charLen(args[0] ?? 1);
      return { codes: [T.STRING, T.VAR_STRING], ...(len ? { meta: len } : {}) };
    }
    case 'varchar':
    case 'varbinary': {
      const len = args[0] === undefined ? undefined : dt === 'varbinary' ? { max_length: args[0] } : charLen(args[0]);
      return { codes: [T.VARCHAR, T.VARCHAR_COMPRESSED, T.VAR_STRING], ...(len ? { meta: len } : {}) };
    }
    case 'enum':
      return { codes: [T.ENUM] };
    case 'set':
      return { codes: [T.SET] };
    case 'json':
      return { codes: [T.JSON, T.BLOB] };
  }
  const blob = BLOB_SIZES[dt];
  if (blob !== undefined) return { codes: [T.BLOB, T.BLOB_COMPRESSED], meta: { length_size: blob } };
  if (GEOMETRY_TYPES.has(dt)) return { codes: [T.GEOMETRY] };
  const fixed = FIXED_BINARY[dt];
  if (fixed !== undefined) return { codes: [T.STRING], meta: { max_length: fixed } };
  return undefined;
}

/** The binlog's description of one column, for messages: `varchar(max_length=40)`, `newdecimal(precision=10,decimals=2)`. */
export function describeBinlogColumn(tm: TableMapInfo, i: number): string {
  const m = tm.columnsMetadata[i];
  const code = effectiveType(tm, i);
  const name = TYPE_NAMES[code] ?? `type ${code}`;
  const fields = m ? Object.entries(m).filter(([k, v]) => k !== 'type' && typeof v === 'number') : [];
  const unsigned = tm.signedness?.[i] === true ? ' unsigned' : '';
  const label = tm.columnNames?.[i] !== undefined ? `${tm.columnNames[i]} ` : '';
  return `${label}${name}${fields.length > 0 ? `(${fields.map(([k, v]) => `${k}=${String(v)}`).join(',')})` : ''}${unsigned}`;
}

function effectiveType(tm: TableMapInfo, i: number): number {
  const mt = tm.columnsMetadata[i]?.['type'];
  return typeof mt === 'number' ? mt : (tm.columnTypes[i] ?? -1);
}

/** `(id int(11), a varchar(10))` */
export function describeTracked(t: TrackedTable): string {
  return `(${t.columns.map((c) => `${c.name} ${c.columnType}`).join(', ')})`;
}

/** `(long, varchar(max_length=40))` */
export function describeBinlog(tm: TableMapInfo): string {
  return `(${Array.from({ length: tm.columnCount }, (_, i) => describeBinlogColumn(tm, i)).join(', ')})`;
}

/**
 * The first difference between the tracked structure and a TABLE_MAP, as a sentence naming the
 * column; undefined when they agree (as far as the binlog tells).
 */
export function tableMapMismatch(t: TrackedTable, tm: TableMapInfo): string | undefined {
  if (t.columns.length !== tm.columnCount) return `the tracked structure has ${t.columns.length} columns, the binlog ${tm.columnCount}`;
  for (let i = 0; i < tm.columnCount; i++) {
    const c = t.columns[i]!;
    const pos = `column ${i + 1} (tracked as ${c.name} ${c.columnType})`;
    const bname = tm.columnNames?.[i];
    if (bname !== undefined && bname.toLowerCase() !== c.name.toLowerCase()) return `${pos} is named ${bname} in the binlog`;
    const want = expectedBinlogType(c);
    if (want === undefined) continue;
    const code = effectiveType(tm, i);
    if (!want.codes.includes(code)) return `${pos} is ${describeBinlogColumn(tm, i)} in the binlog`;
    const meta = tm.columnsMetadata[i] ?? {};
    // MariaDB COMPRESSED columns: their length metadata covers the compression header too
    const compressed = code === T.VARCHAR_COMPRESSED || code === T.BLOB_COMPRESSED;
    for (const [k, v] of Object.entries(compressed ? {} : (want.meta ?? {}))) {
      const got = meta[k];
      // classic (pre-5.6) temporal codes carry no fractional-seconds metadata
      if (typeof got === 'number' && got !== v) return `${pos} is ${describeBinlogColumn(tm, i)} in the binlog (expected ${k}=${v})`;
    }
    const signed = tm.signedness?.[i];
    if (signed !== undefined && NUMERIC.has(c.dataType.toLowerCase()) && signed !== c.unsigned) {
      return `${pos} is ${signed ? 'unsigned' : 'signed'} in the binlog`;
    }
  }
  return undefined;
}
