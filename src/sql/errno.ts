/**
 * MySQL/MariaDB error classification, the one errno table of DM.ts: any error from mysql2, the
 * binlog stream (zongji on the `mysql` driver) or the network becomes a DMError whose code decides
 * whether it is retried. Decided by errno and error code only, never by text.
 */
import { DMError, type ErrorCodeName } from '../errors/index.js';

/** Network-level codes of Node / mysql2 meaning the connection is gone or was never made. */
const CONN_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_PACKETS_OUT_OF_ORDER',
  'ER_SERVER_SHUTDOWN',
]);

/**
 * Also worth a reconnect on the binlog stream (not for a query): the socket was written after it
 * ended, the server's packet-size limit or query timeout ended the dump thread.
 */
const STREAM_RECONNECT_CODES = new Set(['ERR_STREAM_WRITE_AFTER_END']);
const STREAM_RECONNECT_ERRNOS = new Set([
  1153, // ER_NET_PACKET_TOO_LARGE
  3024, // ER_QUERY_TIMEOUT (MySQL max_execution_time)
]);

/** mysql2's codes for a failed TLS upgrade (untrusted certificate, no TLS on the server). */
const TLS_CODES = new Set(['HANDSHAKE_SSL_ERROR', 'HANDSHAKE_NO_SSL_SUPPORT']);

/** Server/client errnos meaning the connection is lost or the server is going away. */
const CONN_ERRNOS = new Set([
  1053, // ER_SERVER_SHUTDOWN
  1077, // ER_NORMAL_SHUTDOWN
  1078, // ER_GOT_SIGNAL
  1079, // ER_SHUTDOWN_COMPLETE
  1152, // ER_ABORTING_CONNECTION
  1154, // ER_NET_READ_ERROR_FROM_PIPE
  1156, // ER_NET_PACKETS_OUT_OF_ORDER
  1158, // ER_NET_READ_ERROR
  1159, // ER_NET_READ_INTERRUPTED
  1160, // ER_NET_ERROR_ON_WRITE
  1161, // ER_NET_WRITE_INTERRUPTED
  1184, // ER_NEW_ABORTING_CONNECTION
  1927, // ER_CONNECTION_KILLED (MariaDB)
  2002, // CR_CONNECTION_ERROR
  2003, // CR_CONN_HOST_ERROR
  2006, // CR_SERVER_GONE_ERROR
  2013, // CR_SERVER_LOST
  2055, // CR_SERVER_LOST_EXTENDED
  4031, // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8)
]);

/** Transient errors worth retrying (the statement or transaction can simply run again). */
const RETRYABLE_ERRNOS = new Set([
  1205, // ER_LOCK_WAIT_TIMEOUT
  1213, // ER_LOCK_DEADLOCK
  1040, // ER_CON_COUNT_ERROR (too many connections)
  1203, // ER_TOO_MANY_USER_CONNECTIONS
  1226, // ER_USER_LIMIT_REACHED
  1290, // ER_OPTION_PREVENTS_STATEMENT (--read-only during failover)
  1792, // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
  1836, // ER_READ_ONLY_MODE
  1637, // ER_TOO_MANY_CONCURRENT_TRXS
  1614, // ER_XA_RBDEADLOCK
  1317, // ER_QUERY_INTERRUPTED (KILL QUERY, shutdown)
  1180, // ER_ERROR_DURING_COMMIT
  1181, // ER_ERROR_DURING_ROLLBACK
  1047, // ER_UNKNOWN_COM_ERROR (Galera: WSREP not ready)
  // TiDB targets
  8002, 8022, 8027, 8028, 8176, 9001, 9002, 9003, 9005, 9006, 9007,
]);

