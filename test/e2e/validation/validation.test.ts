/**
 * validation: DM 2.x's continuous validator on a real cluster (`validators: {mode: full}` in the
 * task). Equal data passes (every applied change read back equal, hot rows changed while being
 * read back included; verified-through reaches the sync position in query-status); a target row changed, deleted or inserted behind DM.ts's back
 * after DM applied it is reported within row-error-delay with table, key and both images; the
 * worker killed (-9) and restarted keeps its errors and finds a row left pending; `dmctl
 * validation` status / show-error / ignore-error / resolve-error / clear-error / stop / start /
 * update with DM's reply shapes; the error gauge and verified-through are released when the errors
 * are processed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertDmShape } from '../../helpers/dm-shape.js';
import { missingBinaries, waitTask } from '../../helpers/cluster.js';
import { subtasksOf } from '../../helpers/dmctl.js';
import { waitFor } from '../../helpers/services.js';
import { loopWriter } from '../../helpers/writer.js';
import { setupScenario, type Scenario } from '../helpers/scenario.js';

const CASE = dirname(fileURLToPath(import.meta.url));

interface ValidatorView {
  task: string;
  source: string;
  mode: string;
  stage: string;
  validatorBinlog: string;
  processedRowsStatus: string;
  pendingRowsStatus: string;
  errorRowsStatus: string;
  cutoverBinlogPos: string;
  verifiedFrom: string;
  verifiedThrough: string;
  heldByErrors: number;
  cutoverReached: boolean;
  notValidatedTables: string[];
}
interface ErrorView {
  id: string;
  source: string;
  srcTable: string;
  srcData: string;
  dstTable: string;
  dstData: string;
  errorType: string;
  status: string;
  message: string;
}

const counts = (text: string): number[] => text.replace(/^.*: /, '').split('/').map(Number);

async function status(s: Scenario, ...extra: string[]): Promise<{ v: ValidatorView; tables: { srcTable: string; stage: string; message: string }[]; raw: string }> {
  const r = await s.cluster.ctl(['validation', 'status', ...extra, 'test']);
  assert.equal(r.json['result'], true, r.stdout);
  const v = (r.json['validators'] as ValidatorView[])[0];
  assert.ok(v, r.stdout);
  assertDmShape(r.json, 'validation-status.json', r.stdout);
  return { v, tables: r.json['tableStatuses'] as { srcTable: string; stage: string; message: string }[], raw: r.stdout };
}

async function errors(s: Scenario, state = 'unprocessed'): Promise<ErrorView[]> {
  const r = await s.cluster.ctl(['validation', 'show-error', '--error', state, 'test']);
  assert.equal(r.json['result'], true, r.stdout);
  assertDmShape(r.json, 'validation-show-error.json', r.stdout);
  return r.json['error'] as ErrorView[];
}

/** query-status: the subtask's sync position and its validation object. */
async function syncAndVerified(s: Scenario): Promise<{ synced: string; verified: string }> {
  const r = await s.cluster.ctl(['query-status', 'test']);
  const st = subtasksOf(r.json)[0];
  const val = (st as unknown as { validation: { verifiedThrough: string } | null }).validation;
  return { synced: st?.sync?.syncerBinlog ?? '', verified: val?.verifiedThrough ?? '' };
}

/** Poll the target until `sql` returns `want` rows (DM applied the upstream change). */
async function targetHas(s: Scenario, sql: string, want: number): Promise<void> {
  await waitFor(`target: ${sql}`, async () => (await s.target.sql(sql)).length === want, { timeoutMs: 60_000, intervalMs: 25 });
}

