/**
 * validation_shard: the continuous validator on shards of two sources merged into one target table
 * by a route with `extract-source`: the extract column is part of the key the validator reads rows
 * back by, so the same id from each shard is its own row; equal data passes on both sources, and a
 * merged row deleted on the target behind DM.ts's back is reported with the source and full key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingBinaries, waitTask } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/services.js';
import { setupScenario } from '../helpers/scenario.js';

const CASE = dirname(fileURLToPath(import.meta.url));

void test('validation_shard: merged shards keyed by their extract column, equal and tampered', { skip: missingBinaries() || false, timeout: 300_000 }, async (t) => {
  const s = await setupScenario(t, CASE, { sources: 2, workers: 2 });
  for (const src of s.sources) await s.loadData(src, 'db.sql');
  await s.loadData(s.target, 'target.sql');
  await s.createSources();
  const r = await s.cluster.ctl(['start-task', s.conf('dm-task.yaml')]);
  assert.equal(r.json['result'], true, r.stdout);
  await waitTask(s.cluster, 'test', 'Sync', (x) => x.length === 2 && x.every((st) => st.unit === 'Sync' && st.stage === 'Running'), 120_000);

  const [a, b] = s.sources as [(typeof s.sources)[0], (typeof s.sources)[0]];
  await a.sql("UPDATE vs.t SET v = 'a3' WHERE id = 3; INSERT INTO vs.t VALUES (100, 'a100')");
  await b.sql("UPDATE vs.t SET v = 'b3' WHERE id = 3; DELETE FROM vs.t WHERE id = 5");
  let last = '';
  await waitFor('both validators verified their changes', async () => {
    const st = await s.cluster.ctl(['validation', 'status', 'test']);
    last = st.stdout;
    const vs = st.json['validators'] as { source: string; processedRowsStatus: string; pendingRowsStatus: string; errorRowsStatus: string }[];
    const n = (x: string): number => x.replace(/^.*: /, '').split('/').reduce((p, q) => p + Number(q), 0);
    const by = new Map(vs.map((v) => [v.source, v]));
    const va = by.get('mysql-replica-01');
    const vb = by.get('mysql-replica-02');
    return va && vb && n(va.processedRowsStatus) >= 2 && n(vb.processedRowsStatus) >= 2 && n(va.pendingRowsStatus) === 0 && n(vb.pendingRowsStatus) === 0 ? vs : undefined;
  }, { timeoutMs: 90_000, intervalMs: 1000 }).catch((e: unknown) => {
    throw new Error(`${String(e)}\n${last}\n${s.cluster.logs(30)}`);
  });
  const e0 = await s.cluster.ctl(['validation', 'show-error', '--error', 'all', 'test']);
  assert.deepEqual(e0.json['error'], [], e0.stdout);

  // the merged row of shard 2 with id 4, deleted on the target right after DM applied its update
  await b.sql("UPDATE vs.t SET v = 'b4' WHERE id = 4");
  await waitFor('applied', async () => (await s.target.sql("SELECT 1 FROM vs.t WHERE id = 4 AND src = 'mysql-replica-02' AND v = 'b4'")).length === 1, { timeoutMs: 60_000, intervalMs: 25 });
  await s.target.sql("DELETE FROM vs.t WHERE id = 4 AND src = 'mysql-replica-02'");
  const errs = await waitFor('the missing merged row', async () => {
    const e = await s.cluster.ctl(['validation', 'show-error', 'test']);
    const list = e.json['error'] as { source: string; errorType: string; message: string; srcData: string; dstTable: string }[];
    return list.length > 0 ? list : undefined;
  }, { timeoutMs: 60_000, intervalMs: 1000 });
  assert.equal(errs.length, 1, JSON.stringify(errs));
  assert.equal(errs[0]!.source, 'mysql-replica-02');
  assert.equal(errs[0]!.errorType, 'expected-row-missing');
  assert.equal(errs[0]!.dstTable, '`vs`.`t`');
  assert.match(errs[0]!.message, /^key \[4,"mysql-replica-02"\]/);
  assert.deepEqual(JSON.parse(errs[0]!.srcData), { id: 4, v: 'b4', src: 'mysql-replica-02' });
});
