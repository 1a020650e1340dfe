/**
 * Rows are decoded with the table structure of their own binlog position when the source does not
 * write binlog_row_metadata=FULL (MariaDB's default), and a subtask rebuilt with DDL in flight
 * recovers by itself:
 * - task-mode all: the structures recorded with the full phase's snapshot seed sync's tracker;
 * - incremental from `meta`: the structures come from the downstream tables (DM's way), through
 *   routes and without the target's extra columns;
 * - a subtask rebuilt after its full phase finished goes straight to sync and applies the DDL;
 * - a full phase stopped mid-Load, a DDL on a table being copied, then resumed: the table is
 *   copied again under the new snapshot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { MariaDBServer, describeDiffs, waitFor } from '../helpers/index.js';
import { silentLogger } from '../../src/log/index.js';
import { createUnits } from '../../src/worker/pipeline.js';
import { SyncUnit } from '../../src/units/sync/index.js';
import type { ProcessResult, Unit } from '../../src/units/unit.js';
import { masterPos, syncConfig, waitConverged } from './sync-fixture.js';
import { steps, type Step } from '../helpers/steps.js';
import { compareFilePos } from '../../src/binlog/position.js';

const MINIMAL = { extraArgs: ['--binlog-row-metadata=MINIMAL'] };

function sourceYaml(src: MariaDBServer): string {
  return `source-id: s1\nfrom: {host: 127.0.0.1, port: ${src.port}, user: root, password: ""}\n`;
}

function taskYaml(name: string, dst: MariaDBServer, db: string, extra = ''): string {
  return `name: ${name}
task-mode: all
target-database: {host: 127.0.0.1, port: ${dst.port}, user: root, password: ""}
mydumpers:
  d: {threads: 1, rows: 100}
loaders:
  l: {pool-size: 1}
syncers:
  s: {checkpoint-flush-interval: 1}
mysql-instances:
  - {source-id: s1, block-allow-list: ba, mydumper-config-name: d, loader-config-name: l, syncer-config-name: s}
block-allow-list:
  ba: {do-dbs: [${db}]}
${extra}`;
}

function pipeline(name: string, src: MariaDBServer, dst: MariaDBServer, db: string): Unit[] {
  return createUnits(
    { taskName: name, sourceId: 's1', taskYaml: taskYaml(name, dst, db), sourceYaml: sourceYaml(src) },
    { logger: silentLogger, registry: new Registry(), workerName: 'w1' },
  );
}

function unit(units: Unit[], type: string): Unit {
  const u = units.find((x) => x.type === type);
  assert.ok(u, `no ${type} unit`);
  return u;
}

async function runOk(u: Unit, signal: AbortSignal): Promise<ProcessResult> {
  await u.init(signal);
  const r = await u.process(signal);
  assert.deepEqual(r.errors, [], `${u.type}: ${JSON.stringify(r.errors)}`);
  assert.equal(r.isCanceled, false, `${u.type} canceled`);
  return r;
}

/**
 * Start the sync unit, wait until it has applied the binlog up to the source's current position
 * (taken now, after the test's last source write), then check db is equal on both sides and stop
 * it. Equality alone is not enough: when the full phase copied every change (a resume re-copied
 * under a snapshot taken after the DDL), the target equals the source before sync has replayed
 * anything, and what must hold is that replaying from the earliest snapshot (the DDL, the rows in
 * safe mode) keeps it equal.
 */
async function syncUntilEqual(u: Unit, src: MariaDBServer, dst: MariaDBServer, db: string): Promise<void> {
  const until = await masterPos(src);
  const ac = new AbortController();
  await u.init(ac.signal);
  let ended: ProcessResult | undefined;
  const running = u.process(ac.signal).then((r) => (ended = r));
  await waitFor(
    `sync applied up to ${until.file}:${until.offset}`,
    async () => {
      if (ended !== undefined) return true;
      const applied = u.status()['appliedPos'] as { file: string; offset: number } | undefined;
      return applied !== undefined && compareFilePos(applied, until) >= 0;
    },
    { timeoutMs: 90_000, intervalMs: 100 },
  );
  assert.equal(ended, undefined, `sync ended before reaching the source position: ${JSON.stringify(ended)}`);
  const diffs = await waitConverged(src, dst, [db], 10_000);
  u.pause();
  const r = await running;
  assert.deepEqual(r.errors, [], `sync: ${JSON.stringify(r.errors)}`);
  assert.equal(r.isCanceled, true, 'sync ended by the pause');
  assert.ok(diffs.length > 0 && diffs.every((d) => d.equal), describeDiffs(diffs));
}

