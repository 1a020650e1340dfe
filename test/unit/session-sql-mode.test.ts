// Session settings: DM.ts's own session statement, standard quoting of ANSI_QUOTES /
// NO_BACKSLASH_ESCAPES text, Query-event status variables and the DDL session statement.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sessionInitSql, standardQuoting, tokenize, parseDDL, DM_SESSION_SQL_MODE } from '../../src/sql/index.js';
import { parseQueryStatusVars, portableSqlMode, sqlModeNames } from '../../src/binlog/query-status.js';
import { ddlSessionSQL } from '../../src/units/sync/ddl-session.js';
import type { QueryEvent } from '../../src/binlog/events.js';

test('sessionInitSql: DM.ts sets time_zone and sql_mode; a session block replaces them by name (any case), nothing twice', () => {
  assert.equal(sessionInitSql(), `SET time_zone = '+00:00', SESSION sql_mode = '${DM_SESSION_SQL_MODE}'`);
  assert.ok(DM_SESSION_SQL_MODE.split(',').includes('NO_AUTO_VALUE_ON_ZERO'));
  for (const m of ['ANSI_QUOTES', 'NO_BACKSLASH_ESCAPES', 'PIPES_AS_CONCAT']) assert.ok(!DM_SESSION_SQL_MODE.includes(m));
  assert.equal(
    sessionInitSql({ sessionVars: { SQL_MODE: 'ANSI', foreign_key_checks: false, time_zone: '+08:00' } }),
    "SET SESSION time_zone = '+08:00', SESSION SQL_MODE = 'ANSI', SESSION foreign_key_checks = 0",
  );
});

test('tokenize: ANSI_QUOTES makes "x" an identifier; NO_BACKSLASH_ESCAPES makes a backslash ordinary', () => {
  assert.deepEqual(tokenize('"a""b"').map((t) => t.kind), ['string']);
  assert.deepEqual(tokenize('"a""b"', { ansiQuotes: true }).map((t) => [t.kind, t.value]), [['qident', 'a"b']]);
  // 'a\' is a complete string only without backslash escapes
  assert.throws(() => tokenize("'a\\' x"));
  assert.deepEqual(tokenize("'a\\' x", { noBackslashEscapes: true }).map((t) => t.kind), ['string', 'word']);
});

test('standardQuoting: identifiers to backquotes, strings re-escaped, everything else kept', () => {
  const mode = { ansiQuotes: true, noBackslashEscapes: true };
  assert.equal(
    standardQuoting(`ALTER TABLE "db"."t" /* "c" */ ADD COLUMN "w""x" VARCHAR(9) DEFAULT 'C:\\dir''s\\' COMMENT "\`"`, mode),
    "ALTER TABLE `db`.`t` /* \"c\" */ ADD COLUMN `w\"x` VARCHAR(9) DEFAULT 'C:\\\\dir\\'s\\\\' COMMENT ````",
  );
  // only ANSI_QUOTES: strings are already standard
  assert.equal(standardQuoting(`CREATE TABLE "t" (a CHAR(2) DEFAULT 'a\\'')`, { ansiQuotes: true }), "CREATE TABLE `t` (a CHAR(2) DEFAULT 'a\\'')");
  // only NO_BACKSLASH_ESCAPES: "..." is a string there
  assert.equal(standardQuoting(`CREATE TABLE t (a CHAR(2) DEFAULT "\\")`, { noBackslashEscapes: true }), "CREATE TABLE t (a CHAR(2) DEFAULT '\\\\')");
  assert.equal(standardQuoting('CREATE TABLE "t" (a INT)', {}), 'CREATE TABLE "t" (a INT)');
  // the rewritten text parses as the statement meant
  assert.deepEqual(parseDDL(standardQuoting('RENAME TABLE "a"."x y" TO "b"."z"', mode), '').tables, [
    { schema: 'a', table: 'x y' },
    { schema: 'b', table: 'z' },
  ]);
});

