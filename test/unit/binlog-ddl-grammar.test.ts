/**
 * The schema tracker follows the MariaDB/MySQL DDL grammar node-sql-parser misses on its own
 * (DM.ts issue 11 §1): every case here made the table `unknown` (or was read wrongly) before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SchemaTracker } from '../../src/binlog/index.js';
import { normalizeDDL, unwrapExecutableComments } from '../../src/binlog/ddl-normalize.js';

function tracker(create = 'CREATE TABLE t (id INT PRIMARY KEY, a INT, b VARCHAR(10)) DEFAULT CHARSET=latin1'): SchemaTracker {
  const tr = new SchemaTracker({ flavor: 'mariadb' });
  tr.applyDDL('db', create);
  return tr;
}

const cols = (tr: SchemaTracker, table = 't'): string[] => {
  const x = tr.get('db', table);
  assert.ok(x && x !== 'unknown', `db.${table} is tracked (got ${JSON.stringify(x)})`);
  return x.columns.map((c) => `${c.name} ${c.columnType}${c.charset ? ` ${c.charset}` : ''}`);
};

const CASES: { ddl: string; want: string[]; create?: string; table?: string }[] = [
  { ddl: "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(5) DEFAULT _UTF8MB4'0', n CHAR(2) DEFAULT _latin1 'x' COMMENT 'c')", want: ['id int', 's varchar(5) latin1', 'n char(2) latin1'], create: 'CREATE DATABASE db CHARACTER SET latin1' },
  { ddl: "ALTER TABLE t ADD c INT DEFAULT _binary'1' COMMENT 'hi'", want: ['id int', 'a int', 'b varchar(10) latin1', 'c int'] },
  { ddl: 'CREATE TABLE `t` (`id` INT PRIMARY KEY, `a``b` INT, `c d` VARCHAR(3))', want: ['id int', 'a`b int', 'c d varchar(3) latin1'], create: 'CREATE DATABASE db CHARACTER SET latin1' },
  { ddl: 'ALTER TABLE t CHANGE COLUMN `a` `x``y` BIGINT, ADD COLUMN `p``q` INT FIRST', want: ['p`q int', 'id int', 'x`y bigint', 'b varchar(10) latin1'] },
  { ddl: 'ALTER TABLE t ADD COLUMN IF NOT EXISTS a INT, ADD COLUMN IF NOT EXISTS c INT', want: ['id int', 'a int', 'b varchar(10) latin1', 'c int'] },
  { ddl: 'ALTER TABLE t MODIFY b VARCHAR(20) FIRST', want: ['b varchar(20) latin1', 'id int', 'a int'] },
  { ddl: 'ALTER TABLE t MODIFY COLUMN a BIGINT AFTER b', want: ['id int', 'b varchar(10) latin1', 'a bigint'] },
  { ddl: 'ALTER TABLE t CHANGE COLUMN a c INT AFTER b', want: ['id int', 'b varchar(10) latin1', 'c int'] },
  { ddl: 'ALTER TABLE t CHANGE b b2 TEXT', want: ['id int', 'a int', 'b2 text latin1'] },
  { ddl: 'ALTER TABLE t ADD COLUMN c INT, ALGORITHM=INPLACE, LOCK=NONE', want: ['id int', 'a int', 'b varchar(10) latin1', 'c int'] },
  { ddl: 'ALTER TABLE t ALGORITHM = COPY, LOCK = SHARED, ADD COLUMN c DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)', want: ['id int', 'a int', 'b varchar(10) latin1', 'c datetime(3)'] },
  { ddl: 'ALTER TABLE t RENAME COLUMN b TO c', want: ['id int', 'a int', 'c varchar(10) latin1'] },
  { ddl: 'ALTER TABLE t ADD COLUMN (c INT, d DECIMAL(10,2) UNSIGNED, INDEX ic (c))', want: ['id int', 'a int', 'b varchar(10) latin1', 'c int', 'd decimal(10,2) unsigned'] },
  { ddl: 'ALTER TABLE t ADD (c INT)', want: ['id int', 'a int', 'b varchar(10) latin1', 'c int'] },
  { ddl: 'ALTER TABLE t ADD COLUMN IF NOT EXISTS (a INT, c INT)', want: ['id int', 'a int', 'b varchar(10) latin1', 'c int'] },
  { ddl: 'ALTER TABLE t DROP COLUMN IF EXISTS zz, DROP COLUMN IF EXISTS a', want: ['id int', 'b varchar(10) latin1'] },
  { ddl: 'ALTER TABLE t MODIFY COLUMN IF EXISTS zz INT, MODIFY COLUMN IF EXISTS a SMALLINT', want: ['id int', 'a smallint', 'b varchar(10) latin1'] },
  { ddl: 'ALTER TABLE t CHANGE COLUMN IF EXISTS a a2 BIGINT', want: ['id int', 'a2 bigint', 'b varchar(10) latin1'] },
  { ddl: 'ALTER ONLINE TABLE t ADD COLUMN c INT', want: ['id int', 'a int', 'b varchar(10) latin1', 'c int'] },
  { ddl: 'ALTER IGNORE TABLE t ADD COLUMN c INT', want: ['id int', 'a int', 'b varchar(10) latin1', 'c int'] },
  { ddl: 'ALTER TABLE t WAIT 5 ADD COLUMN c INT', want: ['id int', 'a int', 'b varchar(10) latin1', 'c int'] },
  { ddl: 'ALTER TABLE IF EXISTS t NOWAIT DROP COLUMN a', want: ['id int', 'b varchar(10) latin1'] },
  { ddl: "ALTER /* why */ TABLE t -- note\n ADD COLUMN c INT # trailing\n, /*!50100 ADD COLUMN d INT */", want: ['id int', 'a int', 'b varchar(10) latin1', 'c int', 'd int'] },
  { ddl: '/*!40101 ALTER TABLE t ADD c INT */', want: ['id int', 'a int', 'b varchar(10) latin1', 'c int'] },
  { ddl: 'ALTER TABLE t ADD COLUMN c INT INVISIBLE, ADD COLUMN d VARCHAR(100) COMPRESSED', want: ['id int', 'a int', 'b varchar(10) latin1', 'c int', 'd varchar(100) latin1'] },
  { ddl: 'ALTER TABLE t FORCE', want: ['id int', 'a int', 'b varchar(10) latin1'] },
  { ddl: 'ALTER TABLE t ENGINE=InnoDB, COMMENT = "x", ROW_FORMAT=DYNAMIC', want: ['id int', 'a int', 'b varchar(10) latin1'] },
  { ddl: 'ALTER TABLE t ALTER COLUMN a SET DEFAULT 3, ALTER b DROP DEFAULT', want: ['id int', 'a int', 'b varchar(10) latin1'] },
  { ddl: 'ALTER TABLE t DEFAULT CHARSET = utf8mb4, ADD COLUMN c VARCHAR(4)', want: ['id int', 'a int', 'b varchar(10) latin1', 'c varchar(4) utf8mb4'] },
  { ddl: 'ALTER TABLE t ADD COLUMN c VARCHAR(4) COLLATE utf8mb4_bin', want: ['id int', 'a int', 'b varchar(10) latin1', 'c varchar(4) utf8mb4'] },
  { ddl: 'CREATE TABLE IF NOT EXISTS t (x BIGINT)', want: ['id int', 'a int', 'b varchar(10) latin1'] },
  { ddl: 'CREATE OR REPLACE TABLE t (x BIGINT)', want: ['x bigint'] },
  { ddl: 'ALTER TABLE t ADD CONSTRAINT ck CHECK (a > 0), ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES o (id), DROP FOREIGN KEY fk2', want: ['id int', 'a int', 'b varchar(10) latin1'] },
];

