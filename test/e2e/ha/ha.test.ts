/**
 * ha: three dm-masters; kill -9 the leader while a task syncs: another master is elected, the
 * task keeps going, and dmctl works through the other masters (also with the dead one listed first).
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

void test('ha: kill -9 the leader master while a task syncs', { skip: missingBinaries() || false, timeout: 400_000 }, async (t) => {
  const s = await setupScenario(t, CASE, { masters: 3, workers: 1 });
  const src = s.sources[0];
  assert.ok(src);
  await s.loadData(src, 'db.sql');
  await s.createSources();
  const r = await s.cluster.ctl(['start-task', s.conf('dm-task.yaml')]);
  assert.equal(r.json['result'], true, r.stdout);
  await waitTask(s.cluster, 'test', 'syncing', (x) => x.every((st) => st.stage === 'Running' && st.unit === 'Sync'));

  const w = rowWriter(src, 'ha', 't', 100_000);
  let writes = 0;
  try {
    const idx = await s.cluster.waitLeader();
    const dead = s.cluster.masters[idx];
    const leader = dead?.name;
    assert.ok(dead);
    await killProc(dead, 'SIGKILL');
    const deadAddr = s.cluster.masterAddrs[idx] ?? '';
    const others = s.cluster.masterAddrs.filter((_, i) => i !== idx);
    const newLeader = await waitFor(
      'a new leader',
      async () => {
        const m = await s.cluster.ctl(['list-member', '--leader'], others);
        const name = (m.json['members'] as { leader?: { name?: string } }[] | undefined)?.[0]?.leader?.name;
        return name && name !== leader ? name : false;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    assert.notEqual(newLeader, leader);
    // dmctl with the dead master first in --master-addr still answers (next address tried)
    const q = await s.cluster.ctl(['query-status', 'test'], [deadAddr, ...others]);
    assert.equal(q.json['result'], true, q.stdout);
    await new Promise((res) => setTimeout(res, 2000));
  } finally {
    writes = await w.stop();
  }
  assert.ok(writes > 0);
  const others = s.cluster.masterAddrs.filter((_, i) => s.cluster.alive(s.cluster.masters[i]!));
  await waitFor('target equals source after the leader died', async () => (await compareDatabases(src.connOpts(), s.target.connOpts(), 'ha')).every((d) => d.equal), { timeoutMs: 90_000, intervalMs: 1000 }).catch(async (e: Error) => {
    throw new Error(`${e.message}: ${describeDiffs(await compareDatabases(src.connOpts(), s.target.connOpts(), 'ha'))}`);
  });
  const st = await s.cluster.ctl(['query-status', 'test'], others);
  assert.match(st.stdout, /"stage": "Running"/);
  // a state-changing command through a follower is forwarded to the new leader
  const paused = await s.cluster.ctl(['pause-task', 'test'], others);
  assert.equal(paused.json['result'], true, paused.stdout);
});
