// src/sql owns every MySQL connection: the one builder of mysql2 options (charset, exact values,
// keep-alive, session, TLS), the one master-status reader (with MySQL 8.4's statement) and the
// one errno table (including the binlog stream's reconnect decision).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  binlogStreamOptions,
  classifyMySQLError,
  DM_SESSION_SQL_MODE,
  getMasterStatus,
  initSqlFor,
  isFatalBinlogReadError,
  isReconnectableStreamError,
  mysqlOptions,
  poolOptions,
  type ConnConfig,
} from '../../src/sql/index.js';
import { DMError } from '../../src/errors/index.js';
import mysqlCore from 'mysql2';

const PEM = '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n';
const conn: ConnConfig = {
  host: '127.0.0.1',
  port: 3307,
  user: 'u',
  password: 'p',
  ssl: { ca: PEM, rejectUnauthorized: true },
  session: { foreign_key_checks: 0, sql_mode: 'ANSI' },
};

type Queryable = Parameters<typeof getMasterStatus>[0];

function serverError(errno: number, code: string): Error {
  return Object.assign(new Error(`server said ${code}`), {
    errno,
    code,
    sqlState: 'HY000',
    sqlMessage: `server said ${code}`,
  });
}

void test('mysqlOptions: exact values, utf8mb4, UTC, no LOCAL INFILE, TLS copied (mysql2 writes into it)', () => {
  const o = mysqlOptions(conn);
  assert.equal(o.charset, 'utf8mb4');
  assert.equal(o.timezone, 'Z');
  assert.equal(o.supportBigNumbers, true);
  assert.equal(o.bigNumberStrings, true);
  assert.equal(o.dateStrings, true);
  assert.equal(o.jsonStrings, true);
  assert.equal(o.multipleStatements, false);
  assert.equal(o.connectTimeout, 10_000);
  assert.deepEqual(o.flags, ['-LOCAL_FILES']);
  assert.deepEqual(o.ssl, { ca: PEM, rejectUnauthorized: true });
  assert.notEqual(o.ssl, conn.ssl);
  assert.equal(mysqlOptions({ ...conn, ssl: undefined }).ssl, undefined, 'no security block: plain TCP');
  const m = mysqlOptions(conn, { multipleStatements: true, connectTimeoutMs: 5000, localInfile: true });
  assert.equal(m.multipleStatements, true);
  assert.equal(m.connectTimeout, 5000);
  assert.deepEqual(m.flags, ['+LOCAL_FILES']);
});

void test('poolOptions: the same options plus size and TCP keep-alive', () => {
  const p = poolOptions(conn, { connectionLimit: 18 });
  assert.equal(p.connectionLimit, 18);
  assert.equal(p.enableKeepAlive, true);
  assert.ok((p.keepAliveInitialDelay ?? 0) > 0);
  assert.equal(p.charset, 'utf8mb4');
  assert.deepEqual(p.ssl, conn.ssl);
  assert.equal(poolOptions(conn).connectionLimit, 4);
});

void test('every mysql2 connection (pools, single connections, the binlog dump) gets a small prepared-statement cache', () => {
  // mysql2 allocates its statement LRU at the configured size up front (16,000 slots = 512 KB of
  // heap per connection by default); DM.ts prepares no statement
  const Config = (mysqlCore as unknown as { ConnectionConfig: new (o: object) => { maxPreparedStatements: number } }).ConnectionConfig;
  for (const o of [mysqlOptions(conn), poolOptions(conn), binlogStreamOptions(conn)]) {
    const c = new Config(o);
    assert.ok(c.maxPreparedStatements >= 1 && c.maxPreparedStatements <= 64, `maxPreparedStatements ${c.maxPreparedStatements}`);
  }
  assert.equal(new Config({ host: 'h' }).maxPreparedStatements, 16000, "mysql2's own default (what the options replace)");
});

