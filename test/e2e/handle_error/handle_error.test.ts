/**
 * handle_error: a DDL the target rejects pauses the task with the error and its code shown in
 * query-status; `binlog skip` skips exactly that DDL and the task resumes; `binlog replace`
 * runs the given SQL instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareDatabases, describeDiffs, waitFor } from '../../helpers/index.js';
import { missingBinaries, waitTask } from '../../helpers/cluster.js';
import { setupScenario, type Scenario } from '../helpers/scenario.js';

const CASE = dirname(fileURLToPath(import.meta.url));
const skip = missingBinaries() || false;

/** A DDL the target rejects: the target holds a row duplicating `v` and `note`, so a unique index fails there. */
async function blockOnDDL(s: Scenario, ddl: string): Promise<void> {
  const src = s.sources[0];
  if (!src) throw new Error('no source');
  await s.target.sql("INSERT IGNORE INTO handle.t VALUES (100, 10, 'one')");
  await src.sql(ddl);
  const subs = await waitTask(s.cluster, 'test', 'paused by the failing DDL', (x) => x.some((st) => st.stage === 'Paused' && (st.result?.errors?.length ?? 0) > 0));
  const err = subs[0]?.result?.errors?.[0];
  assert.equal(err?.ErrCode, 36000 + (err?.ErrCode ?? 0) % 1000, `a sync-unit (36xxx) error code is shown: ${JSON.stringify(err)}`);
  assert.match(`${err?.Message ?? ''}\n${err?.RawCause ?? ''}`, /UNIQUE INDEX/i);
  assert.ok((err?.Workaround ?? '').length > 0, 'the error carries a workaround');
  assert.match(err?.RawCause ?? '', /^Error 1062 \(23000\): Duplicate entry/, `DM's RawCause carries the target's MySQL error: ${JSON.stringify(err)}`);
}

void test('handle_error: binlog skip and binlog replace', { skip, timeout: 300_000 }, async (t) => {
  const s = await setupScenario(t, CASE);
  const src = s.sources[0];
  assert.ok(src);
  await s.loadData(src, 'db.sql');
  await s.createSources();
  const started = await s.cluster.ctl(['start-task', s.conf('dm-task.yaml')]);
  assert.equal(started.json['result'], true, started.stdout);
  await waitTask(s.cluster, 'test', 'syncing', (x) => x.every((st) => st.stage === 'Running' && st.unit === 'Sync'));

  // skip: the unique key never reaches the target, later rows do
  await blockOnDDL(s, 'CREATE UNIQUE INDEX uk_v ON handle.t (v)');
  const list = await s.cluster.ctl(['binlog', 'list', 'test']);
  assert.equal(list.json['result'], true, list.stdout);
  const skipped = await s.cluster.ctl(['binlog', 'skip', 'test']);
  assert.equal(skipped.json['result'], true, skipped.stdout);
  await waitTask(s.cluster, 'test', 'running again after skip', (x) => x.every((st) => st.stage === 'Running'));
  await src.sql("INSERT INTO handle.t VALUES (4, 40, 'after skip')");
  await waitFor('row after skip on target', async () => (await s.target.sql('SELECT id FROM handle.t WHERE id = 4')).length === 1, { timeoutMs: 60_000 });
  const idx = await s.target.sql("SHOW INDEX FROM handle.t WHERE Key_name = 'uk_v'");
  assert.equal(idx.length, 0, 'the skipped DDL did not run on the target');

  // replace: run a plain index instead of the unique one
  await blockOnDDL(s, 'CREATE UNIQUE INDEX uk_v2 ON handle.t (note)');
  const replaced = await s.cluster.ctl(['binlog', 'replace', 'test', 'CREATE INDEX k_note ON handle.t (note);']);
  assert.equal(replaced.json['result'], true, replaced.stdout);
  await waitTask(s.cluster, 'test', 'running again after replace', (x) => x.every((st) => st.stage === 'Running'));
  await src.sql("INSERT INTO handle.t VALUES (5, 50, 'after replace')");
  await waitFor('row after replace on target', async () => (await s.target.sql('SELECT id FROM handle.t WHERE id = 5')).length === 1, { timeoutMs: 60_000 });
  await s.target.sql('DELETE FROM handle.t WHERE id = 100');
  assert.equal((await s.target.sql("SHOW INDEX FROM handle.t WHERE Key_name = 'k_note'")).length, 1, 'the replacement DDL ran');
  assert.equal((await s.target.sql("SHOW INDEX FROM handle.t WHERE Key_name = 'uk_v2'")).length, 0);
  const diffs = await compareDatabases(src.connOpts(), s.target.connOpts(), 'handle');
  assert.ok(diffs.every((d) => d.equal), describeDiffs(diffs));
});

