/**
 * check_task: `dmctl check-task` against misconfigured MariaDB servers reports each failing
 * precheck (name, state, message, instruction) with result false; a fixed setup passes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingBinaries } from '../../helpers/cluster.js';
import { setupScenario } from '../helpers/scenario.js';

const CASE = dirname(fileURLToPath(import.meta.url));

interface Item {
  name: string;
  state: string;
  sourceId: string;
  message: string;
  instruction: string;
}

void test('check_task: each failing precheck on misconfigured servers', { skip: missingBinaries() || false, timeout: 300_000 }, async (t) => {
  const s = await setupScenario(t, CASE, {
    sources: 2,
    workers: 2,
    sourceOpts: [{ extraArgs: ['--binlog-format=STATEMENT', '--binlog-row-image=MINIMAL', '--binlog-row-metadata=MINIMAL'] }, { extraArgs: ['--skip-log-bin'] }],
  });
  const [s1, s2] = s.sources;
  assert.ok(s1 && s2);
  for (const src of [s1, s2]) await s.loadData(src, 'db.sql');
  await s1.sql("CREATE USER 'dm'@'%' IDENTIFIED BY 'dm-pass'; GRANT SELECT ON chk.* TO 'dm'@'%'");
  Object.assign(s.vars, { SOURCE1_USER: 'dm', SOURCE1_PASSWORD: 'dm-pass' });
  await s.target.sql('CREATE DATABASE chk; CREATE TABLE chk.with_pk (id INT PRIMARY KEY)');
  await s.createSources();

  const r = await s.cluster.ctl(['check-task', s.conf('dm-task.yaml'), '-e', '50', '-w', '50']);
  assert.equal(r.json['result'], false, r.stdout);
  assert.equal(r.code, 1);
  const report = r.json['checkResult'] as { summary: { passed: boolean; failed: number }; results: Item[] };
  assert.equal(report.summary.passed, false);
  // DM's text in msg: error 26005, the report (DM's keys) after `detail:`
  const msg = String(r.json['msg']);
  assert.ok(msg.startsWith('[code=26005:class=dm-master:scope=internal:level=medium], Message: fail to check synchronization configuration with type: check was failed, please see detail\n detail: {'), msg);
  const detail = JSON.parse(msg.slice(msg.indexOf(' detail: ') + 9)) as { results: { name: string; state: string; extra: string }[] };
  assert.ok(detail.results.some((x) => x.name === 'binlog_format' && x.state === 'fail' && x.extra === 'mysql-replica-01'), msg);
  const state = (name: string, sourceId: string): string | undefined => report.results.find((x) => x.name === name && x.sourceId === sourceId)?.state;
  assert.equal(state('binlog_format', 'mysql-replica-01'), 'fail');
  assert.equal(state('binlog_row_image', 'mysql-replica-01'), 'fail');
  assert.equal(state('binlog_row_metadata', 'mysql-replica-01'), 'warn');
  assert.equal(state('replication_privilege', 'mysql-replica-01'), 'fail');
  assert.equal(state('dump_privilege', 'mysql-replica-01'), 'fail', 'no RELOAD / LOCK TABLES');
  assert.equal(state('table_schema', 'mysql-replica-01'), 'warn', 'chk.no_key has no key');
  assert.equal(state('binlog_enable', 'mysql-replica-02'), 'fail');
  assert.equal(state('target_table', ''), 'fail', 'the target chk.with_pk lacks column v');
  for (const x of report.results) assert.ok(x.instruction.length > 0 && x.message.length > 0, `${x.name} has a message and an instruction`);

  // -e 1 shows one failure only, the summary keeps the count
  const limited = await s.cluster.ctl(['check-task', s.conf('dm-task.yaml'), '-e', '1', '-w', '0']);
  const lr = limited.json['checkResult'] as { summary: { failed: number }; results: Item[] };
  assert.equal(lr.results.length, 1);
  assert.equal(lr.summary.failed, report.summary.failed);

  // ignore-checking-items: all → passes
  const ignored = await s.cluster.ctl(['check-task', s.conf('dm-task-ignore.yaml')]);
  assert.equal(ignored.json['result'], true, ignored.stdout);
  assert.equal(ignored.json['msg'], '', 'DM answers an empty msg when nothing is checked');

  // fix source 1 (format, image, privileges) and the target: only source 2's binlog stays failing
  await s1.sql("SET GLOBAL binlog_format = 'ROW'; SET GLOBAL binlog_row_image = 'FULL'; SET GLOBAL binlog_row_metadata = 'FULL'; GRANT RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'dm'@'%'");
  await s.target.sql('DROP TABLE chk.with_pk');
  const again = await s.cluster.ctl(['check-task', s.conf('dm-task.yaml')]);
  const ar = again.json['checkResult'] as { results: Item[] };
  assert.deepEqual(ar.results.filter((x) => x.state === 'fail').map((x) => `${x.name}@${x.sourceId}`), ['binlog_enable@mysql-replica-02']);
});

void test('check_task: start-task refuses a task whose prechecks fail', { skip: missingBinaries() || false, timeout: 300_000 }, async (t) => {
  const s = await setupScenario(t, CASE, { sources: 2, workers: 2, sourceOpts: [{}, { extraArgs: ['--skip-log-bin'] }] });
  for (const src of s.sources) await s.loadData(src, 'db.sql');
  Object.assign(s.vars, { SOURCE1_USER: 'root', SOURCE1_PASSWORD: '' });
  await s.createSources();
  const r = await s.cluster.ctl(['start-task', s.conf('dm-task.yaml')]);
  assert.equal(r.json['result'], false, r.stdout);
  // DM's text: 26005 and the report (DM's keys) after `detail:`, nothing after it
  const startMsg = String(r.json['msg']);
  assert.ok(startMsg.startsWith('[code=26005:class=dm-master:scope=internal:level=medium], Message: fail to check synchronization configuration with type: check was failed, please see detail\n detail: {'), startMsg);
  const startDetail = JSON.parse(startMsg.slice(startMsg.indexOf(' detail: ') + 9)) as { results: { name: string; state: string; extra: string }[] };
  assert.ok(startDetail.results.some((x) => x.name === 'binlog_enable' && x.state === 'fail' && x.extra === 'mysql-replica-02'), startMsg);
  const items = (r.json['checkResult'] as { results?: Item[] } | undefined)?.results ?? [];
  assert.ok(String(r.json['msg']).includes('binlog_enable') || items.some((x) => x.name === 'binlog_enable' && x.state === 'fail'), 'the failing check item is shown');
  const q = await s.cluster.ctl(['query-status', 'check']);
  assert.equal(q.json['result'], false, 'no task was created');
  const cfg = await s.cluster.ctl(['config', 'task', 'check']);
  assert.equal(cfg.json['result'], false, `no task config was written to etcd: ${cfg.stdout}`);
});
