/**
 * online_ddl: a task with `online-ddl: true` while gh-ost (its statement sequence replayed in SQL,
 * atomic cut-over) and Debian's pt-online-schema-change (for real) alter two migrated tables under
 * a stream of writes; the bound dm-worker is killed with SIGKILL and restarted in the middle of
 * each change. The target gets each ALTER once, on the real table at the cut-over, never the
 * shadow / changelog / trash tables, and ends equal to the source.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareTables, waitFor, type MariaDBServer } from '../../helpers/index.js';
import { missingBinaries, waitTask, type DMCluster } from '../../helpers/cluster.js';
import { appWriter, ghostAtomicCutOver, ghostCatchUp, ghostPrepare, ghostRowCopy, ptOscMissing, runPtOsc } from '../../helpers/online-ddl.js';
import { setupScenario } from '../helpers/scenario.js';

const CASE = dirname(fileURLToPath(import.meta.url));

async function records(target: MariaDBServer): Promise<string[]> {
  const n = await target.sql("SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'dm_meta' AND TABLE_NAME = 'test_onlineddl'");
  if (Number(n[0]?.['n']) === 0) return [];
  return (await target.sql('SELECT CONCAT(ghost_schema, ".", ghost_table) AS g FROM dm_meta.test_onlineddl ORDER BY 1')).map((r) => String(r['g']));
}

/** kill -9 the worker bound to the task and start it again; wait until its subtask syncs again. */
async function killAndRestartWorker(c: DMCluster): Promise<void> {
  const subs = await waitTask(c, 'test', 'syncing', (x) => x.every((st) => st.stage === 'Running' && st.unit === 'Sync'));
  const w = c.workers.find((p) => p.name === subs[0]?.worker);
  assert.ok(w, 'bound worker found');
  await c.kill9(w);
  c.spawn(w);
  await waitTask(c, 'test', 'syncing again after the restart', (x) => x.every((st) => st.stage === 'Running' && st.unit === 'Sync' && st.worker !== ''), 120_000);
}

async function tablesOf(s: MariaDBServer, db: string): Promise<string[]> {
  return (await s.sql('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [db])).map((r) => String(r['t'])).sort();
}

async function waitEqual(src: MariaDBServer, dst: MariaDBServer, c: DMCluster, db: string): Promise<void> {
  await waitFor(`${db}.t equal on source and target`, async () => (await compareTables(src.connOpts(), dst.connOpts(), db, 't').catch(() => ({ equal: false }))).equal, { timeoutMs: 120_000, intervalMs: 1000 }).catch(async (e: Error) => {
    const st = await c.ctl(['query-status', 'test']);
    throw new Error(`${e.message}: ${JSON.stringify(await compareTables(src.connOpts(), dst.connOpts(), db, 't').catch((x: unknown) => String(x))).slice(0, 800)} ${st.stdout}`);
  });
}

void test('online_ddl: gh-ost and pt-osc changes under writes, dm-worker killed -9 and restarted mid-change, target equals source', { skip: missingBinaries() || false, timeout: 600_000 }, async (t) => {
  const s = await setupScenario(t, CASE, { masters: 1, workers: 1 });
  const src = s.sources[0];
  assert.ok(src);
  await s.loadData(src, 'db.sql');
  await s.createSources();
  const r = await s.cluster.ctl(['start-task', s.conf('dm-task.yaml')]);
  assert.equal(r.json['result'], true, r.stdout);
  await waitTask(s.cluster, 'test', 'syncing', (x) => x.every((st) => st.stage === 'Running' && st.unit === 'Sync'));

  // ---- gh-ost on ogh.t
  let gho = false;
  const w1 = appWriter(src, 'ogh', 100_000, () => gho);
  await ghostPrepare(src, 'ogh', 'add column c int not null default 7, add index i_n (n)');
  gho = true;
  await waitFor('gh-ost ALTER recorded', async () => (await records(s.target)).includes('ogh._t_gho'), { timeoutMs: 60_000 });
  await killAndRestartWorker(s.cluster);
  await ghostRowCopy(src, 'ogh', 250);
  await ghostCatchUp(src, 'ogh');
  await w1.stop();
  gho = false;
  await ghostCatchUp(src, 'ogh');
  await ghostAtomicCutOver(src, 'ogh');
  await src.sql('drop /* gh-ost */ table if exists `ogh`.`_t_ghc`');
  await src.sql("INSERT INTO ogh.t (id, v, n, c) VALUES (900001, 'after', 1, 9)");

  // ---- pt-online-schema-change on opt.t
  const missing = ptOscMissing();
  if (missing) t.diagnostic(`pt-osc part skipped: ${missing}`);
  else {
    const w2 = appWriter(src, 'opt', 100_000, () => false);
    const osc = runPtOsc(src, 'opt', 'ADD COLUMN c INT NOT NULL DEFAULT 7, MODIFY v VARCHAR(80) NOT NULL DEFAULT ""', ['--chunk-size=200', '--sleep=0.2']);
    await waitFor('pt-osc ALTER recorded', async () => (await records(s.target)).includes('opt._t_new'), { timeoutMs: 60_000, intervalMs: 100 });
    await killAndRestartWorker(s.cluster);
    assert.match(await osc, /Successfully altered `opt`\.`t`/);
    await w2.stop();
    await src.sql("INSERT INTO opt.t (id, n, c) VALUES (900001, 1, 9)");
    await waitEqual(src, s.target, s.cluster, 'opt');
    assert.deepEqual(await tablesOf(s.target, 'opt'), ['t']);
  }

  await waitEqual(src, s.target, s.cluster, 'ogh');
  assert.deepEqual(await tablesOf(s.target, 'ogh'), ['t'], 'no ghost, changelog or trash table on the target');
  const [ct] = await s.target.sql('SHOW CREATE TABLE ogh.t');
  assert.match(String(ct?.['Create Table']), /`c` int\(11\) NOT NULL DEFAULT 7/);
  await waitFor('records deleted after the cut-overs', async () => (await records(s.target)).length === 0, { timeoutMs: 30_000 });
  const st = await s.cluster.ctl(['query-status', 'test']);
  assert.equal(st.json['result'], true, st.stdout);
  // gh-ost left its old table `_t_del` on the source: check-data compares only migrated tables
  assert.ok((await tablesOf(src, 'ogh')).includes('_t_del'));
  const cd = await s.cluster.ctl(['check-data', 'test']);
  assert.equal(cd.json['result'], true, cd.stdout);
  const checked = (cd.json['tables'] as { table: string }[]).map((x) => x.table).sort();
  assert.deepEqual(checked, ['`ogh`.`t`', '`opt`.`t`']);
});
