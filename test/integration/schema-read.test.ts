/**
 * The structures recorded with a full-phase snapshot (readStructures → SchemaTracker.seedFromSource)
 * against real MariaDB: the listed path (≤ 500 tables) and the per-schema path (more) give the same
 * structures, views and unrelated schemas are left out, and the table charset comes from its
 * collation. Both paths read information_schema one view at a time (no TABLES join).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer } from '../helpers/index.js';
import { readStructures } from '../../src/units/full/snapshot.js';

type Exported = { tables: { schema: string; table: string; charset: string | null; columns: { name: string; columnType: string }[]; indexes: { name: string; columns: string[] }[] }[] };

void test('readStructures: 550 tables in two schemas by schema, 10 listed, the same structures; views and other schemas left out', async (t) => {
  const src = await MariaDBServer.start();
  t.after(() => src.stop());
  const make = async (db: string, n: number, charset: string): Promise<void> => {
    await src.sql(`CREATE DATABASE ${db} DEFAULT CHARSET ${charset}`);
    for (let i = 0; i < n; i += 100) {
      await src.sql(
        Array.from({ length: Math.min(100, n - i) }, (_, j) => `CREATE TABLE ${db}.t${i + j} (id INT PRIMARY KEY, a VARCHAR(20), b INT, c${i + j} TEXT, KEY kb (b, a))`).join(';'),
      );
    }
  };
  await make('a', 300, 'utf8mb4');
  await make('b', 250, 'latin1');
  await make('other', 3, 'utf8mb4');
  await src.sql('CREATE VIEW a.v AS SELECT id FROM a.t0; CREATE TABLE a.t1x (id INT PRIMARY KEY) DEFAULT CHARSET=utf8mb3');
  const conn = await src.connect();
  t.after(() => conn.end());
  const wanted = [
    ...Array.from({ length: 300 }, (_, i) => ({ schema: 'a', table: `t${i}` })),
    ...Array.from({ length: 250 }, (_, i) => ({ schema: 'b', table: `t${i}` })),
    { schema: 'a', table: 'v' },
    { schema: 'a', table: 't1x' },
  ];
  const bySchema = (JSON.parse(await readStructures(conn, wanted)) as Exported).tables;
  assert.equal(bySchema.length, 551, 'every wanted base table, no view');
  assert.ok(!bySchema.some((x) => x.schema === 'other' || x.table === 'v'));
  const few = wanted.filter((w) => ['t7', 't299', 't1x', 'v'].includes(w.table) || (w.schema === 'b' && w.table === 't42'));
  const listed = (JSON.parse(await readStructures(conn, few)) as Exported).tables;
  assert.equal(listed.length, few.length - 1, 'the view is left out');
  for (const l of listed) {
    const same = bySchema.find((x) => x.schema === l.schema && x.table === l.table);
    assert.deepEqual(same, l, `${l.schema}.${l.table} read by schema and listed`);
  }
  const one = (s: string, n: string) => bySchema.find((x) => x.schema === s && x.table === n);
  assert.equal(one('b', 't42')?.charset, 'latin1');
  assert.equal(one('a', 't7')?.charset, 'utf8mb4');
  assert.equal(one('a', 't1x')?.charset, 'utf8mb3');
  assert.deepEqual(one('a', 't7')?.columns.map((c) => c.name), ['id', 'a', 'b', 'c7']);
  assert.deepEqual(one('a', 't7')?.indexes.map((i) => `${i.name}:${i.columns.join(',')}`).sort(), ['PRIMARY:id', 'kb:b,a']);
});
