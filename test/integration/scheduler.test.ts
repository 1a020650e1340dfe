import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdCluster, MariaDBServer, freePort, waitFor } from '../helpers/index.js';
import { silentLogger } from '../../src/log/index.js';
import { parseMasterConfig, parseWorkerConfig } from '../../src/config/index.js';
import { createMasterClient } from '../../src/rpc/index.js';
import { DMMaster, readClusterView, Scheduler } from '../../src/master/index.js';
import { createEtcdClient, Keys } from '../../src/store/index.js';
import type { Lease } from 'etcd3';
import { setTimeout as sleep } from 'node:timers/promises';
import { DMWorker } from '../../src/worker/index.js';
import { MemberType, SourceOp, WorkerStage } from '../../src/gen/dm/master/v1/master_pb.js';
import { codeOf, sourceYaml } from '../helpers/cluster.js';

const TTL = 2;

/** A dm-master on an external etcd (keepalive-ttl TTL, keys under `prefix`), not started. */
function newMaster(etcd: EtcdCluster, mport: number, prefix: string): DMMaster {
  return new DMMaster({
    config: parseMasterConfig('', {
      overrides: { name: 'm1', 'master-addr': `127.0.0.1:${mport}`, 'etcd-endpoints': etcd.endpoints.join(','), 'keepalive-ttl': TTL, 'etcd-prefix': prefix },
    }),
    logger: silentLogger,
  });
}

/** A started dm-worker joining the master at `mport`. */
async function startedWorker(name: string, mport: number): Promise<DMWorker> {
  const w = new DMWorker({
    config: parseWorkerConfig('', { overrides: { name, 'worker-addr': `127.0.0.1:${await freePort()}`, join: `127.0.0.1:${mport}`, 'keepalive-ttl': TTL } }),
    logger: silentLogger,
  });
  await w.start();
  return w;
}

test('scheduler: transfer-source, refusal of a busy target, offline-member of a stopped worker, rebind to a new free worker', { timeout: 180_000 }, async (t) => {
  const [etcd, db] = await Promise.all([EtcdCluster.start(1), MariaDBServer.start()]);
  const mport = await freePort();
  const master = newMaster(etcd, mport, '/dms/');
  const workers = new Map<string, DMWorker>();
  const startWorker = async (name: string): Promise<void> => {
    workers.set(name, await startedWorker(name, mport));
  };
  t.after(async () => {
    await Promise.all([...workers.values()].map((w) => w.close()));
    await master.close();
    await Promise.all([etcd.stop(), db.stop()]);
  });
  await master.start();
  const mc = createMasterClient(`127.0.0.1:${mport}`);
  await waitFor('leader', async () => (await mc.listMember({ leader: true })).leader?.name === 'm1');
  await startWorker('w1');
  await startWorker('w2');
  await startWorker('w3');
  await mc.operateSource({ op: SourceOp.START, config: [sourceYaml('s1', db.port), sourceYaml('s2', db.port)] });
  const members = async () => Object.fromEntries((await mc.listMember({ worker: true })).workers.map((w) => [w.name, { stage: w.stage, source: w.source }]));
  await waitFor('two bound, one free', async () => {
    const m = await members();
    return Object.values(m).filter((w) => w.stage === WorkerStage.BOUND).length === 2;
  });
  let m = await members();
  const free = Object.entries(m).find(([, w]) => w.stage === WorkerStage.FREE)![0];
  const [busy, busyW] = Object.entries(m).find(([, w]) => w.stage === WorkerStage.BOUND)!;
  const [otherBusy] = Object.entries(m).find(([n, w]) => w.stage === WorkerStage.BOUND && n !== busy)!;

  // transfer to a worker that already has a source: refused, nothing moves.
  assert.equal(await codeOf(mc.transferSource({ source: busyW.source, worker: otherBusy })), 46002);
  assert.deepEqual(await members(), m);
  // transfer to the free worker: the source moves, the old worker becomes free.
  await mc.transferSource({ source: busyW.source, worker: free });
  m = await members();
  assert.equal(m[free]?.source, busyW.source);
  assert.equal(m[busy]?.stage, WorkerStage.FREE);

  // offline-member of a live worker is refused; of a stopped one removes it.
  assert.equal(await codeOf(mc.offlineMember({ type: MemberType.WORKER, name: busy })), 46001);
  await workers.get(busy)!.close();
  await waitFor('stopped worker offline', async () => (await members())[busy]?.stage === WorkerStage.OFFLINE);
  await mc.offlineMember({ type: MemberType.WORKER, name: busy });
  assert.equal((await members())[busy], undefined);

  // A source whose worker stops stays put while no worker is free, and moves as soon as a new
  // free worker registers.
  const holder = otherBusy;
  const held = m[holder]!.source;
  await workers.get(holder)!.close();
  await waitFor('holder offline', async () => (await members())[holder]?.stage === WorkerStage.OFFLINE);
  await startWorker('w9');
  await waitFor('source moved to the new free worker', async () => (await members())['w9']?.source === held);
});

