/**
 * binlog_schema: `dmctl binlog-schema list | update | delete` through the real dm-master and
 * dm-worker, on a source that does not write binlog_row_metadata=FULL (rows are decoded with the
 * tracked structure). An upstream DDL that never reached the binlog leaves the tracked structure
 * stale: the next row's TABLE_MAP does not match it and the task pauses (22201); `update` with the
 * right CREATE TABLE fixes it and the resumed task lands the rows right. `update`/`delete` are refused with a code while Running;
 * `delete` removes the structure; `update --from-source` reads it from the upstream.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareDatabases, describeDiffs, waitFor } from '../../helpers/index.js';
import { missingBinaries, waitTask, type CtlResult } from '../../helpers/cluster.js';
import { setupScenario, type Scenario } from '../helpers/scenario.js';

const CASE = dirname(fileURLToPath(import.meta.url));
const skip = missingBinaries() || false;
const SOURCE = 'mysql-replica-01';

interface SourceReply {
  result?: boolean;
  msg?: string;
  source?: string;
  worker?: string;
}

function sourceReply(r: CtlResult): SourceReply {
  const s = (r.json['sources'] as SourceReply[] | undefined)?.[0];
  assert.ok(s, `a per-source reply: ${r.stdout}${r.stderr}`);
  assert.equal(s.source, SOURCE);
  return s;
}

async function schemaCmd(s: Scenario, args: string[]): Promise<{ r: CtlResult; src: SourceReply }> {
  const r = await s.cluster.ctl(['binlog-schema', ...args]);
  return { r, src: sourceReply(r) };
}

void test('binlog_schema: list, update (file and --from-source) and delete the tracked structure of a table', { skip, timeout: 300_000 }, async (t) => {
  const s = await setupScenario(t, CASE, { sourceOpts: { extraArgs: ['--binlog-row-metadata=MINIMAL'] } });
  const src = s.sources[0];
  assert.ok(src);
  await s.loadData(src, 'db.sql');
  await s.createSources();
  const started = await s.cluster.ctl(['start-task', s.conf('dm-task.yaml')]);
  assert.equal(started.json['result'], true, started.stdout);
  await waitTask(s.cluster, 'test', 'syncing', (x) => x.every((st) => st.stage === 'Running' && st.unit === 'Sync'));

  // list while Running: the structure the sync unit tracks
  let { r, src: one } = await schemaCmd(s, ['list', '-s', SOURCE, 'test', 'bs', 't']);
  assert.equal(r.json['result'], true, r.stdout);
  assert.match(one.msg ?? '', /^CREATE TABLE `t` \(/);
  assert.match(one.msg ?? '', /`note` varchar\(20\)/);
  assert.match(one.msg ?? '', /PRIMARY KEY \(`id`\)/);
  assert.ok((one.worker ?? '') !== '', 'the reply names the worker');

  // the right structure after the DDL below
  const fixed = join(s.dir, 't-schema.sql');
  writeFileSync(fixed, 'CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `v` int(11) DEFAULT NULL,\n  `note` varchar(20) DEFAULT NULL,\n  `x` int(11) DEFAULT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n');

  // update / delete while Running: refused with the code, nothing changed
  ({ r, src: one } = await schemaCmd(s, ['update', '-s', SOURCE, 'test', 'bs', 't', fixed]));
  assert.equal(r.json['result'], false, r.stdout);
  assert.notEqual(r.code, 0, 'dmctl exits non-zero when result is false');
  assert.match(one.msg ?? '', /code=40301/);
  assert.match(one.msg ?? '', /pause-task/, 'the workaround says to pause first');
  ({ r, src: one } = await schemaCmd(s, ['delete', '-s', SOURCE, 'test', 'bs', 't']));
  assert.equal(r.json['result'], false, r.stdout);
  assert.match(one.msg ?? '', /code=40301/);

  // a DDL that never reached the binlog (sql_log_bin=0 on the source, run by hand on the target):
  // the tracked structure is stale, the next row's TABLE_MAP does not match it, the task pauses
  await src.sql('SET SESSION sql_log_bin = 0; ALTER TABLE bs.t ADD COLUMN x INT; SET SESSION sql_log_bin = 1');
  await s.target.sql('ALTER TABLE bs.t ADD COLUMN x INT');
  await src.sql("INSERT INTO bs.t (id, v, note, x) VALUES (10, 100, 'ten', 1000)");
  const paused = await waitTask(s.cluster, 'test', 'paused by the mismatching row', (x) => x.some((st) => st.stage === 'Paused' && (st.result?.errors?.length ?? 0) > 0));
  const err = paused[0]?.result?.errors?.[0];
  assert.equal(err?.ErrCode, 22201, JSON.stringify(paused[0]?.result?.errors));
  assert.match(JSON.stringify(err), /binlog-schema update/, 'the error names the command that fixes it');
  ({ r, src: one } = await schemaCmd(s, ['list', '-s', SOURCE, 'test', 'bs', 't']));
  assert.equal(r.json['result'], true, r.stdout);
  assert.doesNotMatch(one.msg ?? '', /`x`/, 'list shows the stale tracked structure');
  assert.equal((await s.target.sql('SELECT id FROM bs.t WHERE id = 10')).length, 0, 'no row decoded with the wrong structure');

  // update with the file while Paused: list shows it, the resumed task decodes the row with it
  ({ r, src: one } = await schemaCmd(s, ['update', '-s', SOURCE, 'test', 'bs', 't', fixed]));
  assert.equal(r.json['result'], true, r.stdout);
  ({ r, src: one } = await schemaCmd(s, ['list', '-s', SOURCE, 'test', 'bs', 't']));
  assert.equal(r.json['result'], true, r.stdout);
  assert.match(one.msg ?? '', /`x` int\(11\) NULL/);
  const resumed = await s.cluster.ctl(['resume-task', 'test']);
  assert.equal(resumed.json['result'], true, resumed.stdout);
  await waitFor('row 10 on the target', async () => (await s.target.sql('SELECT id FROM bs.t WHERE id = 10')).length === 1, { timeoutMs: 60_000 }).catch(async (e: unknown) => {
    throw new Error(`${String(e)}; status: ${(await s.cluster.ctl(['query-status', 'test'])).stdout}`);
  });
  assert.deepEqual(await s.target.sql('SELECT id, v, note, x FROM bs.t WHERE id = 10'), [{ id: 10, v: 100, note: 'ten', x: 1000 }]);
  await waitTask(s.cluster, 'test', 'running after the update', (x) => x.every((st) => st.stage === 'Running' && (st.result?.errors?.length ?? 0) === 0));

  // delete while Paused: the table is no longer tracked
  const pausedByUser = await s.cluster.ctl(['pause-task', 'test']);
  assert.equal(pausedByUser.json['result'], true, pausedByUser.stdout);
  await waitTask(s.cluster, 'test', 'paused by the user', (x) => x.every((st) => st.stage === 'Paused'));
  ({ r, src: one } = await schemaCmd(s, ['delete', '-s', SOURCE, 'test', 'bs', 't']));
  assert.equal(r.json['result'], true, r.stdout);
  ({ r, src: one } = await schemaCmd(s, ['list', '-s', SOURCE, 'test', 'bs', 't']));
  assert.equal(r.json['result'], false, r.stdout);
  assert.match(one.msg ?? '', /code=44302/);
  ({ r, src: one } = await schemaCmd(s, ['delete', '-s', SOURCE, 'test', 'bs', 't']));
  assert.equal(r.json['result'], false, 'deleting an untracked table fails');
  assert.match(one.msg ?? '', /code=44302/);

  // update --from-source: the upstream's structure (with x), rows land again
  ({ r, src: one } = await schemaCmd(s, ['update', '-s', SOURCE, 'test', 'bs', 't', '--from-source']));
  assert.equal(r.json['result'], true, r.stdout);
  ({ r, src: one } = await schemaCmd(s, ['list', '-s', SOURCE, 'test', 'bs', 't']));
  assert.match(one.msg ?? '', /`x` int\(11\) NULL/);
  assert.equal((await s.cluster.ctl(['resume-task', 'test'])).json['result'], true);
  await src.sql("INSERT INTO bs.t (id, v, note, x) VALUES (11, 110, 'eleven', 1100); UPDATE bs.t SET note = 'one!' WHERE id = 1");
  await waitFor('row 11 on the target', async () => (await s.target.sql('SELECT id FROM bs.t WHERE id = 11')).length === 1, { timeoutMs: 60_000 });
  assert.deepEqual(await s.target.sql('SELECT id, v, note, x FROM bs.t WHERE id = 11'), [{ id: 11, v: 110, note: 'eleven', x: 1100 }]);
  await waitFor('update of row 1 on the target', async () => (await s.target.sql("SELECT id FROM bs.t WHERE id = 1 AND note = 'one!'")).length === 1, { timeoutMs: 60_000 });
  const diffs = await compareDatabases(src.connOpts(), s.target.connOpts(), 'bs');
  assert.ok(diffs.every((d) => d.equal), describeDiffs(diffs));
});

void test('binlog_schema: bad requests are refused with a code', { skip, timeout: 180_000 }, async (t) => {
  const s = await setupScenario(t, CASE);
  const src = s.sources[0];
  assert.ok(src);
  await s.loadData(src, 'db.sql');
  await s.createSources();
  assert.equal((await s.cluster.ctl(['start-task', s.conf('dm-task.yaml')])).json['result'], true);
  await waitTask(s.cluster, 'test', 'syncing', (x) => x.every((st) => st.stage === 'Running' && st.unit === 'Sync'));
  assert.equal((await s.cluster.ctl(['pause-task', 'test'])).json['result'], true);
  await waitTask(s.cluster, 'test', 'paused', (x) => x.every((st) => st.stage === 'Paused'));

  // no source: refused by dmctl
  let r = await s.cluster.ctl(['binlog-schema', 'list', 'test', 'bs', 't']);
  assert.equal(r.json['result'], false);
  assert.match(String(r.json['msg']), /code=42001/);
  // unknown task: refused by the master
  r = await s.cluster.ctl(['binlog-schema', 'list', '-s', SOURCE, 'nosuch', 'bs', 't']);
  assert.equal(r.json['result'], false);
  assert.match(r.stdout + r.stderr, /38006/);
  // a file that is not one CREATE TABLE statement: refused by the worker, the structure kept
  const bad = join(s.dir, 'bad.sql');
  writeFileSync(bad, 'ALTER TABLE t ADD COLUMN y INT');
  let one: SourceReply;
  ({ r, src: one } = await schemaCmd(s, ['update', '-s', SOURCE, 'test', 'bs', 't', bad]));
  assert.equal(r.json['result'], false);
  assert.match(one.msg ?? '', /code=44304/);
  // --from-target of a table missing there
  ({ r, src: one } = await schemaCmd(s, ['update', '-s', SOURCE, 'test', 'bs', 'nosuch', '--from-target']));
  assert.equal(r.json['result'], false);
  assert.match(one.msg ?? '', /code=44305/);
  // --from-target of the table: same structure as the source
  ({ r, src: one } = await schemaCmd(s, ['update', '-s', SOURCE, 'test', 'bs', 't', '--from-target']));
  assert.equal(r.json['result'], true, r.stdout);
  ({ r, src: one } = await schemaCmd(s, ['list', '-s', SOURCE, 'test', 'bs', 't']));
  assert.match(one.msg ?? '', /`note` varchar\(20\)/);
  // a file and --from-source together: refused by dmctl
  r = await s.cluster.ctl(['binlog-schema', 'update', '-s', SOURCE, 'test', 'bs', 't', bad, '--from-source']);
  assert.equal(r.json['result'], false);
  assert.match(String(r.json['msg']), /code=42001/);
});
