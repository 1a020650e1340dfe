/**
 * The sync metrics add to per-label cells on the hot path and write them to prom-client when the
 * metric is read: every read must show exactly what direct prom-client calls would have shown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Histogram, Registry } from 'prom-client';
import { createRegistry } from '../../src/metrics/index.js';
import { jobLabels, syncMetrics } from '../../src/units/sync/metrics.js';

const labels = { task: 't', source_id: 's', worker: 'w' };

/** The exposition lines of one metric family. */
function linesOf(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(name));
}

test('deferred sync metrics: every read sees exactly the direct prom-client result', async () => {
  const reg = createRegistry();
  const m = syncMetrics(reg);
  const ref = new Registry();
  const refRows = new Histogram({ name: 'dm_syncer_binlog_event_row', help: 'x', labelNames: ['worker', 'task', 'source_id'], buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], registers: [ref] });
  const refDur = new Histogram({ name: 'dm_syncer_txn_duration_time', help: 'x', labelNames: ['task', 'source_id', 'worker'], buckets: Array.from({ length: 25 }, (_, i) => 0.000005 * 2 ** i), registers: [ref] });
  const refJobs = new Counter({ name: 'dm_syncer_added_jobs_total', help: 'x', labelNames: ['type', 'task', 'queueNo', 'source_id', 'worker', 'target_schema', 'target_table'], registers: [ref] });
  const ins = jobLabels(labels, 'insert', 'db', 'tb');
  const del = jobLabels(labels, 'delete', 'db', 'tb');
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 500; i++) {
      const rows = [1, 1, 1, 3, 7, 250, 2000][i % 7]!;
      m.eventRows.observe(labels, rows);
      refRows.observe(labels, rows);
      const d = 0.0001 * ((i * 7919) % 101); // more distinct values than a cell holds
      m.txnDuration.observe(labels, d);
      refDur.observe(labels, d);
      m.addedJobs.inc(i % 3 === 0 ? del : ins, rows);
      refJobs.inc({ type: i % 3 === 0 ? 'delete' : 'insert', task: 't', queueNo: '0', source_id: 's', worker: 'w', target_schema: 'db', target_table: 'tb' }, rows);
    }
    const got = await reg.metrics();
    const want = await ref.metrics();
    for (const name of ['dm_syncer_binlog_event_row', 'dm_syncer_txn_duration_time', 'dm_syncer_added_jobs_total']) {
      const g = linesOf(got, name);
      assert.ok(g.length > 0, `${name} exposed`);
      assert.deepEqual(g, linesOf(want, name), `${name} after round ${round}`);
    }
  }
  // metric.get() reads through the same hook
  m.eventRows.observe(labels, 1);
  const h = reg.getSingleMetric('dm_syncer_binlog_event_row') as Histogram;
  const v = (await h.get()).values.find((x) => x.metricName === 'dm_syncer_binlog_event_row_count');
  assert.equal(v?.value, 1501);
});
