/**
 * shard-mode optimistic, worker side, on real MariaDB and etcd, the lock keeper played by the test
 * (shard-fake-leader.ts):
 *
 * - SourceTables at start and again on CREATE TABLE of a new shard;
 * - each shard DDL → an OptimisticInfo with the tracked structure before and after it; the worker
 *   runs exactly the operation's DDLs (none for the first DROP COLUMN, the DROP for the last);
 *   rows are never held back;
 * - conflictStage 'detected' pauses the subtask with 36102; `binlog skip` (the onFailedEvent hook)
 *   gets past it on resume; the target ends equal to the union of the shards.
 *
 * With the real lock keeper (src/master/shardddl, in-process on the same etcd), a column rename:
 * - non-strict (`strict-optimistic-shard-mode: false`): the shard that renamed waits, its rows are
 *   held back (through the spill file; other shards' rows flow), a restart of the worker mid-wait
 *   loses nothing, and when the other shard renames too the merged table is renamed once and every
 *   row lands; past the spill file's limit, 36104;
 * - strict: the rename conflicts at once (36102); non-strict: another DDL of the lock while a shard
 *   waits conflicts (36102);
 * - shard tables created while a rename waits: with the renamed column they wait with it (rows held
 *   back), with the old one their rows flow and the lock waits for them (shard-ddl-lock's message
 *   says to rename them upstream); once they do, the merged table is renamed and every row lands;
 * - `binlog replace` of a conflict, the worker killed (-9, sync-runner.ts) after it put the info
 *   again with ignoreConflict and before the replacement's ledger row: the replay runs the
 *   replacement (kept in the info) once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { EtcdCluster, MariaDBServer, trackChild, waitFor } from '../helpers/index.js';
import { SyncUnit, type FailedEventDecision, type SyncConfig } from '../../src/units/sync/index.js';
import type { Etcd3 } from 'etcd3';
import { createEtcdClient, Keys, shardKeys, shardLockId, type OptimisticInfo, type OptimisticOperation, type SourceTables } from '../../src/store/index.js';
import { ShardDDLKeeper, showLocks } from '../../src/master/shardddl/index.js';
import { etcdShardDDLClient } from '../../src/worker/shardddl-client.js';
import { masterPos, syncConfig } from './sync-fixture.js';
import { fakeOptimisticLeader } from './shard-fake-leader.js';

void test('optimistic: infos with structures, operations obeyed, conflict pauses with 36102, binlog skip resumes', { timeout: 300_000 }, async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const etcd = await EtcdCluster.start(1);
  const client = createEtcdClient({ endpoints: etcd.endpoints });
  const keys = new Keys(`/shard-o-${process.pid}/`);
  const leaderAc = new AbortController();
  const drops = new Map<string, Set<string>>();
  const leader = fakeOptimisticLeader(
    client,
    keys,
    'test',
    (info: OptimisticInfo) => {
      const ddl = info.ddls[0] ?? '';
      if (/MODIFY/i.test(ddl)) return { ddls: [], conflictStage: 'detected', conflictMsg: 'ErrShardDDLOptimismTrySyncFail: incompatible column type change' };
      const drop = /DROP COLUMN (\w+)/i.exec(ddl)?.[1];
      if (drop) {
        // DM: a column is dropped from the merged table when the last shard dropped it
        const who = drops.get(drop) ?? new Set();
        who.add(`${info.upSchema}.${info.upTable}`);
        drops.set(drop, who);
        return { ddls: who.size === 2 ? info.ddls : [], conflictStage: 'none' };
      }
      if (/ADD COLUMN/i.test(ddl) && info.upSchema !== 'shard_1') return { ddls: [], conflictStage: 'none' }; // already on the target
      return { ddls: info.ddls, conflictStage: 'none' };
    },
    leaderAc.signal,
  );
  const units: SyncUnit[] = [];
  t.after(async () => {
    leaderAc.abort();
    await leader.done.catch(() => undefined);
    for (const u of units) await u.close();
    client.close();
    await Promise.all([src.stop(), dst.stop(), etcd.stop()]);
  });
  const start = await masterPos(src);
  await src.sql('CREATE DATABASE shard_1; CREATE TABLE shard_1.t (id INT PRIMARY KEY, v INT, w INT); CREATE DATABASE shard_2; CREATE TABLE shard_2.t (id INT PRIMARY KEY, v INT, w INT)');
  await src.sql('INSERT INTO shard_1.t VALUES (1001, 1, 1); INSERT INTO shard_2.t VALUES (2001, 1, 1)');
  let skip = false;
  const cfg = (): SyncConfig =>
    syncConfig(src, dst, {
      start,
      baList: { doDbs: ['shard_*'] },
      routes: [
        { schemaPattern: 'shard_*', targetSchema: 'merged' },
        { schemaPattern: 'shard_*', tablePattern: 't', targetSchema: 'merged', targetTable: 't' },
      ],
      shard: { mode: 'optimistic', client: etcdShardDDLClient(client, keys), maxHoldBytes: 1 << 20 },
      onFailedEvent: (): Promise<FailedEventDecision> => Promise.resolve(skip ? { action: 'skip' } : { action: 'fail' }),
    });
  const run = async (): Promise<{ unit: SyncUnit; running: Promise<{ errors: { code: number; message: string }[] }> }> => {
    const unit = new SyncUnit(cfg(), { heartbeatMs: 200 });
    units.push(unit);
    const ac = new AbortController();
    await unit.init(ac.signal);
    return { unit, running: unit.process(ac.signal) };
  };
  let { unit, running } = await run();
  const ids = async (): Promise<number[]> => ((await dst.sql('SELECT id FROM merged.t ORDER BY id').catch(() => [])) as { id: number }[]).map((r) => r.id);
  const cols = async (): Promise<string[]> => ((await dst.sql("SELECT COLUMN_NAME AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='merged' AND TABLE_NAME='t' ORDER BY ORDINAL_POSITION")) as { n: string }[]).map((r) => r.n);
  const ok = (): void => {
    const st = unit.status();
    if (st['error'] !== undefined) throw new Error(`sync unit stopped: ${JSON.stringify(st['error'])}`);
  };
  await waitFor('initial rows', async () => (ok(), (await ids()).length === 2), { timeoutMs: 60_000 });
  const st0 = JSON.parse((await client.get(shardKeys.sourceTables(keys, 'test', 'mysql-01')).string()) ?? 'null') as SourceTables;
  assert.deepEqual(st0.tables, { merged: { t: { shard_1: ['t'], shard_2: ['t'] } } });

  // ADD COLUMN on shard_1: run at once (no waiting for shard_2), its rows and shard_2's old-shape rows both land
  await src.sql("ALTER TABLE shard_1.t ADD COLUMN c VARCHAR(10); INSERT INTO shard_1.t VALUES (1002, 2, 2, 'x'); INSERT INTO shard_2.t VALUES (2002, 2, 2)");
  await waitFor('rows after shard_1 ADD COLUMN', async () => (ok(), (await ids()).includes(1002) && (await ids()).includes(2002)), { timeoutMs: 60_000 });
  assert.deepEqual(await cols(), ['id', 'v', 'w', 'c']);
  const add1 = leader.infos.find((i) => i.upSchema === 'shard_1' && i.ddls[0]?.includes('ADD COLUMN'))!;
  assert.deepEqual(add1.ddls, ['ALTER TABLE `merged`.`t` ADD COLUMN c VARCHAR(10)']);
  assert.deepEqual(add1.tableInfoBefore.columns.map((c) => c.name), ['id', 'v', 'w']);
  assert.deepEqual(add1.tableInfosAfter.map((t) => t.columns.map((c) => c.name)), [['id', 'v', 'w', 'c']]);
  assert.equal(add1.version, 1);
  assert.equal(add1.downTable, 't');

  // shard_2 adds it too (nothing to run); both drop w: the first drop runs nothing, the last drops it
  await src.sql("ALTER TABLE shard_2.t ADD COLUMN c VARCHAR(10); ALTER TABLE shard_1.t DROP COLUMN w; INSERT INTO shard_1.t VALUES (1003, 3, 'y')");
  await waitFor('row after shard_1 DROP COLUMN', async () => (ok(), (await ids()).includes(1003)), { timeoutMs: 60_000 });
  assert.deepEqual(await cols(), ['id', 'v', 'w', 'c'], 'w stays while shard_2 still has it');
  assert.equal(leader.infos.filter((i) => i.upSchema === 'shard_1').at(-1)?.version, 2, 'the second info of shard_1.t has version 2');
  await src.sql("INSERT INTO shard_2.t VALUES (2003, 3, 3, 'z'); ALTER TABLE shard_2.t DROP COLUMN w; INSERT INTO shard_2.t VALUES (2004, 4, 'q')");
  await waitFor('row after shard_2 DROP COLUMN', async () => (ok(), (await ids()).includes(2004)), { timeoutMs: 60_000 });
  assert.deepEqual(await cols(), ['id', 'v', 'c']);

  // a new shard: SourceTables again
  await src.sql("CREATE DATABASE shard_3; CREATE TABLE shard_3.t (id INT PRIMARY KEY, v INT, c VARCHAR(10)); INSERT INTO shard_3.t VALUES (3001, 1, 'n')");
  await waitFor('new shard row', async () => (ok(), (await ids()).includes(3001)), { timeoutMs: 60_000 });
  const st1 = JSON.parse((await client.get(shardKeys.sourceTables(keys, 'test', 'mysql-01')).string()) ?? 'null') as SourceTables;
  assert.deepEqual(st1.tables, { merged: { t: { shard_1: ['t'], shard_2: ['t'], shard_3: ['t'] } } });

  // a conflicting DDL: the run ends with 36102 and DM's way out in the message's workaround
  await src.sql("ALTER TABLE shard_1.t MODIFY v BIGINT; INSERT INTO shard_1.t VALUES (1004, 4, 'after')");
  const r = await running;
  assert.equal(r.errors[0]?.code, 36102, JSON.stringify(r.errors));
  assert.match(r.errors[0]?.message ?? '', /incompatible column type change/);
  assert.ok(!(await ids()).includes(1004));
  // resolved by hand (what `shard-ddl-lock unlock --action skip` writes: the operation of that
  // info's version, conflictStage skipped): the resumed unit takes it without asking again
  await unit.close();
  const modInfo = leader.infos.filter((i) => i.ddls[0]?.includes('MODIFY'));
  assert.equal(modInfo.length, 1);
  const opKey = shardKeys.optimisticOp(keys, 'test', 'mysql-01', 'shard_1', 't');
  const detected = JSON.parse((await client.get(opKey).string()) ?? '{}') as OptimisticOperation;
  assert.equal(detected.conflictStage, 'detected');
  await client.put(opKey).value(JSON.stringify({ ...detected, conflictStage: 'skipped', ddls: [] }));
  ({ unit, running } = await run());
  await waitFor('row after the DDL resolved by hand', async () => (ok(), (await ids()).includes(1004)), { timeoutMs: 60_000 });
  assert.equal(leader.infos.filter((i) => i.ddls[0]?.includes('MODIFY')).length, 1, 'no new info for a DDL resolved by hand');
  assert.equal((JSON.parse((await client.get(opKey).string()) ?? '{}') as OptimisticOperation).done, true);
  // another conflict, resolved with `binlog skip` (the onFailedEvent hook) on resume
  await src.sql("ALTER TABLE shard_2.t MODIFY v BIGINT; INSERT INTO shard_2.t VALUES (2006, 6, 'after2')");
  const r2 = await running;
  assert.equal(r2.errors[0]?.code, 36102, JSON.stringify(r2.errors));
  await unit.close();
  skip = true;
  ({ unit, running } = await run());
  await src.sql("INSERT INTO shard_2.t VALUES (2005, 5, 'r')");
  const union = async (): Promise<unknown[]> => {
    const rows: Record<string, unknown>[] = [];
    for (const n of [1, 2, 3]) rows.push(...(await src.sql(`SELECT id, CAST(v AS CHAR) AS v, c FROM shard_${n}.t`)));
    return rows.sort((a, b) => Number(a['id']) - Number(b['id']));
  };
  let last: unknown[] = [];
  await waitFor('target equals the union of the shards', async () => {
    ok();
    last = await dst.sql('SELECT id, CAST(v AS CHAR) AS v, c FROM merged.t ORDER BY id');
    return JSON.stringify(last) === JSON.stringify(await union());
  }, { timeoutMs: 60_000 }).catch(async (e: unknown) => {
    throw new Error(`${(e as Error).message}: ${JSON.stringify(last)} vs ${JSON.stringify(await union())}`);
  });
  // the skipped conflict was reported again with ignoreConflict and its answer marked done (the keeper can clear the lock)
  const skipped = leader.infos.filter((i) => i.upSchema === 'shard_2' && i.ignoreConflict === true);
  assert.equal(skipped.length, 1, 'one info put again with ignoreConflict');
  const op2 = JSON.parse((await client.get(shardKeys.optimisticOp(keys, 'test', 'mysql-01', 'shard_2', 't')).string()) ?? '{}') as OptimisticOperation;
  assert.deepEqual([op2.version, op2.conflictStage, op2.done], [skipped[0]?.version, 'skipped', true]);
  const vt = (await dst.sql("SELECT DATA_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='merged' AND TABLE_NAME='t' AND COLUMN_NAME='v'"))[0]?.['t'];
  assert.equal(vt, 'int');
  unit.pause();
  assert.deepEqual((await running).errors, []);
});

/** The real lock keeper on `keys`, as the leader runs it: fenced on a key of its own, the task's source registered. */
async function realKeeper(client: Etcd3, keys: Keys): Promise<ShardDDLKeeper> {
  await client.put(keys.subtask('mysql-01', 'test')).value('{}');
  const fenceKey = `${keys.prefix}test-fence`;
  await client.put(fenceKey).value('leader');
  const kv = (await client.get(fenceKey).exec()).kvs[0];
  const fence = { key: fenceKey, createRevision: String(kv?.create_revision) };
  const keeper = new ShardDDLKeeper({ client, keys, fence: () => fence, onFenceLost: () => undefined, resyncMs: 500 });
  keeper.start();
  return keeper;
}