test('scheduler: after a full restart a stale alive key does not cost a worker its source; a worker lost under the new leader is rebound at once', { timeout: 120_000 }, async (t) => {
  const etcd = await EtcdCluster.start(1);
  const client = createEtcdClient({ endpoints: etcd.endpoints });
  const keys = new Keys('/dms-grace/');
  const leases: Lease[] = [];
  const running: Scheduler[] = [];
  t.after(async () => {
    await Promise.all(running.map((r) => r.close()));
    await Promise.allSettled(leases.map((l) => l.revoke()));
    client.close();
    await etcd.stop();
  });
  const alive = async (name: string, keepAlive: boolean): Promise<Lease> => {
    const lease = client.lease(TTL, { autoKeepAlive: keepAlive });
    leases.push(lease);
    await lease.put(keys.workerAlive(name)).value(JSON.stringify({ name, addr: `${name}:1`, startedAt: new Date().toISOString(), ttlSec: TTL }));
    return lease;
  };
  const boundTo = async (source: string): Promise<string | undefined> => (await readClusterView(client, keys)).boundBy.get(source);
  // The state a full restart leaves: s1 bound to w1, whose alive key etcd revived although w1 is
  // down (a lease nobody keeps alive), and w2 already back and free.
  await client.put(keys.sourceConfig('s1')).value('source-id: s1');
  await client.put(keys.sourceBound('w1')).value(JSON.stringify({ source: 's1', worker: 'w1', at: new Date().toISOString() }));
  await alive('w1', false);
  await alive('w2', true);
  await client.put('/dms-grace/fence').value('m1');
  const fenceKv = (await client.get('/dms-grace/fence').exec()).kvs[0]!;
  const fence = { key: '/dms-grace/fence', createRevision: fenceKv.create_revision };
  const GRACE = 8000;
  const sched = new Scheduler({ client, keys, fence: () => fence, onFenceLost: () => undefined, logger: silentLogger, rebindGraceMs: GRACE, resyncMs: 200 });
  running.push(sched);
  const t0 = Date.now();
  sched.start();
  await waitFor('stale w1 key expired', async () => (await client.get(keys.workerAlive('w1')).string()) === null, { timeoutMs: 10_000 });
  await sleep(1500);
  assert.ok(Date.now() - t0 < GRACE - 1000, 'test too slow to observe the grace window');
  assert.equal(await boundTo('s1'), 'w1', 'a stale alive key expiring right after the leader started must not move the source');
  // w1 comes back within the grace and keeps its source.
  const w1 = await alive('w1', true);
  await sleep(GRACE - (Date.now() - t0) + 1000);
  assert.equal(await boundTo('s1'), 'w1');
  // w1, registered under this scheduler, is lost: rebound to w2 within about one TTL.
  const lost = Date.now();
  await w1.revoke();
  await waitFor('s1 rebound to w2', async () => (await boundTo('s1')) === 'w2', { timeoutMs: 5000, intervalMs: 50 });
  assert.ok(Date.now() - lost < 2000, `rebound after ${Date.now() - lost} ms`);
});

test('operate-source create -w: the source is bound to that worker in the same txn (never to another first); a busy worker is refused and nothing is created', { timeout: 120_000 }, async (t) => {
  const [etcd, db] = await Promise.all([EtcdCluster.start(1), MariaDBServer.start()]);
  const mport = await freePort();
  const master = newMaster(etcd, mport, '/dmw/');
  const workers: DMWorker[] = [];
  const client = createEtcdClient({ endpoints: etcd.endpoints });
  const keys = new Keys('/dmw/');
  t.after(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await master.close();
    client.close();
    await Promise.all([etcd.stop(), db.stop()]);
  });
  await master.start();
  const mc = createMasterClient(`127.0.0.1:${mport}`);
  await waitFor('leader', async () => (await mc.listMember({ leader: true })).leader?.name === 'm1');
  for (const name of ['w1', 'w2']) workers.push(await startedWorker(name, mport));
  await waitFor('both workers free', async () => (await mc.listMember({ worker: true })).workers.filter((w) => w.stage === WorkerStage.FREE).length === 2);
  // every binding ever written, in order
  const puts: string[] = [];
  const watcher = await client.watch().prefix(keys.sourceBound()).create();
  watcher.on('put', (kv) => puts.push(`${kv.key.toString().slice(keys.sourceBound().length)}=${JSON.parse(kv.value.toString()).source}`));
  t.after(() => watcher.cancel());

  // w1 is what the scheduler would pick (first free by name); -w asks for w2
  const r = await mc.operateSource({ op: SourceOp.START, config: [sourceYaml('s1', db.port)], workerName: 'w2' });
  assert.equal(r.sources[0]?.worker, 'w2');
  const bound = async (): Promise<Record<string, string>> => Object.fromEntries((await mc.listMember({ worker: true })).workers.map((w) => [w.name, w.source]));
  assert.deepEqual(await bound(), { w1: '', w2: 's1' });
  await waitFor('the binding was seen by the watch', async () => puts.length > 0);
  // a second source without -w goes to the remaining free worker
  await mc.operateSource({ op: SourceOp.START, config: [sourceYaml('s2', db.port)] });
  await waitFor('s2 bound to w1', async () => (await bound())['w1'] === 's2');
  assert.deepEqual(puts, ['w2=s1', 'w1=s2'], 's1 was never bound to another worker first');

  // -w to a busy worker: refused before anything is written
  assert.equal(await codeOf(mc.operateSource({ op: SourceOp.START, config: [sourceYaml('s3', db.port)], workerName: 'w1' })), 46002);
  assert.deepEqual((await mc.operateSource({ op: SourceOp.SHOW })).sources.map((s) => s.source).sort(), ['s1', 's2']);
  // -w with two configs is a request error
  assert.equal(await codeOf(mc.operateSource({ op: SourceOp.START, config: [sourceYaml('s3', db.port), sourceYaml('s4', db.port)], workerName: 'w1' })), 38008);
});
