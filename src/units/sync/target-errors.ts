/**
 * Classify errors from the target by errno / driver code (never by message text).
 * Private minimal version of src/sql's classifyError (not landed when this was written).
 */
import { DMError, toDMError, type ErrorCodeName } from '../../errors/index.js';

/** MySQL errnos that are transient on the target. */
const RETRYABLE_ERRNO = new Set([
  1040, // ER_CON_COUNT_ERROR (too many connections)
  1053, // ER_SERVER_SHUTDOWN
  1205, // ER_LOCK_WAIT_TIMEOUT
  1213, // ER_LOCK_DEADLOCK
  1290, // ER_OPTION_PREVENTS_STATEMENT (read-only)
  1836, // ER_READ_ONLY_MODE
  1927, // ER_CONNECTION_KILLED (MariaDB)
  2002, 2003, 2006, 2013, 2055, // client: can't connect / gone away / lost
]);

/** Node / mysql2 error codes for a lost or refused connection. */
const RETRYABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ERR_STREAM_DESTROYED',
]);

/** DDL errnos meaning "the effect is already there" (used only for a DDL replayed after a crash). */
export const DDL_ALREADY_APPLIED_ERRNO = new Set([
  1007, // ER_DB_CREATE_EXISTS
  1008, // ER_DB_DROP_EXISTS
  1050, // ER_TABLE_EXISTS_ERROR
  1051, // ER_BAD_TABLE_ERROR
  1060, // ER_DUP_FIELDNAME
  1061, // ER_DUP_KEYNAME
  1091, // ER_CANT_DROP_FIELD_OR_KEY
  1146, // ER_NO_SUCH_TABLE
]);

export function errnoOf(e: unknown): number | undefined {
  const n = (e as { errno?: unknown } | null)?.errno;
  return typeof n === 'number' ? n : undefined;
}

export function isRetryableTargetError(e: unknown): boolean {
  if (e instanceof DMError) return e.retryable;
  const errno = errnoOf(e);
  if (errno !== undefined && RETRYABLE_ERRNO.has(errno)) return true;
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && RETRYABLE_CODES.has(code)) return true;
  // mysql2 marks errors that destroyed the connection as fatal (connection-level, not SQL).
  if ((e as { fatal?: unknown } | null)?.fatal === true && errno === undefined) return true;
  return false;
}

export function classifyTargetError(e: unknown, nonRetryable: ErrorCodeName, message: string): DMError {
  if (e instanceof DMError) return e;
  if (isRetryableTargetError(e)) return toDMError(e, 'ErrSyncTargetRetryExhausted', message);
  return new DMError(nonRetryable, message, { cause: e });
}