void test("initSqlFor: DM.ts's time_zone and sql_mode, the block's session over them, the caller's last", () => {
  assert.equal(
    initSqlFor({ ...conn, session: undefined }),
    `SET time_zone = '+00:00', SESSION sql_mode = '${DM_SESSION_SQL_MODE}'`,
  );
  assert.equal(
    initSqlFor(conn),
    "SET time_zone = '+00:00', SESSION sql_mode = 'ANSI', SESSION foreign_key_checks = 0",
  );
  assert.equal(
    initSqlFor(conn, { sessionVars: { foreign_key_checks: 1 } }),
    "SET time_zone = '+00:00', SESSION sql_mode = 'ANSI', SESSION foreign_key_checks = 1",
  );
});

void test('binlogStreamOptions: same server, credentials and TLS, exact values', () => {
  const z = binlogStreamOptions(conn);
  assert.equal(z.host, conn.host);
  assert.equal(z.port, conn.port);
  assert.equal(z.user, conn.user);
  assert.equal(z.password, conn.password);
  assert.deepEqual(z.ssl, conn.ssl);
  assert.equal(z.supportBigNumbers, true);
  assert.equal(z.dateStrings, true);
  assert.equal(z.timezone, 'Z');
});

/** A query surface answering like a server (MySQL 8.4 cannot run in the sandbox, so its answers are scripted). */
function scripted(answers: Record<string, unknown>): Queryable {
  return {
    query: (async (sql: string) => {
      const a = answers[sql];
      if (a instanceof Error) throw a;
      if (a === undefined) throw new Error(`unexpected ${sql}`);
      return [a, []];
    }) as unknown as Queryable['query'],
  };
}

void test('getMasterStatus: SHOW BINARY LOG STATUS where MySQL 8.4 refuses SHOW MASTER STATUS; GTID by flavor', async () => {
  const mysql84 = scripted({
    'SELECT VERSION() AS v': [{ v: '8.4.0' }],
    'SHOW MASTER STATUS': serverError(1064, 'ER_PARSE_ERROR'),
    'SHOW BINARY LOG STATUS': [{ File: 'binlog.000002', Position: '157' }],
    'SELECT @@GLOBAL.gtid_executed AS g': [
      { g: '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,\n4e11fa47-71ca-11e1-9e33-c80aa9429562:1' },
    ],
  });
  assert.deepEqual(await getMasterStatus(mysql84), {
    file: 'binlog.000002',
    offset: 157,
    gtid: '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,4e11fa47-71ca-11e1-9e33-c80aa9429562:1',
    flavor: 'mysql',
  });
  const maria = scripted({
    'SELECT VERSION() AS v': [{ v: '10.11.6-MariaDB' }],
    'SHOW MASTER STATUS': [{ File: 'mysql-bin.000001', Position: 330 }],
    'SELECT @@GLOBAL.gtid_binlog_pos AS g': [{ g: '0-1-7' }],
  });
  assert.deepEqual(await getMasterStatus(maria), {
    file: 'mysql-bin.000001',
    offset: 330,
    gtid: '0-1-7',
    flavor: 'mariadb',
  });
  // a poll: one statement
  assert.deepEqual(
    await getMasterStatus(scripted({ 'SHOW MASTER STATUS': [{ File: 'f.1', Position: 4 }] }), {
      gtid: false,
    }),
    { file: 'f.1', offset: 4, gtid: '', flavor: 'mysql' },
  );
});

