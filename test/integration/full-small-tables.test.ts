/**
 * Small tables (estimates below one chunk): one chunk each without a planning query, created with
 * their secondary keys, loaded many to a target transaction; a batch in which another loader had
 * already finished a chunk rolls back and loads the others one by one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer, compareTables, describeDiffs } from '../helpers/index.js';
import { createFullUnits } from '../../src/units/full/index.js';

test('small tables: one chunk each, created with their keys, loaded in batches; a chunk already done by another loader is left alone', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  t.after(async () => {
    await Promise.all([src.stop(), dst.stop()]);
  });
  const names = Array.from({ length: 12 }, (_, i) => `s${i}`);
  await src.sql(
    [
      'CREATE DATABASE st',
      ...names.map((n, i) => `CREATE TABLE st.${n} (id INT PRIMARY KEY, k INT, v VARCHAR(20), KEY kk (k)); INSERT INTO st.${n} SELECT seq, seq % 3, CONCAT('${n}-', seq) FROM mysql.seq_1_to_${i + 1}`),
      // above one 50-row chunk: split, its key deferred
      "CREATE TABLE st.big (id INT PRIMARY KEY, k INT, KEY kk (k)); INSERT INTO st.big SELECT seq, seq % 7 FROM mysql.seq_1_to_400",
    ].join(';'),
  );
  const cfg = {
    taskName: 'st',
    sourceId: 'src-1',
    taskMode: 'full' as const,
    source: src.connOpts(),
    target: dst.connOpts(),
    baList: { doDbs: ['st'] },
    mydumper: { threads: 2, rows: 50 },
    loader: { poolSize: 2 },
  };
  const { dump, load } = createFullUnits(cfg);
  const d = await dump.process(new AbortController().signal);
  assert.deepEqual(d.errors, []);
  const plan = await dst.sql('SELECT cp_table AS t, COUNT(*) AS n, MAX(lower_bound) AS lo FROM dm_meta.st_load_checkpoint GROUP BY cp_table ORDER BY cp_table');
  for (const r of plan) {
    if (r['t'] === 'big') assert.ok(Number(r['n']) >= 8, `big is split: ${JSON.stringify(r)}`);
    else assert.deepEqual([Number(r['n']), r['lo']], [1, null], `${String(r['t'])} is one unbounded chunk`);
  }
  // another loader finished st.s5 (its rows are not here: the load must not write them)
  await dst.sql("UPDATE dm_meta.st_load_checkpoint SET status = 'done', rows_loaded = 6 WHERE cp_table = 's5'");
  const l = await load.process(new AbortController().signal);
  assert.deepEqual(l.errors, []);
  await load.close();
  await dump.close();

  for (const n of [...names.filter((x) => x !== 's5'), 'big']) {
    const diff = await compareTables(src.connOpts(), dst.connOpts(), 'st', n);
    assert.ok(diff.equal, describeDiffs([diff]));
  }
  assert.equal(Number((await dst.sql('SELECT COUNT(*) AS n FROM st.s5'))[0]?.['n']), 0, 'the chunk done elsewhere was not loaded again');
  const pending = await dst.sql("SELECT COUNT(*) AS n FROM dm_meta.st_load_checkpoint WHERE status <> 'done'");
  assert.equal(Number(pending[0]?.['n']), 0);
  const loaded = await dst.sql("SELECT cp_table AS t, rows_loaded AS r FROM dm_meta.st_load_checkpoint WHERE cp_table LIKE 's%' ORDER BY CAST(SUBSTRING(cp_table, 2) AS UNSIGNED)");
  assert.deepEqual(loaded.map((r) => Number(r['r'])), names.map((_, i) => i + 1), 'each small chunk records its own row count');
  // small tables keep their key from the CREATE; only big's is deferred
  assert.deepEqual(load.status()['deferredIndexes'], { tables: 1, done: 1, building: [] });
  const keys = await dst.sql("SELECT COUNT(DISTINCT TABLE_NAME) AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'st' AND INDEX_NAME = 'kk'");
  assert.equal(Number(keys[0]?.['n']), 13);
});
