/**
 * dm_metrics: DM's dashboards and alert rules work against DM.ts. After a small all-mode task ran
 * (dump, load, then binlog replication with DML and a DDL), every metric name DM's published alert
 * rules and DM-Monitor-Standard dashboard use (test/fixtures/dm-metrics.txt, taken from DM's files)
 * is on the real dm-worker's or dm-master's /metrics with DM's type and DM's labels. DM's relay
 * metrics are left out here (series exist only while a relay runs): relay-control.test.ts checks them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../helpers/index.js';
import { missingBinaries, waitTask } from '../../helpers/cluster.js';
import { setupScenario } from '../helpers/scenario.js';

const CASE = dirname(fileURLToPath(import.meta.url));
const FIXTURE = join(CASE, '..', '..', 'fixtures', 'dm-metrics.txt');

interface Expected {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  process: 'worker' | 'master';
  labels: string[];
  relay: boolean;
}

function loadFixture(): Expected[] {
  return readFileSync(FIXTURE, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const [name = '', type = '', process = '', , labels = '-', relay] = l.split(/\s+/);
      return { name, type: type as Expected['type'], process: process as Expected['process'], labels: labels === '-' ? [] : labels.split(','), relay: relay === 'relay' };
    });
}

interface Family {
  type: string;
  /** Label names of each sample line (histograms: the `_count` lines). */
  samples: string[][];
}

/** Prometheus text format → name → type and the label names of its samples. */
function parseExposition(text: string): Map<string, Family> {
  const out = new Map<string, Family>();
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t?.[1] && t[2]) {
      out.set(t[1], { type: t[2], samples: [] });
      continue;
    }
    if (line.startsWith('#') || line === '') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /.exec(line);
    if (!m?.[1]) continue;
    let name = m[1];
    let f = out.get(name);
    if (!f && name.endsWith('_count')) {
      name = name.slice(0, -'_count'.length);
      f = out.get(name);
      if (f?.type !== 'histogram') continue;
    } else if (!f || f.type === 'histogram') continue;
    if (!f) continue;
    f.samples.push([...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)].map((x) => x[1] ?? ''));
  }
  return out;
}

/** Metrics that have no series while nothing happened: no shard DDL lock, no worker event or operation error. */
const QUIET = new Set(['dm_master_ddl_state_number', 'dm_master_shard_ddl_error', 'dm_master_worker_event_error', 'dm_worker_operate_error']);

void test('dm_metrics: every metric of DM\'s alert rules and standard dashboard is exported with DM\'s type and labels', { skip: missingBinaries() || false, timeout: 300_000 }, async (t) => {
  const expected = loadFixture();
  assert.ok(expected.filter((e) => !e.relay).length >= 30, 'the fixture lists DM\'s metrics');
  const s = await setupScenario(t, CASE, { sources: 1, workers: 1 });
  const [src] = s.sources;
  assert.ok(src);
  await s.loadData(src, 'db.sql');
  await s.createSources();
  const r = await s.cluster.ctl(['start-task', s.conf('dm-task.yaml')]);
  assert.equal(r.json['result'], true, r.stdout);
  await waitTask(s.cluster, 'metrics', 'in sync', (x) => x.length === 1 && x.every((st) => st.stage === 'Running' && st.unit === 'Sync'), 120_000);
  await src.sql('USE mdb; INSERT INTO t1 VALUES (5001, "a"), (5002, "b"); UPDATE t2 SET n = n + 1 WHERE id < 10; DELETE FROM t1 WHERE id = 1; ALTER TABLE t2 ADD COLUMN c INT');
  await waitFor('the DDL on the target', async () => (await s.target.sql("SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'mdb' AND TABLE_NAME = 't2' AND COLUMN_NAME = 'c'")).length === 1, { timeoutMs: 60_000, intervalMs: 500 });

  const worker = s.cluster.workers[0];
  const master = s.cluster.masters[0];
  assert.ok(worker && master);
  const scrape = async (addr: string): Promise<Map<string, Family>> => {
    const res = await fetch(`http://${addr}/metrics`);
    assert.equal(res.status, 200);
    return parseExposition(await res.text());
  };
  // the syncer writes its status metrics on its checkpoint timer (1 s in this task; the master position every 5 s)
  let wm = await scrape(worker.addr);
  await waitFor('finished jobs on /metrics', async () => {
    wm = await scrape(worker.addr);
    return ['dm_syncer_finished_jobs_total', 'dm_syncer_replication_lag', 'dm_syncer_remaining_time'].every((n) => (wm.get(n)?.samples.length ?? 0) > 0);
  }, { timeoutMs: 60_000, intervalMs: 1000 });
  const mm = await scrape(master.addr);

  const problems: string[] = [];
  for (const e of expected) {
    if (e.relay) continue;
    const f = (e.process === 'worker' ? wm : mm).get(e.name);
    if (!f) {
      problems.push(`${e.name}: not on the ${e.process}'s /metrics`);
      continue;
    }
    if (f.type !== e.type) problems.push(`${e.name}: type ${f.type}, DM's is ${e.type}`);
    if (f.samples.length === 0) {
      if (!QUIET.has(e.name)) problems.push(`${e.name}: no series after the task ran`);
      continue;
    }
    for (const labels of f.samples)
      if ([...labels].sort().join(',') !== [...e.labels].sort().join(',')) {
        problems.push(`${e.name}: labels {${labels.join(',')}}, DM's are {${e.labels.join(',')}}`);
        break;
      }
  }
  assert.deepEqual(problems, []);
  // standard process metrics stay under their usual names
  for (const m of [wm, mm]) assert.ok(m.has('process_cpu_seconds_total') && m.has('nodejs_heap_size_used_bytes'));
});
