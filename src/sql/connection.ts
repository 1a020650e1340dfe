/**
 * Connections and pools to MySQL/MariaDB through mysql2, with the options that keep every value
 * exact and zone-independent:
 * - `supportBigNumbers` + `bigNumberStrings`: BIGINT and DECIMAL come back as exact strings;
 * - `dateStrings: true`, `timezone: 'Z'`: DATE/DATETIME/TIMESTAMP stay strings (µs kept);
 * - session `time_zone = '+00:00'` on every connection, so TIMESTAMP text is the same whatever
 *   the server's and the process's zones;
 * - session `sql_mode = DM_SESSION_SQL_MODE` on every connection, whatever the server's global
 *   `sql_mode`: identifiers in SHOW CREATE output are backquoted (no ANSI_QUOTES), string literals
 *   use backslash escapes as mysql2 writes them (no NO_BACKSLASH_ESCAPES), `||` is OR (no
 *   PIPES_AS_CONCAT), a 0 written to an AUTO_INCREMENT column stays 0 (NO_AUTO_VALUE_ON_ZERO),
 *   and zero or invalid dates a source holds are accepted as they are;
 * - `charset: 'utf8mb4'`, `multipleStatements: false`;
 * - pools keep their idle connections alive (TCP keep-alive).
 *
 * This file is the one owner of a MySQL connection: `ConnConfig` is the one connection-settings
 * type (config's resolved `from` / `target-database`, the checker's, the units', the binlog
 * reader's), and `mysqlOptions` / `poolOptions` are the one builder of mysql2 options that
 * `connect` and `createPool` — and through them every caller — use. The binlog dump connection
 * (zongji, on the `mysql` driver) takes `binlogStreamOptions`, built from the same settings.
 */
import type { Readable } from 'node:stream';
import mysql from 'mysql2/promise';
import type { Connection, Pool, PoolOptions, ConnectionOptions } from 'mysql2/promise';
import type { SqlValue, TypeCast } from 'mysql2';
import mysqlCore from 'mysql2';
import { DMError } from '../errors/index.js';
import { classifyError, classifyMySQLError } from './errno.js';

export type { Connection, Pool, PoolConnection } from 'mysql2/promise';

/** mysql2 `ssl` options: PEM texts (a DB block's `security`, resolved). */
export interface SslOptions {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
}

/** Session variables as a config block's `session:` map gives them. */
export type SessionVars = Record<string, string | number | boolean>;

/**
 * Connection settings of one MySQL/MariaDB server: a source's `from` or a task's
 * `target-database` resolved by src/config's `dbConnOf` (TLS files read into PEM text), or built
 * by a test. Callers needing one more fact extend it (`ConnConfig & { flavor }`), never redeclare it.
 */
export interface ConnConfig {
  host: string;
  port: number;
  user: string;
  password: string;
  database?: string;
  /** mysql2 `ssl` options (ca/cert/key as PEM strings; DM `security`, resolved) or undefined for plain TCP. */
  ssl?: SslOptions;
  /** The config block's `session` variables (DM `session`), set on every connection (before `sessionVars`). */
  session?: SessionVars;
}

export interface ConnectOptions {
  /** Pool size (createPool only). Default 4. */
  connectionLimit?: number;
  /** Connect timeout in ms, also the bound of the session initialisation statement. Default 10 000 (DEFAULT_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs?: number;
  /**
   * Enable `LOAD DATA LOCAL INFILE`: the factory gives the stream for the file name in the
   * statement (a per-query `infileStreamFactory` works too).
   */
  localInfile?: boolean | ((path: string) => Readable);
  /**
   * Extra session variables set on every connection, e.g. `{ foreign_key_checks: 0 }`; a
   * `time_zone` or `sql_mode` here replaces DM.ts's (names compared case-insensitively).
   */
  sessionVars?: SessionVars;
  /** The session `time_zone`. Default '+00:00'. */
  timeZone?: string;
  /** Return GEOMETRY as raw bytes (default true; costs a JS call per field, turn off for tables without geometry). */
  rawGeometry?: boolean;
  /** Allow several statements in one query (default false; the sync unit batches its writes). */
  multipleStatements?: boolean;
}

/**
 * DM.ts's session `sql_mode` (source and target), the one its SQL builders and parsers assume:
 * backquoted identifiers, backslash escapes in strings, 0 kept in AUTO_INCREMENT columns, zero
 * and invalid dates accepted (values are exact images of the source's), strict otherwise (a value
 * the target column cannot hold is an error, not a silent truncation), no engine substitution.
 * A config block's `session: {sql_mode: ...}` replaces it.
 */
export const DM_SESSION_SQL_MODE = 'STRICT_TRANS_TABLES,NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES,NO_ENGINE_SUBSTITUTION';

/**
 * mysql2's per-connection prepared-statement cache size. DM.ts prepares no statement (it sends
 * text queries), but mysql2 sizes the cache's LRU (lru.min) up front: with its default of 16,000
 * every connection carries four 16,000-slot arrays, 512 KB of heap that lives as long as the
 * connection (≈7 MB for the 14 connections of a syncing dm-worker). A small cache keeps that to a
 * few KB; a caller that did use `execute` would still work, with older statements evicted (closed).
 */