const CLASSES: [ErrorCodeName, readonly number[]][] = [
  ['ErrDBDuplicateEntry', [1062, 1586, 1022, 1859]],
  // 3159: ER_SECURE_TRANSPORT_REQUIRED (MySQL; MariaDB answers 1045)
  ['ErrDBAccessDenied', [1044, 1045, 1142, 1143, 1211, 1227, 1370, 1698, 1251, 3118, 3159]],
  [
    'ErrDBSchemaMismatch',
    [1007, 1008, 1049, 1050, 1051, 1054, 1060, 1061, 1068, 1072, 1091, 1109, 1136, 1146, 1176, 1824],
  ],
  ['ErrDBSyntaxError', [1064, 1149, 1235, 1295, 1148, 3948]],
  ['ErrDBDataInvalid', [1264, 1265, 1292, 1366, 1367, 1406, 1411, 1416, 3140, 1690]],
  ['ErrDBConstraintViolation', [1048, 1216, 1217, 1451, 1452, 3819, 4025, 1364]],
];
const BY_ERRNO = new Map<number, ErrorCodeName>();
for (const [name, errnos] of CLASSES) for (const n of errnos) if (!BY_ERRNO.has(n)) BY_ERRNO.set(n, name);

interface MySQLishError {
  code?: unknown;
  errno?: unknown;
  sqlState?: unknown;
  sqlMessage?: unknown;
  message?: unknown;
  errors?: unknown;
}

export interface ClassifyOptions {
  /** Which side the error came from; picks ErrUpstreamUnreachable / ErrDownstreamUnreachable for connection loss. */
  side?: 'upstream' | 'downstream';
  /** A short description of what was being done, prefixed to the message. */
  action?: string;
}

/** The mysql2 / server errno of an error, when it has one (network errors have none). */
export function errnoOf(err: unknown): number | undefined {
  const e = err as MySQLishError | null;
  if (!e || typeof e !== 'object') return undefined;
  return typeof e.errno === 'number' && e.errno > 0 ? e.errno : undefined;
}

/** `fatal`: count mysql2's `fatal` flag (not for the binlog stream, whose driver also flags a decoding exception fatal). */
function connCodeOf(err: unknown, fatal = true): string | undefined {
  const e = err as MySQLishError | null;
  if (!e || typeof e !== 'object') return undefined;
  if (typeof e.code === 'string' && CONN_CODES.has(e.code)) return e.code;
  // mysql2 marks the loss of the connection `fatal`; a query issued on a connection the server has
  // already closed fails with no code at all ("Can't add new command when connection is in closed
  // state"): both are connection errors.
  if (fatal && (e as { fatal?: unknown }).fatal === true && errnoOf(err) === undefined) return typeof e.code === 'string' ? e.code : 'PROTOCOL_CONNECTION_LOST';
  // Node's happy-eyeballs connect throws AggregateError whose parts carry the codes.
  if (Array.isArray(e.errors)) for (const sub of e.errors) {
    const c = connCodeOf(sub, fatal);
    if (c) return c;
  }
  const cause = (err as { cause?: unknown }).cause;
  if (cause && cause !== err) return connCodeOf(cause, fatal);
  return undefined;
}

/** Map an error to its DMError code name (without building the error). */
export function classifyCode(err: unknown, opts: ClassifyOptions = {}): ErrorCodeName {
  if (err instanceof DMError) return err.codeName;
  // a failed TLS upgrade is fatal for mysql2 but not a lost connection: retrying does not help
  const code = (err as MySQLishError | null)?.code;
  if (typeof code === 'string' && TLS_CODES.has(code)) return 'ErrDBTLSHandshake';
  const errno = errnoOf(err);
  if (connCodeOf(err) !== undefined || (errno !== undefined && CONN_ERRNOS.has(errno))) {
    return opts.side === 'upstream' ? 'ErrUpstreamUnreachable' : opts.side === 'downstream' ? 'ErrDownstreamUnreachable' : 'ErrDBBadConn';
  }
  if (errno !== undefined) {
    if (RETRYABLE_ERRNOS.has(errno)) return 'ErrDBRetryableError';
    const c = BY_ERRNO.get(errno);
    if (c) return c;
    return 'ErrDBExecuteFailed';
  }
  const e = err as MySQLishError | null;
  if (e && typeof e === 'object' && e.code === 'ABORT_ERR') return 'ErrCanceled';
  return 'ErrDBDriverError';
}

/**
 * Any error → DMError (a DMError is returned as is). The original error is the `cause`; the
 * message keeps the server's text and errno for the user.
 */
