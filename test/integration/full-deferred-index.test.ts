import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer, compareTables, describeDiffs, runUnits } from '../helpers/index.js';
import { createFullUnits } from '../../src/units/full/index.js';

/** SHOW CREATE TABLE without the AUTO_INCREMENT counter (the target's may differ) */
async function createText(s: MariaDBServer, schema: string, table: string): Promise<string> {
  const [r] = await s.sql(`SHOW CREATE TABLE \`${schema}\`.\`${table}\``);
  return String(r?.['Create Table']).replace(/ AUTO_INCREMENT=\d+/, '');
}

test('secondary keys are added after the rows: the target ends with the source definition; small tables keep theirs; pre-existing tables untouched; a pending record is redone on resume', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  t.after(async () => {
    await Promise.all([src.stop(), dst.stop()]);
  });
  await src.sql(
    [
      'CREATE DATABASE di',
      `CREATE TABLE di.a (id BIGINT AUTO_INCREMENT PRIMARY KEY, u VARCHAR(20), x INT, y TEXT, UNIQUE KEY u (u),
        KEY \`k odd\` (x, y(10)) COMMENT 'two, parts', FULLTEXT KEY ft (y), KEY kx (x) USING BTREE)`,
      'CREATE TABLE di.b (id INT NOT NULL AUTO_INCREMENT, v INT, KEY (id, v), KEY kv (v))',
      'CREATE TABLE di.parent (id INT PRIMARY KEY, w INT, KEY kw (w))',
      'CREATE TABLE di.child (id INT PRIMARY KEY, p INT, q INT, KEY kq (q), CONSTRAINT fk FOREIGN KEY (p) REFERENCES di.parent (id))',
      'CREATE TABLE di.pre (id INT PRIMARY KEY, v INT, KEY kv (v))',
    ].join(';'),
  );
  await src.sql(
    [
      "INSERT INTO di.a (u, x, y) SELECT CONCAT('u', seq), seq % 97, REPEAT('word ', seq % 7) FROM mysql.seq_1_to_5000",
      'INSERT INTO di.b (v) SELECT seq % 13 FROM mysql.seq_1_to_3000',
      'INSERT INTO di.parent SELECT seq, seq % 5 FROM mysql.seq_1_to_200',
      'INSERT INTO di.child SELECT seq, seq % 200 + 1, seq % 3 FROM mysql.seq_1_to_1000',
      'INSERT INTO di.pre SELECT seq, seq % 3 FROM mysql.seq_1_to_1000',
    ].join(';'),
  );
  // created by the user beforehand, deliberately without the key: the loader must not add it
  await dst.sql('CREATE DATABASE di; CREATE TABLE di.pre (id INT PRIMARY KEY, v INT)');
  const cfg = {
    taskName: 'di',
    sourceId: 'src-1',
    taskMode: 'full' as const,
    source: src.connOpts(),
    target: dst.connOpts(),
    baList: { doDbs: ['di'] },
    mydumper: { threads: 2, rows: 700 },
    loader: { poolSize: 2 },
  };
  const first = createFullUnits(cfg);
  await runUnits(first.units);
  // di.parent (200 rows, below one 700-row chunk) is created with its key: no ALTER, no record
  assert.deepEqual(first.load.status()['deferredIndexes'], { tables: 2, done: 2, building: [] });

  for (const tb of ['a', 'b', 'parent', 'child']) {
    assert.equal(await createText(dst, 'di', tb), await createText(src, 'di', tb), `definition of di.${tb}`);
    const d = await compareTables(src.connOpts(), dst.connOpts(), 'di', tb);
    assert.ok(d.equal, describeDiffs([d]));
  }
  assert.doesNotMatch(await createText(dst, 'di', 'pre'), /KEY `kv`/);
  const recorded = await dst.sql(
    'SELECT tgt_table AS t, definitions AS d, status FROM dm_meta.di_load_index ORDER BY 1',
  );
  assert.deepEqual(
    recorded.map((r) => [r['t'], JSON.parse(String(r['d'])), r['status']]),
    [
      ['a', ["ADD KEY `k odd` (`x`,`y`(10)) COMMENT 'two, parts'", 'ADD KEY `kx` (`x`) USING BTREE'], 'done'],
      ['b', ['ADD KEY `kv` (`v`)'], 'done'],
    ],
  );

  // a process that died after the rows but before the ALTER: the record is pending, the key missing
  await dst.sql(
    "ALTER TABLE di.a DROP KEY kx; UPDATE dm_meta.di_load_index SET status = 'pending' WHERE tgt_table = 'a'",
  );
  const again = createFullUnits(cfg);
  await runUnits(again.units);
  assert.deepEqual(again.load.status()['deferredIndexes'], { tables: 1, done: 1, building: [] });
  assert.equal(await createText(dst, 'di', 'a'), await createText(src, 'di', 'a'));
});
