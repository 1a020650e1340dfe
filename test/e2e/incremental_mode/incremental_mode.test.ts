/**
 * incremental_mode: two sources, one starting from a meta binlog file:pos, one from a meta GTID;
 * only changes after the meta reach the target, and the target ends equal to the source.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareDatabases, describeDiffs, waitFor, type MariaDBServer } from '../../helpers/index.js';
import { missingBinaries, waitTask } from '../../helpers/cluster.js';
import { setupScenario } from '../helpers/scenario.js';

const CASE = dirname(fileURLToPath(import.meta.url));
const schema = readFileSync(join(CASE, 'data/schema.sql'), 'utf8');

async function prepare(src: MariaDBServer, target: MariaDBServer, db: string): Promise<Record<string, unknown>> {
  // the same starting data on both sides (as after a manual full copy), then the meta position
  for (const s of [src, target]) await s.sql(`CREATE DATABASE ${db}; USE ${db}; ${schema}`);
  const [st] = await src.sql('SHOW MASTER STATUS');
  const [g] = await src.sql('SELECT @@gtid_binlog_pos AS g');
  return { file: st?.['File'], pos: st?.['Position'], gtid: g?.['g'] };
}

void test('incremental_mode: from meta position and from meta GTID', { skip: missingBinaries() || false, timeout: 300_000 }, async (t) => {
  const s = await setupScenario(t, CASE, { sources: 2, workers: 2 });
  const [s1, s2] = s.sources;
  assert.ok(s1 && s2);
  const m1 = await prepare(s1, s.target, 'inc1');
  const m2 = await prepare(s2, s.target, 'inc2');
  Object.assign(s.vars, { META1_FILE: String(m1['file']), META1_POS: String(m1['pos']), META2_FILE: String(m2['file']), META2_POS: String(m2['pos']), META2_GTID: String(m2['gtid']) });
  // changes after the meta: these must arrive
  for (const [src, db] of [[s1, 'inc1'], [s2, 'inc2']] as const) {
    await src.sql(`USE ${db}; INSERT INTO t VALUES (3, 'after meta', 3.5); UPDATE t SET v = 'updated' WHERE id = 1; DELETE FROM t WHERE id = 2; ALTER TABLE t ADD COLUMN extra INT NULL; INSERT INTO t VALUES (4, 'with extra', 4.5, 44)`);
  }
  await s.createSources();
  const r = await s.cluster.ctl(['start-task', s.conf('dm-task.yaml')]);
  assert.equal(r.json['result'], true, r.stdout);
  await waitTask(s.cluster, 'test', 'syncing on both sources', (x) => x.length === 2 && x.every((st) => st.stage === 'Running' && st.unit === 'Sync'));
  await s1.sql("INSERT INTO inc1.t VALUES (5, 'while running', 5.5, NULL)");
  await s2.sql("INSERT INTO inc2.t VALUES (5, 'while running', 5.5, NULL)");
  for (const [src, db] of [[s1, 'inc1'], [s2, 'inc2']] as const) {
    await waitFor(`${db} equal`, async () => (await compareDatabases(src.connOpts(), s.target.connOpts(), db)).every((d) => d.equal), { timeoutMs: 60_000, intervalMs: 500 }).catch(async (e: Error) => {
      throw new Error(`${e.message}: ${describeDiffs(await compareDatabases(src.connOpts(), s.target.connOpts(), db))}`);
    });
  }
  const rows = await s.target.sql('SELECT id, v, extra FROM inc2.t ORDER BY id');
  assert.deepEqual(rows.map((x) => x['id']), [1, 3, 4, 5]);
  assert.equal(rows[0]?.['v'], 'updated');
});

void test('incremental_mode: from --start-time', { skip: missingBinaries() || false, timeout: 300_000 }, async (t) => {
  // the upstream is not in UTC: a --start-time without a zone is read in the upstream's time zone, as DM does
  const s = await setupScenario(t, CASE, { sources: 1, workers: 1, sourceOpts: { extraArgs: ['--default-time-zone=+08:00'] } });
  const src = s.sources[0];
  assert.ok(src);
  await prepare(src, s.target, 'inc3');
  // before the start time (an earlier second of the binlog): must not arrive
  await src.sql("INSERT INTO inc3.t VALUES (10, 'before start-time', 10.5); UPDATE inc3.t SET v = 'changed before' WHERE id = 1");
  await new Promise((r) => setTimeout(r, 1100)); // binlog timestamps have one-second resolution
  const [now] = await src.sql("SELECT DATE_FORMAT(NOW(), '%Y-%m-%d %H:%i:%s') AS t"); // the upstream's wall clock
  const startTime = String(now?.['t']);
  // at or after the start time, before start-task: must arrive
  await src.sql("INSERT INTO inc3.t VALUES (11, 'after start-time', 11.5); DELETE FROM inc3.t WHERE id = 2");
  await s.createSources();
  const r = await s.cluster.ctl(['start-task', '--start-time', startTime, s.conf('dm-task-start-time.yaml')]);
  assert.equal(r.json['result'], true, r.stdout);
  await waitTask(s.cluster, 'test-st', 'syncing', (x) => x.length === 1 && x.every((st) => st.stage === 'Running' && st.unit === 'Sync'));
  await src.sql("INSERT INTO inc3.t VALUES (12, 'while running', 12.5)");
  await waitFor('row 12 on target', async () => (await s.target.sql('SELECT id FROM inc3.t WHERE id = 12')).length === 1, { timeoutMs: 60_000, intervalMs: 500 });
  const rows = await s.target.sql('SELECT id, v FROM inc3.t ORDER BY id');
  assert.deepEqual(rows.map((x) => x['id']), [1, 11, 12], 'changes from the start time on arrived, earlier ones did not');
  assert.equal(rows[0]?.['v'], 'before meta');
  // query-status's typed fields: caught up, with the upstream and applied positions shown
  const [st] = await waitTask(s.cluster, 'test-st', 'synced', (x) => x.length === 1 && x.every((y) => y.sync?.synced === true));
  assert.match(st?.sync?.masterBinlog ?? '', /^\(mysql-bin\.\d+, \d+\)$/, 'DM\'s "(file, pos)"');
  assert.match(st?.sync?.syncerBinlog ?? '', /^\(mysql-bin\.\d+, \d+\)$/);
  assert.equal(st?.sync?.secondsBehindMaster, '0');
  assert.equal(st?.lagSeconds ?? 0, 0);
});