export function classifyError(err: unknown, opts: ClassifyOptions = {}): DMError {
  if (err instanceof DMError) return err;
  const name = classifyCode(err, opts);
  const e = err as MySQLishError | null;
  const errno = errnoOf(err);
  const text =
    e && typeof e === 'object' && typeof e.sqlMessage === 'string'
      ? e.sqlMessage
      : err instanceof Error
        ? err.message || (err as MySQLishError).code?.toString() || err.name
        : String(err);
  const tag = errno !== undefined ? ` (errno ${errno}${typeof e?.sqlState === 'string' ? `, sqlstate ${e.sqlState}` : ''})` : typeof e?.code === 'string' ? ` (${e.code})` : '';
  return new DMError(name, `${opts.action ? `${opts.action}: ` : ''}${text}${tag}`, { cause: err });
}

/** Whether the error may be retried automatically (decided by the code table). */
export function isRetryable(err: unknown, opts: ClassifyOptions = {}): boolean {
  return classifyError(err, opts).retryable;
}

/** ER_MASTER_FATAL_ERROR_READING_BINLOG / ER_SOURCE_FATAL_ERROR_READING_BINLOG: purged, or a position the source never had. */
const ER_FATAL_READING_BINLOG = 1236;

/** The source refused to send the binlog from the requested position (errno 1236). */
export function isFatalBinlogReadError(err: unknown): boolean {
  return !(err instanceof DMError) && errnoOf(err) === ER_FATAL_READING_BINLOG;
}

/**
 * Whether a binlog stream that ended with this error may be reopened from the last transaction
 * boundary: the connection was lost (network codes and errnos of the table), or the server
 * answered with a transient error (deadlock, too many connections, ...), or one of the stream's
 * own transient ends. A DMError (already decided) or a decoding error is not.
 */
export function isReconnectableStreamError(err: unknown): boolean {
  if (err instanceof DMError) return false;
  const e = err as MySQLishError | null;
  if (typeof e?.code === 'string' && STREAM_RECONNECT_CODES.has(e.code)) return true;
  const errno = errnoOf(err);
  if (errno !== undefined) return CONN_ERRNOS.has(errno) || RETRYABLE_ERRNOS.has(errno) || STREAM_RECONNECT_ERRNOS.has(errno);
  return connCodeOf(err, false) !== undefined;
}

/** Connection lost or never made (the table's classes), or mysql2 marked the connection unusable (`fatal`). */
export function isConnectionError(e: unknown): boolean {
  const x = e as { code?: unknown; fatal?: unknown } | undefined;
  if (!x || typeof x !== 'object') return false;
  if (x.fatal === true || x.code === 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR') return true;
  return classifyCode(e, { side: 'upstream' }) === 'ErrUpstreamUnreachable';
}

/**
 * The full phase's naming of an error by the side it came from (the same table, the side's
 * codes): a lost connection is retryable ErrUpstreamUnreachable (source) or
 * ErrLoadTargetUnreachable (target); deadlock / lock wait / interrupted stay retryable
 * ErrDBRetryableError, access denied ErrDBAccessDenied, a failed TLS upgrade ErrDBTLSHandshake;
 * a duplicate key on the target is ErrLoadDuplicateEntry; anything else ErrDumpSourceRead
 * (source) or ErrLoadExecFailed (target). A DMError is returned as it is.
 */
export function classifyMySQLError(e: unknown, side: 'source' | 'target', what: string): DMError {
  if (e instanceof DMError) return e;
  // the cause's text is appended by DMError.toJSON/toString
  const msg = e instanceof Error ? what : `${what}: ${String(e)}`;
  const c = classifyCode(e);
  if (c === 'ErrDBTLSHandshake') return new DMError('ErrDBTLSHandshake', msg, { cause: e });
  if (isConnectionError(e)) return new DMError(side === 'source' ? 'ErrUpstreamUnreachable' : 'ErrLoadTargetUnreachable', msg, { cause: e });
  if (c === 'ErrDBRetryableError' || c === 'ErrDBAccessDenied') return new DMError(c, msg, { cause: e });
  if (side === 'target' && c === 'ErrDBDuplicateEntry' && errnoOf(e) !== 1022) return new DMError('ErrLoadDuplicateEntry', msg, { cause: e });
  return new DMError(side === 'source' ? 'ErrDumpSourceRead' : 'ErrLoadExecFailed', msg, { cause: e });
}
