import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer } from '../helpers/index.js';
import { createBinlogReader, getMasterStatus, type BinlogEvent, type BinlogReaderOptions } from '../../src/binlog/index.js';
import { DMError } from '../../src/errors/index.js';

/** Each step: SQL run upstream, and the rows (as column-name → value) a reader must decode from it. */
const STEPS: { sql: string; rows?: Record<string, unknown>[]; op?: string }[] = [
  { sql: 'CREATE TABLE d.t (id INT PRIMARY KEY, a VARCHAR(10), b INT)' },
  { sql: "INSERT INTO d.t VALUES (1,'a1',10)", rows: [{ id: 1, a: 'a1', b: 10 }] },
  { sql: 'ALTER TABLE d.t ADD COLUMN c INT UNSIGNED AFTER id' },
  { sql: "INSERT INTO d.t VALUES (2,4294967295,'a2',20)", rows: [{ id: 2, c: 4294967295, a: 'a2', b: 20 }] },
  { sql: 'ALTER TABLE d.t DROP COLUMN a' },
  { sql: 'INSERT INTO d.t VALUES (3,3,-30)', rows: [{ id: 3, c: 3, b: -30 }] },
  { sql: 'ALTER TABLE d.t MODIFY b VARCHAR(20) FIRST' },
  { sql: "INSERT INTO d.t VALUES ('44',4,4)", rows: [{ b: '44', id: 4, c: 4 }] },
  { sql: 'ALTER TABLE d.t CHANGE c cc BIGINT UNSIGNED AFTER b' },
  { sql: "INSERT INTO d.t VALUES ('55',18446744073709551615,5)", rows: [{ b: '55', cc: '18446744073709551615', id: 5 }] },
  { sql: 'ALTER TABLE d.t MODIFY id INT FIRST, ADD COLUMN a TEXT, MODIFY b INT' },
  { sql: "UPDATE d.t SET a='z', cc=0 WHERE id=1", op: 'update', rows: [{ id: 1, b: 10, cc: 0, a: 'z' }] },
  { sql: 'ALTER TABLE d.t ADD UNIQUE KEY ub (b), DROP PRIMARY KEY, ADD PRIMARY KEY (cc, id)' },
  { sql: 'DELETE FROM d.t WHERE id=1', op: 'delete', rows: [{ id: 1, b: 10, cc: 0, a: 'z' }] },
];

async function replay(db: MariaDBServer, start: BinlogReaderOptions['start'], schemas?: string): Promise<{ evs: BinlogEvent[]; schemas: string }> {
  const r = createBinlogReader({ connection: db.connOpts(), flavor: 'mariadb', serverId: 6000 + (process.pid % 900), start, heartbeatMs: 0, ...(schemas ? { schemas } : {}) });
  await r.start(AbortSignal.timeout(20_000));
  const evs: BinlogEvent[] = [];
  const want = STEPS.length;
  let boundaries = 0;
  try {
    for await (const ev of r as AsyncIterable<BinlogEvent>) {
      evs.push(ev);
      if (ev.kind === 'xid' || ev.kind === 'query') boundaries++;
      if (boundaries >= want) break;
    }
    return { evs, schemas: r.exportSchemas() };
  } finally {
    await r.close();
  }
}

for (const meta of ['FULL', 'MINIMAL']) {
  void test(`binlog reader: replay across ADD/DROP/MODIFY/CHANGE/reorder decodes old rows with old columns (${meta} metadata)`, async (t) => {
    const db = await MariaDBServer.start({ extraArgs: [`--binlog-row-metadata=${meta}`] });
    t.after(() => db.stop());
    await db.sql('CREATE DATABASE d');
    const c = await db.connect();
    const start = await getMasterStatus(c);
    for (const s of STEPS) await c.query(s.sql);
    await c.end();
    // the reader starts after every DDL ran: today's table has nothing to do with the old rows
    const { evs } = await replay(db, { file: start.file, offset: start.offset });
    const rowsEvs = evs.filter((e) => e.kind === 'rows');
    const expected = STEPS.filter((s) => s.rows);
    assert.equal(rowsEvs.length, expected.length);
    rowsEvs.forEach((e, i) => {
      const exp = expected[i]!;
      if (e.kind !== 'rows') return;
      assert.equal(e.op, exp.op ?? 'insert', exp.sql);
      const named = e.rows.map((row) => Object.fromEntries(e.columns.map((col, j) => [col.name, row[j]])));
      assert.deepEqual(named, exp.rows, exp.sql);
      assert.deepEqual(Object.keys(named[0]!), Object.keys(exp.rows![0]!), `column order for ${exp.sql}`);
    });
    const last = rowsEvs.at(-1);
    assert.ok(last?.kind === 'rows');
    assert.deepEqual(last.keyColumns, ['cc', 'id'], 'key columns as of that position');
    assert.deepEqual(last.uniqueKeys, [['b']]);
    const first = rowsEvs[0];
    assert.ok(first?.kind === 'rows');
    assert.deepEqual(first.keyColumns, ['id']);
  });
}

