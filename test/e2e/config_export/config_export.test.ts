/**
 * config_export: `dmctl config export` / `config import` round trip on a real cluster (DM's
 * dm/ctl/master/config.go), with passwords on both sides:
 * - export writes sources/<id>.yaml and tasks/<name>.yaml (0600), passwords encrypted (the
 *   plain text appears nowhere, ****** neither), a task running on one of its two sources keeps
 *   that instance alone;
 * - everything is removed (stop-task, operate-source stop) while the sources keep changing, then
 *   import brings back the same sources (same configs), the same tasks on the same sources, and
 *   the tasks go on from their checkpoints: the rows written meanwhile arrive;
 * - task templates (DM's OpenAPI /api/v1/tasks/templates): made from the running tasks or posted
 *   with a plain password, stored encrypted in etcd, shown masked by `config task-template`;
 * - a second import is a no-op that succeeds; a missing directory is 42101.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { generateSecretKeyHex } from '../../../src/config/index.js';
import { compareTables, describeDiffs, makeTempDir, removeTempDir, waitFor } from '../../helpers/index.js';
import { missingBinaries, waitTask } from '../../helpers/cluster.js';
import { setupScenario } from '../helpers/scenario.js';

const CASE = dirname(fileURLToPath(import.meta.url));
const SOURCE_PASSWORD = 'src-Exp-5e0c71';
const TARGET_PASSWORD = 'tgt-Exp-0d93aa';

interface ClusterState {
  sources: Record<string, string>;
  tasks: Record<string, { sources: string[]; stages: string[]; cfg: string }>;
}

void test('config export / import: round trip of sources and tasks, passwords encrypted', { skip: missingBinaries() || false, timeout: 480_000 }, async (t) => {
  const keyDir = makeTempDir('exp-key');
  t.after(() => removeTempDir(keyDir));
  const keyFile = join(keyDir, 'secret.key');
  writeFileSync(keyFile, `${generateSecretKeyHex()}\n`);
  const keyLine = [`secret-key-path: "${keyFile}"`];
  const s = await setupScenario(t, CASE, { sources: 2, workers: 2, masterConfig: [...keyLine, 'openapi: true'], workerConfig: keyLine });
  const [src1, src2] = s.sources;
  assert.ok(src1 && src2);
  for (const src of [src1, src2]) {
    await src.sql(`CREATE USER 'dm_src'@'%' IDENTIFIED BY '${SOURCE_PASSWORD}'; GRANT ALL PRIVILEGES ON *.* TO 'dm_src'@'%'`);
    await src.sql('CREATE DATABASE exp; CREATE TABLE exp.t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO exp.t VALUES (1, "a"), (2, "b")');
    await src.sql('CREATE DATABASE inc; CREATE TABLE inc.t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO inc.t VALUES (1, "x")');
  }
  await s.target.sql(`CREATE USER 'dm_tgt'@'%' IDENTIFIED BY '${TARGET_PASSWORD}'; GRANT ALL PRIVILEGES ON *.* TO 'dm_tgt'@'%'`);
  Object.assign(s.vars, { SOURCE_PASSWORD, TARGET_PASSWORD });
  await s.createSources();
  const ctl = async (args: string[]): Promise<Record<string, unknown>> => {
    const r = await s.cluster.ctl(args);
    assert.equal(r.json['result'], true, `${args.join(' ')}: ${r.stdout}`);
    return r.json;
  };
  await ctl(['start-task', s.conf('task-both.yaml')]);
  await ctl(['start-task', '-s', 'mysql-replica-01', s.conf('task-one.yaml')]);
  const inSync = (subs: { stage: string; unit: string }[]): boolean => subs.every((x) => x.stage === 'Running' && x.unit === 'Sync');
  await waitTask(s.cluster, 'both', 'both subtasks in Sync', (subs) => subs.length === 2 && inSync(subs), 180_000);
  await waitTask(s.cluster, 'one', 'in Sync', (subs) => subs.length === 1 && inSync(subs), 180_000);

  /** What must survive the round trip: source configs, tasks with their sources, stages and configs (as `config` shows them). */
  async function state(): Promise<ClusterState> {
    const out: ClusterState = { sources: {}, tasks: {} };
    const shown = await ctl(['operate-source', 'show']);
    for (const x of (shown['sources'] as { source: string }[] | undefined) ?? []) {
      if (!x.source) continue;
      out.sources[x.source] = String((await ctl(['config', 'source', x.source]))['cfg']);
    }
    for (const name of ['both', 'one']) {
      const st = await s.cluster.ctl(['query-status', name]);
      if (st.json['result'] !== true) continue;
      const subs = ((st.json['sources'] as { subTaskStatus?: { source: string; stage: string }[] }[] | undefined) ?? []).flatMap((x) => x.subTaskStatus ?? []);
      out.tasks[name] = { sources: subs.map((x) => x.source).sort(), stages: subs.map((x) => x.stage), cfg: String((await ctl(['config', 'task', name]))['cfg']) };
    }
    return out;
  }
  const before = await state();
  assert.deepEqual(Object.keys(before.sources).sort(), ['mysql-replica-01', 'mysql-replica-02']);
  assert.deepEqual(before.tasks['both']?.sources, ['mysql-replica-01', 'mysql-replica-02']);
  assert.deepEqual(before.tasks['one']?.sources, ['mysql-replica-01']);

  // ---- export ----------------------------------------------------------------------------------
  const dir = join(makeTempDir('exp-dir'), 'configs');
  t.after(() => removeTempDir(dirname(dir)));
  const exported = await ctl(['config', 'export', '-d', dir]);
  assert.equal(exported['msg'], `export configs to directory \`${dir}\` succeed`);
  assert.deepEqual(readdirSync(join(dir, 'sources')).sort(), ['mysql-replica-01.yaml', 'mysql-replica-02.yaml']);
  assert.deepEqual(readdirSync(join(dir, 'tasks')).sort(), ['both.yaml', 'one.yaml']);
  for (const sub of ['sources', 'tasks']) {
    assert.equal(statSync(join(dir, sub)).mode & 0o777, 0o700);
    for (const f of readdirSync(join(dir, sub))) {
      const file = join(dir, sub, f);
      assert.equal(statSync(file).mode & 0o777, 0o600, `${file} is private`);
      const text = readFileSync(file, 'utf8');
      assert.ok(!text.includes(SOURCE_PASSWORD) && !text.includes(TARGET_PASSWORD), `${file} holds no plain-text password`);
      assert.ok(!text.includes('******'), `${file} holds the encrypted password, not the mask`);
      assert.match(text, /password: "?[A-Za-z0-9+/=]{16,}/, `${file} holds a ciphertext`);
    }
  }
  const one = readFileSync(join(dir, 'tasks', 'one.yaml'), 'utf8');
  assert.match(one, /mysql-replica-01/);
  assert.doesNotMatch(one, /mysql-replica-02/, 'a task running on one source is exported with that source alone');

  // ---- remove everything, the sources go on changing --------------------------------------------
  await ctl(['stop-task', 'both']);
  await ctl(['stop-task', 'one']);
  await ctl(['operate-source', 'stop', '-s', 'mysql-replica-01', '-s', 'mysql-replica-02']);
  const empty = await state();
  assert.deepEqual(empty, { sources: {}, tasks: {} }, 'the cluster is empty');
  for (const src of [src1, src2]) await src.sql('INSERT INTO exp.t VALUES (3, "while away"); UPDATE exp.t SET v = "changed" WHERE id = 1; INSERT INTO inc.t VALUES (2, "y")');

  // ---- import -----------------------------------------------------------------------------------
  const imported = await ctl(['config', 'import', '-d', dir]);
  assert.equal(imported['msg'], `import configs from directory \`${dir}\` succeed`);
  await waitTask(s.cluster, 'both', 'both subtasks in Sync again', (subs) => subs.length === 2 && inSync(subs), 180_000);
  await waitTask(s.cluster, 'one', 'in Sync again', (subs) => subs.length === 1 && inSync(subs), 180_000);
  const after = await state();
  assert.deepEqual(after.sources, before.sources, 'the same source configs');
  assert.deepEqual(after.tasks['both'], before.tasks['both'], 'task both: same sources, stages and config');
  assert.deepEqual(after.tasks['one']?.sources, ['mysql-replica-01'], 'task one runs on its one source again');
  assert.deepEqual(after.tasks['one']?.stages, ['Running']);
  // the tasks went on from their checkpoints: what was written while they were gone arrives
  for (const [src, db, dst] of [[src1, 'exp', 'exp1'], [src2, 'exp', 'exp2'], [src1, 'inc', 'inc_one']] as const) {
    await waitFor(`${db}.t → ${dst}.t`, async () => (await compareTables(src.connOpts(), s.target.connOpts(), db, 't', { targetSchema: dst })).equal, { timeoutMs: 90_000, intervalMs: 1000 }).catch(async (e: Error) => {
      throw new Error(`${e.message}: ${describeDiffs([await compareTables(src.connOpts(), s.target.connOpts(), db, 't', { targetSchema: dst })])}`);
    });
  }
  assert.equal((await s.target.sql("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'inc_two'")).length, 0);

  // ---- task templates: made from the tasks (OpenAPI import) or posted, shown by config task-template ----
  const api = `http://${s.cluster.masterAddrs[0]!}/api/v1`;
  const post = (path: string, body: unknown): Promise<Response> => fetch(`${api}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const imp = await post('/tasks/templates/import', {});
  assert.equal(imp.status, 202);
  assert.deepEqual(await imp.json(), { success_task_list: ['both', 'one'], failed_task_list: [] });
  const tpl = await ctl(['config', 'task-template', 'both']);
  assert.match(String(tpl['cfg']), /name: both/);
  assert.match(String(tpl['cfg']), /password: "?\*{6}"?/, 'the template shows the password masked');
  const drafted = (await (await fetch(`${api}/tasks/templates/both`)).json()) as { name: string; target_config: { password: string } };
  drafted.name = 'drafted';
  drafted.target_config.password = TARGET_PASSWORD; // a plain password, as a web UI posts it
  assert.equal((await post('/tasks/templates', drafted)).status, 201);
  assert.equal((await post('/tasks/templates', drafted)).status, 400, 'an existing template is not created twice');
  const list = (await (await fetch(`${api}/tasks/templates`)).json()) as { total: number; data: { name: string }[] };
  assert.deepEqual(list.data.map((x) => x.name), ['both', 'drafted', 'one']);
  assert.match(String((await ctl(['config', 'task-template', 'drafted']))['cfg']), /name: drafted/);
  const etcd = new Etcd3({ hosts: s.cluster.masters[0]?.clientUrl ?? '' });
  try {
    const all = await etcd.getAll().prefix('/').strings();
    const templates = Object.keys(all).filter((k) => k.includes('/task/template/'));
    assert.equal(templates.length, 3, Object.keys(all).join(', '));
    for (const [k, v] of Object.entries(all)) assert.ok(!v.includes(TARGET_PASSWORD) && !v.includes(SOURCE_PASSWORD), `etcd key ${k} holds no plain-text password`);
  } finally {
    etcd.close();
  }
  assert.equal((await fetch(`${api}/tasks/templates/drafted`, { method: 'DELETE' })).status, 204);
  const gone = await s.cluster.ctl(['config', 'task-template', 'drafted']);
  assert.equal(gone.json['result'], false);
  assert.match(String(gone.json['msg']), /code=38006.*task template drafted not found/s);

  // ---- again: nothing to do, still a success; a missing directory is refused ---------------------
  const again = await ctl(['config', 'import', '-d', dir]);
  assert.ok(((again['sources'] as { outcome: string }[]) ?? []).every((x) => x.outcome === 'exists'), JSON.stringify(again));
  assert.ok(((again['tasks'] as { outcome: string }[]) ?? []).every((x) => x.outcome === 'exists'), JSON.stringify(again));
  const missing = await s.cluster.ctl(['config', 'import', '-d', join(dir, 'nope')]);
  assert.equal(missing.json['result'], false);
  assert.match(String(missing.json['msg']), /code=42101/);
  assert.ok(!existsSync(join(dir, 'nope')));
});