interface RenameEnv {
  src: MariaDBServer;
  dst: MariaDBServer;
  client: Etcd3;
  keys: Keys;
  run: (strict: boolean, maxHoldBytes?: number, memHoldBytes?: number) => Promise<{ unit: SyncUnit; running: Promise<{ errors: { code: number; message: string }[] }> }>;
}

async function renameEnv(t: { after: (fn: () => Promise<void>) => void }, name: string): Promise<RenameEnv> {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const etcd = await EtcdCluster.start(1);
  const client = createEtcdClient({ endpoints: etcd.endpoints });
  const keys = new Keys(`/shard-${name}-${process.pid}/`);
  const keeper = await realKeeper(client, keys);
  const units: SyncUnit[] = [];
  t.after(async () => {
    for (const u of units) await u.close();
    await keeper.close();
    client.close();
    await Promise.all([src.stop(), dst.stop(), etcd.stop()]);
  });
  const start = await masterPos(src);
  await src.sql('CREATE DATABASE shard_1; CREATE TABLE shard_1.t (id INT PRIMARY KEY, v INT); CREATE DATABASE shard_2; CREATE TABLE shard_2.t (id INT PRIMARY KEY, v INT)');
  await src.sql('INSERT INTO shard_1.t VALUES (1001, 1); INSERT INTO shard_2.t VALUES (2001, 1)');
  const run = async (strict: boolean, maxHoldBytes = 1 << 20, memHoldBytes = maxHoldBytes): Promise<{ unit: SyncUnit; running: Promise<{ errors: { code: number; message: string }[] }> }> => {
    const unit = new SyncUnit(
      syncConfig(src, dst, {
        start,
        baList: { doDbs: ['shard_*'] },
        routes: [
          { schemaPattern: 'shard_*', targetSchema: 'merged' },
          { schemaPattern: 'shard_*', tablePattern: 't', targetSchema: 'merged', targetTable: 't' },
        ],
        shard: { mode: 'optimistic', client: etcdShardDDLClient(client, keys), maxHoldBytes, memHoldBytes, strictOptimistic: strict },
      }),
      { heartbeatMs: 200 },
    );
    units.push(unit);
    const ac = new AbortController();
    await unit.init(ac.signal);
    return { unit, running: unit.process(ac.signal) };
  };
  return { src, dst, client, keys, run };
}