void test('handle_error: without -b and no error is refused (nothing stored); an operator applies only at its position; a DML conflict is skipped exactly', { skip, timeout: 300_000 }, async (t) => {
  const s = await setupScenario(t, CASE);
  const src = s.sources[0];
  assert.ok(src);
  await s.loadData(src, 'db.sql');
  await s.createSources();
  const started = await s.cluster.ctl(['start-task', s.conf('dm-task.yaml')]);
  assert.equal(started.json['result'], true, started.stdout);
  await waitTask(s.cluster, 'test', 'syncing', (x) => x.every((st) => st.stage === 'Running' && st.unit === 'Sync'));
  const pending = async (): Promise<string[]> => {
    const l = await s.cluster.ctl(['binlog', 'list', 'test']);
    assert.equal(l.json['result'], true, l.stdout);
    const msg = (l.json['sources'] as { msg?: string }[] | undefined)?.[0]?.msg ?? '[]';
    return (JSON.parse(msg) as { op: string; pos: string }[]).map((o) => `${o.op}@${o.pos}`).sort();
  };

  // no error: refused with a code, as DM ("source ... has no error"), nothing left in etcd
  for (const args of [['binlog', 'skip', 'test'], ['handle-error', 'test', 'replace', 'SELECT 1;']]) {
    const r = await s.cluster.ctl(args);
    assert.equal(r.json['result'], false, r.stdout);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /code=38701[\s\S]*source 'mysql-replica-01' has no error/);
  }
  assert.deepEqual(await pending(), []);

  // an operator for another position stays where it is
  const other = await s.cluster.ctl(['binlog', 'skip', 'test', '-b', 'mysql-bin.000001:4']);
  assert.equal(other.json['result'], true, other.stdout);

  // a row only the target has: the upstream INSERT of its key pauses the task with 36701 (rows with
  // other keys may still be applied by other appliers meanwhile: exactly once, through the ledger)
  await s.target.sql("INSERT INTO handle.t VALUES (100, 1, 'target only')");
  await src.sql("INSERT INTO handle.t VALUES (100, 2, 'source')");
  await src.sql("INSERT INTO handle.t VALUES (101, 3, 'after')");
  const subs = await waitTask(s.cluster, 'test', 'paused by the conflict', (x) => x.some((st) => st.stage === 'Paused' && (st.result?.errors?.length ?? 0) > 0));
  const err = subs[0]?.result?.errors?.[0];
  assert.equal(err?.ErrCode, 36701, JSON.stringify(err));
  assert.match(err?.Workaround ?? '', /safe-mode/);
  assert.match(err?.RawCause ?? '', /^Error 1062 \(23000\): Duplicate entry/, JSON.stringify(err));
  assert.deepEqual(await pending(), ['skip@mysql-bin.000001:4'], 'the operator for another position was not used');

  // skip without -b: exactly the failing transaction; the target row stays, later rows arrive
  const skipped = await s.cluster.ctl(['binlog', 'skip', 'test']);
  assert.equal(skipped.json['result'], true, skipped.stdout);
  await waitFor('the skip used once and removed', async () => JSON.stringify(await pending()) === JSON.stringify(['skip@mysql-bin.000001:4']), { timeoutMs: 60_000 });
  await waitTask(s.cluster, 'test', 'running again after skip', (x) => x.every((st) => st.stage === 'Running' && (st.result?.errors?.length ?? 0) === 0));
  await src.sql("INSERT INTO handle.t VALUES (102, 4, 'later')");
  await waitFor('rows after the skipped one', async () => (await s.target.sql('SELECT id FROM handle.t WHERE id IN (101, 102)')).length === 2, { timeoutMs: 60_000 });
  assert.deepEqual(await s.target.sql('SELECT v, note FROM handle.t WHERE id = 100'), [{ v: 1, note: 'target only' }]);
  const reverted = await s.cluster.ctl(['binlog', 'revert', 'test', '-b', 'mysql-bin.000001:4']);
  assert.equal(reverted.json['result'], true, reverted.stdout);
  assert.deepEqual(await pending(), []);
  const again = await s.cluster.ctl(['binlog', 'skip', 'test']);
  assert.equal(again.json['result'], false, 'running again: no error to skip');
});
