/**
 * The session a statement ran under upstream, read from a QUERY event's status variables
 * (`sql_mode`, `time_zone`, the microseconds of the statement's time), so that a DDL can be
 * applied on the target as the source ran it (DM parses each DDL with the event's `sql_mode`).
 *
 * @vlasky/zongji decodes the status-variable block of a Query event as a UTF-8 string (lossy for
 * the binary fields), so `installQueryStatusCapture()` keeps the raw bytes: zongji's
 * `Parser#parseString` remembers the last buffer it decoded and an accessor on `Query.prototype`
 * stores a copy of it, when its length is the block's, as `statusVarsRaw` on the event. The
 * package is used unmodified; nothing is patched when its classes are not as expected (events then
 * carry no session and DDL runs under DM.ts's own session).
 *
 * Layout (MySQL log_event.h / MariaDB log_event.h): a sequence of (1-byte code, value); values
 * have a fixed layout per code, and writers emit codes in ascending order, so the first unknown
 * code ends the parse (as the servers' own readers do).
 */
import type { Flavor } from './position.js';

/** What a Query event says about the session of its statement (absent fields were not written). */
export interface QuerySession {
  /** `sql_mode` as the source names it (comma list in bit order), '' when no mode bit is set. */
  sqlMode?: string;
  /** Session `time_zone` when the statement used it (a name or an offset such as `+02:00`). */
  timeZone?: string;
  /** Microseconds of the statement's start time (MariaDB Q_HRNOW, MySQL Q_MICROSECONDS). */
  micros?: number;
}

/** Bit i → name, common to MySQL and MariaDB for bits 0–31 (bit 4 differs: see flavor tables). */
const COMMON_MODES = [
  'REAL_AS_FLOAT', 'PIPES_AS_CONCAT', 'ANSI_QUOTES', 'IGNORE_SPACE', '', 'ONLY_FULL_GROUP_BY', 'NO_UNSIGNED_SUBTRACTION',
  'NO_DIR_IN_CREATE', 'POSTGRESQL', 'ORACLE', 'MSSQL', 'DB2', 'MAXDB', 'NO_KEY_OPTIONS', 'NO_TABLE_OPTIONS',
  'NO_FIELD_OPTIONS', 'MYSQL323', 'MYSQL40', 'ANSI', 'NO_AUTO_VALUE_ON_ZERO', 'NO_BACKSLASH_ESCAPES', 'STRICT_TRANS_TABLES',
  'STRICT_ALL_TABLES', 'NO_ZERO_IN_DATE', 'NO_ZERO_DATE', 'ALLOW_INVALID_DATES', 'ERROR_FOR_DIVISION_BY_ZERO', 'TRADITIONAL',
  'NO_AUTO_CREATE_USER', 'HIGH_NOT_PRECEDENCE', 'NO_ENGINE_SUBSTITUTION', 'PAD_CHAR_TO_FULL_LENGTH',
] as const;
const MARIADB_MODES: readonly string[] = [...COMMON_MODES.map((m, i): string => (i === 4 ? 'IGNORE_BAD_TABLE_OPTIONS' : m)), 'EMPTY_STRING_IS_NULL', 'SIMULTANEOUS_ASSIGNMENT', 'TIME_ROUND_FRACTIONAL'];
const MYSQL_MODES: readonly string[] = [...COMMON_MODES, 'TIME_TRUNCATE_FRACTIONAL'];

/** `sql_mode` bits as the flavor names them (unknown bits are left out). */
export function sqlModeNames(bits: bigint, flavor: Flavor): string {
  const names = flavor === 'mariadb' ? MARIADB_MODES : MYSQL_MODES;
  const out: string[] = [];
  for (let i = 0; i < names.length; i++) if ((bits >> BigInt(i)) & 1n && names[i]) out.push(names[i]!);
  return out.join(',');
}

/**
 * The modes that change how a statement is read or executed and that every MySQL/MariaDB target
 * accepts: composite modes (ANSI, TRADITIONAL, ORACLE…, whose parts are set too), SHOW-only ones
 * (NO_*_OPTIONS), NO_AUTO_CREATE_USER (gone in MySQL 8) and the flavor-specific high bits are left out.
 */