export const MAX_PREPARED_STATEMENTS = 16;

/** Default connect timeout (ms). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Default pool size. */
export const DEFAULT_POOL_SIZE = 4;
/** TCP keep-alive of pooled connections: first probe after this idle time (ms). */
export const POOL_KEEP_ALIVE_INITIAL_DELAY_MS = 10_000;

/** DM.ts's session `time_zone`: TIMESTAMP values are read and written as UTC text. */
export const DM_SESSION_TIME_ZONE = '+00:00';

/** The exact-value options (exported so that other mysql2 users — e.g. the binlog reader — can share them). */
export const EXACT_VALUE_OPTIONS = {
  supportBigNumbers: true,
  bigNumberStrings: true,
  dateStrings: true,
  timezone: 'Z',
  charset: 'utf8mb4',
  multipleStatements: false,
  decimalNumbers: false,
  /** JSON columns (MySQL) as their exact text, not parsed objects. */
  jsonStrings: true,
} as const;

/**
 * mysql2 type cast that keeps GEOMETRY values as their raw internal bytes (4-byte SRID + WKB), which
 * the server accepts back unchanged; every other type uses mysql2's own parsing.
 */
export const rawGeometryTypeCast: NonNullable<ConnectionOptions['typeCast']> = (field, next) =>
  field.type === 'GEOMETRY' ? field.buffer() : next();

/**
 * Per-query type cast for tables that need one (a connection-level cast costs a JS call per
 * field of every row): FLOAT/DOUBLE as the server's text, GEOMETRY as its raw bytes.
 */
export const exactTypeCast: TypeCast = (field, next) => {
  switch (field.type) {
    case 'GEOMETRY':
      return field.buffer();
    case 'FLOAT':
    case 'DOUBLE':
      return field.string();
    default:
      return next();
  }
};

const CAST_TYPES = new Set(['float', 'double', 'real', 'geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection', 'geomcollection']);

/** The type cast a SELECT of these columns needs, or undefined when mysql2's own parsing is exact. */
export function typeCastFor(columns: readonly { dataType: string }[]): TypeCast | undefined {
  return columns.some((c) => CAST_TYPES.has(c.dataType)) ? exactTypeCast : undefined;
}

