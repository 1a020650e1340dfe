/**
 * Relay control through the cluster (in-process masters and workers on real etcd and MariaDB):
 * start-relay / pause-relay / resume-relay / stop-relay write `source/relay-stage/<source>` and
 * the bound worker obeys; query-status shows relayStatus (DM's shape); purge-relay through the
 * master, refused for a file a reader registered as needed (30006) and for a worker not bound
 * (30010); `enable-relay: true` starts the relay without start-relay; transfer-source moves the
 * relay to the new worker; dm_relay_* metrics on the worker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { EtcdCluster, MariaDBServer, freePort, makeTempDir, removeTempDir, waitFor } from '../helpers/index.js';
import { silentLogger } from '../../src/log/index.js';
import { parseMasterConfig, parseWorkerConfig } from '../../src/config/index.js';
import { createMasterClient } from '../../src/rpc/index.js';
import { DMMaster } from '../../src/master/index.js';
import { DMWorker } from '../../src/worker/index.js';
import { Keys } from '../../src/store/index.js';
import { RelayOp, SourceOp, WorkerStage } from '../../src/gen/dm/master/v1/master_pb.js';
import { Stage } from '../../src/gen/dm/common/v1/common_pb.js';
import { listBinlogFiles, readIndex } from '../../src/units/relay/index.js';
import { sourceYaml } from '../helpers/cluster.js';

test('relay control: start/pause/resume/stop, query-status, purge-relay, enable-relay, transfer-source, metrics', { timeout: 300_000 }, async (t) => {
  const [etcd, db] = await Promise.all([EtcdCluster.start(1), MariaDBServer.start()]);
  const prefix = '/dmrelay/';
  const dir = makeTempDir('relay-control');
  const kv = new Etcd3({ hosts: etcd.endpoints });
  const mport = await freePort();
  const master = new DMMaster({
    config: parseMasterConfig('', { overrides: { name: 'm1', 'master-addr': `127.0.0.1:${mport}`, 'etcd-endpoints': etcd.endpoints.join(','), 'keepalive-ttl': 3, 'etcd-prefix': prefix } }),
    logger: silentLogger,
  });
  const workers: DMWorker[] = [];
  t.after(async () => {
    kv.close();
    await Promise.all(workers.map((w) => w.close()));
    await master.close();
    await Promise.all([etcd.stop(), db.stop()]);
    removeTempDir(dir);
  });
  await master.start();
  const addWorker = async (name: string): Promise<DMWorker> => {
    const w = new DMWorker({
      config: parseWorkerConfig('', { overrides: { name, 'worker-addr': '127.0.0.1:0', join: `127.0.0.1:${mport}`, 'keepalive-ttl': 3, 'relay-dir': join(dir, name) } }),
      logger: silentLogger,
      registerTimeoutMs: 30_000,
    });
    workers.push(w);
    await w.start();
    return w;
  };
  const w1 = await addWorker('w1');
  const c = createMasterClient(`127.0.0.1:${mport}`);
  await waitFor('leader', async () => (await c.listMember({ leader: true })).leader?.name === 'm1');
  await db.sql('CREATE DATABASE rc');
  await db.sql('CREATE TABLE rc.t (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT)');
  const write = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await db.sql("INSERT INTO rc.t (v) VALUES (REPEAT('r', 2000))");
  };
  await write(5);

  const ok = await c.operateSource({ op: SourceOp.START, config: [sourceYaml('s1', db.port)] });
  assert.equal(ok.result, true, ok.msg);
  await waitFor('s1 bound to w1', async () => (await c.operateSource({ op: SourceOp.SHOW, sourceId: ['s1'] })).sources[0]?.worker === 'w1');
  const keys = new Keys(prefix);
  const relayStatus = async (): Promise<Record<string, unknown> | undefined> => {
    const r = await c.queryStatus({ name: '', sources: ['s1'] });
    const st = r.sources[0]?.sourceStatus?.relayStatus;
    return st ? { stage: st.stage, sub: st.relaySubDir, relay: st.relayBinlog, master: st.masterBinlog, catchUp: st.relayCatchUpMaster, errors: st.result?.errors ?? [] } : undefined;
  };
  assert.equal(await relayStatus(), undefined, 'no relay before start-relay');

  // a worker that is not bound is refused
  const refused = await c.operateRelay({ op: RelayOp.START, source: 's1', workers: ['w9'] }).catch((e: Error) => e);
  assert.match(String(refused instanceof Error ? refused.message : refused.msg), /30010|not bound/);

  // start-relay: the relay runs on w1 and catches up
  const started = await c.operateRelay({ op: RelayOp.START, source: 's1', workers: ['w1'] });
  assert.equal(started.result, true, started.msg);
  assert.equal(JSON.parse((await kv.get(keys.sourceRelayStage('s1')).string()) ?? '{}').stage, 'Running');
  await write(3);
  const st = await waitFor('relay caught up', async () => {
    const s = await relayStatus();
    return s && s['catchUp'] === true ? s : undefined;
  }, { timeoutMs: 60_000 });
  assert.equal(st['stage'], Stage.RUNNING);
  assert.match(String(st['sub']), /^0-\d+\.000001$/);
  const w1dir = join(dir, 'w1');
  const lm = await c.listMember({ worker: true });
  assert.deepEqual(lm.workers.find((w) => w.name === 'w1')?.relaySources, ['s1'], 'list-member shows the relay source');
  assert.deepEqual(readIndex(w1dir), [st['sub']]);

  // metrics with DM's names
  const metrics = await (await fetch(`http://127.0.0.1:${w1.address!.port}/metrics`)).text();
  assert.match(metrics, /dm_relay_binlog_file\{node="relay"\} \d+/);
  assert.match(metrics, /dm_relay_binlog_file\{node="master"\} \d+/);
  assert.match(metrics, /dm_relay_exit_with_error_count\{resumable_err="false"\} \d+/);
  assert.match(metrics, /dm_relay_data_corruption \d+/);
  assert.match(metrics, /dm_relay_read_error_count \d+/);
  assert.match(metrics, /dm_relay_write_error_count \d+/);
  assert.match(metrics, /dm_relay_space\{type="available"\} \d+/);

  // pause-relay: stage Paused, nothing written; resume-relay: caught up again
  assert.equal((await c.operateRelay({ op: RelayOp.PAUSE, source: 's1', workers: [] })).result, true);
  await waitFor('relay paused', async () => (await relayStatus())?.['stage'] === Stage.PAUSED);
  const sub = join(w1dir, String(st['sub']));
  const before = readFileSync(join(sub, listBinlogFiles(sub).at(-1)!)).length;
  await write(3);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(readFileSync(join(sub, listBinlogFiles(sub).at(-1)!)).length, before, 'paused relay writes nothing');
  assert.equal((await c.operateRelay({ op: RelayOp.RESUME, source: 's1', workers: [] })).result, true);
  await waitFor('relay resumed and caught up', async () => {
    const s = await relayStatus();
    return s?.['stage'] === Stage.RUNNING && s['catchUp'] === true;
  }, { timeoutMs: 60_000 });

  // purge-relay: rotate a few times; a reader needs the second file: purge up to the third is refused
  for (let i = 0; i < 3; i++) {
    await write(2);
    await db.sql('FLUSH BINARY LOGS');
  }
  await write(1);
  await waitFor('relay caught up after rotations', async () => (await relayStatus())?.['catchUp'] === true, { timeoutMs: 60_000 });
  const files = listBinlogFiles(sub);
  assert.ok(files.length >= 4, files.join(','));
  const unregister = w1.relayHolder!.registerNeed('task-x', () => ({ subDir: String(st['sub']), file: files[1]! }));
  const needed = await c.purgeRelay({ sources: ['s1'], filename: files[2]!, subDir: '', inactive: false });
  assert.equal(needed.result, false);
  assert.match(needed.sources[0]?.msg ?? '', /code=30006/);
  assert.deepEqual(listBinlogFiles(sub), files, 'refused purge removes nothing');
  const purged = await c.purgeRelay({ sources: ['s1'], filename: files[1]!, subDir: '', inactive: false });
  assert.equal(purged.result, true, purged.sources[0]?.msg);
  assert.deepEqual(listBinlogFiles(sub), files.slice(1));
  unregister();
  // --filename names a file of one source's relay; --sub-dir goes with it
  const twoSources = await c.purgeRelay({ sources: ['s1', 's2'], filename: files[1]!, subDir: '', inactive: false }).catch((e: Error) => e);
  assert.match(twoSources instanceof Error ? twoSources.message : JSON.stringify(twoSources), /30007|one source/);
  const subOnly = await c.purgeRelay({ sources: ['s1'], filename: '', subDir: String(st['sub']), inactive: true }).catch((e: Error) => e);
  assert.match(subOnly instanceof Error ? subOnly.message : JSON.stringify(subOnly), /30007|--sub-dir/);
  assert.deepEqual(listBinlogFiles(sub), files.slice(1), 'refused purges remove nothing');
  // a task whose position cannot be known (full phase before its snapshot): nothing is purged
  w1.relayHolder!.setStoredNeeds(() => Promise.resolve([{ task: 'tx', unknown: 'its full phase has not recorded its binlog position yet' }]));
  const unknown = await c.purgeRelay({ sources: ['s1'], filename: '', subDir: '', inactive: true });
  assert.equal(unknown.result, false);
  assert.match(unknown.sources[0]?.msg ?? '', /code=30006[^]*task tx/);
  assert.deepEqual(listBinlogFiles(sub), files.slice(1), 'nothing purged while a position is unknown');
  w1.relayHolder!.setStoredNeeds(() => Promise.resolve([]));
  const inactive = await c.purgeRelay({ sources: ['s1'], filename: '', subDir: '', inactive: true });
  assert.equal(inactive.result, true, inactive.sources[0]?.msg);
  assert.deepEqual(listBinlogFiles(sub), [files.at(-1)]);

  // transfer-source: the relay moves to w2 (a fresh relay in w2's relay-dir), w1's stops
  await addWorker('w2');
  await waitFor('w2 free', async () => (await c.listMember({ worker: true })).workers.some((w) => w.name === 'w2' && w.stage === WorkerStage.FREE), { timeoutMs: 30_000 });
  const moved = await c.transferSource({ source: 's1', worker: 'w2' });
  assert.equal(moved.result, true, moved.msg);
  await write(2);
  await waitFor('relay on w2', async () => {
    const r = await c.queryStatus({ name: '', sources: ['s1'] });
    const s = r.sources[0]?.sourceStatus;
    return s?.worker === 'w2' && s.relayStatus?.relayCatchUpMaster === true;
  }, { timeoutMs: 60_000 });
  assert.ok(existsSync(join(dir, 'w2', 'server-uuid.index')));
  assert.equal(w1.relayHolder!.current, undefined, 'w1 no longer runs the relay');

  // stop-relay: stage Stopped, no relayStatus
  assert.equal((await c.operateRelay({ op: RelayOp.STOP, source: 's1', workers: [] })).result, true);
  await waitFor('relay stopped', async () => (await relayStatus()) === undefined);
  const pauseStopped = await c.operateRelay({ op: RelayOp.PAUSE, source: 's1', workers: [] }).catch((e: Error) => e);
  assert.match(pauseStopped instanceof Error ? pauseStopped.message : pauseStopped.msg, /30009|not started/);

  // enable-relay: true in the source config starts the relay without start-relay
  await kv.delete().key(keys.sourceRelayStage('s1'));
  assert.equal((await c.operateSource({ op: SourceOp.UPDATE, config: [`${sourceYaml('s1', db.port)}enable-relay: true\n`] })).result, true);
  await waitFor('relay started by enable-relay', async () => (await relayStatus())?.['stage'] === Stage.RUNNING, { timeoutMs: 60_000 });

  // automatic purge: every purge.interval seconds, inactive files go when the free space is below
  // purge.remain-space (100000 GB: always); the active file stays
  await kv.delete().key(keys.sourceRelayStage('s1'));
  const purgeCfg = `${sourceYaml('s1', db.port)}enable-relay: true\npurge:\n  interval: 1\n  expires: 0\n  remain-space: 100000\n`;
  assert.equal((await c.operateSource({ op: SourceOp.UPDATE, config: [purgeCfg] })).result, true);
  const w2sub = async (): Promise<string> => join(dir, 'w2', readIndex(join(dir, 'w2')).at(-1)!);
  for (let i = 0; i < 3; i++) {
    await write(1);
    await db.sql('FLUSH BINARY LOGS');
  }
  await write(1);
  await waitFor('inactive relay files purged automatically', async () => {
    const s2 = await relayStatus();
    const left = listBinlogFiles(await w2sub());
    return s2?.['catchUp'] === true && left.length === 1 && left[0] === (s2['relay'] as { name: string }).name;
  }, { timeoutMs: 60_000 });
});
