import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer } from '../helpers/index.js';
import { createBinlogReader, getMasterStatus, type BinlogEvent, type RowsEvent } from '../../src/binlog/index.js';
import { zongjiFastpathStats } from '../../src/binlog/zongji-fastpath.js';

let sid = 9700 + (process.pid % 300) * 3;

/**
 * MariaDB writes a TABLE_MAP before every rows event; the reader delivers the repeated identical
 * ones without parsing them again (src/binlog/zongji-fastpath.ts, "TableMap packet fast path"),
 * and builds the rows events without zongji's packet wrapper (`rowsEvent`).
 * Between identical runs of them come DDLs that change the table (types, names, ENUM values, a
 * column added): every row must still be decoded with the structure it was written with.
 */
for (const meta of ['FULL', 'MINIMAL']) {
  void test(`binlog reader (${meta}): repeated TABLE_MAPs take the fast path and rows around DDLs keep their own structure`, async (t) => {
    const db = await MariaDBServer.start(meta === 'FULL' ? {} : { extraArgs: ['--binlog-row-metadata=MINIMAL'] });
    t.after(() => db.stop());
    await db.sql('CREATE DATABASE f');
    const c = await db.connect();
    // from before the CREATE TABLE: without FULL metadata the reader's schema tracker follows every DDL from there
    const ms = await getMasterStatus(c).finally(() => c.end());
    await db.sql("CREATE TABLE f.t (id INT PRIMARY KEY, v VARCHAR(20), e ENUM('a','b','c'), u INT UNSIGNED)");
    const N = 40;
    for (let i = 1; i <= N; i++) await db.sql(`INSERT INTO f.t VALUES (${i}, 'v${i}', '${'abc'[i % 3]}', ${4_000_000_000 + i})`);
    for (let i = 1; i <= 5; i++) await db.sql(`UPDATE f.t SET v = 'w${i}' WHERE id = ${i}`);
    // same column count and types, another name and the ENUM's values in another order (the binlog
    // writes an ENUM's index): a stale TABLE_MAP would misname or misdecode
    await db.sql("ALTER TABLE f.t CHANGE v name VARCHAR(20), MODIFY e ENUM('c','b','a')");
    for (let i = N + 1; i <= N + 10; i++) await db.sql(`INSERT INTO f.t VALUES (${i}, 'n${i}', '${'abc'[i % 3]}', ${i})`);
    await db.sql('ALTER TABLE f.t ADD COLUMN w INT');
    for (let i = N + 11; i <= N + 20; i++) await db.sql(`INSERT INTO f.t VALUES (${i}, 'n${i}', 'a', ${i}, ${-i})`);
    await db.sql('DELETE FROM f.t WHERE id = 1');

    const { tableMapHits: hits0, rowsEvents: rows0 } = zongjiFastpathStats();
    const r = createBinlogReader({ connection: db.connOpts(), flavor: 'mariadb', serverId: sid++, start: { file: ms.file, offset: ms.offset }, heartbeatMs: 0 });
    const ac = new AbortController();
    await r.start(ac.signal);
    const rows: RowsEvent[] = [];
    try {
      const evs: BinlogEvent[] = [];
      while (!evs.some((e) => e.kind === 'rows' && e.op === 'delete')) evs.push(...(await r.nextBatch(64, AbortSignal.timeout(30_000))));
      for (const e of evs) if (e.kind === 'rows') rows.push(e);
    } finally {
      ac.abort();
      await r.close();
    }
    const hits = zongjiFastpathStats().tableMapHits - hits0;
    const rowsFast = zongjiFastpathStats().rowsEvents - rows0;

    assert.equal(rows.length, N + 5 + 10 + 10 + 1, 'one rows event per statement');
    const named = (ev: RowsEvent, img: unknown[]): Record<string, unknown> => Object.fromEntries(ev.columns.map((col, i) => [col.name, img[i]]));
    for (let i = 1; i <= N; i++) {
      const ev = rows[i - 1]!;
      assert.equal(ev.op, 'insert');
      assert.deepEqual(named(ev, ev.rows[0]!), { id: i, v: `v${i}`, e: 'abc'[i % 3], u: 4_000_000_000 + i }, `insert ${i}`);
    }
    for (let i = 1; i <= 5; i++) {
      const ev = rows[N + i - 1]!;
      assert.equal(ev.op, 'update');
      assert.deepEqual(named(ev, ev.before![0]!), { id: i, v: `v${i}`, e: 'abc'[i % 3], u: 4_000_000_000 + i }, `update ${i} before`);
      assert.deepEqual(named(ev, ev.rows[0]!), { id: i, v: `w${i}`, e: 'abc'[i % 3], u: 4_000_000_000 + i }, `update ${i} after`);
    }
    for (let i = N + 1; i <= N + 10; i++) {
      const ev = rows[i + 4]!;
      assert.deepEqual(named(ev, ev.rows[0]!), { id: i, name: `n${i}`, e: 'abc'[i % 3], u: i }, `insert ${i} after the CHANGE`);
    }
    for (let i = N + 11; i <= N + 20; i++) {
      const ev = rows[i + 4]!;
      assert.deepEqual(named(ev, ev.rows[0]!), { id: i, name: `n${i}`, e: 'a', u: i, w: -i }, `insert ${i} after the ADD COLUMN`);
    }
    const del = rows[rows.length - 1]!;
    assert.deepEqual(named(del, del.rows[0]!), { id: 1, name: 'w1', e: 'b', u: 4_000_000_001, w: null });
    // every TABLE_MAP after the first of each structure is a repeat: most of them took the fast path
    assert.ok(hits >= N, `fast path hits: ${hits}`);
    assert.equal(rowsFast, rows.length, 'every rows event took the rows packet path');
  });
}
