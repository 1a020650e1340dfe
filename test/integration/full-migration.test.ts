import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer, compareTables, describeDiffs } from '../helpers/index.js';
import { createFullUnits } from '../../src/units/full/index.js';
import { createRegistry } from '../../src/metrics/index.js';

const ctl = (): AbortSignal => new AbortController().signal;

test('full: several schemas, routing and shard merge with extract columns; reaches finished; hands the snapshot to sync', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  t.after(async () => {
    await Promise.all([src.stop(), dst.stop()]);
  });
  const shardDDL = (s: string, tb: string): string => `CREATE TABLE ${s}.${tb} (id BIGINT PRIMARY KEY, name VARCHAR(40) NOT NULL, v DECIMAL(20,4), KEY k_name (name))`;
  await src.sql(
    [
      'CREATE DATABASE shard_1',
      'CREATE DATABASE shard_2',
      'CREATE DATABASE plain',
      'CREATE DATABASE skipme',
      shardDDL('shard_1', 't_1'),
      shardDDL('shard_1', 't_2'),
      shardDDL('shard_2', 't_1'),
      'CREATE TABLE plain.users (uid INT UNSIGNED NOT NULL, email VARCHAR(80) NOT NULL, UNIQUE KEY uk (uid), note TEXT)',
      'CREATE TABLE plain.nokey (a INT, b VARCHAR(10))',
      'CREATE TABLE skipme.x (id INT PRIMARY KEY)',
      'INSERT INTO skipme.x VALUES (1)',
    ].join(';'),
  );
  // distinct ids per shard so the merged table has no key conflict
  await src.sql(`INSERT INTO shard_1.t_1 SELECT seq, CONCAT('a', seq), seq / 7 FROM mysql.seq_1_to_2500`);
  await src.sql(`INSERT INTO shard_1.t_2 SELECT seq, CONCAT('b', seq), seq / 3 FROM mysql.seq_3001_to_4200`);
  await src.sql(`INSERT INTO shard_2.t_1 SELECT seq, CONCAT('c', seq), NULL FROM mysql.seq_5001_to_6000`);
  await src.sql(`INSERT INTO plain.users SELECT seq, CONCAT('u', seq, '@x'), IF(seq % 3 = 0, NULL, '') FROM mysql.seq_1_to_1500`);
  await src.sql(`INSERT INTO plain.nokey SELECT seq % 10, 'dup' FROM mysql.seq_1_to_300`);

  const registry = createRegistry();
  const { units, load } = createFullUnits(
    {
      taskName: 'rt',
      sourceId: 'mysql-01',
      taskMode: 'full',
      source: src.connOpts(),
      target: dst.connOpts(),
      baList: { doDbs: ['shard_*', 'plain'] },
      routes: [
        { schemaPattern: 'shard_*', tablePattern: 't_*', targetSchema: 'merged', targetTable: 't', extractTable: { tableRegexp: 't_(.*)', targetColumn: 'c_table' }, extractSchema: { schemaRegexp: 'shard_(.*)', targetColumn: 'c_schema' }, extractSource: { sourceRegexp: '(.*)', targetColumn: 'c_source' } },
        { schemaPattern: 'plain', targetSchema: 'plain_copy' },
      ],
      mydumper: { threads: 3, rows: 700 },
      loader: { poolSize: 4 },
    },
    { registry },
  );
  const [dump] = units;
  assert.ok(dump);
  const r1 = await dump.process(ctl());
  assert.deepEqual(r1.errors, []);
  const r2 = await load.process(ctl());
  assert.deepEqual(r2.errors, []);
  assert.equal(r2.isCanceled, false);
  assert.equal(load.status()['stage'], 'Finished');
  const startPos = r2.detail?.['startPos'] as { file: string; offset: number } | undefined;
  assert.ok(startPos && startPos.file.startsWith('mysql-bin.') && startPos.offset > 4, 'snapshot position handed to sync');
  assert.equal(r2.detail?.['safeModeUntil'], undefined, 'one consistent snapshot: no safe-mode window');

  // plain schema routed as a whole
  for (const tb of ['users', 'nokey']) {
    const d = await compareTables(src.connOpts(), dst.connOpts(), 'plain', tb, { targetSchema: 'plain_copy' });
    assert.ok(d.equal, describeDiffs([d]));
  }
  // shard merge: each shard's rows present with its extract values, nothing else
  const merged = await dst.sql('SELECT c_schema, c_table, c_source, COUNT(*) AS n FROM merged.t GROUP BY 1, 2, 3 ORDER BY 1, 2');
  assert.deepEqual(
    merged.map((r) => [r['c_schema'], r['c_table'], r['c_source'], Number(r['n'])]),
    [
      ['1', '1', 'mysql-01', 2500],
      ['1', '2', 'mysql-01', 1200],
      ['2', '1', 'mysql-01', 1000],
    ],
  );
  for (const [s, tb] of [['shard_1', 't_1'], ['shard_1', 't_2'], ['shard_2', 't_1']] as const) {
    const d = await compareTables(src.connOpts(), dst.connOpts(), s, tb, { targetSchema: 'merged', targetTable: 't', columns: ['id', 'name', 'v'] });
    // the merged table holds all shards: compare only this shard's slice
    const ids = await dst.sql(`SELECT COUNT(*) AS n FROM merged.t WHERE c_schema = ? AND c_table = ?`, [s.slice(6), tb.slice(2)]);
    assert.equal(Number(ids[0]?.['n']), d.sourceRows);
  }
  const sum = async (srv: MariaDBServer, q: string): Promise<string> => String((await srv.sql(q))[0]?.['s']);
  assert.equal(
    await sum(dst, 'SELECT SUM(v) AS s FROM merged.t'),
    await sum(src, 'SELECT (SELECT SUM(v) FROM shard_1.t_1) + (SELECT SUM(v) FROM shard_1.t_2) AS s'),
  );
  // block-allow list: skipme not migrated
  assert.equal((await dst.sql("SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'skipme'"))[0]?.['n'], '0');
  // status and metrics
  const st = load.status();
  assert.equal(st['totalRows'], 2500 + 1200 + 1000 + 1500 + 300);
  assert.equal(st['progress'], '100.00 %');
  const metrics = await registry.metrics();
  assert.match(metrics, /dm_loader_finished_rows\{task="rt",source_id="mysql-01"\} 6500/);
  // checkpoint: every chunk done
  const cp = await dst.sql("SELECT status, COUNT(*) AS n FROM dm_meta.rt_load_checkpoint GROUP BY status");
  assert.deepEqual(cp.map((r) => r['status']), ['done']);
  await load.close();
  await dump.close();
});

