/**
 * dm_compat: a DM user's files and habits carry over, through the real binaries.
 * - dm-master and dm-worker start from DM's TOML files (DM's sample dm-master.toml with this
 *   test's ports, a dm-worker.toml in DM's keys: keepalive-ttl in seconds, join as a string);
 * - `config master|worker -o x.yaml|x.toml` writes DM's keys and units, which load back to the
 *   config the process runs with;
 * - an error the master raises (10008, the source database unreachable) is printed once with
 *   its own code and not sent again to the next `--master-addr`; an argument error is printed
 *   once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { freePort, makeTempDir, removeTempDir, trackChild, waitFor } from '../../helpers/index.js';
import { loadMasterConfig, loadWorkerConfig } from '../../../src/config/index.js';
import { BIN, ROOT, dmctl, dmctlBin, killStrays, missingBinaries } from '../../helpers/cluster.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'config', 'dm-toml');

function start(script: string, config: string, logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', script, '--config', config], {
    cwd: ROOT,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, DM_LOG_LEVEL: 'info' },
  });
  closeSync(fd);
  trackChild(child);
  return child;
}

async function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const ex = once(c, 'exit');
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
  await ex;
  clearTimeout(t);
}

void test('dm_compat: TOML configs, config master|worker round-trip, dmctl errors printed once with their own code', { skip: missingBinaries() || false, timeout: 180_000 }, async (t) => {
  const dir = makeTempDir('dm-compat');
  const procs: ChildProcess[] = [];
  t.after(async () => {
    await Promise.all(procs.map(stop));
    killStrays(dir);
    removeTempDir(dir);
  });
  const [mPort, peerPort, clientPort, wPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const masterAddr = `127.0.0.1:${mPort}`;
  // DM's own sample dm-master.toml, with this test's ports and directories (and one DM.ts key)
  const masterToml = join(dir, 'dm-master.toml');
  writeFileSync(
    masterToml,
    `${readFileSync(join(FIXTURES, 'tiflow-dm-master.toml'), 'utf8')
      .replace('log-file = "dm-master.log"', `log-file = "${join(dir, 'dm-master.log')}"`)
      .replace('master-addr = ":8261"', `master-addr = "${masterAddr}"`)
      .replace('advertise-addr = "127.0.0.1:8261"', `advertise-addr = "${masterAddr}"`)
      .replace('data-dir = "default.dm-master"', `data-dir = "${join(dir, 'master-data')}"`)
      .replaceAll('http://127.0.0.1:8291', `http://127.0.0.1:${peerPort}`)}\netcd-client-urls = "http://127.0.0.1:${clientPort}"\nkeepalive-ttl = "3s"\n`,
  );
  const workerToml = join(dir, 'dm-worker.toml');
  writeFileSync(
    workerToml,
    [
      '# Worker Configuration.',
      'name = "worker1"',
      'log-level = "info"',
      `log-file = "${join(dir, 'dm-worker.log')}"`,
      `worker-addr = "127.0.0.1:${wPort}"`,
      `advertise-addr = "127.0.0.1:${wPort}"`,
      `join = "http://${masterAddr}"`,
      'keepalive-ttl = 3',
      'relay-keepalive-ttl = 1800',
      `relay-dir = "${join(dir, 'relay')}"`,
      '',
    ].join('\n'),
  );
  procs.push(start(BIN.master, masterToml, join(dir, 'master.out')));
  const addrs = ['--master-addr', masterAddr, '--rpc-timeout', '30s'];
  await waitFor('the TOML-configured master leads', async () => {
    const r = await dmctl([...addrs, 'list-member', '--leader']);
    return r.json['result'] === true;
  }, { timeoutMs: 60_000, intervalMs: 300 });
  procs.push(start(BIN.worker, workerToml, join(dir, 'worker.out')));
  await waitFor('the TOML-configured worker registered', async () => {
    const r = await dmctl([...addrs, 'list-member', '--worker']);
    return JSON.stringify(r.json).includes('"worker1"') && !JSON.stringify(r.json).includes('"offline"');
  }, { timeoutMs: 60_000, intervalMs: 300 });

  // ---- config master|worker: DM's keys and units, loading back to the running config --------
  const runningMaster = loadMasterConfig(masterToml);
  const runningWorker = loadWorkerConfig(workerToml);
  const shown = await dmctl([...addrs, 'config', 'master', 'dm-master']);
  assert.equal(shown.json['result'], true, shown.stdout);
  const cfgText = String(shown.json['cfg']);
  assert.match(cfgText, /^master-addr: /m);
  assert.match(cfgText, /^rpc-timeout: 30s$/m);
  assert.match(cfgText, /^keepalive-ttl: 3$/m);
  assert.doesNotMatch(cfgText, /^[a-z]+[A-Z]\w*:/m, 'no camelCase key');
  for (const ext of ['yaml', 'toml']) {
    const m = join(dir, `master-out.${ext}`);
    const w = join(dir, `worker-out.${ext}`);
    assert.equal((await dmctl([...addrs, 'config', 'master', 'dm-master', '-o', m])).json['result'], true);
    assert.equal((await dmctl([...addrs, 'config', 'worker', 'worker1', '-o', w])).json['result'], true);
    assert.deepEqual(loadMasterConfig(m), runningMaster, `master ${ext}`);
    assert.deepEqual(loadWorkerConfig(w), runningWorker, `worker ${ext}`);
  }
  assert.match(readFileSync(join(dir, 'worker-out.toml'), 'utf8'), /^keepalive-ttl = 3$/m);

  // ---- a server error: printed once with its own code, not re-sent to the next master -------
  const deadDb = await freePort();
  const sourceFile = join(dir, 'source.yaml');
  writeFileSync(sourceFile, `source-id: dead-source\nenable-gtid: false\nfrom:\n  host: 127.0.0.1\n  port: ${deadDb}\n  user: root\n  password: ""\n`);
  // a second --master-addr that counts the connections it gets (there must be none)
  let dialed = 0;
  const counter = createServer((s) => {
    dialed++;
    s.destroy();
  });
  counter.listen(0, '127.0.0.1');
  await once(counter, 'listening');
  t.after(() => counter.close());
  const counterAddr = `127.0.0.1:${(counter.address() as { port: number }).port}`;
  const r = await dmctlBin(['--master-addr', `${masterAddr},${counterAddr}`, 'operate-source', 'create', sourceFile]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(r.json['result'], false, r.stdout);
  const all = r.stdout + r.stderr;
  assert.equal(all.split('code=10008').length - 1, 1, `10008 printed once: ${all}`);
  assert.doesNotMatch(all, /42002|cannot reach any dm-master/);
  assert.equal(dialed, 0, 'the request was not sent to the next master');

  // the next address is still tried when the first one cannot be reached at all
  const downAddr = `127.0.0.1:${await freePort()}`;
  const failover = await dmctl(['--master-addr', `${downAddr},${masterAddr}`, 'list-member', '--leader']);
  assert.equal(failover.json['result'], true, failover.stdout);
  const none = await dmctl(['--master-addr', downAddr, 'list-member']);
  assert.match(String(none.json['msg']), /code=42002/);

  // ---- argument errors: printed once ---------------------------------------------------------
  for (const [args, text] of [
    [['start-task'], "missing required argument 'config-file'"],
    [['config', 'foo', 'bar'], "invalid config type 'foo'"],
    [['query-status', '--bogus'], "unknown option '--bogus'"],
  ] as const) {
    const a = await dmctlBin(['--master-addr', masterAddr, ...args]);
    assert.equal(a.code, 1);
    assert.match(String(a.json['msg']), /code=42001/);
    assert.equal((a.stdout + a.stderr).split(text).length - 1, 1, `${args.join(' ')}: printed once: ${a.stdout}${a.stderr}`);
  }
});
