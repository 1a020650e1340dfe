/**
 * Shard DDL writes of a dm-worker are bound to its binding (issue 13, operations during a lock):
 * on a real etcd with the real lock keeper (src/master/shardddl/keeper.ts, fenced on a key the
 * test owns, as the leader's election key), the worker side (src/worker/shardddl-client.ts) is
 * given the binding `source/bound/<worker>` it started under. After the scheduler's moves (the
 * same etcd txn shape as transfer-source: delete the old worker's binding, put the new one):
 *
 * - pessimistic: the owner's source moves to another worker while the lock waits for the other
 *   source; the keeper then asks the owner to execute; the stale worker's `done` fails with 40007
 *   and the lock does not move (the non-owner gets no operation); the new worker's `done` moves it;
 * - a stale worker's info and source tables (both modes) fail with 40007 and leave no key;
 * - a worker bound again to the same source (moved away and back) has a new binding revision:
 *   the client of the first binding stays refused.
 */
import { test } from 'node:test';
import type { IOperation } from 'etcd3';
import assert from 'node:assert/strict';
import { EtcdCluster, waitFor } from '../helpers/index.js';
import { createEtcdClient, Keys, shardKeys, shardLockId, type PessimisticInfo, type PessimisticOperation, type SourceBound } from '../../src/store/index.js';
import { etcdShardDDLClient, type ShardDDLBinding } from '../../src/worker/shardddl-client.js';
import { ShardDDLKeeper } from '../../src/master/shardddl/index.js';
import { DMError } from '../../src/errors/index.js';

const TASK = 'tb';

