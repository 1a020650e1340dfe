/**
 * DM's label sets and types, from the stage's one label object: each metric takes only the labels
 * DM gives it, the lag is DM's histogram plus its `_gauge`, and the full phase's DM metrics stay
 * consistent across a resume (the estimate counter is not added twice).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRegistry } from '../../src/metrics/index.js';
import { jobLabels, syncMetrics } from '../../src/units/sync/metrics.js';
import { Progress } from '../../src/units/full/progress.js';

test('sync metrics: DM label sets from one label object; lag as histogram and _gauge', async () => {
  const reg = createRegistry();
  const m = syncMetrics(reg);
  const labels = { task: 't', source_id: 's', worker: 'w' };
  m.lag.set(labels, 3);
  m.binlogFile.set({ ...labels, node: 'syncer' }, 7);
  m.finishedJobs.inc(jobLabels(labels, 'insert', 'db', 'tb'), 2);
  m.queueSize.set(labels, 1);
  const text = await reg.metrics();
  assert.match(text, /^dm_syncer_replication_lag_gauge\{task="t",source_id="s",worker="w"\} 3$/m);
  assert.match(text, /^# TYPE dm_syncer_replication_lag histogram$/m);
  assert.match(text, /^dm_syncer_replication_lag_bucket\{le="4",task="t",source_id="s",worker="w"\} 1$/m);
  assert.match(text, /^dm_syncer_binlog_file\{node="syncer",task="t",source_id="s"\} 7$/m);
  assert.match(text, /^dm_syncer_finished_jobs_total\{type="insert",task="t",queueNo="0",source_id="s",worker="w",target_schema="db",target_table="tb"\} 2$/m);
  assert.match(text, /^dm_syncer_queue_size\{task="t",source_id="s"\} 1$/m);
  assert.equal(jobLabels(labels, 'insert', 'db', 'tb'), jobLabels(labels, 'insert', 'db', 'tb'), 'cached per table and kind');
  // a second unit on the same registry reuses the metrics
  assert.doesNotThrow(() => syncMetrics(reg));
});

test("full phase: DM's dumpling/loader metrics; the estimate counter is not added again on resume", async () => {
  const reg = createRegistry();
  const p = new Progress('t', 's', reg, 'w');
  p.addTable({ table: 'db.tb', target: 'dst.tb', chunksTotal: 2, chunksDone: 0, rowsDone: 0, bytesDone: 0, estimatedRows: 100, estimatedBytes: 1000 });
  p.begin();
  p.chunkRows('db.tb', 50, 500);
  p.chunkDone('db.tb', 0.01);
  p.begin(); // resumed
  const text = await reg.metrics();
  assert.match(text, /^dumpling_dump_estimate_total_rows\{task="t",source_id="s"\} 100$/m);
  assert.match(text, /^# TYPE dumpling_dump_finished_rows gauge$/m);
  assert.match(text, /^dumpling_dump_finished_rows\{task="t",source_id="s"\} 50$/m);
  assert.match(text, /^dm_loader_table_gauge\{task="t",source_id="s"\} 1$/m);
  assert.match(text, /^dm_loader_data_file_gauge\{task="t",source_id="s"\} 2$/m);
  assert.match(text, /^dm_loader_data_size_gauge\{task="t",source_id="s"\} 1000$/m);
  assert.match(text, /^dm_loader_txn_duration_time_count\{task="t",source_id="s",worker="w",target_schema="dst",target_table="tb"\} 1$/m);
  assert.match(text, /^dm_loader_remaining_time\{task="t",source_id="s",worker="w",source_schema="db",source_table="tb"\} [\d.e+-]+$/m);
});