void test('task-mode all, source without FULL row metadata: an ALTER between the snapshot and sync start decodes with the snapshot structure', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(MINIMAL), MariaDBServer.start()]);
  const units = pipeline('sa', src, dst, 'sa');
  t.after(async () => {
    for (const u of units) await u.close();
    await Promise.all([src.stop(), dst.stop()]);
  });
  await src.sql(`CREATE DATABASE sa;
    CREATE TABLE sa.small (id INT PRIMARY KEY, a INT, b INT);
    CREATE TABLE sa.big (id INT PRIMARY KEY, v VARCHAR(40));
    INSERT INTO sa.big SELECT seq, MD5(seq) FROM mysql.seq_1_to_3000`);
  const signal = AbortSignal.timeout(120_000);
  await runOk(unit(units, 'Dump'), signal);
  // after the snapshot (the Load copies `big` from it): rows in the old layout, a reordering ALTER, rows in the new one
  await src.sql(
    'INSERT INTO sa.small VALUES (1, 100, 200); ALTER TABLE sa.small MODIFY b INT AFTER id; INSERT INTO sa.small VALUES (2, 101, 201)',
  );
  await runOk(unit(units, 'Load'), signal);
  await syncUntilEqual(unit(units, 'Sync'), src, dst, 'sa');
  assert.deepEqual(await dst.sql('SELECT id, a, b FROM sa.small ORDER BY id'), [
    { id: 1, a: 100, b: 200 },
    { id: 2, a: 201, b: 101 },
  ]);
  const rec = await dst.sql("SELECT COUNT(*) AS n FROM dm_meta.sa_load_schema WHERE source_id = 's1'");
  assert.equal(Number(rec[0]?.['n']), 1, 'the structures are recorded with the snapshot');
});

void test('incremental from meta, source without FULL row metadata: structures from the downstream tables, through routes, without target-only columns', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(MINIMAL), MariaDBServer.start()]);
  await src.sql(`CREATE DATABASE inc; CREATE TABLE inc.small (id INT PRIMARY KEY, a INT, b INT);
    CREATE DATABASE shard; CREATE TABLE shard.o (id INT PRIMARY KEY, a INT, b INT)`);
  // the target as the operator prepared it for the start position; the routed one with an extract
  // column and a column of its own
  await dst.sql(`CREATE DATABASE inc; CREATE TABLE inc.small (id INT PRIMARY KEY, a INT, b INT);
    CREATE DATABASE merged; CREATE TABLE merged.orders (id INT, a INT, src_db VARCHAR(20), b INT, note VARCHAR(10) DEFAULT 'n', PRIMARY KEY (id, src_db))`);
  const start = await masterPos(src);
  const unitInc = new SyncUnit(
    syncConfig(src, dst, {
      start,
      baList: { doDbs: ['inc', 'shard'] },
      routes: [
        {
          schemaPattern: 'shard',
          tablePattern: 'o',
          targetSchema: 'merged',
          targetTable: 'orders',
          extractSchema: { schemaRegexp: '(shard)', targetColumn: 'src_db' },
        },
      ],
    }),
    { heartbeatMs: 200 },
  );
  t.after(async () => {
    await unitInc.close();
    await Promise.all([src.stop(), dst.stop()]);
  });
  await src.sql(`INSERT INTO inc.small VALUES (1, 100, 200); ALTER TABLE inc.small MODIFY b INT AFTER id; INSERT INTO inc.small VALUES (2, 101, 201);
    INSERT INTO shard.o VALUES (1, 10, 20); ALTER TABLE shard.o MODIFY b INT AFTER id; INSERT INTO shard.o VALUES (2, 21, 11)`);
  const ac = new AbortController();
  await unitInc.init(ac.signal);
  let ended: ProcessResult | undefined;
  const running = unitInc.process(ac.signal).then((r) => (ended = r));
  await waitFor(
    'merged rows',
    async () =>
      ended !== undefined ||
      Number((await dst.sql('SELECT COUNT(*) AS n FROM merged.orders'))[0]?.['n']) === 2,
    { timeoutMs: 60_000 },
  );
  const diffs = await waitConverged(src, dst, ['inc'], 60_000);
  unitInc.pause();
  await running;
  assert.deepEqual(ended?.errors, [], JSON.stringify(ended?.errors));
  assert.ok(diffs.length === 1 && diffs.every((d) => d.equal), describeDiffs(diffs));
  assert.deepEqual(await dst.sql('SELECT id, a, b FROM inc.small ORDER BY id'), [
    { id: 1, a: 100, b: 200 },
    { id: 2, a: 201, b: 101 },
  ]);
  assert.deepEqual(await dst.sql('SELECT id, a, b, src_db FROM merged.orders ORDER BY id'), [
    { id: 1, a: 10, b: 20, src_db: 'shard' },
    { id: 2, a: 11, b: 21, src_db: 'shard' },
  ]);
});