void test('validation: equal data passes, target tampering found with keys and images, errors survive a worker kill, dmctl validation', { skip: missingBinaries() || false, timeout: 600_000 }, async (t) => {
  const s = await setupScenario(t, CASE);
  const src = s.sources[0];
  assert.ok(src);
  await s.loadData(src, 'db.sql');
  await s.createSources();
  const r = await s.cluster.ctl(['start-task', s.conf('dm-task.yaml')]);
  assert.equal(r.json['result'], true, r.stdout);
  await waitTask(s.cluster, 'test', 'Sync', (x) => x.every((st) => st.unit === 'Sync' && st.stage === 'Running'), 120_000);

  // ---- equal data passes: inserts, updates (one moving its key), deletes; all read back equal
  await src.sql(`INSERT INTO vd.t SELECT seq, CONCAT('new ', seq), seq % 5, seq / 9, seq / 11, NOW(3), UNHEX('0a0b') FROM mysql.seq_1001_to_1200`);
  await src.sql('UPDATE vd.t SET v = CONCAT(v, "!"), f = f * 2, d = d + 1 WHERE id <= 50');
  await src.sql('UPDATE vd.t SET id = 5000 WHERE id = 60');
  await src.sql('DELETE FROM vd.t WHERE id BETWEEN 100 AND 119');
  await src.sql("INSERT INTO vd.nokey VALUES (2, 'y')");
  // hot keys: rows changed again while being read back are never reported (row-error-delay is 2 s)
  const hot = loopWriter(src, 'vd', async (c, i) => {
    await c.query('UPDATE t SET n = n + 1, v = CONCAT("hot ", ?) WHERE id = ?', [i, 200 + (i % 5)]);
    return 1;
  });
  await new Promise((res) => setTimeout(res, 5000));
  assert.ok((await hot.stop()) > 10);
  let lastStatus = '';
  const done = await waitFor(
    'every applied change verified',
    async () => {
      const { v, raw } = await status(s);
      lastStatus = raw;
      const [ins, upd, del] = counts(v.processedRowsStatus);
      const pending = counts(v.pendingRowsStatus).reduce((a, b) => a + b, 0);
      return pending === 0 && ins! >= 200 && upd! >= 55 && del! >= 20 ? v : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 1000 },
  ).catch((e: unknown) => {
    throw new Error(`${String(e)}\nlast status: ${lastStatus}\n${s.cluster.logs(40)}`);
  });
  assert.equal(done.stage, 'Running');
  assert.equal(done.mode, 'full');
  assert.deepEqual(counts(done.errorRowsStatus), [0, 0, 0], JSON.stringify(done));
  assert.deepEqual(done.notValidatedTables, ['vd.nokey (no primary key)']);
  // beyond DM: verified-through reaches the position the task has applied
  await waitFor('verified-through = sync position', async () => {
    const p = await syncAndVerified(s);
    return p.verified !== '' && p.verified === p.synced ? p : undefined;
  }, { timeoutMs: 60_000, intervalMs: 500 });
  const stopped = await status(s, '--table-stage', 'stopped');
  assert.deepEqual(stopped.tables.map((x) => [x.srcTable, x.stage, x.message]), [['`vd`.`nokey`', 'Stopped', 'no primary key']]);

  // ---- behind DM.ts's back, right after DM applied each change (within validate-interval)
  await src.sql('UPDATE vd.t SET n = n + 100 WHERE id IN (7, 8); DELETE FROM vd.t WHERE id = 9');
  await targetHas(s, 'SELECT 1 FROM vd.t WHERE id IN (7, 8) AND n >= 100', 2);
  await targetHas(s, 'SELECT 1 FROM vd.t WHERE id = 9', 0);
  await s.target.sql("UPDATE vd.t SET v = 'tampered' WHERE id = 7; DELETE FROM vd.t WHERE id = 8; INSERT INTO vd.t (id, v, n) VALUES (9, 'stray', 0)");
  const found = await waitFor('three validation errors', async () => {
    const e = await errors(s);
    return e.length >= 3 ? e : undefined;
  }, { timeoutMs: 60_000, intervalMs: 1000 });
  const byKey = new Map(found.map((e) => [`${e.errorType}:${e.message.replace(/^key \[(\d+)\].*$/, '$1')}`, e]));
  assert.deepEqual([...byKey.keys()].sort(), ['column-mismatch:7', 'expected-row-missing:8', 'extra-row:9'], JSON.stringify(found));
  const mismatch = byKey.get('column-mismatch:7')!;
  assert.equal(mismatch.srcTable, '`vd`.`t`');
  assert.equal(mismatch.dstTable, '`vd`.`t`');
  assert.equal(mismatch.status, 'NewErr');
  assert.equal((JSON.parse(mismatch.srcData) as Record<string, unknown>)['v'], 'row 7!');
  assert.equal((JSON.parse(mismatch.dstData) as Record<string, unknown>)['v'], 'tampered');
  assert.equal(byKey.get('expected-row-missing:8')!.dstData, '');
  assert.equal((JSON.parse(byKey.get('extra-row:9')!.dstData) as Record<string, unknown>)['v'], 'stray');
  // verified-through stops before the changes found different
  const held = await syncAndVerified(s);
  assert.notEqual(held.verified, held.synced, JSON.stringify(held));
  const metrics = await (await fetch(`http://${s.cluster.workers[0]!.addr}/metrics`)).text();
  assert.match(metrics, /dm_validator_validator_error_count\{task="test",source_id="mysql-replica-01"\} 3/);

  // ---- kill -9 the worker with a changed row still pending: after the restart it is found, and the errors are kept
  await src.sql('UPDATE vd.t SET n = n + 1 WHERE id = 10');
  await targetHas(s, 'SELECT 1 FROM vd.t WHERE id = 10 AND n = 11', 1);
  await s.target.sql("UPDATE vd.t SET v = 'tampered too' WHERE id = 10");
  const w = s.cluster.workers[0]!;
  await s.cluster.kill9(w);
  s.cluster.spawn(w);
  await waitTask(s.cluster, 'test', 'Sync after restart', (x) => x.every((st) => st.unit === 'Sync' && st.stage === 'Running'), 120_000);
  const after = await waitFor('four validation errors after the restart', async () => {
    const e = await errors(s);
    return e.length >= 4 ? e : undefined;
  }, { timeoutMs: 90_000, intervalMs: 1000 });
  assert.ok(after.some((e) => e.errorType === 'column-mismatch' && e.message.startsWith('key [10]')), JSON.stringify(after));
  const restarted = await status(s);
  assert.ok(counts(restarted.v.processedRowsStatus)[0]! >= 200, 'processed counters saved across the restart');
  assert.ok(restarted.v.heldByErrors > 0);

  // ---- ignore / resolve / clear
  const id7 = after.find((e) => e.message.startsWith('key [7]'))!.id;
  const id8 = after.find((e) => e.message.startsWith('key [8]'))!.id;
  const ig = await s.cluster.ctl(['validation', 'ignore-error', 'test', id7]);
  assert.equal(ig.json['result'], true, ig.stdout);
  const rs = await s.cluster.ctl(['validation', 'resolve-error', 'test', id8]);
  assert.equal(rs.json['result'], true, rs.stdout);
  assert.deepEqual((await errors(s, 'ignored')).map((e) => e.id), [id7]);
  assert.deepEqual((await errors(s, 'resolved')).map((e) => e.id), [id8]);
  assert.equal((await errors(s)).length, 2);
  assert.equal((await errors(s, 'all')).length, 4);
  assert.deepEqual(counts((await status(s)).v.errorRowsStatus), [2, 1, 1]);
  const bad = await s.cluster.ctl(['validation', 'ignore-error', 'test']);
  assert.equal(bad.json['result'], false, bad.stdout);
  assert.match(String(bad.json['msg']), /either `--all` or `error-id` should be set/);
  const cl = await s.cluster.ctl(['validation', 'clear-error', 'test', '--all']);
  assert.equal(cl.json['result'], true, cl.stdout);
  assert.equal((await errors(s, 'all')).length, 0);
  // errors processed: verified-through catches up with the sync position again
  await waitFor('verified-through released', async () => {
    const p = await syncAndVerified(s);
    return p.verified !== '' && p.verified === p.synced ? p : undefined;
  }, { timeoutMs: 60_000, intervalMs: 500 });

  // ---- stop / start --mode fast / update / bad start-time
  const stop = await s.cluster.ctl(['validation', 'stop', 'test']);
  assert.equal(stop.json['result'], true, stop.stdout);
  assert.deepEqual((stop.json['sources'] as { source: string; result: boolean }[]).map((x) => [x.source, x.result]), [['mysql-replica-01', true]]);
  await waitFor('validator stopped', async () => ((await status(s)).v.stage === 'Stopped' ? true : undefined), { timeoutMs: 30_000, intervalMs: 500 });
  const both = await s.cluster.ctl(['validation', 'start', '--all-task', 'test']);
  assert.equal(both.json['result'], false, both.stdout);
  const past = await s.cluster.ctl(['validation', 'start', '--start-time', '2020-01-01 00:00:00', 'test']);
  assert.equal(past.json['result'], false, past.stdout);
  assert.match(String(past.json['msg']), /code=36305/);
  const start = await s.cluster.ctl(['validation', 'start', '--mode', 'fast', '--all-task']);
  assert.equal(start.json['result'], true, start.stdout);
  const fast = await waitFor('validator running in fast mode', async () => {
    const { v } = await status(s);
    return v.stage === 'Running' && v.mode === 'fast' ? v : undefined;
  }, { timeoutMs: 30_000, intervalMs: 500 });
  assert.notEqual(fast.verifiedFrom, done.verifiedFrom, 'a new verified range begins after a stop');
  const up = await s.cluster.ctl(['validation', 'update', 'test', '--cutover-binlog-pos', '(mysql-bin.000001, 4)']);
  assert.equal(up.json['result'], true, up.stdout);
  await waitFor('cut-over shown and passed', async () => {
    const { v } = await status(s);
    return v.cutoverBinlogPos === '(mysql-bin.000001, 4)' && v.cutoverReached ? true : undefined;
  }, { timeoutMs: 30_000, intervalMs: 500 });
  // fast mode checks existence only: a changed column is not an error, a missing row is
  await src.sql("UPDATE vd.t SET v = 'fast' WHERE id IN (20, 21)");
  await targetHas(s, "SELECT 1 FROM vd.t WHERE id IN (20, 21) AND v = 'fast'", 2);
  await s.target.sql("UPDATE vd.t SET v = 'other' WHERE id = 20; DELETE FROM vd.t WHERE id = 21");
  const fastErr = await waitFor('fast mode: the missing row', async () => {
    const e = await errors(s);
    return e.length >= 1 ? e : undefined;
  }, { timeoutMs: 60_000, intervalMs: 1000 });
  assert.deepEqual(fastErr.map((e) => `${e.errorType}:${e.message.replace(/^key \[(\d+)\].*$/, '$1')}`), ['expected-row-missing:21']);
});