const PORTABLE_BITS = [0, 1, 2, 3, 5, 6, 7, 19, 20, 21, 22, 23, 24, 25, 26, 29, 30, 31];

const PORTABLE = new Set(PORTABLE_BITS.map((i) => COMMON_MODES[i] as string));

/** The portable part (see PORTABLE_BITS) of an `sql_mode` name list; `drop` removes some more. */
export function portableSqlMode(sqlMode: string, drop: readonly string[] = []): string {
  return sqlMode
    .split(',')
    .map((m) => m.trim().toUpperCase())
    .filter((m) => PORTABLE.has(m) && !drop.includes(m))
    .join(',');
}

/** Whether an `sql_mode` name list has `mode`. */
export function hasSqlMode(sqlMode: string | undefined, mode: string): boolean {
  return sqlMode !== undefined && sqlMode.split(',').some((m) => m.trim().toUpperCase() === mode);
}

const Q_FLAGS2_CODE = 0;
const Q_SQL_MODE_CODE = 1;
const Q_CATALOG_CODE = 2;
const Q_AUTO_INCREMENT = 3;
const Q_CHARSET_CODE = 4;
const Q_TIME_ZONE_CODE = 5;
const Q_CATALOG_NZ_CODE = 6;
const Q_LC_TIME_NAMES_CODE = 7;
const Q_CHARSET_DATABASE_CODE = 8;
const Q_TABLE_MAP_FOR_UPDATE_CODE = 9;
const Q_MASTER_DATA_WRITTEN_CODE = 10;
const Q_INVOKER = 11;
const Q_UPDATED_DB_NAMES = 12;
const Q_MICROSECONDS = 13;
const Q_COMMIT_TS = 14;
const Q_COMMIT_TS2 = 15;
const Q_EXPLICIT_DEFAULTS_FOR_TIMESTAMP = 16;
const Q_DDL_LOGGED_WITH_XID = 17;
const Q_DEFAULT_COLLATION_FOR_UTF8MB4 = 18;
const Q_SQL_REQUIRE_PRIMARY_KEY = 19;
const Q_DEFAULT_TABLE_ENCRYPTION = 20;
/** MariaDB */
const Q_HRNOW = 128;
const Q_XID = 129;
/** Value of Q_UPDATED_DB_NAMES' count meaning "too many, none listed". */
const OVER_MAX_DBS_IN_EVENT_MTS = 254;

/** Fixed value sizes per code (codes with variable-length values are handled in the parser). */
const FIXED: Record<number, number> = {
  [Q_FLAGS2_CODE]: 4,
  [Q_SQL_MODE_CODE]: 8,
  [Q_AUTO_INCREMENT]: 4,
  [Q_CHARSET_CODE]: 6,
  [Q_LC_TIME_NAMES_CODE]: 2,
  [Q_CHARSET_DATABASE_CODE]: 2,
  [Q_TABLE_MAP_FOR_UPDATE_CODE]: 8,
  [Q_MASTER_DATA_WRITTEN_CODE]: 4,
  [Q_MICROSECONDS]: 3,
  [Q_COMMIT_TS]: 0,
  [Q_EXPLICIT_DEFAULTS_FOR_TIMESTAMP]: 1,
  [Q_DDL_LOGGED_WITH_XID]: 8,
  [Q_DEFAULT_COLLATION_FOR_UTF8MB4]: 2,
  [Q_SQL_REQUIRE_PRIMARY_KEY]: 1,
  [Q_DEFAULT_TABLE_ENCRYPTION]: 1,
  [Q_HRNOW]: 3,
  [Q_XID]: 8,
};

