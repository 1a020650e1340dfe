/**
 * dmctl_basic: every command's help, missing/invalid arguments give a clear error and
 * `result: false` (exit code 1); with a running cluster, the basic source/task/member/relay
 * commands, each reply checked against DM's reply shape (test/fixtures/dm-replies: every key DM
 * prints, with its JSON type and nesting) and check-task's msg against DM's text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MariaDBServer, compareDatabases, describeDiffs, freePort, makeTempDir, removeTempDir, waitFor } from '../../helpers/index.js';
import { decrypt } from '../../../src/config/index.js';
import { DMCluster, dmctl, dmctlBin, missingBinaries, waitTask } from '../../helpers/cluster.js';
import { renderConf } from '../helpers/conf.js';
import { readFileSync } from 'node:fs';
import { assertDmShape } from '../../helpers/dm-shape.js';

const CASE = dirname(fileURLToPath(import.meta.url));
const VISIBLE = [
  'operate-source', 'start-task', 'stop-task', 'pause-task', 'resume-task', 'query-status', 'check-task', 'list-member',
  'offline-member', 'operate-leader', 'transfer-source', 'config', 'binlog', 'encrypt', 'start-relay', 'stop-relay',
  'pause-relay', 'resume-relay', 'purge-relay', 'shard-ddl-lock',
];

void test('dmctl binary: help, version, exit codes, interactive mode', async () => {
  const help = await dmctlBin(['--help']);
  assert.equal(help.code, 0);
  for (const c of VISIBLE) assert.match(help.stdout, new RegExp(`\\n  ${c}\\b`), `help lists ${c}`);
  assert.doesNotMatch(help.stdout, /handle-error/, 'legacy aliases are hidden');
  const v = await dmctlBin(['-V']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /Release Version: v\d+\.\d+\.\d+/);
  const bad = await dmctlBin(['start-task']);
  assert.equal(bad.code, 1);
  assert.equal(bad.json['result'], false);
  assert.match(String(bad.json['msg']), /code=42001.*missing required argument 'config-file'/);
  // interactive: no command → prompt; commands run line by line; `exit` leaves
  const port = await freePort();
  const repl = await dmctlBin(['--master-addr', `127.0.0.1:${port}`], 'help\nencrypt "p w"\nquery-status\nexit\n');
  assert.equal(repl.code, 0);
  assert.match(repl.stdout, /Welcome to dmctl/);
  assert.match(repl.stdout, /Commands:/);
  assert.match(repl.stdout, /code=42002/, 'query-status in the REPL reports the unreachable master');
  const cipher = repl.stdout.split('\n').map((l) => l.replace(/^dmctl> /, '').trim()).find((l) => /^[A-Za-z0-9+/]{20,}={0,2}$/.test(l));
  assert.ok(cipher, repl.stdout);
  assert.equal(decrypt(cipher), 'p w');
});

void test('every command rejects missing or invalid arguments with result false', async () => {
  const dead = `127.0.0.1:${await freePort()}`;
  const tmp = makeTempDir('dmctl-basic');
  try {
    const task = join(tmp, 'task.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(task, 'name: t\n');
    const cases: [string[], RegExp][] = [
      [['operate-source'], /missing required argument 'operate-type'/],
      [['operate-source', 'bogus'], /invalid operate-type 'bogus'/],
      [['operate-source', 'create'], /needs at least one source config file/],
      [['operate-source', 'create', join(tmp, 'none.yaml')], /code=42003.*cannot read source config file/],
      [['operate-source', 'update', task, task], /exactly one source config file/],
      [['operate-source', 'stop'], /needs source config file\(s\) or source id\(s\)/],
      [['start-task'], /missing required argument 'config-file'/],
      [['start-task', join(tmp, 'none.yaml')], /code=42003/],
      [['start-task', task, '--start-time', 'yesterday'], /--start-time 'yesterday' is not a time/],
      [['stop-task'], /stop-task needs a task name/],
      [['pause-task'], /pause-task needs a task name/],
      [['resume-task'], /resume-task needs a task name/],
      [['query-status', 'a', 'b'], /too many arguments/],
      [['check-task'], /missing required argument 'config-file'/],
      [['check-task', task, '-e', 'many'], /must be a non-negative integer/],
      [['list-member', '--bogus'], /unknown option '--bogus'/],
      [['offline-member'], /exactly one of --master or --worker/],
      [['offline-member', '--worker'], /member name with -n/],
      [['operate-leader'], /missing required argument 'operate-type'/],
      [['operate-leader', 'bogus'], /invalid operate-type 'bogus'/],
      [['transfer-source', 'mysql-replica-01'], /missing required argument 'worker-name'/],
      [['config'], /missing required argument 'type'/],
      [['config', 'bogus', 'x'], /invalid config type 'bogus'/],
      [['binlog'], /missing required argument 'operation'/],
      [['binlog', 'skip'], /missing required argument 'task-name'/],
      [['binlog', 'bogus', 'test'], /invalid operation 'bogus'/],
      [['binlog', 'replace', 'test'], /binlog replace needs the SQL statements/],
      [['binlog', 'inject', 'test'], /binlog inject needs the SQL statements/],
      [['binlog', 'skip', 'test', '-b', 'nonsense'], /invalid binlog position 'nonsense'/],
      [['binlog', 'skip', 'test', 'DROP TABLE x'], /binlog skip takes no SQL statements/],
      [['encrypt'], /missing required argument 'plaintext'/],
      [['no-such-command'], /unknown command 'no-such-command'/],
      [['--rpc-timeout', 'soon', 'query-status'], /must be a duration/],
      [['start-relay'], /start-relay needs exactly one source/],
      [['stop-relay', '-s', 'a,b'], /stop-relay needs exactly one source/],
      [['pause-relay'], /pause-relay needs at least one source/],
      [['resume-relay'], /resume-relay needs at least one source/],
      [['purge-relay'], /purge-relay needs a source/],
      [['purge-relay', '-s', 'mysql-replica-01'], /code=30007/],
      [['purge-relay', '-s', 'mysql-replica-01', '--inactive', '--filename', 'mysql-bin.000002'], /code=30007/],
      [['purge-relay', '-s', 'mysql-replica-01', '--time', 'yesterday-ish'], /code=30013/],
      [['shard-ddl-lock', 'unlock', 'test-`db`.`tbl`', '--action', 'nope'], /invalid --action 'nope'; use skip or exec/],
      [['shard-ddl-lock', 'unlock'], /missing required argument 'lock-id'/],
      [['unlock-ddl-lock'], /missing required argument 'lock-id'/],
    ];
    for (const [args, re] of cases) {
      const r = await dmctl(['--master-addr', dead, ...args]);
      assert.equal(r.json['result'], false, `${args.join(' ')}: ${r.stdout}`);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(String(r.json['msg']), re, args.join(' '));
      assert.doesNotMatch(String(r.json['msg']), /code=42002/, `${args.join(' ')} must fail before calling a master`);
    }
    // each command has its own help
    for (const c of VISIBLE) {
      const r = await dmctl(['--master-addr', dead, c, '--help']);
      assert.equal(r.code, 0, c);
      assert.match(r.stdout, new RegExp(`Usage: dmctl ${c}`), c);
    }
    // no master reachable: every address is tried, result false, exit 1
    const r = await dmctl(['--master-addr', `${dead},127.0.0.1:${await freePort()}`, 'query-status']);
    assert.equal(r.code, 1);
    assert.match(String(r.json['msg']), /code=42002.*cannot reach any dm-master \(tried .*, .*\)/);
    // --config file gives master-addr
    const cfg = join(tmp, 'dmctl.toml');
    writeFileSync(cfg, `master-addr = "${dead}"\n`);
    const rc = await dmctl(['--config', cfg, 'list-member']);
    assert.match(String(rc.json['msg']), new RegExp(`tried ${dead.replace(/\./g, '\\.')}\\)`));
    // operate-source -p prints a sample source config
    const sample = await dmctl(['operate-source', 'create', '-p']);
    assert.equal(sample.code, 0);
    assert.match(sample.stdout, /source-id:/);
  } finally {
    removeTempDir(tmp);
  }
});

const skipCluster = missingBinaries();
void test('dmctl against a running cluster', { skip: skipCluster || false, timeout: 240_000 }, async (t) => {
  const [src, tgt] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const cluster = await DMCluster.start({ masters: 1, workers: 1 });
  const tmp = makeTempDir('dmctl-basic-conf');
  t.after(async () => {
    await cluster.close();
    await Promise.all([src.stop(), tgt.stop()]);
    removeTempDir(tmp);
  });
  // the master runs with DM's default log-format (text): DM's line layout, not JSON
  assert.match(readFileSync(cluster.masters[0]?.log ?? '', 'utf8'), /^\[\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d{3} \+00:00\] \[INFO\] \[[^\]]+\] \["[^"]+"\]/m);
  await src.sql(readFileSync(join(CASE, 'data/db.sql'), 'utf8'));
  const vars = { SOURCE_PORT: src.port, TARGET_PORT: tgt.port };
  const source = renderConf(CASE, 'source1.yaml', tmp, vars);
  const task = renderConf(CASE, 'dm-task.yaml', tmp, vars);
  const bad = renderConf(CASE, 'bad-task.yaml', tmp, vars);

  const members = await cluster.ctl(['list-member']);
  assert.equal(members.json['result'], true, members.stdout);
  assert.match(members.stdout, /"master1"/);
  assert.match(members.stdout, /"worker1"/);
  // DM's list-member shape: [{leader}, {master: {masters}}, {worker: {workers}}] with DM's key names
  const kinds = members.json['members'] as Record<string, Record<string, unknown>>[];
  assert.deepEqual(kinds.map((k) => Object.keys(k)[0]), ['leader', 'master', 'worker'], members.stdout);
  const m0 = (kinds[1]?.['master']?.['masters'] as Record<string, unknown>[])[0] ?? {};
  for (const k of ['name', 'memberID', 'alive', 'peerURLs', 'clientURLs']) assert.ok(k in m0, `master key ${k}: ${members.stdout}`);
  const w0 = (kinds[2]?.['worker']?.['workers'] as Record<string, unknown>[])[0] ?? {};
  for (const k of ['name', 'addr', 'stage', 'source']) assert.ok(k in w0, `worker key ${k}: ${members.stdout}`);
  assertDmShape(members.json, 'list-member.json');

  const created = await cluster.ctl(['operate-source', 'create', source]);
  assert.equal(created.json['result'], true, created.stdout);
  assertDmShape(created.json, 'operate-source-create.json');
  const again = await cluster.ctl(['operate-source', 'create', source]);
  assert.equal(again.json['result'], false, 'creating the same source twice fails');
  const shown = await cluster.ctl(['operate-source', 'show']);
  assert.match(shown.stdout, /mysql-replica-01/);
  assertDmShape(shown.json, 'operate-source-show.json');
  const cfg = await cluster.ctl(['config', 'source', 'mysql-replica-01']);
  assert.equal(cfg.json['result'], true, cfg.stdout);
  assert.match(String(cfg.json['cfg']), /source-id: "?mysql-replica-01/);
  assertDmShape(cfg.json, 'get-config.json');
  // check-task: DM's text in msg (passed, or the warnings with DM's report after `detail:`)
  const checked = await cluster.ctl(['check-task', task]);
  assert.equal(checked.json['result'], true, checked.stdout);
  const checkMsg = String(checked.json['msg']);
  if (checkMsg !== 'pre-check is passed. ') {
    const head = 'fail to check synchronization configuration with type: no errors but some warnings\n detail: ';
    assert.ok(checkMsg.startsWith(head), checkMsg);
    const detail = JSON.parse(checkMsg.slice(head.length)) as { results: Record<string, unknown>[]; summary: Record<string, unknown> };
    assert.deepEqual(Object.keys(detail), ['results', 'summary']);
    for (const x of detail.results) assert.deepEqual(Object.keys(x), ['id', 'name', 'desc', 'state', 'errors', 'instruction', 'extra']);
  }

  const badStart = await cluster.ctl(['start-task', bad]);
  assert.equal(badStart.json['result'], false);
  assert.match(String(badStart.json['msg']), /task-mode/);
  const unknown = await cluster.ctl(['query-status', 'no-such-task']);
  assert.equal(unknown.json['result'], false, unknown.stdout);

  const started = await cluster.ctl(['start-task', task]);
  assert.equal(started.json['result'], true, started.stdout);
  assertDmShape(started.json, 'start-task.json');
  assert.match(String(started.json['checkResult']), /^(pre-check is passed\. |fail to check synchronization configuration with type: no errors but some warnings\n detail: \{)/, started.stdout);
  await waitTask(cluster, 'test', 'in the sync unit', (subs) => subs.every((x) => x.stage === 'Running' && x.unit === 'Sync'));
  // DM's query-status <task>: the sync object with "(file, pos)" positions, relayStatus null without relay
  const detailed = await cluster.ctl(['query-status', 'test']);
  const srcReply = (detailed.json['sources'] as Record<string, Record<string, unknown>>[])[0];
  assertDmShape(detailed.json, 'query-status-task.json');
  assert.equal(srcReply?.['sourceStatus']?.['relayStatus'], null, detailed.stdout);
  const [sub] = await waitTask(cluster, 'test', 'a syncer position shown', (subs) => subs.every((x) => (x.sync?.syncerBinlog ?? '') !== ''));
  assert.equal(sub?.result, null, detailed.stdout);
  assert.equal(sub?.unresolvedDDLLockID, '', detailed.stdout);
  assert.match(sub?.sync?.syncerBinlog ?? '', /^\(mysql-bin\.\d+, \d+\)$/, detailed.stdout);
  assert.match(sub?.sync?.masterBinlog ?? '', /^(\(mysql-bin\.\d+, \d+\))?$/, 'empty until the upstream is first polled');
  assert.match(String(sub?.sync?.['totalEvents']), /^\d+$/, 'int64 as a string, as DM');
  const summary = await cluster.ctl(['query-status']);
  assert.deepEqual(summary.json['tasks'], [{ taskName: 'test', taskStatus: 'Running', sources: ['mysql-replica-01'] }]);
  assertDmShape(summary.json, 'query-status.json');
  const paused = await cluster.ctl(['pause-task', 'test']);
  assert.equal(paused.json['result'], true);
  assertDmShape(paused.json, 'pause-task.json');
  assert.equal(paused.json['op'], 'Pause');
  await waitTask(cluster, 'test', 'paused', (subs) => subs.every((x) => x.stage === 'Paused'), 30_000);
  const resumed = await cluster.ctl(['resume-task', task]);
  assert.equal(resumed.json['result'], true, 'a task file is accepted for the task name');
  assertDmShape(resumed.json, 'resume-task.json');
  assert.equal(resumed.json['op'], 'Resume');
  const list = await cluster.ctl(['binlog', 'list', 'test']);
  assert.equal(list.json['result'], true, list.stdout);
  assertDmShape(list.json, 'handle-error.json');
  const locks = await cluster.ctl(['shard-ddl-lock']);
  assert.deepEqual(locks.json, { result: true, msg: 'no DDL lock exists', locks: [] }, "DM's reply when there is no lock");
  assertDmShape(locks.json, 'shard-ddl-lock.json');
  const diffs = await compareDatabases(src.connOpts(), tgt.connOpts(), 'dmctl');
  assert.ok(diffs.length === 1 && diffs.every((d) => d.equal), describeDiffs(diffs));
  const leader = await cluster.ctl(['list-member', '--leader']);
  assert.equal((leader.json['members'] as unknown[]).length, 1, 'only the leader is listed');
  const masterCfg = await cluster.ctl(['config', 'master', 'master1']);
  assert.equal(masterCfg.json['result'], true, masterCfg.stdout);
  const workerCfg = await cluster.ctl(['config', 'worker', 'worker1']);
  assert.equal(workerCfg.json['result'], true, workerCfg.stdout);
  const taskCfg = await cluster.ctl(['config', 'task', 'test']);
  assert.match(String(taskCfg.json['cfg']), /name: "?test/);
  for (const r of [masterCfg, workerCfg, taskCfg]) assertDmShape(r.json, 'get-config.json');
  const transfer = await cluster.ctl(['transfer-source', 'mysql-replica-01', 'no-such-worker']);
  assert.equal(transfer.json['result'], false, 'transfer to an unknown worker fails');
  assertDmShape(transfer.json, 'transfer-source.json');
  const offline = await cluster.ctl(['offline-member', '--worker', '-n', 'worker1']);
  assert.equal(offline.json['result'], false, 'a live worker cannot be taken offline');
  assertDmShape(offline.json, 'offline-member.json');
  const stopped = await cluster.ctl(['stop-task', 'test']);
  assert.equal(stopped.json['result'], true);
  assertDmShape(stopped.json, 'stop-task.json');
  // relay commands: DM's replies (pause-relay / resume-relay with `op`, as DM's OperateWorkerRelayResponse)
  for (const [args, fixture, op] of [
    [['start-relay', '-s', 'mysql-replica-01', 'worker1'], 'start-relay.json', undefined],
    [['pause-relay', '-s', 'mysql-replica-01'], 'pause-relay.json', 'PauseRelay'],
    [['resume-relay', '-s', 'mysql-replica-01'], 'resume-relay.json', 'ResumeRelay'],
    [['purge-relay', '-s', 'mysql-replica-01', '--inactive'], 'purge-relay.json', undefined],
    [['stop-relay', '-s', 'mysql-replica-01', 'worker1'], 'stop-relay.json', undefined],
  ] as const) {
    const r = await cluster.ctl([...args]);
    assert.equal(r.json['result'], true, `${args.join(' ')}: ${r.stdout}`);
    assertDmShape(r.json, fixture, r.stdout);
    assert.equal(r.json['op'], op, `${args.join(' ')}: op`);
  }
  // config export with a relay worker (`-p`, DM's flag): DM's relay_workers.json; import lists
  // them with DM's notice (relay workers are not restored) and leaves the existing source alone
  assert.equal((await cluster.ctl(['start-relay', '-s', 'mysql-replica-01', 'worker1'])).json['result'], true);
  // query-status -s with the relay running: DM's sourceStatus.relayStatus
  const relayStatusOf = async (): Promise<{ json: Record<string, unknown>; relay: unknown }> => {
    const r = await cluster.ctl(['query-status', '-s', 'mysql-replica-01']);
    return { json: r.json, relay: (r.json['sources'] as { sourceStatus?: { relayStatus?: unknown } }[] | undefined)?.[0]?.sourceStatus?.relayStatus };
  };
  await waitFor('relay status shown', async () => ((await relayStatusOf()).relay ?? null) !== null, { timeoutMs: 60_000 });
  assertDmShape((await relayStatusOf()).json, 'query-status-relay.json');
  const exportDir = join(tmp, 'exported');
  const exp = await cluster.ctl(['config', 'export', '-p', exportDir]);
  assert.equal(exp.json['msg'], `export configs to directory \`${exportDir}\` succeed`, exp.stdout);
  assert.deepEqual(JSON.parse(readFileSync(join(exportDir, 'relay_workers.json'), 'utf8')), { 'mysql-replica-01': ['worker1'] });
  const imp = await cluster.ctl(['config', 'import', '-p', exportDir]);
  assert.equal(imp.json['result'], true, imp.stdout);
  assert.deepEqual(imp.json['relayWorkers'], { 'mysql-replica-01': ['worker1'] });
  assert.match(String(imp.json['notice']), /Currently DM doesn't support recover relay workers/);
  assert.equal((await cluster.ctl(['stop-relay', '-s', 'mysql-replica-01', 'worker1'])).json['result'], true);
  const sourceStopped = await cluster.ctl(['operate-source', 'stop', 'mysql-replica-01']);
  assert.equal(sourceStopped.json['result'], true);
  assertDmShape(sourceStopped.json, 'operate-source-stop.json');
  // operate-leader (last: with one master, the cluster has no leader until the eviction is cancelled)
  for (const op of ['evict', 'cancel-evict']) {
    const r = await cluster.ctl(['operate-leader', op]);
    assert.equal(r.json['result'], true, `operate-leader ${op}: ${r.stdout}`);
    assertDmShape(r.json, 'operate-leader.json', r.stdout);
  }
});
