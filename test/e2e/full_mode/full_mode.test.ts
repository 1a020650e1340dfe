/** full_mode: task-mode full copies every table (varied types, a table without a key) and finishes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareDatabases, compareTables, describeDiffs } from '../../helpers/index.js';
import { missingBinaries, waitTask } from '../../helpers/cluster.js';
import { setupScenario } from '../helpers/scenario.js';

const CASE = dirname(fileURLToPath(import.meta.url));

void test('full_mode: dump and load, then Finished', { skip: missingBinaries() || false, timeout: 300_000 }, async (t) => {
  const s = await setupScenario(t, CASE);
  const src = s.sources[0];
  assert.ok(src);
  await s.loadData(src, 'db.sql');
  await s.createSources();
  const r = await s.cluster.ctl(['start-task', s.conf('dm-task.yaml')]);
  assert.equal(r.json['result'], true, r.stdout);
  await waitTask(s.cluster, 'test', 'Finished', (x) => x.every((st) => st.stage === 'Finished'), 120_000);
  const diffs = await compareDatabases(src.connOpts(), s.target.connOpts(), 'full_mode');
  assert.equal(diffs.length, 3);
  assert.ok(diffs.every((d) => d.equal), describeDiffs(diffs));
  assert.equal(diffs.find((d) => d.table === 'full_mode.t1')?.targetRows, 5000);
  // a full task does not follow the binlog
  await src.sql('INSERT INTO full_mode.t2 VALUES ("later", NULL)');
  const stop = await s.cluster.ctl(['stop-task', 'test']);
  assert.equal(stop.json['result'], true, stop.stdout);
  assert.equal((await s.target.sql("SELECT k FROM full_mode.t2 WHERE k = 'later'")).length, 0);

  // start-task --remove-meta forgets the finished full phase: the copy runs again from scratch
  await s.target.sql('DROP DATABASE full_mode');
  // a pending deferred-key record left by an earlier run must not replay into the new task
  const stale = JSON.stringify(['ADD KEY `stale_k` (`a`)']);
  await s.target.sql(`INSERT INTO dm_meta.test_load_index (source_id, tgt_schema, tgt_table, definitions, status) VALUES ('mysql-replica-01', 'full_mode', 't3', '${stale}', 'pending')`);
  const again = await s.cluster.ctl(['start-task', '--remove-meta', s.conf('dm-task.yaml')]);
  assert.equal(again.json['result'], true, again.stdout);
  await waitTask(s.cluster, 'test', 'Finished again', (x) => x.every((st) => st.stage === 'Finished'), 120_000);
  const after = await compareDatabases(src.connOpts(), s.target.connOpts(), 'full_mode');
  assert.ok(after.length === 3 && after.every((d) => d.equal), describeDiffs(after));
  assert.deepEqual(await s.target.sql("SHOW INDEX FROM full_mode.t3 WHERE Key_name = 'stale_k'"), [], 'a stale deferred key of the old task was added');

  // --remove-meta is refused while the task exists: its checkpoints stay
  const refused = await s.cluster.ctl(['start-task', '--remove-meta', s.conf('dm-task.yaml')]);
  assert.equal(refused.json['result'], false, refused.stdout);
  assert.match(String(refused.json['msg']), /code=38017/);
  const still = await s.cluster.ctl(['query-status', 'test']);
  assert.equal(still.json['result'], true, `the task keeps running: ${still.stdout}`);
});

void test('full_mode: a source user without replication privileges, a target table with extra columns, a wrong flavor refused', { skip: missingBinaries() || false, timeout: 300_000 }, async (t) => {
  const s = await setupScenario(t, CASE);
  const src = s.sources[0];
  assert.ok(src);
  await s.loadData(src, 'db.sql');
  // DM's full-only tasks run as a user without REPLICATION CLIENT / BINLOG MONITOR
  await src.sql("CREATE USER 'fullonly'@'%' IDENTIFIED BY 'pw'; GRANT SELECT, RELOAD, LOCK TABLES ON *.* TO 'fullonly'@'%'");
  // pre-created by the user: a surrogate AUTO_INCREMENT key and a defaulted column the source lacks
  await s.target.sql("CREATE DATABASE full_mode; CREATE TABLE full_mode.t3 (rid BIGINT AUTO_INCREMENT PRIMARY KEY, b TEXT, a INT, tag VARCHAR(10) NOT NULL DEFAULT 'pre')");

  const bad = await s.cluster.ctl(['operate-source', 'create', s.conf('source-badflavor.yaml')]);
  assert.equal(bad.json['result'], false, bad.stdout);
  assert.match(String(bad.json['msg']), /code=38501/);
  const ok = await s.cluster.ctl(['operate-source', 'create', s.conf('source-fullonly.yaml')]);
  assert.equal(ok.json['result'], true, ok.stdout);

  const r = await s.cluster.ctl(['start-task', s.conf('dm-task.yaml')]);
  assert.equal(r.json['result'], true, r.stdout);
  await waitTask(s.cluster, 'test', 'Finished', (x) => x.every((st) => st.stage === 'Finished'), 120_000);
  for (const table of ['t1', 't2']) {
    const d = await compareTables(src.connOpts(), s.target.connOpts(), 'full_mode', table);
    assert.ok(d.equal, describeDiffs([d]));
  }
  const rows = await s.target.sql('SELECT a, b, tag FROM full_mode.t3 ORDER BY rid');
  assert.deepEqual(rows.map((x) => `${String(x['a'])}/${String(x['b'])}/${String(x['tag'])}`), ['1/no key/pre', '1/no key/pre', 'null/null/pre']);
});
