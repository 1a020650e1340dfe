/**
 * worker_failover: kill -9 the worker bound to the source mid-sync: the source is rebound to
 * the other worker, the task continues there, and the target ends equal to the source.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareDatabases, describeDiffs, waitFor } from '../../helpers/index.js';
import { killProc, missingBinaries, waitTask } from '../../helpers/cluster.js';
import { setupScenario } from '../helpers/scenario.js';
import { rowWriter } from '../../helpers/writer.js';

const CASE = dirname(fileURLToPath(import.meta.url));

void test('worker_failover: kill -9 the bound worker mid-sync', { skip: missingBinaries() || false, timeout: 400_000 }, async (t) => {
  const s = await setupScenario(t, CASE, { masters: 1, workers: 2 });
  const src = s.sources[0];
  assert.ok(src);
  await s.loadData(src, 'db.sql');
  await s.createSources();
  const r = await s.cluster.ctl(['start-task', s.conf('dm-task.yaml')]);
  assert.equal(r.json['result'], true, r.stdout);
  const subs = await waitTask(s.cluster, 'test', 'syncing', (x) => x.every((st) => st.stage === 'Running' && st.unit === 'Sync'));
  const bound = subs[0]?.worker ?? '';
  const victim = s.cluster.workers.find((w) => w.name === bound);
  assert.ok(victim, `bound worker ${bound} found`);

  const w = rowWriter(src, 'ha', 't', 100_000);
  let writes = 0;
  try {
    await new Promise((res) => setTimeout(res, 1000));
    await killProc(victim, 'SIGKILL');
    const moved = await waitTask(s.cluster, 'test', 'running on the other worker', (x) => x.every((st) => st.worker !== bound && st.worker !== '' && st.stage === 'Running' && st.unit === 'Sync'), 120_000);
    assert.notEqual(moved[0]?.worker, bound);
    await new Promise((res) => setTimeout(res, 2000));
  } finally {
    writes = await w.stop();
  }
  assert.ok(writes > 0);
  await waitFor('target equals source after the failover', async () => (await compareDatabases(src.connOpts(), s.target.connOpts(), 'ha')).every((d) => d.equal), { timeoutMs: 90_000, intervalMs: 1000 }).catch(async (e: Error) => {
    throw new Error(`${e.message}: ${describeDiffs(await compareDatabases(src.connOpts(), s.target.connOpts(), 'ha'))}`);
  });
});
