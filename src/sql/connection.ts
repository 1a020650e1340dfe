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
 * - `charset: 'utf8mb4'`, `multipleStatements: false`.
 */
import type { Readable } from 'node:stream';
import mysql from 'mysql2/promise';
import type { Connection, Pool, PoolOptions, ConnectionOptions } from 'mysql2/promise';
import { classifyError } from './errno.js';

export type { Connection, Pool, PoolConnection } from 'mysql2/promise';

/** mysql2 `ssl` options: PEM texts (a DB block's `security`, resolved). */
export interface SslOptions {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
}

export interface ConnConfig {
  host: string;
  port: number;
  user: string;
  password: string;
  database?: string;
  /** mysql2 `ssl` options (ca/cert/key as PEM strings) or undefined for plain TCP. */
  ssl?: SslOptions;
  /** The config block's `session` variables, set on every connection (before `sessionVars`). */
  session?: Record<string, string | number | boolean>;
}

export interface ConnectOptions {
  /** Pool size (createPool only). Default 4. */
  connectionLimit?: number;
  /** Connect timeout in ms. Default 10 000. */
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
  sessionVars?: Record<string, string | number | boolean>;
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

function baseOptions(conn: ConnConfig, opts: ConnectOptions): ConnectionOptions {
  const o: ConnectionOptions = {
    host: conn.host,
    port: conn.port,
    user: conn.user,
    password: conn.password,
    ...EXACT_VALUE_OPTIONS,
    connectTimeout: opts.connectTimeoutMs ?? 10_000,
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
    c = await mysql.createConnection(baseOptions(conn, opts));
  } catch (e) {
    throw classifyError(e);
  }
  try {
    await c.query(initSqlFor(conn, opts));
  } catch (e) {
    c.destroy();
    throw classifyError(e);
  }
  return c;
}

/**
 * A pool whose every connection runs the session initialisation before its first use.
 * Close it with `await pool.end()`.
 */
export function createPool(conn: ConnConfig, opts: ConnectOptions = {}): Pool {
  const po: PoolOptions = {
    ...baseOptions(conn, opts),
    connectionLimit: opts.connectionLimit ?? 4,
    waitForConnections: true,
    queueLimit: 0,
    enableKeepAlive: true,
    keepAliveInitialDelay: 10_000,
  };
  const pool = mysql.createPool(po);
  const init = initSqlFor(conn, opts);
  // The core connection queues this before any query of the caller that acquired it.
  pool.pool.on('connection', (c) => {
    c.query(init, (err) => {
      if (err) c.destroy();
    });
  });
  return pool;
}