void test('schema tracker: MariaDB ALTER/CREATE grammar beyond node-sql-parser', () => {
  for (const c of CASES) {
    const tr = c.create?.startsWith('CREATE DATABASE') ? new SchemaTracker({ flavor: 'mariadb' }) : tracker(c.create);
    if (c.create?.startsWith('CREATE DATABASE')) tr.applyDDL('', c.create);
    const touched = tr.applyDDL('db', c.ddl);
    assert.ok(touched.length > 0 || c.ddl.startsWith('CREATE TABLE IF NOT EXISTS'), `${c.ddl}: touched ${JSON.stringify(touched)}`);
    assert.deepEqual(cols(tr, c.table), c.want, c.ddl);
  }
});

void test('schema tracker: keys follow RENAME INDEX / DROP INDEX IF EXISTS / DROP CONSTRAINT; ADD UNIQUE after ADD COLUMN', () => {
  const tr = tracker('CREATE TABLE t (id INT NOT NULL, a INT, UNIQUE KEY ua (a), UNIQUE KEY uid (id))');
  tr.applyDDL('db', 'ALTER TABLE t RENAME INDEX ua TO ub, ADD COLUMN c INT NOT NULL, ADD UNIQUE KEY uc (c)');
  let t = tr.get('db', 't');
  assert.ok(t && t !== 'unknown');
  assert.deepEqual(t.keyColumns, ['id']);
  assert.deepEqual(t.uniqueKeys, [['a'], ['c']]);
  tr.applyDDL('db', 'ALTER TABLE t DROP INDEX IF EXISTS nope, DROP INDEX ub, DROP CONSTRAINT uid');
  t = tr.get('db', 't');
  assert.ok(t && t !== 'unknown');
  assert.deepEqual(t.keyColumns, ['c']);
  assert.deepEqual(t.uniqueKeys, []);
});

