/**
 * DM's OpenAPI (`openapi: true`) on real masters, a real worker and MariaDB, called with plain
 * `fetch` as a DM user's scripts do: a source created, a task created (paused, as DM >= 6) and
 * started, its status read, stopped (paused) and started again; an incremental task started from
 * `start_time`; rows in the target, then deleted; PUT source, transfer, task templates (create,
 * PUT, GET, DELETE), member offline refusals; the members; the
 * spec; the relay endpoints (enable → relay_status in the source status → purge → disable, with
 * their refusals); DM's error body for bad requests and unsupported fields; bearer tokens (read role for GET,
 * admin for the rest) and 401 without one. Calls go to a FOLLOWER master, so state changes are
 * forwarded to the leader. A master without `openapi` answers 404.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EtcdCluster, MariaDBServer, freePort, makeTempDir, waitFor } from '../helpers/index.js';
import { silentLogger } from '../../src/log/index.js';
import { parseMasterConfig, parseWorkerConfig } from '../../src/config/index.js';
import { hashToken } from '../../src/rpc/index.js';
import { DMMaster } from '../../src/master/index.js';
import { DMWorker } from '../../src/worker/index.js';
import { listBinlogFiles } from '../../src/units/relay/index.js';

const ADMIN = 'openapi-admin-token-0123456789';
const READ = 'openapi-read-token-0123456789';
const CLUSTER = 'openapi-cluster-token-0123456789';

interface Reply {
  status: number;
  body: unknown;
}

test('OpenAPI /api/v1: sources, tasks, status, members, spec, errors and auth', { timeout: 240_000 }, async (t) => {
  const [etcd, db] = await Promise.all([EtcdCluster.start(1), MariaDBServer.start()]);
  const dir = makeTempDir('openapi');
  const tokens = join(dir, 'tokens.yaml');
  writeFileSync(tokens, `tokens:\n  - name: ops\n    role: admin\n    sha256: ${hashToken(ADMIN)}\n  - name: grafana\n    role: read\n    sha256: ${hashToken(READ)}\n`);
  const clusterToken = join(dir, 'cluster.token');
  writeFileSync(clusterToken, `${CLUSTER}\n`);
  const prefix = '/dmopenapi/';
  const common = { 'rpc-max-request-bytes': 65536, 'etcd-endpoints': etcd.endpoints.join(','), 'keepalive-ttl': 3, 'etcd-prefix': prefix, 'auth-token-file': tokens, 'cluster-token-file': clusterToken };
  const masters: DMMaster[] = [];
  const workers: DMWorker[] = [];
  const ports: number[] = [];
  t.after(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await Promise.all(masters.map((m) => m.close()));
    await Promise.all([etcd.stop(), db.stop()]);
  });
  // m1, m2: openapi on (one as `experimental.openapi`); m3: off
  const texts = ['openapi: true\n', 'experimental:\n  openapi: true\n', ''];
  for (const [i, name] of ['m1', 'm2', 'm3'].entries()) {
    const port = await freePort();
    const m = new DMMaster({ config: parseMasterConfig(texts[i] ?? '', { overrides: { ...common, name, 'master-addr': `127.0.0.1:${port}` } }), logger: silentLogger });
    masters.push(m);
    ports.push(port);
    await m.start();
  }
  const wport = await freePort();
  const relayDir = join(dir, 'relay');
  const worker = new DMWorker({
    config: parseWorkerConfig('', {
      overrides: { 'keepalive-ttl': 3, 'auth-token-file': tokens, 'cluster-token-file': clusterToken, name: 'w1', 'worker-addr': `127.0.0.1:${wport}`, join: `127.0.0.1:${ports[0]}`, 'relay-dir': relayDir },
    }),
    logger: silentLogger,
    registerTimeoutMs: 30_000,
  });
  workers.push(worker);
  await worker.start();

  const call = async (port: number, method: string, path: string, body?: unknown, token: string | null = ADMIN): Promise<Reply> => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      /* html or text */
    }
    return { status: res.status, body: parsed };
  };
  const expectError = (r: Reply, status: number, code: number, msg?: RegExp): void => {
    assert.equal(r.status, status, JSON.stringify(r.body));
    const b = r.body as { error_code: number; error_msg: string };
    assert.equal(b.error_code, code, JSON.stringify(b));
    assert.equal(typeof b.error_msg, 'string');
    if (msg) assert.match(b.error_msg, msg);
  };

  // the leader among m1/m2; calls go to the other one (the follower)
  let leaderName = '';
  await waitFor('a leader', async () => {
    const r = await call(ports[0]!, 'GET', '/cluster/masters');
    const ms = (r.body as { data?: { name: string; leader: boolean }[] }).data ?? [];
    leaderName = ms.find((m) => m.leader)?.name ?? '';
    return r.status === 200 && ms.length === 3 && leaderName !== '';
  });
  const api = leaderName === 'm2' ? ports[0]! : ports[1]!;
  const apiName = api === ports[0] ? 'm1' : 'm2';

  // ---- openapi off: 404 as any unknown path ----
  const off = await fetch(`http://127.0.0.1:${ports[2]}/api/v1/sources`, { headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(off.status, 404);
  await off.text();

  // ---- auth ----
  expectError(await call(api, 'GET', '/sources', undefined, null), 401, 49101, /no credential/);
  expectError(await call(api, 'GET', '/sources', undefined, 'not-a-token'), 401, 49101);
  assert.equal((await call(api, 'GET', '/sources', undefined, READ)).status, 200, 'read role may GET');
  expectError(await call(api, 'POST', '/sources', { source: { source_name: 'x', host: '127.0.0.1', port: 1, user: 'root' } }, READ), 403, 49102, /role read.*needs role admin/);

  // ---- spec ----
  const spec = await call(api, 'GET', '/dm.json');
  assert.equal(spec.status, 200);
  const paths = (spec.body as { openapi: string; paths: Record<string, Record<string, unknown>> }).paths;
  assert.equal((spec.body as { openapi: string }).openapi, '3.0.0');
  for (const p of ['/api/v1/sources', '/api/v1/sources/{source-name}', '/api/v1/tasks', '/api/v1/tasks/{task-name}/status', '/api/v1/cluster/workers']) assert.ok(paths[p], p);
  assert.ok(paths['/api/v1/tasks/{task-name}/start']?.['post']);
  type Op = { requestBody?: { required: boolean; content: Record<string, { schema: { $ref: string } }> } };
  for (const [p, schema, required] of [['enable', 'EnableRelayRequest', false], ['disable', 'DisableRelayRequest', false], ['purge', 'PurgeRelayRequest', true]] as const) {
    const op = paths[`/api/v1/sources/{source-name}/relay/${p}`]?.['post'] as Op | undefined;
    assert.equal(op?.requestBody?.content['application/json']?.schema.$ref, `#/components/schemas/${schema}`, p);
    assert.equal(op?.requestBody?.required, required, p);
  }
  const schemas = (spec.body as { components: { schemas: Record<string, { properties: Record<string, unknown> }> } }).components.schemas;
  assert.ok(schemas['SourceStatus']?.properties['relay_status'], 'SourceStatus.relay_status');
  assert.deepEqual(Object.keys(schemas['RelayStatus']?.properties ?? {}).sort(), ['master_binlog', 'master_binlog_gtid', 'relay_binlog_gtid', 'relay_catch_up_master', 'relay_dir', 'stage']);
  const docs = await call(api, 'GET', '/docs');
  assert.equal(docs.status, 200);
  assert.match(String(docs.body), /\/api\/v1\/dm\.json/);

  // ---- sources ----
  expectError(await call(api, 'POST', '/sources', { source: { source_name: 's1', host: '127.0.0.1', port: db.port, user: 'root', hots: 'x' } }), 400, 38951, /source\.hots: unknown field/);
  expectError(
    await call(api, 'POST', '/sources', { source: { source_name: 's1', host: '127.0.0.1', port: db.port, user: 'root', relay_config: { relay_dir: './relay_log' } } }),
    400,
    38952,
    /relay_config\.relay_dir: a relay directory per source is not supported/,
  );
  const created = await call(api, 'POST', '/sources', {
    source: { source_name: 's1', host: '127.0.0.1', port: db.port, user: 'root', password: '', enable_gtid: false, relay_config: { enable_relay: false, relay_binlog_name: 'mysql-bin.000001', relay_dir: null } },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal((created.body as { source_name: string }).source_name, 's1');
  assert.equal((created.body as { password: string }).password, '******');
  assert.deepEqual((created.body as { relay_config: unknown }).relay_config, { enable_relay: false, relay_binlog_name: 'mysql-bin.000001', relay_binlog_gtid: null, relay_dir: null });
  expectError(await call(api, 'POST', '/sources', { source: { source_name: 's1', host: '127.0.0.1', port: db.port, user: 'root' } }), 400, 38003);
  const list = await call(api, 'GET', '/sources');
  assert.deepEqual((list.body as { total: number; data: { source_name: string }[] }).data.map((s) => s.source_name), ['s1']);
  assert.equal((await call(api, 'GET', '/sources/s1')).status, 200);
  expectError(await call(api, 'GET', '/sources/nope'), 400, 38004);
  await waitFor('s1 bound to w1', async () => {
    const st = await call(api, 'GET', '/sources/s1/status');
    return (st.body as { data?: { worker_name: string }[] }).data?.[0]?.worker_name === 'w1';
  });
  const withStatus = await call(api, 'GET', '/sources?with_status=true');
  assert.equal((withStatus.body as { data: { status_list: { worker_name: string }[] }[] }).data[0]?.status_list[0]?.worker_name, 'w1');
  assert.equal((await call(api, 'POST', '/sources/s1/enable')).status, 200);
  expectError(await call(api, 'POST', '/sources/s1/disable'), 400, 38952);
  // PUT: operate-source update; the change is in the stored config
  const s1Source = { source_name: 's1', host: '127.0.0.1', port: db.port, user: 'root', password: '', enable_gtid: false, relay_config: { enable_relay: false, relay_binlog_name: 'mysql-bin.000001', relay_dir: null } };
  expectError(await call(api, 'PUT', '/sources/s1', { source: { ...s1Source, source_name: 's2' } }), 400, 38951, /source_name must be s1/);
  const updated = await call(api, 'PUT', '/sources/s1', { source: { ...s1Source, purge: { interval: 7200, expires: 0, remain_space: 15 } } });
  assert.equal(updated.status, 200, JSON.stringify(updated.body));
  assert.equal((updated.body as { purge: { interval: number } }).purge.interval, 7200);
  assert.equal(((await call(api, 'GET', '/sources/s1')).body as { purge: { interval: number } }).purge.interval, 7200, 'the update is stored');
  // transfer: to an unknown worker refused; to the worker it is bound to, accepted
  expectError(await call(api, 'POST', '/sources/s1/transfer', { worker_name: 'w9' }), 400, 38007, /worker w9 not found/);
  assert.equal((await call(api, 'POST', '/sources/s1/transfer', { worker_name: 'w1' })).status, 200);
  assert.equal(((await call(api, 'GET', '/sources/s1/status')).body as { data: { worker_name: string }[] }).data[0]?.worker_name, 'w1');

  // ---- relay: enable → status shows it → purge → disable (OperateRelay / PurgeRelay underneath) ----
  type RelayStatus = { master_binlog: string; master_binlog_gtid: string; relay_dir: string; relay_binlog_gtid: string; relay_catch_up_master: boolean; stage: string };
  const relayOf = async (): Promise<RelayStatus | undefined> => {
    const st = await call(api, 'GET', '/sources/s1/status');
    assert.equal(st.status, 200, JSON.stringify(st.body));
    return (st.body as { data: { relay_status?: RelayStatus }[] }).data[0]?.relay_status;
  };
  assert.equal(await relayOf(), undefined, 'no relay before enable');
  expectError(await call(api, 'POST', '/sources/s1/relay/enable', { relay_dir: join(dir, 'elsewhere') }), 400, 38952, /relay_dir: a relay directory per source is not supported/);
  expectError(await call(api, 'POST', '/sources/s1/relay/enable', { relay_binlog_name: 'mysql-bin.000002' }), 400, 38952, /relay-binlog-name: "mysql-bin\.000001"/);
  expectError(await call(api, 'POST', '/sources/s1/relay/enable', { worker_name_list: ['w9'] }), 400, 30010, /worker w9 is not bound to source s1/);
  expectError(await call(api, 'POST', '/sources/s1/relay/enable', { worker_name_list: 'w1' }), 400, 38951, /worker_name_list must be an array/);
  expectError(await call(api, 'POST', '/sources/nope/relay/enable', {}), 400, 38004);
  expectError(await call(api, 'POST', '/sources/s1/relay/enable', {}, READ), 403, 49102);
  expectError(await call(api, 'POST', '/sources/s1/start-relay', {}), 400, 38952, /relay\/enable/);
  assert.equal(await relayOf(), undefined, 'refused enables start nothing');
  const enabled = await call(api, 'POST', '/sources/s1/relay/enable', { worker_name_list: ['w1'], relay_binlog_name: 'mysql-bin.000001', relay_binlog_gtid: null, relay_dir: null });
  assert.equal(enabled.status, 200, JSON.stringify(enabled.body));
  await db.sql('CREATE DATABASE oa_relay');
  await db.sql('CREATE TABLE oa_relay.t (id INT PRIMARY KEY)');
  for (let i = 0; i < 2; i++) {
    await db.sql(`INSERT INTO oa_relay.t VALUES (${i})`);
    await db.sql('FLUSH BINARY LOGS');
  }
  await db.sql('INSERT INTO oa_relay.t VALUES (9)');
  const upstreamFile = String((await db.sql('SHOW MASTER STATUS'))[0]?.['File']);
  const relay = await waitFor('relay running and caught up with the upstream', async () => {
    const r = await relayOf();
    return r?.stage === 'Running' && r.relay_catch_up_master && r.master_binlog.startsWith(`(${upstreamFile}, `) ? r : undefined;
  }, { timeoutMs: 90_000 });
  assert.match(relay.relay_dir, /^[0-9a-f-]+\.\d{6}$/, 'the relay sub-directory');
  assert.equal(((await call(api, 'GET', '/sources/s1/status')).body as { data: { error_msg?: string }[] }).data[0]?.error_msg, undefined, 'a healthy relay has no error_msg');
  assert.equal(typeof relay.master_binlog_gtid, 'string');
  assert.equal(typeof relay.relay_binlog_gtid, 'string');
  const withRelay = (await call(api, 'GET', '/sources?with_status=true')).body as { data: { status_list: { relay_status?: RelayStatus }[] }[] };
  assert.equal(withRelay.data[0]?.status_list[0]?.relay_status?.relay_dir, relay.relay_dir, 'with_status carries the relay too');
  const relaySub = join(relayDir, relay.relay_dir);
  const files = listBinlogFiles(relaySub);
  assert.ok(files.length >= 3 && files[0] === 'mysql-bin.000001', files.join(','));

  expectError(await call(api, 'POST', '/sources/s1/relay/purge', {}), 400, 38951, /relay_binlog_name is required/);
  expectError(await call(api, 'POST', '/sources/s1/relay/purge'), 400, 38951);
  expectError(await call(api, 'POST', '/sources/nope/relay/purge', { relay_binlog_name: files[1] }), 400, 38004, /source nope not found/);
  assert.deepEqual(listBinlogFiles(relaySub), files, 'refused purges remove nothing');
  const purged = await call(api, 'POST', '/sources/s1/relay/purge', { relay_binlog_name: files[1], relay_dir: relay.relay_dir });
  assert.equal(purged.status, 200, JSON.stringify(purged.body));
  assert.deepEqual(listBinlogFiles(relaySub), files.slice(1), 'the files before relay_binlog_name are purged');
  expectError(await call(api, 'POST', '/sources/s1/relay/purge', { relay_binlog_name: files[1], relay_dir: 'no-such-sub.000009' }), 400, 30007, /relay sub-directory no-such-sub.000009 is not in/);

  expectError(await call(api, 'POST', '/sources/s1/relay/disable', { worker_name_list: ['w9'] }), 400, 30010);
  expectError(await call(api, 'POST', '/sources/s1/stop-relay', {}), 400, 38952, /relay\/disable/);
  assert.equal((await call(api, 'POST', '/sources/s1/relay/disable', { worker_name_list: ['w1'] })).status, 200);
  await waitFor('relay stopped', async () => (await relayOf()) === undefined, { timeoutMs: 60_000 });
  assert.deepEqual(listBinlogFiles(relaySub), files.slice(1), 'a stopped relay keeps its files');

  // ---- members ----
  const wl = await call(api, 'GET', '/cluster/workers');
  assert.deepEqual((wl.body as { data: unknown[] }).data, [{ name: 'w1', addr: `127.0.0.1:${wport}`, bound_stage: 'bound', bound_source_name: 's1' }]);
  const ms = (await call(api, 'GET', '/cluster/masters')).body as { total: number; data: { name: string; alive: boolean; leader: boolean; addr: string }[] };
  assert.equal(ms.total, 3);
  assert.equal(ms.data.find((m) => m.name === apiName)?.leader, false, 'the calls go to a follower');
  // offline: live members and unknown names refused with their codes (offline-member)
  expectError(await call(api, 'DELETE', '/cluster/workers/w1'), 400, 46001, /still running/);
  expectError(await call(api, 'DELETE', '/cluster/workers/nope'), 400, 38007);
  expectError(await call(api, 'DELETE', '/cluster/masters/m3'), 400, 46001, /still running/);
  expectError(await call(api, 'DELETE', '/cluster/masters/nope'), 400, 46004);
  expectError(await call(api, 'DELETE', '/cluster/workers/w1', undefined, READ), 403, 49102);

  // ---- tasks ----
  await db.sql('CREATE DATABASE oa_src');
  await db.sql('CREATE TABLE oa_src.t (id INT PRIMARY KEY, v VARCHAR(20))');
  await db.sql("INSERT INTO oa_src.t VALUES (1, 'one'), (2, 'two')");
  const task = {
    name: 'oa',
    task_mode: 'all',
    meta_schema: 'dm_meta',
    enhance_online_schema_change: false,
    on_duplicate: 'overwrite',
    target_config: { host: '127.0.0.1', port: db.port, user: 'root', password: '' },
    table_migrate_rule: [{ source: { source_name: 's1', schema: 'oa_src', table: '*' }, target: { schema: 'oa_dst' } }],
    source_config: { full_migrate_conf: { export_threads: 2, import_threads: 2, data_dir: join(dir, 'dump') }, incr_migrate_conf: { repl_threads: 4, repl_batch: 50 }, source_conf: [{ source_name: 's1' }] },
  };
  expectError(await call(api, 'POST', '/tasks', { task: { ...task, foo: 1 } }), 400, 38951, /task\.foo: unknown field/);
  expectError(await call(api, 'POST', '/tasks', { task: { ...task, source_config: { ...task.source_config, full_migrate_conf: { import_mode: 'physical' } } } }), 400, 38952);
  expectError(await call(api, 'POST', '/tasks', '{'), 400, 38951);
  const conv = await call(api, 'POST', '/tasks/converters', { task });
  assert.equal(conv.status, 200);
  assert.match((conv.body as { task_config_file: string }).task_config_file, /target-schema: oa_dst/);

  // DM >= 6: POST /tasks creates the task without running it; POST .../start runs it
  type Sub = { name: string; source_name: string; worker_name: string; stage: string; unit: string; sync_status?: { synced: boolean } };
  const taskCreated = await call(api, 'POST', '/tasks', { task });
  assert.equal(taskCreated.status, 201, JSON.stringify(taskCreated.body));
  assert.equal((taskCreated.body as { task: { name: string } }).task.name, 'oa');
  assert.equal(typeof (taskCreated.body as { check_result: unknown }).check_result, 'string');
  expectError(await call(api, 'POST', '/tasks', { task }), 400, 38005);
  await waitFor('task oa created, paused', async () => ((await call(api, 'GET', '/tasks/oa/status')).body as { data?: Sub[] }).data?.[0]?.stage === 'Paused');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await db.sql("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'oa_dst'")).length, 0, 'a created task does not run before start');
  expectError(await call(api, 'POST', '/tasks/oa/start', { remove_meta: true }), 400, 38952);
  assert.equal((await call(api, 'POST', '/tasks/oa/start', {})).status, 200);

  await waitFor('rows in the target', async () => {
    try {
      return Number((await db.sql('SELECT COUNT(*) AS n FROM oa_dst.t'))[0]?.['n']) === 2;
    } catch {
      return false;
    }
  }, { timeoutMs: 120_000 });
  let sub: Sub | undefined;
  await waitFor('task oa syncing', async () => {
    const st = await call(api, 'GET', '/tasks/oa/status');
    sub = (st.body as { data?: Sub[] }).data?.[0];
    return sub?.stage === 'Running' && sub.unit === 'Sync';
  }, { timeoutMs: 60_000 });
  assert.equal(sub?.source_name, 's1');
  assert.equal(sub?.worker_name, 'w1');
  assert.equal(typeof sub?.sync_status?.synced, 'boolean');

  const one = (await call(api, 'GET', '/tasks/oa')).body as { name: string; task_mode: string; table_migrate_rule: { target?: { schema: string } }[]; target_config: { password: string } };
  assert.equal(one.task_mode, 'all');
  assert.equal(one.table_migrate_rule[0]?.target?.schema, 'oa_dst');
  assert.equal(one.target_config.password, '******');
  const tasks = (await call(api, 'GET', '/tasks?with_status=true')).body as { total: number; data: { name: string; status_list: unknown[] }[] };
  assert.equal(tasks.total, 1);
  assert.equal(tasks.data[0]?.status_list.length, 1);
  expectError(await call(api, 'GET', '/tasks/nope'), 400, 38006);

  // stop (pause) → start (resume) → rows keep flowing
  expectError(await call(api, 'POST', '/tasks/oa/start', { start_time: '2030-01-02T00:00:00Z' }), 400, 38017);
  expectError(await call(api, 'POST', '/tasks/oa/stop', { timeout_duration: '10s' }), 400, 38952);
  assert.equal((await call(api, 'POST', '/tasks/oa/stop', {})).status, 200);
  await waitFor('task oa paused', async () => ((await call(api, 'GET', '/tasks/oa/status')).body as { data?: Sub[] }).data?.[0]?.stage === 'Paused');
  assert.equal((await call(api, 'POST', '/tasks/oa/start')).status, 200);
  await waitFor('task oa running again', async () => ((await call(api, 'GET', '/tasks/oa/status')).body as { data?: Sub[] }).data?.[0]?.stage === 'Running');
  await db.sql("INSERT INTO oa_src.t VALUES (3, 'three')");
  await waitFor('row 3 replicated', async () => (await db.sql('SELECT v FROM oa_dst.t WHERE id = 3')).length === 1, { timeoutMs: 60_000 });

  // an incremental task created, then started from start_time: only what the source wrote from
  // that second on is replicated (the created task had no checkpoint); with
  // safe_mode_time_duration its sync unit starts in safe mode: an INSERT of a row the target
  // already has replaces it instead of failing on the duplicate key
  await db.sql('CREATE DATABASE oi_src');
  await db.sql('CREATE TABLE oi_src.t (id INT PRIMARY KEY, v INT)');
  await db.sql('INSERT INTO oi_src.t VALUES (1, 1)');
  await new Promise((r) => setTimeout(r, 1100));
  const from = new Date(Math.ceil(Date.now() / 1000) * 1000 + 1000);
  await new Promise((r) => setTimeout(r, from.getTime() - Date.now() + 200));
  await db.sql('INSERT INTO oi_src.t VALUES (2, 2)');
  await db.sql('CREATE DATABASE oi_dst');
  await db.sql('CREATE TABLE oi_dst.t (id INT PRIMARY KEY, v INT)');
  await db.sql('INSERT INTO oi_dst.t VALUES (3, 0)');
  const inc = { ...task, name: 'oi', task_mode: 'incremental', table_migrate_rule: [{ source: { source_name: 's1', schema: 'oi_src', table: '*' }, target: { schema: 'oi_dst' } }] };
  assert.equal((await call(api, 'POST', '/tasks', { task: inc })).status, 201);
  await waitFor('task oi created, paused', async () => ((await call(api, 'GET', '/tasks/oi/status')).body as { data?: Sub[] }).data?.[0]?.stage === 'Paused');
  expectError(await call(api, 'POST', '/tasks/oi/start', { start_time: 'yesterday' }), 400, 38018);
  expectError(await call(api, 'POST', '/tasks/oi/start', { safe_mode_time_duration: 'soon' }), 400, 38008, /not a positive duration/);
  expectError(await call(api, 'POST', '/tasks/oi/start', { safe_mode_time_duration: 60 }), 400, 38951);
  assert.equal((await call(api, 'POST', '/tasks/oi/start', { start_time: from.toISOString(), safe_mode_time_duration: '10m' })).status, 200);
  await waitFor('task oi running', async () => ((await call(api, 'GET', '/tasks/oi/status')).body as { data?: Sub[] }).data?.[0]?.stage === 'Running');
  await db.sql('INSERT INTO oi_src.t VALUES (3, 33)');
  await waitFor('rows 2 and 3 replicated, 3 replaced in safe mode', async () => (await db.sql('SELECT id FROM oi_dst.t WHERE id = 2 OR (id = 3 AND v = 33)')).length === 2, { timeoutMs: 60_000 }).catch(async (e: Error) => {
    throw new Error(`${e.message}: ${JSON.stringify((await call(api, 'GET', '/tasks/oi/status')).body)}`);
  });
  assert.deepEqual((await db.sql('SELECT id FROM oi_dst.t ORDER BY id')).map((r) => Number(r['id'])), [2, 3], 'row 1 was written before start_time');
  assert.equal((await call(api, 'DELETE', '/tasks/oi')).status, 204);

  // task templates: create, replace (PUT), read back, delete
  const tpl = { ...task, name: 'tpl' };
  assert.equal((await call(api, 'POST', '/tasks/templates', tpl)).status, 201);
  const replaced = await call(api, 'PUT', '/tasks/templates/tpl', { ...tpl, meta_schema: 'dm_meta_tpl' });
  assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
  assert.equal(((await call(api, 'GET', '/tasks/templates/tpl')).body as { meta_schema: string }).meta_schema, 'dm_meta_tpl');
  expectError(await call(api, 'PUT', '/tasks/templates/nope', { ...tpl, name: 'nope' }), 400, 38006);
  assert.equal((await call(api, 'DELETE', '/tasks/templates/tpl')).status, 204);
  expectError(await call(api, 'GET', '/tasks/templates/tpl'), 400, 38006);

  // a source with tasks cannot go; the task is deleted, then the source
  expectError(await call(api, 'DELETE', '/sources/s1'), 400, 38009);
  assert.equal((await call(api, 'DELETE', '/tasks/oa')).status, 204);
  assert.equal(((await call(api, 'GET', '/tasks')).body as { total: number }).total, 0);
  expectError(await call(api, 'DELETE', '/tasks/oa'), 400, 38006);
  assert.equal((await call(api, 'DELETE', '/sources/s1')).status, 204);
  assert.equal(((await call(api, 'GET', '/sources')).body as { total: number }).total, 0);

  // the port's request size limit: a declared body over it (413 from the port), a chunked one (413, DM's body)
  const big = JSON.stringify({ task: { ...task, name: 'x'.repeat(100_000) } });
  const declared = await fetch(`http://127.0.0.1:${api}/api/v1/tasks`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: big });
  assert.equal(declared.status, 413);
  await declared.text();
  const chunked = await fetch(`http://127.0.0.1:${api}/api/v1/tasks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    }),
    duplex: 'half',
  });
  expectError({ status: chunked.status, body: await chunked.json() }, 413, 38954);

  // unknown endpoint / method
  expectError(await call(api, 'GET', '/nothing'), 404, 38953);
  expectError(await call(api, 'PATCH', '/tasks'), 404, 38953);
});
