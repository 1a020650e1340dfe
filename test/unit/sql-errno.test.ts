import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyError, isRetryable } from '../../src/sql/index.js';
import { DMError } from '../../src/errors/index.js';

/** The shape mysql2 gives server errors: errno, code, sqlState, sqlMessage. */
function serverError(errno: number, code: string): Error {
  return Object.assign(new Error(`server said ${code}`), { errno, code, sqlState: 'HY000', sqlMessage: `server said ${code}` });
}
function netError(code: string): Error {
  return Object.assign(new Error(`connect ${code}`), { code, errno: -1 });
}

void test('retryable: connection loss, deadlock, lock wait, too many connections, read-only, shutdown', () => {
  const cases: [Error, string][] = [
    [netError('ECONNREFUSED'), 'ErrDBBadConn'],
    [netError('ECONNRESET'), 'ErrDBBadConn'],
    [Object.assign(new Error('Connection lost: The server closed the connection.'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }), 'ErrDBBadConn'],
    [serverError(2006, 'CR_SERVER_GONE_ERROR'), 'ErrDBBadConn'],
    [serverError(2013, 'CR_SERVER_LOST'), 'ErrDBBadConn'],
    [serverError(1053, 'ER_SERVER_SHUTDOWN'), 'ErrDBBadConn'],
    [serverError(1927, 'ER_CONNECTION_KILLED'), 'ErrDBBadConn'],
    [serverError(1213, 'ER_LOCK_DEADLOCK'), 'ErrDBRetryableError'],
    [serverError(1205, 'ER_LOCK_WAIT_TIMEOUT'), 'ErrDBRetryableError'],
    [serverError(1040, 'ER_CON_COUNT_ERROR'), 'ErrDBRetryableError'],
    [serverError(1290, 'ER_OPTION_PREVENTS_STATEMENT'), 'ErrDBRetryableError'],
    [serverError(1792, 'ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION'), 'ErrDBRetryableError'],
  ];
  for (const [e, name] of cases) {
    const d = classifyError(e);
    assert.equal(d.codeName, name, String((e as { code?: string }).code));
    assert.equal(d.retryable, true);
    assert.equal(isRetryable(e), true);
  }
  const agg = Object.assign(new AggregateError([netError('ECONNREFUSED'), netError('ECONNREFUSED')], ''), { code: 'ECONNREFUSED' });
  assert.equal(classifyError(agg, { side: 'upstream' }).codeName, 'ErrUpstreamUnreachable');
});

void test('not retryable: duplicate key, syntax, unknown column, access denied, bad data', () => {
  const cases: [number, string, string][] = [
    [1062, 'ER_DUP_ENTRY', 'ErrDBDuplicateEntry'],
    [1064, 'ER_PARSE_ERROR', 'ErrDBSyntaxError'],
    [1054, 'ER_BAD_FIELD_ERROR', 'ErrDBSchemaMismatch'],
    [1146, 'ER_NO_SUCH_TABLE', 'ErrDBSchemaMismatch'],
    [1045, 'ER_ACCESS_DENIED_ERROR', 'ErrDBAccessDenied'],
    [1227, 'ER_SPECIFIC_ACCESS_DENIED_ERROR', 'ErrDBAccessDenied'],
    [1406, 'ER_DATA_TOO_LONG', 'ErrDBDataInvalid'],
    [1452, 'ER_NO_REFERENCED_ROW_2', 'ErrDBConstraintViolation'],
    [1105, 'ER_UNKNOWN_ERROR', 'ErrDBExecuteFailed'],
  ];
  for (const [errno, code, name] of cases) {
    const d = classifyError(serverError(errno, code));
    assert.equal(d.codeName, name, code);
    assert.equal(d.retryable, false, code);
    assert.match(d.message, new RegExp(`errno ${errno}`));
  }
  const own = new DMError('ErrSQLParseDDL', 'x');
  assert.equal(classifyError(own), own, 'a DMError passes through');
  assert.equal(classifyError(new Error('no code')).codeName, 'ErrDBDriverError');
});

test('a query on a connection the server already closed (mysql2: fatal, no code) is a retryable connection loss', () => {
  // the shape mysql2 gives when a command is added to a closed connection
  const closed = Object.assign(new Error("Can't add new command when connection is in closed state"), { fatal: true });
  assert.equal(classifyError(closed, { side: 'downstream' }).codeName, 'ErrDownstreamUnreachable');
  assert.equal(classifyError(closed).retryable, true);
  assert.equal(isRetryable(closed), true);
  // a fatal error that carries a server errno keeps its errno's class
  const denied = Object.assign(new Error('Access denied'), { fatal: true, errno: 1045, code: 'ER_ACCESS_DENIED_ERROR' });
  assert.equal(classifyError(denied).codeName, 'ErrDBAccessDenied');
});
