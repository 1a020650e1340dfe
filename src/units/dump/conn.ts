/**
 * Thin adapter over src/sql for the full phase: connections come from src/sql `connect` (exact
 * values: BIGINT/DECIMAL as strings, dates as text, session time zone +00:00, JSON as text) and
 * errors are classified by src/sql's errno table, then named for the side they came from
 * (ErrUpstreamUnreachable / ErrLoadTargetUnreachable, ErrDumpSourceRead / ErrLoadExecFailed), which
 * is what the retry policy and the user see.
 */
import type { Connection } from 'mysql2/promise';
import { escape as sqlEscape, type TypeCast } from 'mysql2';
import type { Readable } from 'node:stream';
import { DMError } from '../../errors/index.js';
import { classifyCode, connect, errnoOf, quoteId as sqlQuoteId, quoteTable as sqlQuoteTable } from '../../sql/index.js';
import type { DBConnConfig } from '../full/config.js';

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

/**
 * Open a connection (session time zone UTC). `localInfile` enables LOAD DATA LOCAL INFILE with a
 * per-query stream factory. Errors are classified (see classifyMySQLError).
 */
export async function openConn(
  c: DBConnConfig,
  side: 'source' | 'target',
  opts: { localInfile?: boolean | ((path: string) => Readable) } = {},
): Promise<Connection> {
  let conn: Connection;
  try {
    conn = await connect(c, { connectTimeoutMs: 5000, rawGeometry: false, ...(opts.localInfile ? { localInfile: opts.localInfile } : {}) });
  } catch (e) {
    throw classifyMySQLError(e instanceof DMError && e.cause !== undefined ? e.cause : e, side, `connect to ${side} ${c.host}:${c.port}`);
  }
  // the stream may emit 'error' after a kill; a listener keeps it from crashing the process
  conn.on('error', () => undefined);
  return conn;
}

export async function closeConn(conn: Connection | undefined): Promise<void> {
  if (!conn) return;
  try {
    // a hung server gets 2 s; the timer must not keep the process alive once end() is done
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([conn.end(), new Promise((r) => (timer = setTimeout(r, 2000)))]).finally(() => clearTimeout(timer));
  } catch {
    /* already gone */
  }
  conn.destroy();
}

interface MySQLErrLike {
  code?: string;
  fatal?: boolean;
}

/** Connection lost or never made (src/sql's classes), or mysql2 marked the connection unusable (`fatal`). */
export function isConnectionError(e: unknown): boolean {
  const x = e as MySQLErrLike | undefined;
  if (!x || typeof x !== 'object') return false;
  if (x.fatal === true || x.code === 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR') return true;
  const c = classifyCode(e, { side: 'upstream' });
  return c === 'ErrUpstreamUnreachable';
}

export const mysqlErrno = errnoOf;

/**
 * Classify a mysql2 error into a DMError by errno / error code (src/sql's table, never message
 * text): connection problems are retryable ErrUpstreamUnreachable / ErrLoadTargetUnreachable,
 * deadlock / lock wait / interrupted are retryable ErrDBRetryableError, access denied is
 * ErrDBAccessDenied, duplicate key on the target is ErrLoadDuplicateEntry.
 */
export function classifyMySQLError(e: unknown, side: 'source' | 'target', what: string): DMError {
  if (e instanceof DMError) return e;
  // the cause's text is appended by DMError.toJSON/toString
  const msg = e instanceof Error ? what : `${what}: ${String(e)}`;
  if (classifyCode(e) === 'ErrDBTLSHandshake') return new DMError('ErrDBTLSHandshake', msg, { cause: e });
  if (isConnectionError(e)) return new DMError(side === 'source' ? 'ErrUpstreamUnreachable' : 'ErrLoadTargetUnreachable', msg, { cause: e });
  const c = classifyCode(e);
  if (c === 'ErrDBRetryableError' || c === 'ErrDBAccessDenied') return new DMError(c, msg, { cause: e });
  if (side === 'target' && c === 'ErrDBDuplicateEntry' && errnoOf(e) !== 1022) return new DMError('ErrLoadDuplicateEntry', msg, { cause: e });
  return new DMError(side === 'source' ? 'ErrDumpSourceRead' : 'ErrLoadExecFailed', msg, { cause: e });
}

export const quoteId = sqlQuoteId;
export const quoteTable = sqlQuoteTable;
export function escapeValue(v: unknown): string {
  return sqlEscape(v as Parameters<typeof sqlEscape>[0]);
}