const ids = async (dst: MariaDBServer): Promise<number[]> => ((await dst.sql('SELECT id FROM merged.t ORDER BY id').catch(() => [])) as { id: number }[]).map((r) => r.id);
const targetCols = async (dst: MariaDBServer): Promise<string[]> =>
  ((await dst.sql("SELECT COLUMN_NAME AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='merged' AND TABLE_NAME='t' ORDER BY ORDINAL_POSITION")) as { n: string }[]).map((r) => r.n);
const RENAME_DDL = 'ALTER TABLE `merged`.`t` RENAME COLUMN v TO v2';

void test('optimistic, non-strict: a column rename waits for every shard (rows held back, restart mid-wait), then runs once; every row lands', { timeout: 300_000 }, async (t) => {
  const { src, dst, client, keys, run } = await renameEnv(t, 'ren');
  // 16 bytes of held rows in memory: every held transaction's rows go through the spill file
  let { unit, running } = await run(false, 1 << 20, 16);
  const ok = (): void => {
    const st = unit.status();
    if (st['error'] !== undefined) throw new Error(`sync unit stopped: ${JSON.stringify(st['error'])}`);
  };
  await waitFor('initial rows', async () => (ok(), (await ids(dst)).length === 2), { timeoutMs: 60_000 });

  // shard_1 renames: it waits; its later rows are held back, shard_2's flow
  await src.sql('ALTER TABLE shard_1.t RENAME COLUMN v TO v2; INSERT INTO shard_1.t VALUES (1002, 2); INSERT INTO shard_2.t VALUES (2002, 2)');
  await waitFor('shard_2 row while shard_1 waits', async () => (ok(), (await ids(dst)).includes(2002)), { timeoutMs: 60_000 });
  const shardStatus = (): Record<string, unknown> => unit.status();
  await waitFor('shard_1 shown waiting', () => Promise.resolve((shardStatus()['heldEvents'] as number) >= 1), { timeoutMs: 30_000 }).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}: ${JSON.stringify(unit.status())}`);
  });
  assert.ok(!(await ids(dst)).includes(1002), 'the row written after the rename is held back');
  assert.deepEqual(await targetCols(dst), ['id', 'v'], 'the merged table is not renamed while shard_2 has not renamed');
  const st = shardStatus();
  assert.deepEqual(st['blockingDDLs'], [RENAME_DDL]);
  assert.deepEqual(st['unresolvedGroups'], [{ target: '`merged`.`t`', DDLs: [RENAME_DDL], firstLocation: (st['unresolvedGroups'] as { firstLocation: string }[])[0]?.firstLocation, synced: ['`shard_1`.`t`'], unsynced: ['`shard_2`.`t`'] }]);
  const locks = await showLocks(client, keys, 'test');
  assert.equal(locks.length, 1);
  assert.deepEqual({ ddls: locks[0]?.ddls, synced: locks[0]?.synced, unsynced: locks[0]?.unsynced, stage: locks[0]?.stage }, { ddls: [RENAME_DDL], synced: ['mysql-01-`shard_1`.`t`'], unsynced: ['mysql-01-`shard_2`.`t`'], stage: 'waiting' });
  const op = JSON.parse((await client.get(shardKeys.optimisticOp(keys, 'test', 'mysql-01', 'shard_1', 't')).string()) ?? '{}') as OptimisticOperation;
  assert.equal(op.conflictStage, 'waiting');

  // the worker restarts while shard_1 waits: its held rows are read again from the binlog
  unit.pause();
  assert.deepEqual((await running).errors, []);
  await unit.close();
  await src.sql('INSERT INTO shard_1.t VALUES (1003, 3); INSERT INTO shard_2.t VALUES (2003, 3)');
  ({ unit, running } = await run(false, 1 << 20, 16));
  await waitFor('shard_2 row after the restart', async () => (ok(), (await ids(dst)).includes(2003)), { timeoutMs: 60_000 });
  await waitFor('shard_1 waits again after the restart', () => Promise.resolve((shardStatus()['heldEvents'] as number) >= 2), { timeoutMs: 30_000 });
  assert.deepEqual((await ids(dst)).filter((i) => i < 2000), [1001], 'shard_1 rows after its rename are still held back');
  assert.ok((shardStatus()['heldOnDiskBytes'] as number) > 0, 'held rows spilled');

  // shard_2 renames too: the merged table is renamed once, the held rows land on the new structure
  await src.sql('ALTER TABLE shard_2.t RENAME COLUMN v TO v2; INSERT INTO shard_2.t VALUES (2004, 4); INSERT INTO shard_1.t VALUES (1004, 4)');
  const union = async (): Promise<unknown[]> => {
    const rows: Record<string, unknown>[] = [];
    for (const n of [1, 2]) rows.push(...(await src.sql(`SELECT id, v2 FROM shard_${n}.t`)));
    return rows.sort((a, b) => Number(a['id']) - Number(b['id']));
  };
  let last: unknown[] = [];
  await waitFor('target equals the union of the shards', async () => {
    ok();
    last = await dst.sql('SELECT id, v2 FROM merged.t ORDER BY id').catch(() => []);
    return JSON.stringify(last) === JSON.stringify(await union());
  }, { timeoutMs: 60_000 }).catch(async (e: unknown) => {
    throw new Error(`${(e as Error).message}: ${JSON.stringify(last)} vs ${JSON.stringify(await union())}; status ${JSON.stringify(unit.status())}`);
  });
  assert.deepEqual(await targetCols(dst), ['id', 'v2']);
  assert.equal((await union()).length, 8);
  await waitFor('lock resolved', async () => (await showLocks(client, keys, 'test')).length === 0, { timeoutMs: 30_000 });
  assert.equal(shardStatus()['heldEvents'], 0);
  // the rows after the wait flow as usual
  await src.sql('INSERT INTO shard_1.t VALUES (1005, 5)');
  await waitFor('row after the lock', async () => (ok(), (await ids(dst)).includes(1005)), { timeoutMs: 60_000 });
  unit.pause();
  assert.deepEqual((await running).errors, []);
});

void test('optimistic, non-strict: rows held back behind a rename spill to disk; beyond the disk limit the subtask pauses with 36104', { timeout: 300_000 }, async (t) => {
  const { src, dst, run } = await renameEnv(t, 'hold');
  // 4 KiB in memory, then at most 4 KiB in the spill file
  const { running } = await run(false, 4096, 4096);
  await waitFor('initial rows', async () => (await ids(dst)).length === 2, { timeoutMs: 60_000 });
  await src.sql('ALTER TABLE shard_1.t RENAME COLUMN v TO v2');
  for (let i = 0; i < 10; i++) await src.sql(`INSERT INTO shard_1.t SELECT seq, 1 FROM shard_1.seq_${1100 + i * 50}_to_${1149 + i * 50}`);
  const r = await running;
  assert.equal(r.errors[0]?.code, 36104, JSON.stringify(r.errors));
  assert.match(r.errors[0]?.message ?? '', /bytes on disk in .*dmts-held-.*`shard_1`\.`t` waits for the other shards to run the same DDL/);
  assert.deepEqual(await ids(dst), [1001, 2001], 'nothing held back reached the target');
});

void test('optimistic: strict mode conflicts at once on a rename; non-strict, another DDL of the lock while a shard waits conflicts', { timeout: 300_000 }, async (t) => {
  const { src, dst, client, keys, run } = await renameEnv(t, 'strict');
  let { unit, running } = await run(true);
  await waitFor('initial rows', async () => (await ids(dst)).length === 2, { timeoutMs: 60_000 });
  await src.sql('ALTER TABLE shard_1.t RENAME COLUMN v TO v2; INSERT INTO shard_1.t VALUES (1002, 2)');
  const r = await running;
  assert.equal(r.errors[0]?.code, 36102, JSON.stringify(r.errors));
  assert.match(r.errors[0]?.message ?? '', /renaming column v to v2 is not supported in optimistic shard mode/);
  await unit.close();
  // the same DDL under non-strict mode (the lock of the conflict cleared by hand): it waits
  await client.delete().prefix(`${keys.prefix}shardddl/`);
  ({ unit, running } = await run(false));
  await waitFor('shard_1 waits', async () => {
    const op = JSON.parse((await client.get(shardKeys.optimisticOp(keys, 'test', 'mysql-01', 'shard_1', 't')).string()) ?? '{}') as OptimisticOperation;
    return op.conflictStage === 'waiting';
  }, { timeoutMs: 60_000 });
  // shard_2 adds a column instead of renaming: a conflict
  await src.sql('ALTER TABLE shard_2.t ADD COLUMN c INT; INSERT INTO shard_2.t VALUES (2002, 2, 2)');
  const r2 = await running;
  assert.equal(r2.errors[0]?.code, 36102, JSON.stringify(r2.errors));
  assert.match(r2.errors[0]?.message ?? '', /shard_1`\.`t` waits for every shard to run .*RENAME COLUMN v TO v2.* is another change/);
  assert.ok(!(await ids(dst)).includes(1002));
  assert.deepEqual(await targetCols(dst), ['id', 'v']);
});