void test('schema tracker: what still cannot be followed makes the table unknown, whole (never half-applied)', () => {
  for (const ddl of ['ALTER TABLE t ADD COLUMN c INT, CONVERT TO CHARACTER SET utf8mb4', 'ALTER TABLE t ADD SYSTEM VERSIONING', 'ALTER TABLE t ADD COLUMN c INT, ADD COLUMN c2 FANCYTYPE']) {
    const tr = tracker();
    assert.deepEqual(tr.applyDDL('db', ddl), [{ schema: 'db', table: 't' }], ddl);
    assert.equal(tr.get('db', 't'), 'unknown', ddl);
  }
});

void test('ddl normalize: clauses, flags and comments', () => {
  const n = normalizeDDL('ALTER ONLINE TABLE `d`.`we``ird` WAIT 3 ADD COLUMN IF NOT EXISTS (a INT, b INT), DROP COLUMN IF EXISTS c, LOCK=NONE, RENAME INDEX i TO j');
  assert.equal(n.kind, 'alter');
  assert.deepEqual(n.kind === 'alter' && n.table, { schema: 'd', table: 'we`ird' });
  assert.deepEqual(n.kind === 'alter' && n.ops, [
    { kind: 'sql', sql: 'ALTER TABLE `d`.`we``ird` ADD COLUMN a INT', ifExists: false, ifNotExists: true },
    { kind: 'sql', sql: 'ALTER TABLE `d`.`we``ird` ADD COLUMN b INT', ifExists: false, ifNotExists: true },
    { kind: 'drop-column', column: 'c', ifExists: true },
    { kind: 'noop' },
    { kind: 'rename-index', from: 'i', to: 'j' },
  ]);
  assert.equal(unwrapExecutableComments("/*!40101 SET x='/*!' */ /* plain */"), "         SET x='/*!'               ");
  // hex and bit literals stay literals when the statement is rebuilt
  const c = normalizeDDL("CREATE TABLE t (a BINARY(2) DEFAULT x'00ff', b BIT(3) DEFAULT b'101', s VARCHAR(3) DEFAULT _utf8mb4 'é')");
  assert.equal(c.kind === 'other' && c.sql, "CREATE TABLE t (a BINARY(2) DEFAULT x'00ff', b BIT(3) DEFAULT b'101', s VARCHAR(3) DEFAULT 'é')");
});
