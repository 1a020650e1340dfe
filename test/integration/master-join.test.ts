import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { waitFor } from '../helpers/index.js';
import { LeaderOp, MemberType } from '../../src/gen/dm/master/v1/master_pb.js';
import { fromConnectError } from '../../src/rpc/index.js';
import { DMCluster } from '../helpers/cluster.js';

test('master: a second master joins with --join; evict moves leadership; offline-member removes a stopped master', { timeout: 300_000 }, async (t) => {
  const c = new DMCluster('join');
  t.after(() => c.close());
  await c.startMasters(1, 3);
  await c.joinMaster('m2');
  await waitFor('two alive masters, one etcd member each', async () => {
    const r = await c.client(1).listMember({ master: true });
    return r.masters.length === 2 && r.masters.every((m) => m.alive && m.memberId !== '');
  }, { timeoutMs: 30_000 });

  // operate-leader evict (asked through the follower): leadership moves to m2 and stays there.
  await c.client(1).operateLeader({ op: LeaderOp.EVICT, name: 'm1' });
  await waitFor('m2 leads', async () => (await c.client(0).listMember({ leader: true })).leader?.name === 'm2', { timeoutMs: 30_000 });
  const ms = await c.client(0).listMember({ master: true });
  assert.equal(ms.masters.find((m) => m.name === 'm1')?.evicted, true);
  await c.client(0).operateLeader({ op: LeaderOp.CANCEL_EVICT, name: 'm1' });

  // A running master cannot be taken offline; a stopped one can (its etcd member is removed).
  try {
    await c.client(0).offlineMember({ type: MemberType.MASTER, name: 'm1' });
    assert.fail('offlining a live master must fail');
  } catch (e) {
    assert.equal(fromConnectError(e).code, 46001);
  }
  // Grow to three members first, so that two keep a quorum when m1 stops.
  await c.joinMaster('m3');
  await c.stop(c.masters[0]!);
  let lastErr = '';
  await waitFor('m1 removed', async () => {
    const r = await c.client(2).offlineMember({ type: MemberType.MASTER, name: 'm1' }).catch((e: unknown) => {
      lastErr = String(e);
      return { result: false };
    });
    return r.result;
  }, { timeoutMs: 60_000 }).catch((e: Error) => {
    const tail = (f: string): string => {
      try {
        return readFileSync(f, 'utf8').split('\n').slice(-15).join('\n');
      } catch {
        return '(no log)';
      }
    };
    const logs = c.masters.slice(1).map((m) => `--- ${m.name} (alive: ${c.alive(m)}) ---\n${tail(m.log)}`).join('\n');
    throw new Error(`${e.message}; last error: ${lastErr}\n${logs}`);
  });
  const after = await c.client(2).listMember({ master: true });
  assert.deepEqual(after.masters.map((m) => m.name).sort(), ['m2', 'm3']);

  // DM's other way in: `etcdctl member add`, then a master with that initial-cluster and
  // `initial-cluster-state: existing` (a master that bootstrapped as `new` would not join)
  await c.addMasterExisting('m4');
  await waitFor('m4 is a third live master with its own etcd member', async () => {
    const r = await c.client(2).listMember({ master: true });
    return r.masters.length === 3 && r.masters.every((m) => m.alive && m.memberId !== '') && r.masters.some((m) => m.name === 'm4');
  }, { timeoutMs: 30_000 });
});