void test('optimistic, non-strict: shard tables created while a rename waits: with the renamed columns they wait with it, with the old ones the lock waits for them (shard-ddl-lock says so)', { timeout: 300_000 }, async (t) => {
  const { src, dst, client, keys, run } = await renameEnv(t, 'rennew');
  const { unit, running } = await run(false);
  const ok = (): void => {
    const st = unit.status();
    if (st['error'] !== undefined) throw new Error(`sync unit stopped: ${JSON.stringify(st['error'])}`);
  };
  await waitFor('initial rows', async () => (ok(), (await ids(dst)).length === 2), { timeoutMs: 60_000 });
  await src.sql('ALTER TABLE shard_1.t RENAME COLUMN v TO v2; INSERT INTO shard_1.t VALUES (1002, 2)');
  await waitFor('shard_1 waits', async () => (await showLocks(client, keys, 'test'))[0]?.synced.length === 1, { timeoutMs: 60_000 });
  // shard_3.t is created with the renamed column: it waits too (its row is held back)
  await src.sql('CREATE DATABASE shard_3; CREATE TABLE shard_3.t (id INT PRIMARY KEY, v2 INT); INSERT INTO shard_3.t VALUES (3001, 1)');
  // shard_4.t is created with the old column: its rows flow, the lock waits for it to rename
  await src.sql('CREATE DATABASE shard_4; CREATE TABLE shard_4.t (id INT PRIMARY KEY, v INT); INSERT INTO shard_4.t VALUES (4001, 1)');
  await waitFor('shard_4 row flows', async () => (ok(), (await ids(dst)).includes(4001)), { timeoutMs: 60_000 });
  assert.ok(!(await ids(dst)).includes(3001), 'the row of the table created with the renamed column is held back');
  const op3 = JSON.parse((await client.get(shardKeys.optimisticOp(keys, 'test', 'mysql-01', 'shard_3', 't')).string()) ?? '{}') as OptimisticOperation;
  assert.equal(op3.conflictStage, 'waiting');
  let lock = (await showLocks(client, keys, 'test'))[0];
  assert.deepEqual(lock?.synced, ['mysql-01-`shard_1`.`t`', 'mysql-01-`shard_3`.`t`']);
  assert.deepEqual(lock?.unsynced, ['mysql-01-`shard_2`.`t`', 'mysql-01-`shard_4`.`t`']);
  assert.match(lock?.message ?? '', /mysql-01-`shard_2`.`t`, mysql-01-`shard_4`.`t` have not: run the same rename on each of them upstream/);
  // shard_2 renames: the lock still waits for shard_4
  await src.sql('ALTER TABLE shard_2.t RENAME COLUMN v TO v2; INSERT INTO shard_2.t VALUES (2002, 2)');
  await waitFor('shard_2 waits', async () => (await showLocks(client, keys, 'test'))[0]?.unsynced.length === 1, { timeoutMs: 60_000 });
  lock = (await showLocks(client, keys, 'test'))[0];
  assert.deepEqual(lock?.unsynced, ['mysql-01-`shard_4`.`t`']);
  assert.deepEqual(await targetCols(dst), ['id', 'v']);
  // shard_4 renames upstream as told: the merged table is renamed, every held row lands
  await src.sql('ALTER TABLE shard_4.t RENAME COLUMN v TO v2; INSERT INTO shard_4.t VALUES (4002, 2)');
  const union = async (): Promise<unknown[]> => {
    const rows: Record<string, unknown>[] = [];
    for (const n of [1, 2, 3, 4]) rows.push(...(await src.sql(`SELECT id, v2 FROM shard_${n}.t`)));
    return rows.sort((a, b) => Number(a['id']) - Number(b['id']));
  };
  let last: unknown[] = [];
  await waitFor('target equals the union of the shards', async () => {
    ok();
    last = await dst.sql('SELECT id, v2 FROM merged.t ORDER BY id').catch(() => []);
    return JSON.stringify(last) === JSON.stringify(await union());
  }, { timeoutMs: 60_000 }).catch(async (e: unknown) => {
    throw new Error(`${(e as Error).message}: ${JSON.stringify(last)} vs ${JSON.stringify(await union())}; status ${JSON.stringify(unit.status())}`);
  });
  assert.equal((await union()).length, 7);
  await waitFor('lock resolved', async () => (await showLocks(client, keys, 'test')).length === 0, { timeoutMs: 30_000 });
  unit.pause();
  assert.deepEqual((await running).errors, []);
});

