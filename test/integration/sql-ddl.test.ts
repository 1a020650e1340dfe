import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer } from '../helpers/index.js';
import { connect, parseDDL, rewriteDDL, splitDDL, ddlEffectState, isAlreadyAppliedError, type Connection } from '../../src/sql/index.js';
import { createRouter } from '../../src/filter/index.js';

let db: MariaDBServer;
let c: Connection;
const router = createRouter([{ schemaPattern: 'up_*', targetSchema: 'down' }], { caseSensitive: false, sourceId: 's' });
const map = (t: { schema: string; table: string }): { schema: string; table: string } => router.route(t.schema, t.table);

before(async () => {
  db = await MariaDBServer.start();
  c = await connect(db.connOpts());
  await c.query('CREATE DATABASE up_1');
  await c.query('CREATE DATABASE down');
});
after(async () => {
  await c?.end();
  await db?.stop();
});

async function showCreate(schema: string, table: string): Promise<string> {
  const [r] = await c.query(`SHOW CREATE TABLE \`${schema}\`.\`${table}\``);
  return String((r as Record<string, string>[])[0]?.['Create Table']);
}

/** Run a source DDL upstream and its rewritten form downstream, checking the effect detection around it. */
async function replay(sql: string, wantBefore: string, wantAfter: string): Promise<void> {
  await c.query('USE up_1');
  await c.query(sql);
  for (const stmt of splitDDL(sql, 'up_1')) {
    const target = rewriteDDL(stmt, 'up_1', map);
    const parsed = parseDDL(target, 'down');
    assert.equal(await ddlEffectState(c, parsed), wantBefore, `before: ${target}`);
    await c.query(target);
    assert.equal(await ddlEffectState(c, parsed), wantAfter, `after: ${target}`);
  }
}

void test('routed DDL produces the same structure downstream, and replays are recognised', async () => {
  await replay(
    `CREATE TABLE t1 (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT COMMENT 'id ''x''',
      name VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT 'up_1.t1',
      amount DECIMAL(65,30) DEFAULT NULL,
      ts TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
      g INT AS (id * 2) VIRTUAL,
      j JSON,
      PRIMARY KEY (id),
      UNIQUE KEY uk_name (name(10)),
      KEY ix_ts (ts) COMMENT 'idx'
    ) ENGINE=InnoDB DEFAULT CHARSET=latin1 COMMENT='t1 table'`,
    'absent',
    'present',
  );
  assert.equal(await showCreate('down', 't1'), await showCreate('up_1', 't1'));

  await replay('ALTER TABLE t1 ADD COLUMN c INT NOT NULL DEFAULT 7 AFTER name, ADD INDEX ix_c (c), MODIFY amount DECIMAL(20,2)', 'absent', 'present');
  await replay('ALTER TABLE t1 DROP COLUMN c', 'absent', 'present');
  await replay('ALTER TABLE t1 CHANGE COLUMN j doc JSON', 'absent', 'present');
  await replay('CREATE INDEX ix_amount ON t1 (amount)', 'absent', 'present');
  await replay('DROP INDEX ix_amount ON t1', 'absent', 'present');
  assert.equal(await showCreate('down', 't1'), await showCreate('up_1', 't1'));

  await replay('CREATE TABLE t2 LIKE t1', 'absent', 'present');
  await replay('CREATE TABLE t3 (a INT)', 'absent', 'present');
  await replay('RENAME TABLE t2 TO t2b, t3 TO t3b', 'absent', 'present');
  await replay('ALTER TABLE t2b RENAME TO t2c', 'absent', 'present');
  await replay('TRUNCATE TABLE t2c', 'unknown', 'unknown');
  await replay('DROP TABLE t2c, t3b', 'absent', 'present');
  assert.equal(await showCreate('down', 't1'), await showCreate('up_1', 't1'));
});

void test('database DDL and already-applied errors', async () => {
  const create = parseDDL(rewriteDDL('CREATE DATABASE up_2', '', map), '');
  assert.equal(create.schema, 'down');
  assert.equal(await ddlEffectState(c, create), 'present', 'routed database already exists');
  const again = await c.query('CREATE TABLE down.t1 (a INT)').then(() => undefined, (e: unknown) => e);
  assert.equal(isAlreadyAppliedError(again), true);
  const dupCol = await c.query('ALTER TABLE down.t1 ADD COLUMN name INT').then(() => undefined, (e: unknown) => e);
  assert.equal(isAlreadyAppliedError(dupCol), true);
  const syntax = await c.query('ALTER TABLE down.t1 ADD COLUMN').then(() => undefined, (e: unknown) => e);
  assert.equal(isAlreadyAppliedError(syntax), false);
  const drop = parseDDL('DROP DATABASE IF EXISTS gone_db', '');
  assert.equal(await ddlEffectState(c, drop), 'present');
});