void test('shard DDL writes of a worker that lost its source fail with 40007 and never move a lock', { timeout: 120_000 }, async (t) => {
  const etcd = await EtcdCluster.start(1);
  const client = createEtcdClient({ endpoints: etcd.endpoints });
  const keys = new Keys(`/shard-bind-${process.pid}/`);
  const fenceKey = `${keys.prefix}test-leader`;
  await client.put(fenceKey).value('leader');
  const fenceRev = (await client.get(fenceKey).exec()).kvs[0]?.create_revision ?? '';
  const keeper = new ShardDDLKeeper({ client, keys, fence: () => ({ key: fenceKey, createRevision: fenceRev }), onFenceLost: () => undefined, resyncMs: 500 });
  t.after(async () => {
    await keeper.close();
    client.close();
    await etcd.stop();
  });

  /** The scheduler's bind: `source/bound/<worker>` (moving it from `from` in the same txn); the new binding. */
  const bind = async (source: string, worker: string, from?: string): Promise<ShardDDLBinding> => {
    const rec = JSON.stringify({ source, worker, at: new Date().toISOString() } satisfies SourceBound);
    const txn = client.if(keys.sourceBound(worker), 'Create', '==', 0);
    const ops: IOperation[] = [client.put(keys.sourceBound(worker)).value(rec)];
    if (from) ops.unshift(client.delete().key(keys.sourceBound(from)));
    const res = await txn.then(...ops).commit();
    assert.ok(res.succeeded, `bind ${source} to ${worker}`);
    return { worker, source, boundRevision: (await client.get(keys.sourceBound(worker)).exec()).kvs[0]?.mod_revision ?? '' };
  };
  const codeOf = async (p: Promise<unknown>): Promise<number> => {
    try {
      await p;
    } catch (e) {
      if (e instanceof DMError) return e.code;
      throw e;
    }
    return 0;
  };
  const get = async <T>(key: string): Promise<T | undefined> => {
    const v = await client.get(key).string();
    return v === null ? undefined : (JSON.parse(v) as T);
  };

  // the task's subtasks on both sources (the keeper's task sources)
  for (const s of ['s1', 's2']) await client.put(keys.subtask(s, TASK)).value(JSON.stringify({ task: '', sourceId: s }));
  const w1 = await bind('s1', 'w1');
  const w2 = await bind('s2', 'w2');
  const stale = etcdShardDDLClient(client, keys, w1);
  const c2 = etcdShardDDLClient(client, keys, w2);
  keeper.start();

  const lockId = shardLockId(TASK, 'db', 't');
  const info = (source: string): PessimisticInfo => ({ task: TASK, source, upSchema: 'shard', upTable: 't', downSchema: 'db', downTable: 't', ddls: ['ALTER TABLE `db`.`t` ADD COLUMN `c` INT'], position: 'mysql-bin.000001:1000' });

  await t.test('pessimistic: the owner moves while the lock waits; the stale owner cannot mark its operation done', async () => {
    await stale.putPessimisticInfo(info('s1')); // s1 is the owner (first info), still bound to w1
    // transfer-source s1 w3 while the lock waits for s2
    const w3 = await bind('s1', 'w3', 'w1');
    const fresh = etcdShardDDLClient(client, keys, w3);
    await c2.putPessimisticInfo(info('s2'));
    const ownerOp = await waitFor('the owner\'s exec operation', async () => {
      const op = await get<PessimisticOperation>(shardKeys.pessimisticOp(keys, TASK, 's1'));
      return op?.exec === true ? op : undefined;
    });
    assert.equal(ownerOp.lockId, lockId);
    // the old worker (its subtask did not stop in time) ran the DDL and reports done: refused
    assert.equal(await codeOf(stale.markPessimisticDone(ownerOp)), 40007);
    assert.equal((await get<PessimisticOperation>(shardKeys.pessimisticOp(keys, TASK, 's1')))?.done, false, 'the stale done was not written');
    // the lock did not move: no operation for the non-owner after the keeper's passes
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await get<PessimisticOperation>(shardKeys.pessimisticOp(keys, TASK, 's2')), undefined, 'the non-owner got no operation from a stale done');
    // the stale worker's next info (a DDL it replays) is refused too, and leaves the key as it was
    assert.equal(await codeOf(stale.putPessimisticInfo({ ...info('s1'), ddls: ['ALTER TABLE `db`.`t` ADD COLUMN `d` INT'] })), 40007);
    assert.deepEqual((await get<PessimisticInfo>(shardKeys.pessimisticInfo(keys, TASK, 's1')))?.ddls, info('s1').ddls);
    // the new worker of s1 (which replays the DDL from its checkpoint) finishes the round
    await fresh.markPessimisticDone(ownerOp);
    const skipOp = await waitFor('the non-owner\'s skip operation', async () => {
      const op = await get<PessimisticOperation>(shardKeys.pessimisticOp(keys, TASK, 's2'));
      return op && !op.exec ? op : undefined;
    });
    await c2.markPessimisticDone(skipOp);
    await waitFor('the lock resolved', async () => (await client.getAll().prefix(shardKeys.pessimisticLock(keys, TASK)).keys()).length === 0);
  });

  await t.test('optimistic: a stale worker puts no info and no source tables', async () => {
    assert.equal(await codeOf(stale.putSourceTables({ task: TASK, source: 's1', tables: { db: { t: { shard: ['t'] } } } })), 40007);
    assert.equal(await get(shardKeys.sourceTables(keys, TASK, 's1')), undefined);
    const col = { name: 'id', columnType: 'int(11)', dataType: 'int', unsigned: false, nullable: false, charset: null, generated: false };
    const struct = { schema: 'shard', table: 't', columns: [col], keyColumns: ['id'], uniqueKeys: [], charset: 'utf8mb4' };
    const oinfo = { task: TASK, source: 's1', upSchema: 'shard', upTable: 't', downSchema: 'db', downTable: 't', ddls: ['ALTER TABLE `db`.`t` ADD COLUMN `c` INT'], tableInfoBefore: struct, tableInfosAfter: [struct] };
    assert.equal(await codeOf(stale.putOptimisticInfo(oinfo)), 40007);
    assert.equal(await get(shardKeys.optimisticInfo(keys, TASK, 's1', 'shard', 't')), undefined);
    // a client may write only its own source's records
    assert.equal(await codeOf(c2.putOptimisticInfo(oinfo)), 40007);
    // the bound worker of s2 writes (the guard passes)
    assert.ok((await c2.putOptimisticInfo({ ...oinfo, source: 's2' })) >= 1);
  });

  await t.test('bound again to the same source: the first binding stays refused', async () => {
    // s2 moves w2 → w4 and back to w2: a new binding of w2, a new revision
    await bind('s2', 'w4', 'w2');
    const again = await bind('s2', 'w2', 'w4');
    assert.notEqual(again.boundRevision, w2.boundRevision);
    assert.equal(await codeOf(c2.putSourceTables({ task: TASK, source: 's2', tables: {} })), 40007);
    await etcdShardDDLClient(client, keys, again).putSourceTables({ task: TASK, source: 's2', tables: {} });
    assert.deepEqual(await get(shardKeys.sourceTables(keys, TASK, 's2')), { task: TASK, source: 's2', tables: {} });
  });
});
