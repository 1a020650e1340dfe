import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MariaDBServer, compareTables, describeDiffs, makeTempDir, removeTempDir } from '../helpers/index.js';
import { createFullUnits } from '../../src/units/load/index.js';

test('task-mode dump writes DM/mydumper-style files; task-mode load imports them (with routing)', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const dir = makeTempDir('dump');
  t.after(async () => {
    await Promise.all([src.stop(), dst.stop()]);
    removeTempDir(dir);
  });
  await src.sql(`CREATE DATABASE f1; CREATE TABLE f1.a (id INT PRIMARY KEY, s VARCHAR(50), b VARBINARY(10), j JSON);
    CREATE TABLE f1.nk (x INT, y TEXT)`);
  await src.sql("INSERT INTO f1.a SELECT seq, CONCAT('line\\n', seq, ';\\'x'), UNHEX('00FF0A3B'), '{\"k\": [1,2]}' FROM mysql.seq_1_to_2500");
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
  // loading again is a no-op: every file is checkpointed as done
  const again = createFullUnits({ ...common, taskMode: 'load', loader: { dir, onDuplicate: 'error' } });
  assert.deepEqual((await again.units[0]?.process(new AbortController().signal))?.errors, []);
});
