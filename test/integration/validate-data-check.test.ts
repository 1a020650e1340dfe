/**
 * One-shot data check against real MariaDB: equal data passes; a row changed, deleted or inserted
 * on the target is found (by kind, key and both images) in a many-chunk table through bisection;
 * shards merged with an extract column are compared as one table; the fix-up SQL, applied by the
 * test (the check never applies it), makes the tables equal, and is complete whatever `maxRows`
 * (a `maxFixSql` cap is reported); a keyless table is compared whole.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer } from '../helpers/index.js';
import { createPool, type Pool } from '../../src/sql/index.js';
import { checkData, type CheckSourceInput } from '../../src/units/validate/index.js';

const SETUP = [
  'CREATE DATABASE app',
  'CREATE TABLE app.big (id INT PRIMARY KEY, k2 VARCHAR(10), v VARCHAR(40), n DECIMAL(20,4) NULL, b VARBINARY(8) NULL)',
  "INSERT INTO app.big SELECT seq, CONCAT('k', seq % 7), CONCAT('row ', seq), IF(seq % 5 = 0, NULL, seq / 3), IF(seq % 3 = 0, NULL, UNHEX(HEX(seq))) FROM mysql.seq_1_to_3000",
  'CREATE TABLE app.nokey (a INT, b VARCHAR(10))',
  "INSERT INTO app.nokey VALUES (1,'x'),(1,'x'),(2,NULL)",
];

void test('one-shot data check: equal, then changed/deleted/inserted rows found with bisection; fix-up SQL repairs; keyless compared whole', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const pools: Pool[] = [];
  t.after(async () => {
    await Promise.all(pools.map((p) => p.end()));
    await Promise.all([src.stop(), dst.stop()]);
  });
  for (const s of SETUP) {
    await src.sql(s);
    await dst.sql(s);
  }
  const sp = createPool(src.connOpts());
  const dp = createPool(dst.connOpts());
  pools.push(sp, dp);
  const sources: CheckSourceInput[] = [{ sourceId: 'mysql-01', q: sp, baList: { doDbs: ['app'] }, routes: [], caseSensitive: false }];

  let r = await checkData({ sources, target: dp, chunkRows: 400, leafRows: 16 });
  assert.equal(r.equal, true, JSON.stringify(r.tables, null, 1));
  const big = r.tables.find((x) => x.table === '`app`.`big`')!;
  assert.equal(big.sourceRows, 3000);
  assert.equal(big.targetRows, 3000);
  assert.ok(big.chunks >= 8, `chunks ${big.chunks}`);
  const nokey = r.tables.find((x) => x.table === '`app`.`nokey`')!;
  assert.equal(nokey.equal, true);
  assert.ok(nokey.notes.some((n) => /compared whole/.test(n)));

  // behind DM.ts's back: change, delete, insert on the target; change the keyless table too
  await dst.sql("UPDATE app.big SET v = 'tampered' WHERE id = 1234");
  await dst.sql('UPDATE app.big SET n = NULL WHERE id = 77'); // NULL vs value: must differ
  await dst.sql('DELETE FROM app.big WHERE id = 2500');
  await dst.sql("INSERT INTO app.big VALUES (5000, 'k0', 'stray', 1, NULL)");
  await dst.sql("DELETE FROM app.nokey WHERE b IS NULL");

  const fixes: string[] = [];
  const progress: number[] = [];
  r = await checkData({ sources, target: dp, chunkRows: 400, leafRows: 16, fixSql: (s) => void fixes.push(s), onProgress: (p) => progress.push(p.chunks) });
  assert.equal(r.equal, false);
  const b2 = r.tables.find((x) => x.table === '`app`.`big`')!;
  assert.equal(b2.equal, false);
  assert.equal(b2.sourceRows, 3000);
  assert.equal(b2.targetRows, 3000);
  const byKey = new Map(b2.rows.map((d) => [String(d.key['id']), d]));
  assert.equal(b2.rows.length, 4, JSON.stringify(b2.rows));
  assert.equal(byKey.get('1234')?.kind, 'different');
  assert.equal(byKey.get('1234')?.target?.['v'], 'tampered');
  assert.equal(byKey.get('1234')?.source?.['v'], 'row 1234');
  assert.equal(byKey.get('1234')?.sourceTable, 'mysql-01:app.big');
  assert.equal(byKey.get('77')?.kind, 'different');
  assert.equal(byKey.get('77')?.target?.['n'], null);
  assert.equal(byKey.get('2500')?.kind, 'missing-on-target');
  assert.equal(byKey.get('5000')?.kind, 'extra-on-target');
  assert.equal(b2.differentChunks >= 3, true);
  const nk = r.tables.find((x) => x.table === '`app`.`nokey`')!;
  assert.equal(nk.equal, false);
  assert.equal(nk.targetRows, 2);
  assert.ok(progress.length >= 8);

  // the check did not touch the target; the fix-up SQL, applied by hand, makes it equal (keyless aside)
  assert.equal((await dst.sql("SELECT v FROM app.big WHERE id = 1234"))[0]!['v'], 'tampered');
  assert.equal(fixes.length, 4, fixes.join('\n'));
  assert.equal(r.fixSqlTruncated, false);

  // --max-rows limits the rows listed, not the fix-up SQL; a cap on the statements is reported
  const some: string[] = [];
  const lim = await checkData({ sources, target: dp, tables: [{ schema: 'app', table: 'big' }], chunkRows: 400, leafRows: 16, maxRows: 2, fixSql: (s) => void some.push(s) });
  assert.equal(lim.tables[0]!.rows.length, 2);
  assert.equal(lim.tables[0]!.moreRows, true);
  assert.deepEqual([...some].sort(), [...fixes].sort());
  assert.equal(lim.fixSqlTruncated, false);
  const capped: string[] = [];
  const cap = await checkData({ sources, target: dp, tables: [{ schema: 'app', table: 'big' }], chunkRows: 400, leafRows: 16, maxRows: 1, fixSql: (s) => void capped.push(s), maxFixSql: 3 });
  assert.equal(cap.tables[0]!.rows.length, 1);
  assert.equal(capped.length, 3);
  assert.equal(cap.fixSqlTruncated, true);
  for (const f of fixes) await dst.sql(f);
  r = await checkData({ sources, target: dp, tables: [{ schema: 'app', table: 'big' }], chunkRows: 400, leafRows: 16 });
  assert.equal(r.tables.length, 1);
  assert.equal(r.equal, true, JSON.stringify(r.tables[0]?.rows));
});

void test('one-shot data check: two sources × shard tables merged into one target table with an extract column', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const pools: Pool[] = [];
  t.after(async () => {
    await Promise.all(pools.map((p) => p.end()));
    await Promise.all([src.stop(), dst.stop()]);
  });
  // "two sources" = two schemas of one server seen through two source ids with their own allow lists
  await src.sql('CREATE DATABASE shard_a; CREATE DATABASE shard_b');
  for (const [db, base] of [
    ['shard_a', 0],
    ['shard_b', 100000],
  ] as const) {
    for (const tbl of ['t_1', 't_2']) {
      const off = base + (tbl === 't_1' ? 0 : 50000);
      await src.sql(`CREATE TABLE ${db}.${tbl} (id INT PRIMARY KEY, name VARCHAR(20), qty INT)`);
      await src.sql(`INSERT INTO ${db}.${tbl} SELECT seq + ${off}, CONCAT('n', seq), seq % 9 FROM mysql.seq_1_to_300`);
    }
  }
  await dst.sql('CREATE DATABASE merged');
  await dst.sql('CREATE TABLE merged.t (id INT, name VARCHAR(20), qty INT, c_table VARCHAR(20), extra_target INT DEFAULT 7, PRIMARY KEY (id, c_table))');
  // fill the target the way a merge would (copy via the test's own client)
  for (const db of ['shard_a', 'shard_b']) {
    for (const tbl of ['t_1', 't_2']) {
      const rows = await src.sql(`SELECT id, name, qty FROM ${db}.${tbl}`);
      const vals = rows.map((x) => `(${Number(x['id'])}, '${String(x['name'])}', ${Number(x['qty'])}, '${tbl}')`).join(',');
      await dst.sql(`INSERT INTO merged.t (id, name, qty, c_table) VALUES ${vals}`);
    }
  }
  const sp = createPool(src.connOpts());
  const dp = createPool(dst.connOpts());
  pools.push(sp, dp);
  const route = {
    schemaPattern: 'shard_*',
    tablePattern: 't_*',
    targetSchema: 'merged',
    targetTable: 't',
    extractTable: { tableRegexp: '(t_\\d+)', targetColumn: 'c_table' },
  };
  const sources: CheckSourceInput[] = [
    { sourceId: 'mysql-01', q: sp, baList: { doDbs: ['shard_a'] }, routes: [route], caseSensitive: false },
    { sourceId: 'mysql-02', q: sp, baList: { doDbs: ['shard_b'] }, routes: [route], caseSensitive: false },
  ];
  let r = await checkData({ sources, target: dp, chunkRows: 100, leafRows: 8 });
  assert.equal(r.tables.length, 1);
  const m = r.tables[0]!;
  assert.equal(m.sources.length, 4);
  assert.equal(m.sourceRows, 1200);
  assert.equal(m.targetRows, 1200);
  assert.ok(m.notes.some((n) => /target-only columns not compared: extra_target/.test(n)), m.notes.join('; '));
  assert.deepEqual(m.key, ['id', 'c_table']);
  assert.equal(r.equal, true, JSON.stringify(m.rows));

  // a row of shard_b.t_2 written under the wrong extract value on the target: one missing, one extra
  await dst.sql("UPDATE merged.t SET c_table = 't_9' WHERE id = 150007 AND c_table = 't_2'");
  await dst.sql("UPDATE merged.t SET qty = 99 WHERE id = 42 AND c_table = 't_1'");
  r = await checkData({ sources, target: dp, chunkRows: 100, leafRows: 8 });
  assert.equal(r.equal, false);
  const kinds = r.tables[0]!.rows.map((d) => `${d.kind}:${String(d.key['id'])}`).sort();
  assert.deepEqual(kinds, ['different:42', 'extra-on-target:150007', 'missing-on-target:150007'], JSON.stringify(r.tables[0]!.rows));
  const d42 = r.tables[0]!.rows.find((d) => d.key['id'] === '42')!;
  assert.equal(d42.sourceTable, 'mysql-01:shard_a.t_1');
  assert.equal(d42.target?.['qty'], '99');
});

void test('one-shot data check: a chunk whose difference is gone when its rows are read is noted, not listed', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const pools: Pool[] = [];
  t.after(async () => {
    await Promise.all(pools.map((p) => p.end()));
    await Promise.all([src.stop(), dst.stop()]);
  });
  for (const s of [src, dst]) {
    await s.sql('CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(20))');
    await s.sql("INSERT INTO app.t SELECT seq, CONCAT('row ', seq) FROM mysql.seq_1_to_500");
  }
  await dst.sql("UPDATE app.t SET v = 'in flight' WHERE id = 250");
  const sp = createPool(src.connOpts());
  const dp = createPool(dst.connOpts());
  pools.push(sp, dp);
  // the target as the task would make it: the change lands right before the check reads the chunk's rows
  let landed = false;
  const query = (async (...args: Parameters<Pool['query']>) => {
    const q = args[0] as string | { sql: string };
    const text = typeof q === 'string' ? q : q.sql;
    // a range's rows: `SELECT <columns> FROM app.t WHERE <range>` (not a checksum, a bound look-up or the planning)
    if (!landed && /FROM `app`\.`t` WHERE/.test(text) && !/COUNT\(\*\)|ORDER BY/.test(text)) {
      landed = true;
      await dp.query("UPDATE app.t SET v = 'row 250' WHERE id = 250");
    }
    return dp.query(...args);
  }) as Pool['query'];
  const target = new Proxy(dp, { get: (p, k) => (k === 'query' ? query : (Reflect.get(p, k) as unknown)) });
  const r = await checkData({ sources: [{ sourceId: 's', q: sp, baList: { doDbs: ['app'] }, routes: [], caseSensitive: false }], target, chunkRows: 100, leafRows: 16 });
  assert.ok(landed, 'the rows of the differing range were read');
  const tb = r.tables[0]!;
  assert.equal(tb.differentChunks, 1);
  assert.deepEqual(tb.rows, []);
  assert.ok(tb.notes.some((n) => /1 chunk\(s\) differed .* no differing row was found/.test(n)), tb.notes.join('; '));
  // a real difference is listed and not noted
  await dst.sql("UPDATE app.t SET v = 'tampered' WHERE id = 250");
  const again = await checkData({ sources: [{ sourceId: 's', q: sp, baList: { doDbs: ['app'] }, routes: [], caseSensitive: false }], target: dp, chunkRows: 100, leafRows: 16 });
  assert.deepEqual(again.tables[0]!.rows.map((x) => x.key['id']), ['250']);
  assert.ok(!again.tables[0]!.notes.some((n) => /no differing row/.test(n)));
});
