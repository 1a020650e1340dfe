import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MariaDBServer, compareTables, describeDiffs, makeTempDir, removeTempDir } from '../helpers/index.js';
import { createFullUnits } from '../../src/units/full/index.js';

test('task-mode dump writes DM/mydumper-style files; task-mode load imports them (with routing)', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const dir = makeTempDir('dump');
  t.after(async () => {
    await Promise.all([src.stop(), dst.stop()]);
    removeTempDir(dir);
  });
  await src.sql(`CREATE DATABASE f1; CREATE TABLE f1.a (id INT PRIMARY KEY, s VARCHAR(50), b VARBINARY(10), j JSON, KEY ks (s(20)));
    CREATE TABLE f1.nk (x INT, y TEXT)`);
  await src.sql(
    "INSERT INTO f1.a SELECT seq, CONCAT('line\\n', seq, ';\\'x'), UNHEX('00FF0A3B'), '{\"k\": [1,2]}' FROM mysql.seq_1_to_2500",
  );
  await src.sql("INSERT INTO f1.nk VALUES (1, 'a;\\nb'), (NULL, NULL), (2, '')");
  const common = {
    taskName: 'files',
    sourceId: 's1',
    source: src.connOpts(),
    target: dst.connOpts(),
    baList: { doDbs: ['f1'] },
    routes: [{ schemaPattern: 'f1', targetSchema: 'f1_copy' }],
    mydumper: { threads: 2, rows: 1000 },
    loader: { dir },
  };
  const d = createFullUnits({ ...common, taskMode: 'dump' });
  assert.equal(d.units.length, 1);
  const r = await d.units[0]?.process(new AbortController().signal);
  assert.deepEqual(r?.errors, []);
  const files = readdirSync(dir).sort();
  assert.deepEqual(files, [
    'f1-schema-create.sql',
    'f1.a-schema.sql',
    'f1.a.00000.sql',
    'f1.a.00001.sql',
    'f1.a.00002.sql',
    'f1.nk-schema.sql',
    'f1.nk.00000.sql',
    'metadata',
  ]);
  const md = readFileSync(join(dir, 'metadata'), 'utf8');
  assert.match(md, /SHOW MASTER STATUS:\n\tLog: mysql-bin\.\d+\n\tPos: \d+\n\tGTID:0-\d+-\d+/);
  const startPos = r?.detail?.['startPos'] as { offset: number } | undefined;
  assert.ok(md.includes(`Pos: ${startPos?.offset}`));

  const l = createFullUnits({ ...common, taskMode: 'load' });
  const rl = await l.units[0]?.process(new AbortController().signal);
  assert.deepEqual(rl?.errors, []);
  assert.deepEqual((rl?.detail?.['startPos'] as { offset: number }).offset, startPos?.offset);
  for (const tb of ['a', 'nk']) {
    const diff = await compareTables(src.connOpts(), dst.connOpts(), 'f1', tb, { targetSchema: 'f1_copy' });
    assert.ok(diff.equal, describeDiffs([diff]));
  }
  // the secondary key, left out of the CREATE TABLE, was added after the rows
  const definition = async (srv: MariaDBServer, db: string): Promise<string> =>
    String((await srv.sql(`SHOW CREATE TABLE ${db}.a`))[0]?.['Create Table']);
  assert.equal(await definition(dst, 'f1_copy'), await definition(src, 'f1'));
  assert.deepEqual(l.load.status()['deferredIndexes'], { tables: 1, done: 1, building: [] });
  // clean-dump-file (DM's default true): the loaded data files are gone; metadata and schema files stay
  assert.deepEqual(readdirSync(dir).sort(), ['f1-schema-create.sql', 'f1.a-schema.sql', 'f1.nk-schema.sql', 'metadata']);
  // loading again is a no-op: every file is checkpointed as done
  const again = createFullUnits({ ...common, taskMode: 'load', loader: { dir, onDuplicate: 'error' } });
  assert.deepEqual((await again.units[0]?.process(new AbortController().signal))?.errors, []);
});