/** A status-variable block as servers write it (code, value)… */
function block(...parts: (number | Buffer)[]): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'number' ? Buffer.from([p]) : p)));
}
const u64 = (v: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b;
};
const lenStr = (s: string): Buffer => Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s)]);

test('parseQueryStatusVars: sql_mode bits by flavor, time_zone, microseconds; variable-length fields skipped; stops at an unknown code', () => {
  const mode = (1n << 1n) | (1n << 2n) | (1n << 19n) | (1n << 20n) | (1n << 4n) | (1n << 33n);
  const b = block(
    0, Buffer.alloc(4), // Q_FLAGS2_CODE
    1, u64(mode), // Q_SQL_MODE_CODE
    6, lenStr('std'), // Q_CATALOG_NZ_CODE
    4, Buffer.alloc(6), // Q_CHARSET_CODE
    5, lenStr('Europe/Berlin'), // Q_TIME_ZONE_CODE
    11, lenStr('root'), lenStr('localhost'), // Q_INVOKER
    12, 2, Buffer.from('a\0b\0'), // Q_UPDATED_DB_NAMES
    128, Buffer.from([0x40, 0xe2, 0x01]), // Q_HRNOW 123456
  );
  assert.deepEqual(parseQueryStatusVars(b, 'mariadb'), {
    sqlMode: 'PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_BAD_TABLE_OPTIONS,NO_AUTO_VALUE_ON_ZERO,NO_BACKSLASH_ESCAPES,SIMULTANEOUS_ASSIGNMENT',
    timeZone: 'Europe/Berlin',
    micros: 123456,
  });
  assert.equal(sqlModeNames(mode, 'mysql'), 'PIPES_AS_CONCAT,ANSI_QUOTES,NO_AUTO_VALUE_ON_ZERO,NO_BACKSLASH_ESCAPES');
  // unknown code 99: what came before is kept; a truncated value ends the parse too
  assert.deepEqual(parseQueryStatusVars(block(5, lenStr('+02:00'), 99, 1, u64(4n)), 'mysql'), { timeZone: '+02:00' });
  assert.deepEqual(parseQueryStatusVars(block(1, Buffer.alloc(3)), 'mysql'), {});
  assert.deepEqual(parseQueryStatusVars(block(1, u64(0n), 13, Buffer.from([7, 0, 0])), 'mysql'), { sqlMode: '', micros: 7 });
});

test('portableSqlMode and ddlSessionSQL: the upstream session a DDL runs under', () => {
  assert.equal(
    portableSqlMode('REAL_AS_FLOAT,PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE,ANSI,NO_FIELD_OPTIONS,STRICT_ALL_TABLES,TRADITIONAL,NO_AUTO_CREATE_USER,EMPTY_STRING_IS_NULL', ['ANSI_QUOTES']),
    'REAL_AS_FLOAT,PIPES_AS_CONCAT,IGNORE_SPACE,STRICT_ALL_TABLES',
  );
  const ev: QueryEvent = { kind: 'query', schema: 's', sql: 'x', pos: { file: 'f', offset: 4, gtid: '' }, timestamp: 1700000000, serverId: 1, sqlMode: 'PIPES_AS_CONCAT,ANSI_QUOTES,NO_BACKSLASH_ESCAPES,NO_AUTO_VALUE_ON_ZERO', timeZone: '+02:00', micros: 42 };
  assert.equal(ddlSessionSQL(ev), "SET SESSION sql_mode = 'PIPES_AS_CONCAT,NO_AUTO_VALUE_ON_ZERO', SESSION time_zone = '+02:00', SESSION timestamp = 1700000000.000042");
  assert.equal(ddlSessionSQL({ ...ev, sqlMode: undefined, timeZone: undefined, micros: undefined }), 'SET SESSION timestamp = 1700000000');
  assert.equal(ddlSessionSQL({ ...ev, sqlMode: undefined, timeZone: undefined, timestamp: 0 }), undefined);
});
