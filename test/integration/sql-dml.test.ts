import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer, compareTables, describeDiffs } from '../helpers/index.js';
import {
  createPool,
  getTableInfo,
  buildInsert,
  buildUpdate,
  buildDelete,
  buildMultiDelete,
  buildSafeInsert,
  buildSafeUpdate,
  type DMLTable,
  type Pool,
} from '../../src/sql/index.js';

let db: MariaDBServer;
let pool: Pool;

const EDGE_DDL = (schema: string): string => `CREATE TABLE ${schema}.edge (
  id INT PRIMARY KEY,
  ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, su SMALLINT UNSIGNED, mi MEDIUMINT, mu MEDIUMINT UNSIGNED,
  i INT, iu INT UNSIGNED, bi BIGINT, bu BIGINT UNSIGNED,
  d65 DECIMAL(65,30), d5 DECIMAL(5,2), f FLOAT, db DOUBLE,
  b1 BIT(1), b64 BIT(64),
  dt DATE, tm TIME(6), dtm0 DATETIME, dtm3 DATETIME(3), dtm6 DATETIME(6), ts TIMESTAMP(6) NULL, y YEAR,
  c CHAR(10), vc VARCHAR(100), tx TEXT, l1 VARCHAR(20) CHARACTER SET latin1,
  bn BINARY(4), vb VARBINARY(10), bl BLOB,
  e ENUM('a','b','c'), st SET('x','y','z'), j JSON,
  g INT AS (id * 2) VIRTUAL, gs VARCHAR(20) AS (CONCAT(vc, '!')) PERSISTENT,
  geo GEOMETRY NULL
)`;

const EDGE_ROWS = `INSERT INTO src.edge (id, ti, tu, si, su, mi, mu, i, iu, bi, bu, d65, d5, f, db, b1, b64, dt, tm, dtm0, dtm3, dtm6, ts, y, c, vc, tx, l1, bn, vb, bl, e, st, j, geo) VALUES
 (1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615,
  '-99999999999999999999999999999999999.999999999999999999999999999999', -999.99, -3.40282e38, -1.7976931348623157e308,
  b'0', b'1111111111111111111111111111111111111111111111111111111111111111',
  '1000-01-01', '-838:59:59.000000', '1000-01-01 00:00:00', '1000-01-01 00:00:00.000', '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01.000000', 1901,
  '', '', '', '', x'00000000', x'', x'00', 'a', '', '{}', ST_GeomFromText('POINT(1 2)')),
 (2, 127, 0, 32767, 0, 8388607, 0, 2147483647, 0, 9223372036854775807, 0,
  '99999999999999999999999999999999999.999999999999999999999999999999', 999.99, 1.17549e-38, 2.2250738585072014e-308,
  b'1', b'0',
  '9999-12-31', '838:59:59.000000', '9999-12-31 23:59:59', '9999-12-31 23:59:59.999', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999', 2155,
  'abc', 'emoji 😀 ☃ 𝄞', 'line1\\nline2\\ttab \\\\ backslash '' quote "dq"', 'café latin1', x'00ff0001', x'000102', x'00000000ff', 'c', 'x,y,z',
  '{"a": [1, 2.5, "x"], "big": 12345678901234567890, "s": "\\\\u00e9 é"}', ST_GeomFromText('LINESTRING(0 0, 1 1, 2 0)')),
 (3, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '0.000000000000000000000000000001', 0.01, 0, 0, NULL, NULL,
  NULL, '00:00:00.000001', NULL, NULL, '2000-02-29 12:34:56.000001', NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, '1.5', 1.5, 0.1, 0.1, b'1', b'1010', '2024-02-29', '12:00:00.5', '2024-02-29 23:59:59', '2024-02-29 23:59:59.1',
  '2024-02-29 23:59:59.12', '2024-02-29 23:59:59.123', 2024, 'trail  ', '  lead', 'NULL', 'null', x'61000000', x'00', x'', 'b', 'x', 'null', NULL)`;

before(async () => {
  db = await MariaDBServer.start();
  await db.sql('CREATE DATABASE src; CREATE DATABASE dst');
  await db.sql(EDGE_DDL('src'));
  await db.sql(EDGE_DDL('dst'));
  await db.sql(EDGE_ROWS);
  await db.sql(`CREATE TABLE src.nokey (a INT, b VARCHAR(10), c BLOB);
    CREATE TABLE dst.nokey (a INT, b VARCHAR(10), c BLOB);
    INSERT INTO src.nokey VALUES (1, 'x', x'00'), (1, 'x', x'00'), (NULL, NULL, NULL), (2, '', x'');
    CREATE TABLE src.ck (k1 VARCHAR(10) NOT NULL, k2 INT NOT NULL, v TEXT, PRIMARY KEY (k1, k2));
    CREATE TABLE dst.ck LIKE src.ck;
    INSERT INTO src.ck VALUES ('a', 1, 'one'), ('a', 2, 'two'), ('b', 1, 'three'), ('b''q', 3, 'quote');`);
  pool = createPool({ ...db.connOpts() }, { connectionLimit: 2 });
});
after(async () => {
  await pool?.end();
  await db?.stop();
});

async function select(schema: string, table: string): Promise<unknown[][]> {
  const [rows] = await pool.query({ sql: `SELECT * FROM ${schema}.${table} ORDER BY 1`, rowsAsArray: true });
  return rows as unknown[][];
}

async function dmlTable(schema: string, table: string, targetSchema: string): Promise<DMLTable> {
  const info = await getTableInfo(pool, schema, table);
  return { schema: targetSchema, table, columns: info.columns, keyColumns: info.handleKey };
}