void test('binlog reader (MINIMAL): a schema snapshot exported at a checkpoint resumes decoding after later DDL', async (t) => {
  const db = await MariaDBServer.start({ extraArgs: ['--binlog-row-metadata=MINIMAL'] });
  t.after(() => db.stop());
  await db.sql('CREATE DATABASE d; CREATE TABLE d.s (id INT PRIMARY KEY, v INT)');
  const c = await db.connect();
  const p0 = await getMasterStatus(c);
  await c.query('INSERT INTO d.s VALUES (1, 1)');
  // first reader: reads to here, exports schemas at its last checkpoint
  const r1 = createBinlogReader({ connection: db.connOpts(), flavor: 'mariadb', serverId: 6500 + (process.pid % 400), start: { file: p0.file, offset: p0.offset }, heartbeatMs: 0 });
  await r1.start(AbortSignal.timeout(20_000));
  let ckpt: BinlogEvent['pos'] | undefined;
  for await (const ev of r1 as AsyncIterable<BinlogEvent>) {
    if (ev.kind === 'xid') {
      ckpt = ev.pos;
      break;
    }
  }
  const snapshot = r1.exportSchemas();
  await r1.close();
  assert.ok(ckpt);
  await c.query("ALTER TABLE d.s ADD COLUMN w VARCHAR(5) FIRST");
  await c.query("INSERT INTO d.s VALUES ('w', 2, 2)");
  await c.query('ALTER TABLE d.s DROP COLUMN v');
  await c.end();
  const r2 = createBinlogReader({ connection: db.connOpts(), flavor: 'mariadb', serverId: 6501 + (process.pid % 400), start: { gtid: ckpt.gtid }, heartbeatMs: 0, schemas: snapshot });
  await r2.start(AbortSignal.timeout(20_000));
  try {
    for await (const ev of r2 as AsyncIterable<BinlogEvent>) {
      if (ev.kind === 'rows') {
        assert.deepEqual(ev.columns.map((x) => x.name), ['w', 'id', 'v']);
        assert.deepEqual(ev.rows, [['w', 2, 2]]);
        break;
      }
    }
  } finally {
    await r2.close();
  }
});

void test('binlog reader (MINIMAL): rows of a table whose DDL could not be tracked stop with ErrBinlogRowMetadata', async (t) => {
  const db = await MariaDBServer.start({ extraArgs: ['--binlog-row-metadata=MINIMAL'] });
  t.after(() => db.stop());
  await db.sql('CREATE DATABASE d');
  const c = await db.connect();
  const start = await getMasterStatus(c);
  await c.query('CREATE TABLE d.u (id INT PRIMARY KEY)');
  await c.query('INSERT INTO d.u VALUES (1)');
  // (ADD COLUMN x INT INVISIBLE, the DDL here before, is followed since issue 11)
  await c.query('ALTER TABLE d.u ADD COLUMN x INT, CONVERT TO CHARACTER SET utf8mb4');
  await c.query('INSERT INTO d.u (id, x) VALUES (2, 2)');
  await c.end();
  const r = createBinlogReader({ connection: db.connOpts(), flavor: 'mariadb', serverId: 6700 + (process.pid % 200), start: { file: start.file, offset: start.offset }, heartbeatMs: 0 });
  await r.start(AbortSignal.timeout(20_000));
  const seen: unknown[][] = [];
  let code = 'no error';
  try {
    for await (const ev of r as AsyncIterable<BinlogEvent>) if (ev.kind === 'rows') seen.push(...ev.rows);
  } catch (e) {
    code = e instanceof DMError ? e.codeName : String(e);
  } finally {
    await r.close();
  }
  assert.deepEqual(seen, [[1]], 'rows before the untracked DDL are decoded');
  assert.equal(code, 'ErrBinlogRowMetadata');
});
