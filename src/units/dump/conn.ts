import mysql, { type Connection, type ConnectionOptions } from 'mysql2/promise';
import { escape as sqlEscape, escapeId as sqlEscapeId, type TypeCast } from 'mysql2';
import { DMError } from '../../errors/index.js';
import type { DBConnConfig } from './config.js';

/**
 * Values are kept exact: integers beyond 2^53 and DECIMAL as strings, dates/times as the
 * server's text (session time zone +00:00 on both ends, so TIMESTAMP does not depend on
 * any time zone), FLOAT/DOUBLE as the server's text, binary strings/BIT/GEOMETRY as Buffers.
 */
export const exactTypeCast: TypeCast = (field, next) => {
  // MariaDB JSON is LONGTEXT with extended format 'json': keep the text, do not parse it
  if (field.extendedFormat === 'json') return field.string();
  switch (field.type) {
    case 'GEOMETRY':
      return field.buffer();
    case 'JSON':
    case 'FLOAT':
    case 'DOUBLE':
      return field.string();
    default:
      return next();
  }
};

export function connOptions(c: DBConnConfig, extra: Partial<ConnectionOptions> = {}): ConnectionOptions {
  return {
    host: c.host,
    port: c.port,
    user: c.user,
    password: c.password,
    charset: 'UTF8MB4_GENERAL_CI',
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    decimalNumbers: false,
    timezone: 'Z',
    typeCast: exactTypeCast,
    connectTimeout: 5000,
    ...extra,
  };
}

/** Open a connection with session time zone UTC. Errors are classified (see classifyMySQLError). */
export async function openConn(c: DBConnConfig, side: 'source' | 'target', extra: Partial<ConnectionOptions> = {}): Promise<Connection> {
  let conn: Connection | undefined;
  try {
    conn = await mysql.createConnection(connOptions(c, extra));
    // the pool/stream may emit 'error' after a kill; a listener keeps it from crashing the process
    conn.on('error', () => undefined);
    await conn.query("SET SESSION time_zone = '+00:00'");
    return conn;
  } catch (e) {
    if (conn) conn.destroy();
    throw classifyMySQLError(e, side, `connect to ${side} ${c.host}:${c.port}`);
  }
}

export async function closeConn(conn: Connection | undefined): Promise<void> {
  if (!conn) return;
  try {
    await Promise.race([conn.end(), new Promise((r) => setTimeout(r, 2000))]);
  } catch {
    /* already gone */
  }
  conn.destroy();
}

const CONN_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  'ER_QUERY_INTERRUPTED',
  'ER_CONNECTION_KILLED',
  'ER_NET_READ_ERROR',
  'ER_NET_READ_INTERRUPTED',
  'ER_NET_ERROR_ON_WRITE',
  'ER_NET_WRITE_INTERRUPTED',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
]);
/** errnos: server shutdown, too many connections, interrupted/killed, lost connection, gone away. */
const CONN_ERRNOS = new Set([1040, 1053, 1152, 1153, 1158, 1159, 1160, 1161, 1317, 1927, 2002, 2003, 2006, 2013, 2055]);
const RETRYABLE_ERRNOS = new Set([1205, 1213, 1290, 1836]);
const ACCESS_ERRNOS = new Set([1044, 1045, 1142, 1143, 1227, 1370]);

interface MySQLErrLike {
  code?: string;
  errno?: number;
  sqlMessage?: string;
  fatal?: boolean;
}

export function isConnectionError(e: unknown): boolean {
  const x = e as MySQLErrLike | undefined;
  if (!x || typeof x !== 'object') return false;
  // mysql2 marks errors after which the connection is unusable as fatal (e.g. a command on a closed connection)
  if (x.fatal === true) return true;
  if (x.code && CONN_CODES.has(x.code)) return true;
  if (typeof x.errno === 'number' && CONN_ERRNOS.has(x.errno)) return true;
  return false;
}

export function mysqlErrno(e: unknown): number | undefined {
  const x = e as MySQLErrLike | undefined;
  return x && typeof x === 'object' && typeof x.errno === 'number' ? x.errno : undefined;
}

/**
 * Classify a mysql2 error into a DMError by errno / error code (never by message text):
 * connection problems are retryable ErrUpstreamUnreachable / ErrLoadTargetUnreachable,
 * deadlock / lock wait are retryable ErrDBRetryableError, access denied is ErrDBAccessDenied,
 * duplicate key on the target is ErrLoadDuplicateEntry.
 */
export function classifyMySQLError(e: unknown, side: 'source' | 'target', what: string): DMError {
  if (e instanceof DMError) return e;
  const x = (e ?? {}) as MySQLErrLike;
  // the cause's text is appended by DMError.toJSON/toString
  const msg = e instanceof Error ? what : `${what}: ${String(e)}`;
  if (isConnectionError(e)) return new DMError(side === 'source' ? 'ErrUpstreamUnreachable' : 'ErrLoadTargetUnreachable', msg, { cause: e });
  const errno = x.errno;
  if (errno !== undefined && RETRYABLE_ERRNOS.has(errno)) return new DMError('ErrDBRetryableError', msg, { cause: e });
  if (errno !== undefined && ACCESS_ERRNOS.has(errno)) return new DMError('ErrDBAccessDenied', msg, { cause: e });
  if (side === 'target' && (errno === 1062 || errno === 1586)) return new DMError('ErrLoadDuplicateEntry', msg, { cause: e });
  return new DMError(side === 'source' ? 'ErrDumpSourceRead' : 'ErrLoadExecFailed', msg, { cause: e });
}

export function quoteId(s: string): string {
  return sqlEscapeId(s, true);
}
export function quoteTable(schema: string, table: string): string {
  return `${quoteId(schema)}.${quoteId(table)}`;
}
export function escapeValue(v: unknown): string {
  return sqlEscape(v as Parameters<typeof sqlEscape>[0]);
}