async function assertSame(table: string): Promise<void> {
  const d = await compareTables(db.connOpts(), db.connOpts(), 'src', table, { targetSchema: 'dst' });
  assert.ok(d.equal, describeDiffs([d]));
}

void test('edge values round-trip exactly through a multi-row INSERT', async () => {
  const t = await dmlTable('src', 'edge', 'dst');
  const rows = await select('src', 'edge');
  assert.equal(rows.length, 4);
  await pool.query(buildInsert(t, rows));
  await assertSame('edge');
  // byte-level checks a digest could hide
  const [r] = await pool.query('SELECT HEX(bn) AS bn, HEX(b64) AS b64, HEX(geo) AS geo, l1, CHARSET(l1) AS cs, bu, d65, j FROM dst.edge WHERE id = 2');
  const row = (r as Record<string, string>[])[0];
  assert.equal(row?.bn, '00FF0001');
  assert.equal(row?.b64, '0');
  assert.equal(row?.l1, 'caf\u00e9 latin1');
  assert.equal(row?.cs, 'latin1');
  assert.equal(row?.bu, '0');
  assert.equal(row?.d65, '99999999999999999999999999999999999.999999999999999999999999999999');
  const [gr] = await pool.query("SELECT (SELECT HEX(geo) FROM src.edge WHERE id = 2) = (SELECT HEX(geo) FROM dst.edge WHERE id = 2) AS same");
  assert.equal(Number((gr as { same: number }[])[0]?.same), 1, 'GEOMETRY bytes equal');
  const [nr] = await pool.query('SELECT id FROM dst.edge WHERE vc IS NULL ORDER BY id');
  assert.deepEqual((nr as { id: number }[]).map((x) => x.id), [3], 'NULL stays NULL, empty string stays empty');
});

void test('UPDATE and DELETE by key, upsert, safe mode keep values exact', async () => {
  const t = await dmlTable('src', 'edge', 'dst');
  const before = await select('src', 'edge');
  // Change row 2 on the source with a swap of edge values, and mirror it with the builder.
  await pool.query("UPDATE src.edge SET bu = 18446744073709551615, vc = '', tx = NULL, bn = x'00000000', j = '[]', f = -0.5 WHERE id = 2");
  await pool.query("UPDATE src.edge SET id = 40 WHERE id = 4");
  const afterRows = await select('src', 'edge');
  const b2 = before.find((r) => r[0] === 2) as unknown[];
  const a2 = afterRows.find((r) => r[0] === 2) as unknown[];
  await pool.query(buildUpdate(t, b2, a2));
  const b4 = before.find((r) => r[0] === 4) as unknown[];
  const a40 = afterRows.find((r) => r[0] === 40) as unknown[];
  for (const s of buildSafeUpdate(t, b4, a40)) await pool.query(s);
  await assertSame('edge');

  // Replayed safe-mode insert is idempotent; upsert over existing rows leaves them equal.
  await pool.query(buildSafeInsert(t, afterRows));
  await pool.query(buildInsert(t, afterRows, 'upsert'));
  await pool.query(buildInsert(t, afterRows, 'ignore'));
  await assertSame('edge');

  await pool.query('DELETE FROM src.edge WHERE id IN (1, 3)');
  for (const s of buildMultiDelete(t, afterRows.filter((r) => r[0] === 1 || r[0] === 3))) await pool.query(s);
  await pool.query(buildDelete(t, afterRows.find((r) => r[0] === 40) as unknown[]));
  await pool.query('DELETE FROM src.edge WHERE id = 40');
  await assertSame('edge');
});

void test('composite keys: multi-row DELETE with (k1, k2) IN and quotes in key values', async () => {
  const t = await dmlTable('src', 'ck', 'dst');
  assert.deepEqual(t.keyColumns, ['k1', 'k2']);
  const rows = await select('src', 'ck');
  await pool.query(buildInsert(t, rows));
  await assertSame('ck');
  const gone = rows.filter((r) => r[0] === "b'q" || (r[0] === 'a' && r[1] === 2));
  const [stmt] = buildMultiDelete(t, gone);
  assert.match(stmt ?? '', /WHERE \(`k1`, `k2`\) IN \(/);
  await pool.query(stmt ?? '');
  await pool.query("DELETE FROM src.ck WHERE (k1 = 'b''q' AND k2 = 3) OR (k1 = 'a' AND k2 = 2)");
  await assertSame('ck');
});

void test('keyless table: duplicates and NULLs are matched on all columns, one row at a time', async () => {
  const t = await dmlTable('src', 'nokey', 'dst');
  assert.deepEqual(t.keyColumns, []);
  const rows = await select('src', 'nokey');
  await pool.query(buildInsert(t, rows));
  await assertSame('nokey');
  // delete one of two identical rows
  const dup = rows.find((r) => r[0] === 1) as unknown[];
  const del = buildDelete(t, dup);
  assert.match(del, /LIMIT 1$/);
  await pool.query(del);
  await pool.query("DELETE FROM src.nokey WHERE a = 1 LIMIT 1");
  await assertSame('nokey');
  // update the all-NULL row
  const nul = rows.find((r) => r[0] === null) as unknown[];
  const upd = buildUpdate(t, nul, [3, 'n', Buffer.from([0, 0])]);
  assert.match(upd, /`a` IS NULL AND `b` IS NULL AND `c` IS NULL LIMIT 1$/);
  await pool.query(upd);
  await pool.query("UPDATE src.nokey SET a = 3, b = 'n', c = x'0000' WHERE a IS NULL LIMIT 1");
  await assertSame('nokey');
});
