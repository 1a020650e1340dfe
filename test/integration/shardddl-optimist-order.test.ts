/**
 * Optimistic shard DDL across two sources, with the real lock keeper (fenced on a key the test owns,
 * as the leader's election key) and two real sync units on two MariaDB sources (shard_1.t on
 * source 1, shard_2.t on source 2 → merged.t):
 *
 * source 1 adds column c: the keeper answers "run ADD COLUMN" — and source 1's worker is slow to
 * run it (its client holds the answer 3 s, as a loaded worker would). Source 2 adds c meanwhile:
 * the keeper answers "nothing to run" (the merged table's joined structure already has c), and
 * source 2's next row names c. That row must wait until source 1 ran the DDL on the target (seen
 * in the e2e shardddl_transfer as 1054 "Unknown column 'c'" pausing source 2). The target ends
 * equal to the union of the shards, with no error on either unit and no lock left.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdCluster, MariaDBServer, waitFor } from '../helpers/index.js';
import { SyncUnit } from '../../src/units/sync/index.js';
import { createEtcdClient, Keys, shardLockId } from '../../src/store/index.js';
import { etcdShardDDLClient } from '../../src/worker/shardddl-client.js';
import { ShardDDLKeeper, showLocks } from '../../src/master/shardddl/index.js';
import { masterPos, syncConfig } from './sync-fixture.js';

void test('optimistic: a shard answered "nothing to run" waits for the DDL another shard runs on the target', { timeout: 300_000 }, async (t) => {
  const [src1, src2, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start(), MariaDBServer.start()]);
  const etcd = await EtcdCluster.start(1);
  const client = createEtcdClient({ endpoints: etcd.endpoints });
  const keys = new Keys(`/shard-order-${process.pid}/`);
  const fenceKey = `${keys.prefix}test-leader`;
  await client.put(fenceKey).value('leader');
  const fenceRev = (await client.get(fenceKey).exec()).kvs[0]?.create_revision ?? '';
  const keeper = new ShardDDLKeeper({ client, keys, fence: () => ({ key: fenceKey, createRevision: fenceRev }), onFenceLost: () => undefined, resyncMs: 500 });
  const units: SyncUnit[] = [];
  t.after(async () => {
    for (const u of units) await u.close();
    await keeper.close();
    client.close();
    await Promise.all([src1.stop(), src2.stop(), dst.stop(), etcd.stop()]);
  });
  for (const s of ['mysql-01', 'mysql-02']) await client.put(keys.subtask(s, 'test')).value(JSON.stringify({ task: '', sourceId: s }));
  keeper.start();
  const [start1, start2] = await Promise.all([masterPos(src1), masterPos(src2)]);
  await src1.sql('CREATE DATABASE shard_1; CREATE TABLE shard_1.t (id INT PRIMARY KEY, v INT); INSERT INTO shard_1.t VALUES (1001, 1)');
  await src2.sql('CREATE DATABASE shard_2; CREATE TABLE shard_2.t (id INT PRIMARY KEY, v INT); INSERT INTO shard_2.t VALUES (2001, 1)');

  // source 1's worker is slow to act on an answer with DDLs to run
  const real = etcdShardDDLClient(client, keys);
  let slowed = 0;
  const slow: typeof real = {
    ...real,
    waitOptimisticOp: async (...args: Parameters<typeof real.waitOptimisticOp>) => {
      const op = await real.waitOptimisticOp(...args);
      if (op.ddls.length > 0) {
        slowed++;
        await new Promise((r) => setTimeout(r, 3000));
      }
      return op;
    },
  };
  const routes = [
    { schemaPattern: 'shard_*', targetSchema: 'merged' },
    { schemaPattern: 'shard_*', tablePattern: 't', targetSchema: 'merged', targetTable: 't' },
  ];
  const run = async (src: MariaDBServer, sourceId: string, start: Awaited<ReturnType<typeof masterPos>>, shard: typeof real): Promise<{ unit: SyncUnit; running: Promise<{ errors: { code: number; message: string }[] }> }> => {
    const unit = new SyncUnit(
      syncConfig(src, dst, { sourceId, start, baList: { doDbs: ['shard_*'] }, routes, shard: { mode: 'optimistic', client: shard, maxHoldBytes: 1 << 20 } }),
      { heartbeatMs: 200 },
    );
    units.push(unit);
    const ac = new AbortController();
    await unit.init(ac.signal);
    return { unit, running: unit.process(ac.signal) };
  };
  const u1 = await run(src1, 'mysql-01', start1, slow);
  const u2 = await run(src2, 'mysql-02', start2, real);
  const ok = (): void => {
    for (const u of [u1, u2]) {
      const st = u.unit.status();
      if (st['error'] !== undefined) throw new Error(`sync unit stopped: ${JSON.stringify(st['error'])}`);
    }
  };
  const ids = async (): Promise<number[]> => ((await dst.sql('SELECT id FROM merged.t ORDER BY id').catch(() => [])) as { id: number }[]).map((r) => r.id);
  await waitFor('initial rows', async () => (ok(), (await ids()).length === 2), { timeoutMs: 60_000 });

  await src1.sql('ALTER TABLE shard_1.t ADD COLUMN c INT');
  await waitFor('source 1 got its answer (ADD COLUMN to run)', () => Promise.resolve(slowed === 1), { timeoutMs: 30_000 });
  await src2.sql('ALTER TABLE shard_2.t ADD COLUMN c INT; INSERT INTO shard_2.t VALUES (2002, 2, 22)');
  await src1.sql('INSERT INTO shard_1.t VALUES (1002, 2, 12)');
  const union = async (): Promise<unknown[]> => {
    const rows = [...(await src1.sql('SELECT id, v, c FROM shard_1.t')), ...(await src2.sql('SELECT id, v, c FROM shard_2.t'))];
    return rows.sort((a, b) => Number(a['id']) - Number(b['id']));
  };
  let last: unknown[] = [];
  await waitFor('target equals the union of the shards', async () => {
    ok();
    last = await dst.sql('SELECT id, v, c FROM merged.t ORDER BY id').catch(() => []);
    return JSON.stringify(last) === JSON.stringify(await union());
  }, { timeoutMs: 60_000 }).catch(async (e: unknown) => {
    throw new Error(`${(e as Error).message}: ${JSON.stringify(last)} vs ${JSON.stringify(await union())}`);
  });
  await waitFor('no lock left', async () => (await showLocks(client, keys, 'test')).every((l) => l.id !== shardLockId('test', 'merged', 't')), { timeoutMs: 30_000 });
  for (const u of [u1, u2]) {
    u.unit.pause();
    assert.deepEqual((await u.running).errors, []);
  }
});