void test('getMasterStatus: no binlog, a refused read (named by the caller), optional reads', async () => {
  const noBinlog = scripted({
    'SELECT VERSION() AS v': [{ v: '10.11.6-MariaDB' }],
    'SHOW MASTER STATUS': [],
  });
  await assert.rejects(
    getMasterStatus(noBinlog),
    (e) => e instanceof DMError && e.codeName === 'ErrDBBinlogDisabled',
  );
  const refused = scripted({
    'SELECT VERSION() AS v': [{ v: '10.11.6-MariaDB' }],
    'SHOW MASTER STATUS': serverError(1227, 'ER_SPECIFIC_ACCESS_DENIED_ERROR'),
  });
  await assert.rejects(
    getMasterStatus(refused),
    (e) =>
      e instanceof DMError && e.codeName === 'ErrDBAccessDenied' && /REPLICATION CLIENT/.test(e.workaround),
  );
  await assert.rejects(
    getMasterStatus(refused, { refusedCode: 'ErrDumpPrivilege' }),
    (e) => e instanceof DMError && e.codeName === 'ErrDumpPrivilege',
  );
  const unknown = await getMasterStatus(refused, { refusedCode: 'ErrDumpPrivilege', optional: true });
  assert.deepEqual(unknown, { file: '', offset: 0, gtid: '', flavor: 'mariadb' });
  assert.deepEqual(await getMasterStatus(noBinlog, { optional: true }), {
    file: '',
    offset: 0,
    gtid: '',
    flavor: 'mariadb',
  });
  // other errors are thrown even when optional, named by `classify`
  const down = scripted({
    'SELECT VERSION() AS v': [{ v: '8.0.36' }],
    'SHOW MASTER STATUS': Object.assign(new Error('lost'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }),
  });
  await assert.rejects(
    getMasterStatus(down, { optional: true, classify: (e, what) => classifyMySQLError(e, 'source', what) }),
    (e) => e instanceof DMError && e.codeName === 'ErrUpstreamUnreachable',
  );
});

void test('errno table: the binlog stream reconnects after a lost connection or a transient error, never after a decode error', () => {
  for (const e of [
    Object.assign(new Error('x'), { code: 'ECONNRESET', errno: -104 }),
    Object.assign(new Error('x'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }),
    Object.assign(new Error('x'), { code: 'ERR_STREAM_WRITE_AFTER_END' }),
    serverError(2013, 'CR_SERVER_LOST'),
    serverError(1927, 'ER_CONNECTION_KILLED'),
    serverError(1213, 'ER_LOCK_DEADLOCK'),
    serverError(1040, 'ER_CON_COUNT_ERROR'),
    serverError(1153, 'ER_NET_PACKET_TOO_LARGE'),
    serverError(3024, 'ER_QUERY_TIMEOUT'),
  ]) {
    assert.ok(isReconnectableStreamError(e), String((e as { code?: string }).code));
  }
  // the mysql driver flags a JS exception in a packet parser `fatal`: a decoding bug, not a lost connection
  assert.ok(
    !isReconnectableStreamError(
      Object.assign(new Error('bad row'), { code: 'PARSER_JS_EXCEPTION', fatal: true }),
    ),
  );
  assert.ok(!isReconnectableStreamError(serverError(1236, 'ER_MASTER_FATAL_ERROR_READING_BINLOG')));
  assert.ok(!isReconnectableStreamError(new DMError('ErrUpstreamUnreachable', 'already decided')));
  assert.ok(isFatalBinlogReadError(serverError(1236, 'ER_MASTER_FATAL_ERROR_READING_BINLOG')));
  assert.ok(!isFatalBinlogReadError(serverError(2013, 'CR_SERVER_LOST')));
});

void test("errno table: the full phase's side naming", () => {
  const lost = Object.assign(new Error('x'), { code: 'ECONNREFUSED' });
  assert.equal(classifyMySQLError(lost, 'source', 'connect').codeName, 'ErrUpstreamUnreachable');
  assert.equal(classifyMySQLError(lost, 'target', 'connect').codeName, 'ErrLoadTargetUnreachable');
  assert.equal(
    classifyMySQLError(serverError(1213, 'ER_LOCK_DEADLOCK'), 'target', 'load').codeName,
    'ErrDBRetryableError',
  );
  assert.equal(
    classifyMySQLError(serverError(1062, 'ER_DUP_ENTRY'), 'target', 'load').codeName,
    'ErrLoadDuplicateEntry',
  );
  assert.equal(
    classifyMySQLError(serverError(1146, 'ER_NO_SUCH_TABLE'), 'source', 'read').codeName,
    'ErrDumpSourceRead',
  );
  assert.equal(
    classifyMySQLError(serverError(1146, 'ER_NO_SUCH_TABLE'), 'target', 'load').codeName,
    'ErrLoadExecFailed',
  );
  assert.equal(
    classifyMySQLError(serverError(1045, 'ER_ACCESS_DENIED_ERROR'), 'source', 'connect').codeName,
    'ErrDBAccessDenied',
  );
  assert.ok(classifyMySQLError(lost, 'source', 'connect').retryable);
});
