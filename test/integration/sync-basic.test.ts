/**
 * Sync unit against real MariaDB: incremental from a meta position (file:pos) and from a GTID,
 * with DML of many types, DDL (create/alter/rename/truncate/drop, create/drop index) and a keyless
 * table; exactly-once resume after a pause; metrics and status.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer, waitFor } from '../helpers/index.js';
import { SyncUnit } from '../../src/units/sync/index.js';
import { createRegistry } from '../../src/metrics/index.js';
import { masterPos, syncConfig, waitConverged, describeDiffs } from './sync-fixture.js';

const WORKLOAD = [
  'CREATE DATABASE s1',
  `CREATE TABLE s1.t (id BIGINT UNSIGNED PRIMARY KEY, d DECIMAL(30,10), s VARCHAR(50), b VARBINARY(8), dt DATETIME(6), ts TIMESTAMP(3) NULL, j JSON, f DOUBLE, e ENUM('a','b'), bt BIT(5), u INT UNIQUE)`,
  `INSERT INTO s1.t VALUES (18446744073709551615, '12345678901234567890.0123456789', 'héllo 😀', 0x00ff10, '2024-02-29 23:59:59.123456', '2024-01-01 00:00:00.500', '{"a": [1, 2]}', 1.5, 'b', b'10101', 1), (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
  'CREATE TABLE s1.nokey (a INT, b VARCHAR(10))',
  "INSERT INTO s1.nokey VALUES (1,'x'),(1,'x'),(2,NULL)",
  'BEGIN; UPDATE s1.t SET s = CONCAT(s, "!"), u = 7 WHERE id = 18446744073709551615; UPDATE s1.t SET id = 3 WHERE id = 2; DELETE FROM s1.nokey WHERE a = 1 LIMIT 1; COMMIT',
  'ALTER TABLE s1.t ADD COLUMN extra INT DEFAULT 5 AFTER id',
  'INSERT INTO s1.t (id, s, u) VALUES (10, "after alter", 10)',
  'CREATE INDEX i_s ON s1.t (s)',
  'RENAME TABLE s1.nokey TO s1.nokey2',
  "UPDATE s1.nokey2 SET b = 'y' WHERE b IS NULL",
  'CREATE TABLE s1.gone (id INT PRIMARY KEY)',
  'INSERT INTO s1.gone VALUES (1)',
  'DROP TABLE s1.gone',
  'CREATE TABLE s1.trunc (id INT PRIMARY KEY)',
  'INSERT INTO s1.trunc VALUES (1),(2)',
  'TRUNCATE TABLE s1.trunc',
  'INSERT INTO s1.trunc VALUES (3)',
  'DROP INDEX i_s ON s1.t',
  // one upstream transaction of ~6 MB: several multi-row statements, sent in several queries, one commit
  'CREATE TABLE s1.big (id INT PRIMARY KEY, p TEXT)',
  "INSERT INTO s1.big SELECT seq, REPEAT('x', 1000) FROM s1.seq_1_to_6000",
];

void test('incremental from a meta file:pos: DML of every type, DDL, keyless table; pause/resume exactly-once', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const reg = createRegistry();
  const unit = new SyncUnit(syncConfig(src, dst, { start: await masterPos(src) }), { registry: reg, heartbeatMs: 200 });
  t.after(async () => {
    await unit.close();
    await Promise.all([src.stop(), dst.stop()]);
  });
  for (const s of WORKLOAD) await src.sql(s);
  const ac = new AbortController();
  await unit.init(ac.signal);
  const running = unit.process(ac.signal);
  let diffs = await waitConverged(src, dst, ['s1']);
  assert.ok(diffs.length >= 4 && diffs.every((d) => d.equal), describeDiffs(diffs));

  // pause, write more (incl. a multi-statement txn), resume: converges with no duplicate in the keyless table
  unit.pause();
  const r1 = await running;
  assert.equal(r1.isCanceled, true, JSON.stringify(r1.errors));
  await src.sql("INSERT INTO s1.nokey2 VALUES (5,'p'),(5,'p'); BEGIN; INSERT INTO s1.t (id, u) VALUES (20, 20); DELETE FROM s1.t WHERE id = 3; COMMIT");
  const resumed = unit.resume(ac.signal);
  diffs = await waitConverged(src, dst, ['s1']);
  assert.ok(diffs.every((d) => d.equal), describeDiffs(diffs));

  const st = unit.status();
  assert.equal(st['stage'], 'Running');
  assert.ok(Number(st['totalTransactions']) > 0);
  assert.ok((st['checkpointPos'] as { file: string }).file.startsWith('mysql-bin.'));
  // converged target + applied low-water mark at the upstream's position → query-status says synced
  await waitFor('status synced', async () => unit.status()['synced'] === true, { timeoutMs: 30_000 });
  const metrics = await reg.metrics();
  // the binlog reader shares the unit's registry
  assert.match(metrics, /dm_syncer_binlog_read_events_total\{task="test",source_id="mysql-01"\} [1-9]/);
  // DM's labels: task, worker (empty for a unit run without a dm-worker), source_id
  assert.match(metrics, /dm_syncer_finished_transaction_total\{task="test",source_id="mysql-01",worker=""\} \d+/);
  assert.match(metrics, /dm_syncer_binlog_file\{.*node="syncer"/);
  unit.pause();
  assert.equal((await resumed).isCanceled, true);
});

void test('incremental from a GTID; a DDL the target rejects pauses with a coded error at its position', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  await src.sql('CREATE DATABASE g; CREATE TABLE g.a (id INT PRIMARY KEY, v INT)');
  const start = await masterPos(src);
  const unit = new SyncUnit(syncConfig(src, dst, { start: { gtid: start.gtid }, enableGtid: true }), { heartbeatMs: 200 });
  t.after(async () => {
    await unit.close();
    await Promise.all([src.stop(), dst.stop()]);
  });
  await dst.sql('CREATE DATABASE g; CREATE TABLE g.a (id INT PRIMARY KEY, v INT)');
  await src.sql('INSERT INTO g.a VALUES (1,1),(2,2); UPDATE g.a SET v = 9 WHERE id = 2');
  await src.sql('CREATE TABLE g.b (id INT PRIMARY KEY)');
  await dst.sql('CREATE TABLE g.b (id INT PRIMARY KEY, conflicting INT)');
  await src.sql('ALTER TABLE g.b ADD COLUMN w INT; INSERT INTO g.b VALUES (1, 1)');
  // target already has g.b, so the CREATE TABLE is rejected (not the first event of the run)
  const ac = new AbortController();
  await unit.init(ac.signal);
  const res = await unit.process(ac.signal);
  assert.equal(res.isCanceled, false);
  assert.equal(res.errors[0]?.code, 36001, JSON.stringify(res.errors));
  assert.match(res.errors[0]?.message ?? '', /CREATE TABLE/i);
  const rows = await dst.sql('SELECT id, v FROM g.a ORDER BY id');
  assert.deepEqual(rows, [{ id: 1, v: 1 }, { id: 2, v: 9 }], 'DML before the DDL was applied');
});

void test('source without binlog_row_metadata=FULL: resume across an ALTER decodes old rows with the schema saved in the checkpoint', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start({ extraArgs: ['--binlog-row-metadata=MINIMAL'] }), MariaDBServer.start()]);
  const start = await masterPos(src);
  const cfg = syncConfig(src, dst, { start });
  const first = new SyncUnit(cfg, { heartbeatMs: 200 });
  const second = new SyncUnit(cfg, { heartbeatMs: 200 });
  t.after(async () => {
    await first.close();
    await second.close();
    await Promise.all([src.stop(), dst.stop()]);
  });
  await src.sql("CREATE DATABASE m; CREATE TABLE m.t (id INT PRIMARY KEY, a VARCHAR(10), b BIGINT); INSERT INTO m.t VALUES (1, 'x', 10)");
  const ac = new AbortController();
  await first.init(ac.signal);
  const r1 = first.process(ac.signal);
  let diffs = await waitConverged(src, dst, ['m']);
  assert.ok(diffs.length === 1 && diffs.every((d) => d.equal), describeDiffs(diffs));
  await first.close();
  assert.equal((await r1).isCanceled, true);
  // while the unit is down: rows in the old layout, then a reordering ALTER, then rows in the new layout
  await src.sql("INSERT INTO m.t VALUES (2, 'y', 9223372036854775807); UPDATE m.t SET a = 'x2' WHERE id = 1");
  await src.sql('ALTER TABLE m.t DROP COLUMN a, ADD COLUMN c VARCHAR(10) FIRST');
  await src.sql("INSERT INTO m.t (id, b, c) VALUES (3, -1, 'z')");
  await second.init(ac.signal);
  const r2 = second.process(ac.signal);
  diffs = await waitConverged(src, dst, ['m']);
  assert.ok(diffs.length === 1 && diffs.every((d) => d.equal), describeDiffs(diffs));
  second.pause();
  assert.deepEqual((await r2).errors, []);
});

void test('routes merge shard tables into one target table with an extracted column; BA list and event filter apply', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  await src.sql(`CREATE DATABASE shard_1; CREATE DATABASE shard_2; CREATE DATABASE other;
    CREATE TABLE shard_1.orders (id INT PRIMARY KEY, v INT); CREATE TABLE shard_2.orders (id INT PRIMARY KEY, v INT);
    CREATE TABLE other.x (id INT PRIMARY KEY)`);
  await dst.sql('CREATE DATABASE merged; CREATE TABLE merged.orders (id INT, v INT, src_db VARCHAR(20), PRIMARY KEY (id, src_db))');
  const start = await masterPos(src);
  const unit = new SyncUnit(
    syncConfig(src, dst, {
      start,
      baList: { doDbs: ['shard_*'] },
      routes: [{ schemaPattern: 'shard_*', tablePattern: 'orders', targetSchema: 'merged', targetTable: 'orders', extractSchema: { schemaRegexp: '(shard_\\d+)', targetColumn: 'src_db' } }],
      filters: [{ schemaPattern: 'shard_2', tablePattern: 'orders', events: ['delete'], action: 'Ignore' }],
    }),
    { heartbeatMs: 200 },
  );
  t.after(async () => {
    await unit.close();
    await Promise.all([src.stop(), dst.stop()]);
  });
  await src.sql(`INSERT INTO shard_1.orders VALUES (1, 1), (2, 2); INSERT INTO shard_2.orders VALUES (1, 10), (2, 20);
    UPDATE shard_1.orders SET v = 5 WHERE id = 2; DELETE FROM shard_1.orders WHERE id = 1; DELETE FROM shard_2.orders WHERE id = 1;
    INSERT INTO other.x VALUES (1)`);
  const ac = new AbortController();
  await unit.init(ac.signal);
  const running = unit.process(ac.signal);
  const want = [
    { id: 1, v: 10, src_db: 'shard_2' },
    { id: 2, v: 5, src_db: 'shard_1' },
    { id: 2, v: 20, src_db: 'shard_2' },
  ];
  let got: unknown[] = [];
  for (let i = 0; i < 100 && JSON.stringify(got) !== JSON.stringify(want); i++) {
    await new Promise((r) => setTimeout(r, 200));
    got = await dst.sql('SELECT id, v, src_db FROM merged.orders ORDER BY id, src_db');
  }
  assert.deepEqual(got, want, 'the shard_2 delete is filtered out, the rest merged with src_db');
  const other = await dst.sql("SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'other'");
  assert.equal(Number(other[0]?.['n']), 0, 'schema outside the block-allow list is not replicated');
  unit.pause();
  assert.deepEqual((await running).errors, []);
});
