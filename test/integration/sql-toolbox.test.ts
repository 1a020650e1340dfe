import { test, before, after } from 'node:test';
import { Readable } from 'node:stream';
import assert from 'node:assert/strict';
import { MariaDBServer } from '../helpers/index.js';
import { connect, createPool, getTableInfo, getMasterStatus, classifyError, isRetryable, tableExists } from '../../src/sql/index.js';
import { DMError } from '../../src/errors/index.js';

let db: MariaDBServer;

before(async () => {
  db = await MariaDBServer.start();
  await db.sql(`CREATE DATABASE tb;
    CREATE TABLE tb.pk (a INT NOT NULL, b VARCHAR(10) CHARACTER SET latin1, c BIGINT UNSIGNED, g INT AS (a + 1) VIRTUAL, s INT AS (a * 2) PERSISTENT, PRIMARY KEY (b, a), UNIQUE KEY uc (c));
    CREATE TABLE tb.uk (x INT NULL, y INT NOT NULL, z INT NOT NULL, UNIQUE KEY ux (x), UNIQUE KEY uyz (z, y), KEY plain (y));
    CREATE TABLE tb.nokey (v TEXT, w DATETIME(6));
    CREATE TABLE tb.ts (id INT PRIMARY KEY, t TIMESTAMP(6) NULL, d DATETIME(6));`);
});
after(async () => {
  await db?.stop();
});

void test('getTableInfo: columns, primary key in index order, unique keys, handle key', async () => {
  const c = await connect({ ...db.connOpts() });
  try {
    const pk = await getTableInfo(c, 'tb', 'pk');
    assert.deepEqual(pk.columns.map((x) => x.name), ['a', 'b', 'c', 'g', 's']);
    assert.deepEqual(pk.primaryKey, ['b', 'a']);
    assert.deepEqual(pk.uniqueKeys, [['c']]);
    assert.deepEqual(pk.handleKey, ['b', 'a']);
    const byName = Object.fromEntries(pk.columns.map((x) => [x.name, x]));
    assert.equal(byName.c?.unsigned, true);
    assert.equal(byName.c?.type, 'bigint');
    assert.equal(byName.b?.charset, 'latin1');
    assert.equal(byName.a?.nullable, false);
    assert.equal(byName.g?.generated, true);
    assert.equal(byName.s?.generated, true);
    assert.equal(byName.a?.generated, false);

    const uk = await getTableInfo(c, 'tb', 'uk');
    assert.deepEqual(uk.primaryKey, []);
    // InnoDB lists NOT NULL unique keys first; compare as a set
    assert.deepEqual([...uk.uniqueKeys].sort((p, q) => p.length - q.length), [['x'], ['z', 'y']]);
    assert.deepEqual(uk.handleKey, ['z', 'y'], 'first unique key whose columns are all NOT NULL');

    const nk = await getTableInfo(c, 'tb', 'nokey');
    assert.deepEqual(nk.handleKey, []);

    await assert.rejects(getTableInfo(c, 'tb', 'missing'), (e: unknown) => e instanceof DMError && e.codeName === 'ErrDBSchemaMismatch');
    assert.equal(await tableExists(c, 'tb', 'pk'), true);
    assert.equal(await tableExists(c, 'tb', 'missing'), false);
  } finally {
    await c.end();
  }
});

void test('sessions use UTC and exact values whatever the server zone', async () => {
  await db.sql("SET GLOBAL time_zone = '+05:00'");
  const pool = createPool({ ...db.connOpts(), database: 'tb' }, { connectionLimit: 2 });
  try {
    await pool.query("INSERT INTO ts VALUES (1, '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123456')");
    const [rows] = await pool.query('SELECT t, d, @@session.time_zone AS tz, CAST(18446744073709551615 AS UNSIGNED) AS big, CAST(1.000000000000000000000000000001 AS DECIMAL(65,30)) AS dec1 FROM ts');
    const r = (rows as Record<string, unknown>[])[0];
    assert.equal(r?.tz, '+00:00');
    assert.equal(r?.t, '2024-01-02 03:04:05.123456');
    assert.equal(r?.d, '2024-01-02 03:04:05.123456');
    assert.equal(r?.big, '18446744073709551615');
    assert.equal(r?.dec1, '1.000000000000000000000000000001');
    // The TIMESTAMP is stored as UTC: a +05:00 session sees it shifted.
    const [r5] = await db.pool().query("SELECT CAST(t AS CHAR) AS t FROM tb.ts WHERE id = 1");
    assert.equal((r5 as { t: string }[])[0]?.t, '2024-01-02 08:04:05.123456');
  } finally {
    await pool.end();
    await db.sql("SET GLOBAL time_zone = 'SYSTEM'");
  }
});