void test('a subtask rebuilt after its full phase finished, with a source ADD COLUMN not yet on the target, resumes in Sync and applies it', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(MINIMAL), MariaDBServer.start()]);
  const first = pipeline('rb', src, dst, 'rb');
  let second: Unit[] = [];
  t.after(async () => {
    for (const u of [...first, ...second]) await u.close();
    await Promise.all([src.stop(), dst.stop()]);
  });
  await src.sql(`CREATE DATABASE rb; CREATE TABLE rb.t (id INT PRIMARY KEY, v INT, KEY (v));
    INSERT INTO rb.t SELECT seq, seq FROM mysql.seq_1_to_500`);
  const signal = AbortSignal.timeout(120_000);
  await runOk(unit(first, 'Dump'), signal);
  await runOk(unit(first, 'Load'), signal);
  // the worker dies before sync wrote anything; meanwhile the source changes
  for (const u of first) await u.close();
  await src.sql(
    'ALTER TABLE rb.t ADD COLUMN c INT NOT NULL DEFAULT 7; INSERT INTO rb.t VALUES (501, 501, 8); UPDATE rb.t SET c = 9 WHERE id = 1',
  );
  second = pipeline('rb', src, dst, 'rb');
  await runOk(unit(second, 'Dump'), signal);
  await runOk(unit(second, 'Load'), signal);
  assert.equal(unit(second, 'Load').status()['stage'], 'Finished');
  await syncUntilEqual(unit(second, 'Sync'), src, dst, 'rb');
});

/**
 * A full phase of task `name` on db `mk` stopped after a few chunks of `big` (pipeline closed as
 * a killed worker leaves it), then `ALTER TABLE mk.big ADD COLUMN c` on the source.
 */
async function stopMidLoadThenAlter(
  name: string,
  src: MariaDBServer,
  dst: MariaDBServer,
  signal: AbortSignal,
  step: Step,
): Promise<void> {
  const first = pipeline(name, src, dst, 'mk');
  try {
    await step('source tables', () =>
      src.sql(`CREATE DATABASE mk; CREATE TABLE mk.big (id INT PRIMARY KEY, v VARCHAR(40), KEY (v));
      INSERT INTO mk.big SELECT seq, MD5(seq) FROM mysql.seq_1_to_40000;
      CREATE TABLE mk.other (id INT PRIMARY KEY, w INT); INSERT INTO mk.other VALUES (1, 1)`),
    );
    await step('first dump', () => runOk(unit(first, 'Dump'), signal));
    const load = unit(first, 'Load');
    const ac = new AbortController();
    await load.init(ac.signal);
    const loading = load.process(ac.signal);
    // stop it once some chunks of `big` are in (400 chunks of 100 rows, one stream)
    await step('some chunks loaded', () =>
      waitFor(
        'some chunks loaded',
        async () => {
          const r = await dst
            .sql(
              `SELECT COUNT(*) AS n FROM dm_meta.${name}_load_checkpoint WHERE cp_table = 'big' AND status = 'done'`,
            )
            .catch(() => []);
          return Number(r[0]?.['n'] ?? 0) >= 3;
        },
        { timeoutMs: 60_000, intervalMs: 10 },
      ),
    );
    ac.abort();
    const r = await step('load stopped', () => loading);
    assert.equal(r.isCanceled, true, 'the load was stopped before it finished');
  } finally {
    await step('first pipeline closed', async () => {
      for (const u of first) await u.close();
    });
  }
  const pending = await dst.sql(
    `SELECT COUNT(*) AS n FROM dm_meta.${name}_load_checkpoint WHERE cp_table = 'big' AND status = 'pending'`,
  );
  assert.ok(Number(pending[0]?.['n']) > 0, 'chunks of big are still pending');
  await step('source ALTER', () =>
    src.sql(
      "ALTER TABLE mk.big ADD COLUMN c INT NOT NULL DEFAULT 3 AFTER id; UPDATE mk.big SET c = 4 WHERE id IN (1, 39999); INSERT INTO mk.big VALUES (40001, 5, 'new')",
    ),
  );
}