/** The session-initialisation statement run on every new connection. */
export function sessionInitSql(opts: ConnectOptions = {}): string {
  // one assignment per variable (lowercased name): the caller's replace DM.ts's defaults
  const vars = new Map<string, string>([
    ['time_zone', `time_zone = ${mysql.escape(opts.timeZone ?? DM_SESSION_TIME_ZONE)}`],
    ['sql_mode', `SESSION sql_mode = ${mysql.escape(DM_SESSION_SQL_MODE)}`],
  ]);
  for (const [k, v] of Object.entries(opts.sessionVars ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new TypeError(`invalid session variable name ${JSON.stringify(k)}`);
    vars.set(k.toLowerCase(), `SESSION ${k} = ${typeof v === 'boolean' ? (v ? '1' : '0') : mysql.escape(v)}`);
  }
  return `SET ${[...vars.values()].join(', ')}`;
}

/**
 * The session initialisation of a connection (what connect/createPool run): DM.ts's `time_zone`
 * and `sql_mode`, the block's `session`, then the caller's `sessionVars`. Run it again to bring a
 * connection whose session was changed back to its initial state.
 */
export function initSqlFor(conn: ConnConfig, opts: ConnectOptions = {}): string {
  return conn.session ? sessionInitSql({ ...opts, sessionVars: { ...conn.session, ...opts.sessionVars } }) : sessionInitSql(opts);
}

/**
 * The mysql2 options of a connection to `conn` (the one builder: `connect` and `poolOptions` use
 * it). The session statement (`initSqlFor`) is not part of them: `connect`/`createPool` run it.
 */
export function mysqlOptions(conn: ConnConfig, opts: ConnectOptions = {}): ConnectionOptions {
  const o: ConnectionOptions = {
    host: conn.host,
    port: conn.port,
    user: conn.user,
    password: conn.password,
    ...EXACT_VALUE_OPTIONS,
    connectTimeout: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    maxPreparedStatements: MAX_PREPARED_STATEMENTS,
  };
  if (opts.multipleStatements) o.multipleStatements = true;
  if (opts.rawGeometry !== false) o.typeCast = rawGeometryTypeCast;
  if (conn.database !== undefined && conn.database !== '') o.database = conn.database;
  if (conn.ssl) o.ssl = { ...conn.ssl };
  if (opts.localInfile) {
    o.flags = ['+LOCAL_FILES'];
    if (typeof opts.localInfile === 'function') o.infileStreamFactory = opts.localInfile;
  } else {
    o.flags = ['-LOCAL_FILES'];
  }
  return o;
}

/**
 * One connection with the session initialised. Connection errors are thrown as classified
 * DMErrors (ErrDBBadConn, ErrDBAccessDenied, ...).
 */
export async function connect(conn: ConnConfig, opts: ConnectOptions = {}): Promise<Connection> {
  let c: Connection;
  try {
    c = await mysql.createConnection(mysqlOptions(conn, opts));
  } catch (e) {
    throw classifyError(e);
  }
  try {
    await c.query({ sql: initSqlFor(conn, opts), timeout: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS });
  } catch (e) {
    c.destroy();
    throw classifyError(e);
  }
  return c;
}

/** Connect timeout of the full phase's connections (ms). */
export const SIDE_CONNECT_TIMEOUT_MS = 5000;

/**
 * A connection for the full phase: `connect` (no connection-level type cast: queries that need
 * one pass `typeCastFor`), its errors named for the side (`classifyMySQLError`). `localInfile`
 * enables LOAD DATA LOCAL INFILE with a per-query stream factory. A listener keeps a late
 * 'error' of a killed connection from crashing the process.
 */
export async function connectSide(
  c: ConnConfig,
  side: 'source' | 'target',
  opts: { localInfile?: boolean | ((path: string) => Readable) } = {},
): Promise<Connection> {
  let conn: Connection;
  try {
    conn = await connect(c, { connectTimeoutMs: SIDE_CONNECT_TIMEOUT_MS, rawGeometry: false, ...(opts.localInfile ? { localInfile: opts.localInfile } : {}) });
  } catch (e) {
    throw classifyMySQLError(e instanceof DMError && e.cause !== undefined ? e.cause : e, side, `connect to ${side} ${c.host}:${c.port}`);
  }
  conn.on('error', () => undefined);
  return conn;
}

/** End a connection (a hung server gets 2 s), then destroy it; never throws. */
export async function closeConnection(conn: Connection | undefined): Promise<void> {
  if (!conn) return;
  try {
    // the timer must not keep the process alive once end() is done
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([conn.end(), new Promise((r) => (timer = setTimeout(r, 2000)))]).finally(() => clearTimeout(timer));
  } catch {
    /* already gone */
  }
  conn.destroy();
}

/** The mysql2 pool options of a pool to `conn`: `mysqlOptions` plus size, queueing and TCP keep-alive. */
export function poolOptions(conn: ConnConfig, opts: ConnectOptions = {}): PoolOptions {
  return {
    ...mysqlOptions(conn, opts),
    connectionLimit: opts.connectionLimit ?? DEFAULT_POOL_SIZE,
    waitForConnections: true,
    queueLimit: 0,
    enableKeepAlive: true,
    keepAliveInitialDelay: POOL_KEEP_ALIVE_INITIAL_DELAY_MS,
    queryFormat: formatUnlessNoValues,
  };
}

/**
 * mysql2's own formatting (sql-escaper `format`, as its connection's format() calls it), except that
 * a query without values is sent as it is: mysql2 formats every query, and sql-escaper scans the
 * whole text for placeholders before it sees there is no value to put in — for the sync applier's
 * multi-statement target transactions (tens of KB of literals each), a quote-aware scan of every
 * byte. Same result: with no value, sql-escaper returns the text unchanged.
 */
function formatUnlessNoValues(this: { config: { stringifyObjects?: boolean; timezone?: string } }, sql: string, values: unknown): string {
  if (values === undefined || values === null || (Array.isArray(values) && values.length === 0)) return sql;
  return mysqlCore.format(sql, values as SqlValue[], this.config.stringifyObjects, this.config.timezone);
}

/**
 * A pool whose every connection runs the session initialisation before its first use.
 * Close it with `await pool.end()`.
 */
export function createPool(conn: ConnConfig, opts: ConnectOptions = {}): Pool {
  const pool = mysql.createPool(poolOptions(conn, opts));
  const init = initSqlFor(conn, opts);
  // The core connection queues this before any query of the caller that acquired it.
  pool.pool.on('connection', (c) => {
    c.query(init, (err) => {
      if (err) c.destroy();
    });
  });
  return pool;
}

/**
 * The options of a binlog dump connection (zongji, which speaks through the `mysql` driver) to
 * `conn`: the same server, credentials and TLS, values exact (BIGINT/DECIMAL as strings, dates
 * as text, JSON as text). No session statement: the dump connection runs none of DM.ts's SQL.
 */
export function binlogStreamOptions(conn: ConnConfig): {
  host: string;
  port: number;
  user: string;
  password: string;
  ssl?: SslOptions;
  dateStrings: true;
  timezone: 'Z';
  jsonStrings: true;
  supportBigNumbers: true;
  bigNumberStrings: true;
  connectTimeout: number;
  maxPreparedStatements: number;
} {
  return {
    host: conn.host,
    port: conn.port,
    user: conn.user,
    password: conn.password,
    ...(conn.ssl ? { ssl: { ...conn.ssl } } : {}),
    dateStrings: true,
    timezone: 'Z',
    jsonStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    connectTimeout: DEFAULT_CONNECT_TIMEOUT_MS,
    maxPreparedStatements: MAX_PREPARED_STATEMENTS,
  };
}
