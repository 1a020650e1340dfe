/**
 * `binlog skip` of an optimistic shard DDL conflict, with the real lock keeper
 * (src/master/shardddl/keeper.ts, fenced on a key the test owns as the leader's election key) and
 * a real sync unit on real MariaDB (one source, shards shard_1.t and shard_2.t → merged.t):
 *
 * 1. shard_1 changes `v` INT → VARCHAR (the types do not join): the keeper detects a conflict, the
 *    unit stops with 36102, `shard-ddl-lock` shows the lock in error;
 * 2. the operator skips the DDL (the onFailedEvent hook, what `binlog skip` feeds) and resumes:
 *    the lock leaves the error stage but stays (shard_2 still has the old type: the lock is still
 *    needed, nothing is removed under it);
 * 3. shard_2 makes the same change: conflict again (the merged table still has INT), skipped again:
 *    every shard agrees now, the keeper clears the lock (no lock key left, the lock count the
 *    keeper reports — dm_master_ddl_state_number — back to 0), and the target ends equal to the
 *    union of the shards.
 * Before the fix, the skipped conflict's operation stayed `detected` and never done: the lock
 * stayed in etcd forever.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdCluster, MariaDBServer, waitFor } from '../helpers/index.js';
import { SyncUnit, type FailedEventDecision } from '../../src/units/sync/index.js';
import { createEtcdClient, Keys, shardLockId } from '../../src/store/index.js';
import { etcdShardDDLClient } from '../../src/worker/shardddl-client.js';
import { ShardDDLKeeper, showLocks, type LockView } from '../../src/master/shardddl/index.js';
import { masterPos, syncConfig } from './sync-fixture.js';

void test('optimistic conflict skipped with binlog skip: the lock stays while a shard still needs it, then clears', { timeout: 300_000 }, async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const etcd = await EtcdCluster.start(1);
  const client = createEtcdClient({ endpoints: etcd.endpoints });
  const keys = new Keys(`/shard-skip-${process.pid}/`);
  const fenceKey = `${keys.prefix}test-leader`;
  await client.put(fenceKey).value('leader');
  const fenceRev = (await client.get(fenceKey).exec()).kvs[0]?.create_revision ?? '';
  let lockCount = -1;
  const keeper = new ShardDDLKeeper({
    client,
    keys,
    fence: () => ({ key: fenceKey, createRevision: fenceRev }),
    onFenceLost: () => undefined,
    resyncMs: 500,
    metrics: { locks: (v: LockView[]) => (lockCount = v.length), error: () => undefined },
  });
  const units: SyncUnit[] = [];
  t.after(async () => {
    for (const u of units) await u.close();
    await keeper.close();
    client.close();
    await Promise.all([src.stop(), dst.stop(), etcd.stop()]);
  });
  // the task's one subtask (the keeper's task sources)
  await client.put(keys.subtask('mysql-01', 'test')).value(JSON.stringify({ task: '', sourceId: 'mysql-01' }));
  keeper.start();
  const start = await masterPos(src);
  await src.sql('CREATE DATABASE shard_1; CREATE TABLE shard_1.t (id INT PRIMARY KEY, v INT); CREATE DATABASE shard_2; CREATE TABLE shard_2.t (id INT PRIMARY KEY, v INT)');
  await src.sql('INSERT INTO shard_1.t VALUES (1001, 1); INSERT INTO shard_2.t VALUES (2001, 1)');
  let skip = false;
  const run = async (): Promise<{ unit: SyncUnit; running: Promise<{ errors: { code: number; message: string }[] }> }> => {
    const unit = new SyncUnit(
      syncConfig(src, dst, {
        start,
        baList: { doDbs: ['shard_*'] },
        routes: [
          { schemaPattern: 'shard_*', targetSchema: 'merged' },
          { schemaPattern: 'shard_*', tablePattern: 't', targetSchema: 'merged', targetTable: 't' },
        ],
        shard: { mode: 'optimistic', client: etcdShardDDLClient(client, keys), maxHoldBytes: 1 << 20 },
        onFailedEvent: (): Promise<FailedEventDecision> => Promise.resolve(skip ? { action: 'skip' } : { action: 'fail' }),
      }),
      { heartbeatMs: 200 },
    );
    units.push(unit);
    const ac = new AbortController();
    await unit.init(ac.signal);
    return { unit, running: unit.process(ac.signal) };
  };
  const ids = async (): Promise<number[]> => ((await dst.sql('SELECT id FROM merged.t ORDER BY id').catch(() => [])) as { id: number }[]).map((r) => r.id);
  const lockId = shardLockId('test', 'merged', 't');
  const lock = async (): Promise<LockView | undefined> => (await showLocks(client, keys, 'test')).find((l) => l.id === lockId);
  let { unit, running } = await run();
  const ok = (): void => {
    const st = unit.status();
    if (st['error'] !== undefined) throw new Error(`sync unit stopped: ${JSON.stringify(st['error'])}`);
  };
  await waitFor('initial rows', async () => (ok(), (await ids()).length === 2), { timeoutMs: 60_000 });

  // 1. the conflict
  await src.sql("ALTER TABLE shard_1.t MODIFY v VARCHAR(20); INSERT INTO shard_1.t VALUES (1002, '2')");
  const r1 = await running;
  assert.equal(r1.errors[0]?.code, 36102, JSON.stringify(r1.errors));
  assert.equal((await lock())?.stage, 'error');
  await unit.close();

  // 2. binlog skip, resume: rows flow, the lock waits for shard_2 (no longer in error)
  skip = true;
  ({ unit, running } = await run());
  await src.sql('INSERT INTO shard_2.t VALUES (2002, 2)');
  await waitFor('rows after the first skip', async () => (ok(), (await ids()).includes(1002) && (await ids()).includes(2002)), { timeoutMs: 60_000 });
  await waitFor('the lock out of the error stage', async () => (await lock())?.stage === 'waiting', { timeoutMs: 20_000 });
  await new Promise((r) => setTimeout(r, 1500)); // a few keeper passes
  const waiting = await lock();
  assert.ok(waiting, 'the lock stays while shard_2 still has the old type');
  assert.deepEqual(waiting.unsynced, ['mysql-01-`shard_1`.`t`']);
  assert.ok(lockCount >= 1);
  unit.pause();
  assert.deepEqual((await running).errors, []);
  await unit.close();

  // 3. shard_2 makes the same change: a conflict again, skipped again; every shard agrees: cleared
  skip = false;
  ({ unit, running } = await run());
  await src.sql("ALTER TABLE shard_2.t MODIFY v VARCHAR(20); INSERT INTO shard_2.t VALUES (2003, '3')");
  const r2 = await running;
  assert.equal(r2.errors[0]?.code, 36102, JSON.stringify(r2.errors));
  await unit.close();
  skip = true;
  ({ unit, running } = await run());
  await src.sql("INSERT INTO shard_1.t VALUES (1004, '4')");
  await waitFor('the lock cleared', async () => (await lock()) === undefined && lockCount === 0, { timeoutMs: 30_000 });
  assert.deepEqual((await client.getAll().prefix(keys.shardDDL('optimism')).keys()).map(String).filter((k) => !k.includes('/source-tables/')), [], 'no lock, info or operation key left');
  const union = async (): Promise<unknown[]> => {
    const rows: Record<string, unknown>[] = [];
    for (const n of [1, 2]) rows.push(...(await src.sql(`SELECT id, CAST(v AS CHAR) AS v FROM shard_${n}.t`)));
    return rows.sort((a, b) => Number(a['id']) - Number(b['id']));
  };
  let last: unknown[] = [];
  await waitFor('target equals the union of the shards', async () => {
    ok();
    last = await dst.sql('SELECT id, CAST(v AS CHAR) AS v FROM merged.t ORDER BY id');
    return JSON.stringify(last) === JSON.stringify(await union());
  }, { timeoutMs: 60_000 }).catch(async (e: unknown) => {
    throw new Error(`${(e as Error).message}: ${JSON.stringify(last)} vs ${JSON.stringify(await union())}`);
  });
  unit.pause();
  assert.deepEqual((await running).errors, []);
});
