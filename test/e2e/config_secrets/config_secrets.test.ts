/**
 * config_secrets: "accepted means honoured" for task and cluster configs, through the real
 * binaries and dmctl.
 * - passwords: the source and target passwords are stored encrypted in etcd (read directly) and
 *   shown as ****** by `config task` / `config source`, and the task still runs;
 * - DM's names: check items (`conn_number`, `auto_increment_ID`, ...) and a filter rule with an
 *   unknown event type (dropped with a warning, as DM does) are accepted;
 * - a task name too long for its meta tables and a key DM.ts does not implement yet are refused
 *   by check-task and start-task with their codes;
 * - task modes `dump` then `load&sync`: the dump files are loaded, then the binlog is followed.
 * (dm-master / dm-worker started from DM's TOML files: test/e2e/dm_compat.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { decrypt, generateSecretKeyHex, loadSecretKey } from '../../../src/config/index.js';
import { compareDatabases, describeDiffs, makeTempDir, removeTempDir, waitFor } from '../../helpers/index.js';
import { missingBinaries, waitTask } from '../../helpers/cluster.js';
import { setupScenario } from '../helpers/scenario.js';

const CASE = dirname(fileURLToPath(import.meta.url));
const SOURCE_PASSWORD = 'src-Pw-4dc1e9';
const TARGET_PASSWORD = 'tgt-Pw-9b27f0';

void test('config_secrets: encrypted passwords in etcd, masked config, DM names, refusals, load&sync', { skip: missingBinaries() || false, timeout: 420_000 }, async (t) => {
  // a cluster key (secret-key-path) shared by the master and the worker: the worker decrypts with it
  const keyDir = makeTempDir('secret-key');
  t.after(() => removeTempDir(keyDir));
  const keyFile = join(keyDir, 'secret.key');
  writeFileSync(keyFile, `${generateSecretKeyHex()}\n`);
  const keyLine = [`secret-key-path: "${keyFile}"`];
  const s = await setupScenario(t, CASE, { masterConfig: keyLine, workerConfig: keyLine });
  const [src] = s.sources;
  assert.ok(src);
  await src.sql(`CREATE USER 'dm_src'@'%' IDENTIFIED BY '${SOURCE_PASSWORD}'; GRANT ALL PRIVILEGES ON *.* TO 'dm_src'@'%'`);
  await s.target.sql(`CREATE USER 'dm_tgt'@'%' IDENTIFIED BY '${TARGET_PASSWORD}'; GRANT ALL PRIVILEGES ON *.* TO 'dm_tgt'@'%'`);
  await src.sql('CREATE DATABASE sec; CREATE TABLE sec.t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO sec.t VALUES (1, "a"), (2, "b")');
  Object.assign(s.vars, { SOURCE_PASSWORD, TARGET_PASSWORD });
  await s.createSources();

  // ---- refusals: check-task and start-task --------------------------------------------------
  s.vars['LONG_NAME'] = 'n'.repeat(47); // 47 + len('_syncer_checkpoint') = 65 > 64
  const longTask = s.conf('long-name-task.yaml');
  for (const cmd of ['check-task', 'start-task']) {
    const r = await s.cluster.ctl([cmd, longTask]);
    assert.equal(r.json['result'], false, r.stdout);
    assert.match(String(r.json['msg']), /code=20602.*_syncer_checkpoint would exceed MySQL's 64-character limit: use at most 46/s, `${cmd}: ${r.stdout}`);
  }
  const ghost = s.conf('online-ddl-task.yaml');
  for (const cmd of ['check-task', 'start-task']) {
    const r = await s.cluster.ctl([cmd, ghost]);
    assert.equal(r.json['result'], false, r.stdout);
    assert.match(String(r.json['msg']), /code=20003.*shadow-table-rules\[0\]: .*exactly one capture group/s, `${cmd}: ${r.stdout}`);
  }
  const none = await s.cluster.ctl(['query-status']);
  assert.doesNotMatch(none.stdout, /"ghost"|"nnnn/, 'nothing was started');

  // ---- a task with passwords, DM's check-item names and a filter rule DM drops ---------------
  const task = s.conf('dm-task.yaml');
  const checked = await s.cluster.ctl(['check-task', task]);
  assert.equal(checked.json['result'], true, checked.stdout);
  const started = await s.cluster.ctl(['start-task', task]);
  assert.equal(started.json['result'], true, started.stdout);
  await waitTask(s.cluster, 'secrets', 'in the sync unit', (subs) => subs.every((x) => x.stage === 'Running' && x.unit === 'Sync'));
  await src.sql('INSERT INTO sec.t VALUES (3, "c"); UPDATE sec.t SET v = "z" WHERE id = 1');
  await waitFor('sec replicated', async () => (await compareDatabases(src.connOpts(), s.target.connOpts(), 'sec')).every((d) => d.equal), { timeoutMs: 60_000, intervalMs: 500 });
  const diffs = await compareDatabases(src.connOpts(), s.target.connOpts(), 'sec');
  assert.ok(diffs.length === 1 && diffs.every((d) => d.equal), describeDiffs(diffs));
  const workerLog = readFileSync(s.cluster.workers[0]?.log ?? '', 'utf8');
  assert.match(workerLog, /binlog event filter rule dropped/);
  assert.match(workerLog, /unknown event type \\"explode table\\"/);

  // etcd holds no plaintext password (every key of the cluster, read directly)
  const etcd = new Etcd3({ hosts: s.cluster.masters[0]?.clientUrl ?? '' });
  try {
    const all = await etcd.getAll().prefix('/').strings();
    const keys = Object.keys(all);
    assert.ok(keys.some((k) => k.includes('task/config/secrets')), `task config stored: ${keys.join(', ')}`);
    assert.ok(keys.some((k) => k.includes('task/subtask/')), 'subtask records stored');
    for (const [k, v] of Object.entries(all)) {
      assert.ok(!v.includes(TARGET_PASSWORD), `${k} holds the target password in plain text`);
      assert.ok(!v.includes(SOURCE_PASSWORD), `${k} holds the source password in plain text`);
    }
    // what is there is the cluster key's ciphertext
    const stored = /target-database:[\s\S]*?password: "?([A-Za-z0-9+/=]+)"?/.exec(all[keys.find((k) => k.includes('task/config/secrets')) ?? ''] ?? '')?.[1] ?? '';
    assert.equal(decrypt(stored, loadSecretKey(keyFile)), TARGET_PASSWORD);
    assert.throws(() => decrypt(stored), /cannot be decrypted with this secret key/, 'not the built-in key');
  } finally {
    etcd.close();
  }

  // config task / config source show ******
  const taskCfg = await s.cluster.ctl(['config', 'task', 'secrets']);
  assert.equal(taskCfg.json['result'], true, taskCfg.stdout);
  assert.match(String(taskCfg.json['cfg']), /user: dm_tgt\n\s+password: "?\*{6}"?\n/);
  assert.doesNotMatch(taskCfg.stdout, new RegExp(TARGET_PASSWORD));
  const srcCfg = await s.cluster.ctl(['config', 'source', 'mysql-replica-01']);
  assert.equal(srcCfg.json['result'], true, srcCfg.stdout);
  assert.match(String(srcCfg.json['cfg']), /password: "?\*{6}"?/);
  assert.doesNotMatch(srcCfg.stdout, new RegExp(SOURCE_PASSWORD));

  // the task still works after the worker re-reads its subtask from etcd (pause → resume)
  assert.equal((await s.cluster.ctl(['pause-task', 'secrets'])).json['result'], true);
  await waitTask(s.cluster, 'secrets', 'paused', (subs) => subs.every((x) => x.stage === 'Paused'), 30_000);
  assert.equal((await s.cluster.ctl(['resume-task', 'secrets'])).json['result'], true);
  await src.sql('INSERT INTO sec.t VALUES (4, "d")');
  await waitFor('sec replicated after resume', async () => (await compareDatabases(src.connOpts(), s.target.connOpts(), 'sec')).every((d) => d.equal), { timeoutMs: 60_000, intervalMs: 500 });
  assert.equal((await s.cluster.ctl(['stop-task', 'secrets'])).json['result'], true);

  // ---- task-mode dump, then load&sync from the same files ------------------------------------
  await src.sql('CREATE DATABASE lds; CREATE TABLE lds.t (id INT PRIMARY KEY, v INT); INSERT INTO lds.t SELECT seq, seq * 2 FROM mysql.seq_1_to_300');
  s.vars['DUMP_DIR'] = join(s.dir, 'dumped');
  s.vars['MODE'] = 'dump';
  const dumpTask = s.conf('dump-task.yaml');
  assert.equal((await s.cluster.ctl(['start-task', dumpTask])).json['result'], true);
  await waitTask(s.cluster, 'files', 'dumped', (subs) => subs.every((x) => x.stage === 'Finished'), 120_000);
  assert.equal((await s.cluster.ctl(['stop-task', 'files'])).json['result'], true);
  // rows written after the dump: only the sync phase of load&sync can bring them
  await src.sql('INSERT INTO lds.t VALUES (1000, 1); UPDATE lds.t SET v = 0 WHERE id = 1');
  s.vars['MODE'] = 'load&sync';
  const loadSync = s.conf('dump-task.yaml');
  const ls = await s.cluster.ctl(['start-task', loadSync]);
  assert.equal(ls.json['result'], true, ls.stdout);
  await waitTask(s.cluster, 'files', 'loaded and syncing', (subs) => subs.every((x) => x.stage === 'Running' && x.unit === 'Sync'), 120_000);
  // clean-dump-file (DM's default true) through the worker: the loaded data files are removed, metadata stays
  const left = readdirSync(`${s.vars['DUMP_DIR']}.files`).sort(); // DM appends .<task> to loader dir
  assert.ok(left.includes('metadata') && !left.some((f) => /\.\d{5}\.sql$/.test(f)), `dump dir after load: ${left.join(', ')}`);
  await src.sql('DELETE FROM lds.t WHERE id = 2');
  await waitFor('lds equal', async () => (await compareDatabases(src.connOpts(), s.target.connOpts(), 'lds')).every((d) => d.equal), { timeoutMs: 60_000, intervalMs: 500 });
  const rows = await s.target.sql('SELECT COUNT(*) AS n FROM lds.t');
  assert.equal(Number(rows[0]?.['n']), 300);
});
