import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdCluster, waitFor } from '../helpers/index.js';
import { DMError } from '../../src/errors/index.js';
import { silentLogger } from '../../src/log/index.js';
import { createEtcdClient, Keys, LeaderElection, leaderTxn, PrefixWatcher, type KV } from '../../src/store/index.js';

test('store: leader election, fenced writes of a deposed leader fail, watch resumes after compaction', async (t) => {
  const etcd = await EtcdCluster.start(1);
  const a = createEtcdClient({ endpoints: etcd.endpoints });
  const b = createEtcdClient({ endpoints: etcd.endpoints });
  const keys = new Keys(`/dmtest-${process.pid}/`);
  const ea = new LeaderElection(a, keys, { name: 'a', addr: 'a:1' }, 2, silentLogger);
  const eb = new LeaderElection(b, keys, { name: 'b', addr: 'b:1' }, 2, silentLogger);
  t.after(async () => {
    await Promise.allSettled([ea.close(), eb.close()]);
    a.close();
    b.close();
    await etcd.stop();
  });

  await t.test('one leader; both see it; its fenced txn writes', async () => {
    ea.start();
    await waitFor('a elected', async () => ea.isLeader);
    eb.start();
    await waitFor('b sees a', async () => eb.leader?.name === 'a');
    assert.equal(eb.isLeader, false);
    assert.equal(await leaderTxn(a, ea.fence, [a.put(keys.taskConfig('t1')).value('v1')]), true);
    assert.equal(await a.get(keys.taskConfig('t1')).string(), 'v1');
  });

  await t.test('after losing the election lease, the old fence is rejected and nothing is written', async () => {
    const old = ea.fence;
    assert.ok(old);
    // Simulate lease expiry: delete the leader's election key as etcd does when the lease ends.
    await a.delete().key(old.key).exec();
    await waitFor('b becomes leader', async () => eb.isLeader, { timeoutMs: 15_000 });
    await assert.rejects(
      leaderTxn(a, old, [a.put(keys.taskConfig('t1')).value('from-deposed')]),
      (e: unknown) => e instanceof DMError && e.codeName === 'ErrEtcdFenced',
    );
    assert.equal(await a.get(keys.taskConfig('t1')).string(), 'v1');
    assert.equal(await leaderTxn(b, eb.fence, [b.put(keys.taskConfig('t1')).value('v2')]), true);
    assert.equal(await b.get(keys.taskConfig('t1')).string(), 'v2');
  });

  await t.test('evict resigns and stays out; cancel-evict campaigns again', async () => {
    eb.evict();
    await waitFor('a leader again', async () => ea.isLeader, { timeoutMs: 15_000 });
    assert.equal(eb.stateName, 'Evicted');
    ea.evict();
    await waitFor('nobody leads', async () => (await ea.readLeader()) === undefined, { timeoutMs: 10_000 });
    eb.cancelEvict();
    await waitFor('b leads', async () => eb.isLeader, { timeoutMs: 15_000 });
    ea.cancelEvict();
  });

  await t.test('a prefix watch delivers every change in order and survives a compaction', async () => {
    const seen = new Map<string, string>();
    let resets = 0;
    const w = new PrefixWatcher(a, keys.sourceConfig(), {
      reset: (kvs: KV[]) => {
        resets++;
        seen.clear();
        for (const kv of kvs) seen.set(Keys.lastPart(kv.key), kv.value);
      },
      put: (kv) => seen.set(Keys.lastPart(kv.key), kv.value),
      del: (k) => seen.delete(Keys.lastPart(k)),
    });
    w.start();
    t.after(() => w.close());
    await a.put(keys.sourceConfig('s1')).value('one').exec();
    await waitFor('s1 seen', async () => seen.get('s1') === 'one');
    // Compact beyond the watch's revision while it is disconnected from new events.
    const res = await a.put(keys.sourceConfig('s2')).value('two').exec();
    await a.put(keys.sourceConfig('s1')).value('uno').exec();
    await a.delete().key(keys.sourceConfig('s2')).exec();
    const rev = BigInt(res.header.revision) + 2n;
    await a.kv.compact({ revision: String(rev), physical: true }).catch(() => undefined);
    await a.put(keys.sourceConfig('s3')).value('three').exec();
    await waitFor('final state seen', async () => seen.get('s1') === 'uno' && !seen.has('s2') && seen.get('s3') === 'three');
    assert.ok(resets >= 1);
  });
});