test('task-mode load merges dumped shards with extract-schema / extract-source columns, like the streaming load', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const dir = makeTempDir('dump');
  t.after(async () => {
    await Promise.all([src.stop(), dst.stop()]);
    removeTempDir(dir);
  });
  const ddl = (s: string): string =>
    `CREATE TABLE ${s}.t (id INT PRIMARY KEY, s VARCHAR(60), b VARBINARY(10), j JSON)`;
  await src.sql(`CREATE DATABASE shard_1; CREATE DATABASE shard_2; ${ddl('shard_1')}; ${ddl('shard_2')}`);
  // values that look like tuple ends, quotes, escapes and statement ends inside strings
  const rows = (s: string, from: number, to: number): string =>
    `INSERT INTO ${s}.t SELECT seq, IF(seq % 7 = 0, NULL, CONCAT('x),(', seq, '\\'', '\\\\', '\\n;')), UNHEX('00FF0A3B2829'), '{"k": "a),(b"}' FROM mysql.seq_${from}_to_${to}`;
  await src.sql(rows('shard_1', 1, 1500));
  await src.sql(rows('shard_2', 2001, 2300));
  const common = {
    taskName: 'files_x',
    sourceId: 's1',
    source: src.connOpts(),
    target: dst.connOpts(),
    baList: { doDbs: ['shard_*'] },
    routes: [
      {
        schemaPattern: 'shard_*',
        tablePattern: 't',
        targetSchema: 'merged',
        targetTable: 't',
        extractSchema: { schemaRegexp: 'shard_(.*)', targetColumn: 'c_schema' },
        extractSource: { sourceRegexp: '(.*)', targetColumn: 'c_source' },
      },
    ],
    mydumper: { threads: 2, rows: 1000 },
    loader: { dir },
  };
  const d = createFullUnits({ ...common, taskMode: 'dump' });
  assert.deepEqual((await d.units[0]?.process(new AbortController().signal))?.errors, []);
  assert.deepEqual(
    readdirSync(dir)
      .filter((f) => /\.\d{5}\.sql$/.test(f))
      .sort(),
    ['shard_1.t.00000.sql', 'shard_1.t.00001.sql', 'shard_2.t.00000.sql'],
  );
  const l = createFullUnits({ ...common, taskMode: 'load', loader: { dir, cleanDumpFile: false } });
  assert.deepEqual((await l.units[0]?.process(new AbortController().signal))?.errors, []);
  // clean-dump-file: false keeps every file
  assert.equal(readdirSync(dir).filter((f) => /\.\d{5}\.sql$/.test(f)).length, 3);

  // the expected merged table: every shard's rows with that shard's extract values
  await src.sql(`CREATE DATABASE expect; CREATE VIEW expect.merged AS
    SELECT id, s, b, j, '1' AS c_schema, 's1' AS c_source FROM shard_1.t UNION ALL SELECT id, s, b, j, '2', 's1' FROM shard_2.t`);
  const columns = ['id', 's', 'b', 'j', 'c_schema', 'c_source'];
  const diff = await compareTables(src.connOpts(), dst.connOpts(), 'expect', 'merged', {
    targetSchema: 'merged',
    targetTable: 't',
    columns,
  });
  assert.ok(diff.equal, describeDiffs([diff]));
  assert.equal(diff.targetRows, 1800);
  const cols = await dst.sql(
    "SELECT COLUMN_NAME AS n, COLUMN_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'merged' AND TABLE_NAME = 't' ORDER BY ORDINAL_POSITION",
  );
  assert.deepEqual(cols.map((c) => `${String(c['n'])} ${String(c['t'])}`).slice(4), [
    'c_schema varchar(255)',
    'c_source varchar(255)',
  ]);
  // every file is checkpointed as done with its rows: loading again is a no-op
  const again = createFullUnits({ ...common, taskMode: 'load', loader: { dir, onDuplicate: 'error' } });
  assert.deepEqual((await again.units[0]?.process(new AbortController().signal))?.errors, []);
  assert.equal(Number((await dst.sql('SELECT COUNT(*) AS n FROM merged.t'))[0]?.['n']), 1800);
});