void test('getMasterStatus: file, offset and MariaDB GTID', async () => {
  const c = await connect(db.connOpts());
  try {
    await c.query('INSERT INTO tb.nokey VALUES (?, ?)', ['x', '2020-01-01 00:00:00']);
    const st = await getMasterStatus(c);
    assert.equal(st.flavor, 'mariadb');
    assert.match(st.file, /^mysql-bin\.\d{6}$/);
    assert.ok(st.offset > 4);
    assert.match(st.gtid, new RegExp(`^0-${db.serverId}-\\d+$`));
  } finally {
    await c.end();
  }
});

void test('classifyError: duplicate key and syntax are not retryable; killed connection and deadlock-class errors are', async () => {
  const c = await connect(db.connOpts());
  try {
    await c.query('CREATE TABLE tb.dup (id INT PRIMARY KEY)');
    await c.query('INSERT INTO tb.dup VALUES (1)');
    const dup = await c.query('INSERT INTO tb.dup VALUES (1)').then(() => undefined, (e: unknown) => e);
    const d = classifyError(dup);
    assert.equal(d.codeName, 'ErrDBDuplicateEntry');
    assert.equal(d.retryable, false);
    assert.equal(isRetryable(dup), false);

    const syn = await c.query('SELEKT 1').then(() => undefined, (e: unknown) => e);
    assert.equal(classifyError(syn).codeName, 'ErrDBSyntaxError');
    const unk = await c.query('SELECT nope FROM tb.dup').then(() => undefined, (e: unknown) => e);
    assert.equal(classifyError(unk).codeName, 'ErrDBSchemaMismatch');

    // A connection killed by the server: the next query fails with a retryable connection error.
    const victim = await connect(db.connOpts());
    const [idr] = await victim.query('SELECT CONNECTION_ID() AS id');
    const id = (idr as { id: number }[])[0]?.id;
    await c.query(`KILL ${Number(id)}`);
    const lost = await victim.query('SELECT 1').then(() => undefined, (e: unknown) => e);
    victim.destroy();
    const l = classifyError(lost, { side: 'downstream' });
    assert.equal(l.codeName, 'ErrDownstreamUnreachable');
    assert.equal(l.retryable, true);
    assert.equal(classifyError(lost).codeName, 'ErrDBBadConn');

    // Lock wait timeout (1205) between two sessions.
    const a = await connect(db.connOpts());
    const b = await connect(db.connOpts());
    try {
      await a.query('BEGIN');
      await a.query('UPDATE tb.dup SET id = 1 WHERE id = 1');
      await b.query('SET SESSION innodb_lock_wait_timeout = 1');
      const lw = await b.query('UPDATE tb.dup SET id = 1 WHERE id = 1').then(() => undefined, (e: unknown) => e);
      const x = classifyError(lw);
      assert.equal(x.codeName, 'ErrDBRetryableError');
      assert.equal(x.retryable, true);
      await a.query('ROLLBACK');
    } finally {
      await a.end();
      await b.end();
    }
  } finally {
    await c.end();
  }
});

void test('unreachable server and bad password are classified at connect', async () => {
  await assert.rejects(
    connect({ host: '127.0.0.1', port: 1, user: 'root', password: '' }, { connectTimeoutMs: 2000 }),
    (e: unknown) => e instanceof DMError && e.codeName === 'ErrDBBadConn' && e.retryable,
  );
  await db.sql("CREATE USER 'u1'@'%' IDENTIFIED BY 'right'");
  await assert.rejects(
    connect({ ...db.connOpts(), user: 'u1', password: 'wrong' }),
    (e: unknown) => e instanceof DMError && e.codeName === 'ErrDBAccessDenied' && !e.retryable,
  );
});

void test('LOAD DATA LOCAL INFILE works only when asked for, from a stream', async () => {
  await db.sql('CREATE TABLE tb.li (id INT PRIMARY KEY, s VARCHAR(20), b VARBINARY(4))');
  const data = '1\thello\t\\0a\n2\t\\N\t\n';
  const pool = createPool({ ...db.connOpts(), database: 'tb' }, { connectionLimit: 1, localInfile: () => Readable.from([Buffer.from(data)]) });
  try {
    await pool.query("LOAD DATA LOCAL INFILE 'stream' INTO TABLE li CHARACTER SET utf8mb4");
    const [rows] = await pool.query('SELECT id, s, HEX(b) AS b FROM li ORDER BY id');
    assert.deepEqual(rows, [
      { id: 1, s: 'hello', b: '0061' },
      { id: 2, s: null, b: '' },
    ]);
  } finally {
    await pool.end();
  }
  const plain = createPool({ ...db.connOpts(), database: 'tb' }, { connectionLimit: 1 });
  try {
    const err = await plain.query("LOAD DATA LOCAL INFILE 'stream' INTO TABLE li").then(() => undefined, (e: unknown) => e);
    assert.ok(err !== undefined, 'refused without localInfile');
    assert.equal(isRetryable(err), false);
  } finally {
    await plain.end();
  }
});