void test('a full phase stopped mid-Load, then a DDL on a table being copied, then resumed: the table is copied again and sync ends with target == source', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(MINIMAL), MariaDBServer.start()]);
  let second: Unit[] = [];
  t.after(async () => {
    for (const u of second) await u.close();
    await Promise.all([src.stop(), dst.stop()]);
  });
  const signal = AbortSignal.timeout(180_000);
  const step = steps({ src, dst });
  await stopMidLoadThenAlter('mk', src, dst, signal, step);
  second = pipeline('mk', src, dst, 'mk');
  await step('second dump', () => runOk(unit(second, 'Dump'), signal));
  await step('second load', () => runOk(unit(second, 'Load'), signal));
  await src.sql("INSERT INTO mk.big VALUES (40002, 6, 'after'); UPDATE mk.other SET w = 2");
  await step('sync until equal', () => syncUntilEqual(unit(second, 'Sync'), src, dst, 'mk'));
});

void test('the same, but the target table also holds rows of another writer: not dropped, 34101; after the operator drops it the resume completes', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(MINIMAL), MariaDBServer.start()]);
  let second: Unit[] = [];
  let third: Unit[] = [];
  t.after(async () => {
    for (const u of [...second, ...third]) await u.close();
    await Promise.all([src.stop(), dst.stop()]);
  });
  const signal = AbortSignal.timeout(180_000);
  const step = steps({ src, dst });
  await stopMidLoadThenAlter('mw', src, dst, signal, step);
  await step('another writer', () => dst.sql("INSERT INTO mk.big (id, v) VALUES (-1, 'another writer')"));
  second = pipeline('mw', src, dst, 'mk');
  const dump = unit(second, 'Dump');
  await dump.init(signal);
  const r = await step('second dump (34101)', () => dump.process(signal));
  assert.equal(r.errors[0]?.code, 34101, JSON.stringify(r.errors));
  assert.match(r.errors[0]?.message ?? '', /mk\.big/);
  assert.equal(
    Number((await dst.sql('SELECT COUNT(*) AS n FROM mk.big WHERE id = -1'))[0]?.['n']),
    1,
    'the table was not dropped',
  );
  await step('second pipeline closed', async () => {
    for (const u of second) await u.close();
  });
  // the workaround: drop the target table, resume
  await step('operator drops the table', () => dst.sql('DROP TABLE mk.big'));
  third = pipeline('mw', src, dst, 'mk');
  await step('third dump', () => runOk(unit(third, 'Dump'), signal));
  await step('third load', () => runOk(unit(third, 'Load'), signal));
  // the copy under the new snapshot holds every source change: target == source already, so a
  // test that waits for equality pauses sync at once, while the pipeline's unit is still starting
  const sync = unit(third, 'Sync');
  await sync.init(signal);
  const starting = sync.process(signal);
  sync.pause();
  const r0 = await step('paused while starting', () => starting, 30_000);
  assert.deepEqual(r0, { isCanceled: true, errors: [] }, 'a pause while the sync unit starts ends its process()');
  await step('sync until equal', () => syncUntilEqual(sync, src, dst, 'mk'));
});