test('full: extra-args -B/-T and --where (through the worker\'s dumperSettings) narrow what the dump copies', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  t.after(async () => {
    await Promise.all([src.stop(), dst.stop()]);
  });
  await src.sql(
    [
      'CREATE DATABASE a',
      'CREATE DATABASE b',
      'CREATE TABLE a.t1 (id INT PRIMARY KEY)',
      'CREATE TABLE a.t2 (id INT PRIMARY KEY)',
      'CREATE TABLE b.t1 (id INT PRIMARY KEY)',
      'INSERT INTO a.t1 SELECT seq FROM mysql.seq_1_to_50',
      'INSERT INTO a.t2 SELECT seq FROM mysql.seq_1_to_50',
      'INSERT INTO b.t1 SELECT seq FROM mysql.seq_1_to_50',
    ].join(';'),
  );
  const { dumperSettings } = await import('../../src/worker/pipeline.js');
  const mydumper = dumperSettings({ threads: 2, extraArgs: `-B a -T t1 --where "id <= 10" --consistency lock` } as Parameters<typeof dumperSettings>[0]);
  assert.equal(mydumper.consistency, 'lock');
  const { units, load } = createFullUnits(
    { taskName: 'xa', sourceId: 's1', taskMode: 'full', source: src.connOpts(), target: dst.connOpts(), baList: { doDbs: ['a', 'b'] }, routes: [], mydumper, loader: { poolSize: 2 } },
    { registry: createRegistry() },
  );
  assert.deepEqual((await units[0]!.process(ctl())).errors, []);
  assert.deepEqual((await load.process(ctl())).errors, []);
  const tables = (await dst.sql("SELECT CONCAT(table_schema, '.', table_name) AS t FROM information_schema.tables WHERE table_schema IN ('a', 'b') ORDER BY 1")) as { t: string }[];
  assert.deepEqual(tables.map((r) => r.t), ['a.t1'], '-B a -T t1 selects a.t1 only');
  const n = (await dst.sql('SELECT COUNT(*) AS n, MAX(id) AS m FROM a.t1')) as { n: number; m: number }[];
  assert.deepEqual([Number(n[0]!.n), Number(n[0]!.m)], [10, 10], '--where id <= 10');
});