/** Parse a Query event's status-variable block. Stops (keeping what it read) at an unknown code or a truncated value. */
export function parseQueryStatusVars(b: Buffer, flavor: Flavor): QuerySession {
  const out: QuerySession = {};
  let i = 0;
  const lenStr = (): string | undefined => {
    const n = b[i];
    if (n === undefined || i + 1 + n > b.length) return undefined;
    const s = b.toString('utf8', i + 1, i + 1 + n);
    i += 1 + n;
    return s;
  };
  while (i < b.length) {
    const code = b[i++]!;
    if (code === Q_TIME_ZONE_CODE) {
      const tz = lenStr();
      if (tz === undefined) break;
      out.timeZone = tz;
      continue;
    }
    if (code === Q_CATALOG_NZ_CODE) {
      if (lenStr() === undefined) break;
      continue;
    }
    if (code === Q_CATALOG_CODE) {
      // old servers: length, text, NUL
      if (lenStr() === undefined) break;
      i++;
      continue;
    }
    if (code === Q_INVOKER) {
      if (lenStr() === undefined || lenStr() === undefined) break;
      continue;
    }
    if (code === Q_UPDATED_DB_NAMES) {
      const n = b[i++];
      if (n === undefined) break;
      if (n !== OVER_MAX_DBS_IN_EVENT_MTS) {
        for (let k = 0; k < n && i < b.length; k++) {
          const z = b.indexOf(0, i);
          i = z < 0 ? b.length : z + 1;
        }
      }
      continue;
    }
    if (code === Q_COMMIT_TS2) break; // never written by servers; layout unknown
    const size = FIXED[code];
    if (size === undefined || i + size > b.length) break;
    if (code === Q_SQL_MODE_CODE) {
      out.sqlMode = sqlModeNames(b.readBigUInt64LE(i), flavor);
    } else if (code === Q_HRNOW || code === Q_MICROSECONDS) {
      out.micros = b.readUIntLE(i, 3);
    }
    i += size;
  }
  return out;
}

/** Property of a zongji Query event holding a copy of its raw status-variable block. */
export const RAW_STATUS_VARS = 'statusVarsRaw';

let installing: Promise<boolean> | undefined;

/** Keep the raw status variables of zongji's Query events (once per process); resolves to whether it is in place. */
export function installQueryStatusCapture(): Promise<boolean> {
  installing ??= install().catch(() => false);
  return installing;
}

async function install(): Promise<boolean> {
  const base = import.meta.resolve('@vlasky/zongji');
  const events = (await import(new URL('./lib/binlog_event.js', base).href)) as { Query?: { prototype: object } };
  const reader = (await import(new URL('./lib/reader.js', base).href)) as { Parser?: { prototype: object } };
  const queryProto = events.Query?.prototype;
  const parserProto = reader.Parser?.prototype as Record<string, unknown> | undefined;
  const origParseString = parserProto?.['parseString'];
  if (!queryProto || !parserProto || typeof origParseString !== 'function') return false;
  if (Object.getOwnPropertyDescriptor(queryProto, 'statusVars')) return true;
  // where the last string was read (no slice per string: zongji reads every TableMap's names with it)
  let lastBuf: Buffer | undefined;
  let lastStart = 0;
  let lastEnd = 0;
  parserProto['parseString'] = function (this: { _buffer: Buffer; _offset: number; _packetEnd: number }, length: number | undefined): string {
    // zongji's own body (parseBuffer + utf8: the same bytes, clamped to the buffer), remembering
    // where they are for the accessor below
    const b = this._buffer;
    const start = this._offset;
    if (length === undefined) length = this._packetEnd - start; // parseBuffer's default
    this._offset = start + length;
    lastBuf = b;
    lastStart = Math.min(start, b.length);
    lastEnd = Math.min(start + length, b.length);
    return b.toString('utf8', lastStart, lastEnd);
  };
  Object.defineProperty(queryProto, 'statusVars', {
    configurable: true,
    get(this: Record<string, unknown>): unknown {
      return undefined;
    },
    set(this: Record<string, unknown>, v: unknown) {
      const raw = lastBuf;
      lastBuf = undefined;
      Object.defineProperty(this, 'statusVars', { value: v, writable: true, enumerable: true, configurable: true });
      // the packet buffer is reused: copy; only when it is the block just parsed
      if (raw && lastEnd - lastStart === this['statusVarsLength']) this[RAW_STATUS_VARS] = Buffer.from(raw.subarray(lastStart, lastEnd));
    },
  });
  return true;
}