void test('optimistic: binlog replace of a conflict, the worker killed after the ignoreConflict info and before the ledger row: the replay runs the replacement', { timeout: 300_000 }, async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const etcd = await EtcdCluster.start(1);
  const client = createEtcdClient({ endpoints: etcd.endpoints });
  const prefix = `/shard-repl-${process.pid}/`;
  const keys = new Keys(prefix);
  const units: SyncUnit[] = [];
  t.after(async () => {
    for (const u of units) await u.close();
    client.close();
    await Promise.all([src.stop(), dst.stop(), etcd.stop()]);
  });
  const start = await masterPos(src);
  await src.sql('CREATE DATABASE shard_1; CREATE TABLE shard_1.t (id INT PRIMARY KEY, v INT); INSERT INTO shard_1.t VALUES (1, 1)');
  const base = syncConfig(src, dst, {
    start,
    baList: { doDbs: ['shard_*'] },
    routes: [
      { schemaPattern: 'shard_*', targetSchema: 'merged' },
      { schemaPattern: 'shard_*', tablePattern: 't', targetSchema: 'merged', targetTable: 't' },
    ],
  });
  const shard = { mode: 'optimistic' as const, maxHoldBytes: 1 << 20 };
  const REPLACEMENT = 'ALTER TABLE `merged`.`t` ADD COLUMN c2 INT';
  // the sync unit in its own process; the operator has put `binlog replace` for the conflict
  const c = spawn(process.execPath, ['--import', 'tsx', 'test/integration/sync-runner.ts', JSON.stringify({ ...base, shard: { ...shard, etcd: { endpoints: etcd.endpoints, prefix } } })], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, SYNC_RUNNER_ON_FAILED: JSON.stringify({ action: 'replace', sql: [REPLACEMENT] } satisfies FailedEventDecision) },
  });
  trackChild(c);
  t.after(() => void c.kill('SIGKILL'));
  const exited = once(c, 'exit');
  await waitFor('initial row', async () => {
    if (c.exitCode !== null) throw new Error(`sync runner exited with ${c.exitCode}`);
    return (await ids(dst)).includes(1);
  }, { timeoutMs: 90_000 });
  // the keeper is played by the test: the DDL conflicts
  await src.sql('ALTER TABLE shard_1.t MODIFY COLUMN v VARCHAR(10)');
  const infoKey = shardKeys.optimisticInfo(keys, 'test', 'mysql-01', 'shard_1', 't');
  const opKey = shardKeys.optimisticOp(keys, 'test', 'mysql-01', 'shard_1', 't');
  const readInfo = async (): Promise<OptimisticInfo | null> => JSON.parse((await client.get(infoKey).string()) ?? 'null') as OptimisticInfo | null;
  const answer = (i: OptimisticInfo, conflictStage: OptimisticOperation['conflictStage'], more: Partial<OptimisticOperation> = {}): string =>
    JSON.stringify({ lockId: shardLockId('test', i.downSchema, i.downTable), task: 'test', source: i.source, upSchema: i.upSchema, upTable: i.upTable, version: i.version, ddls: [], conflictStage, done: false, ...more } satisfies OptimisticOperation);
  await waitFor('the DDL info', async () => (await readInfo())?.version === 1, { timeoutMs: 60_000 });
  const i1 = (await readInfo()) as OptimisticInfo;
  await client.put(opKey).value(answer(i1, 'detected', { conflictMsg: 'ErrMasterShardDDLConflict (test)' }));
  // the worker takes the replace and puts the info again with ignoreConflict (and the replacement); killed while it waits for the answer
  await waitFor('the ignoreConflict info', async () => (await readInfo())?.ignoreConflict === true, { timeoutMs: 60_000 });
  const i2 = (await readInfo()) as OptimisticInfo;
  assert.deepEqual(i2.replacedBy, [REPLACEMENT]);
  c.kill('SIGKILL');
  await exited;
  // the keeper's answer arrives after the worker died
  await client.put(opKey).value(answer(i2, 'skipped'));
  assert.deepEqual(await targetCols(dst), ['id', 'v'], 'the replacement has not run');
  // the next run of the subtask (no binlog operation left: it was taken by the killed run)
  const u = new SyncUnit({ ...base, shard: { ...shard, client: etcdShardDDLClient(client, keys) } }, { heartbeatMs: 200 });
  units.push(u);
  const ac = new AbortController();
  await u.init(ac.signal);
  const running = u.process(ac.signal);
  const ok = (): void => {
    const st = u.status();
    if (st['error'] !== undefined) throw new Error(`sync unit stopped: ${JSON.stringify(st['error'])}`);
  };
  await waitFor('the replacement ran on the replay', async () => (ok(), (await targetCols(dst)).includes('c2')), { timeoutMs: 60_000 });
  assert.deepEqual(await targetCols(dst), ['id', 'v', 'c2']);
  await waitFor('the operation marked done', async () => (JSON.parse((await client.get(opKey).string()) ?? '{}') as OptimisticOperation).done, { timeoutMs: 30_000 });
  await src.sql("INSERT INTO shard_1.t VALUES (2, '2')");
  await waitFor('a row after the DDL', async () => (ok(), (await ids(dst)).includes(2)), { timeoutMs: 60_000 });
  u.pause();
  assert.deepEqual((await running).errors, []);
});
