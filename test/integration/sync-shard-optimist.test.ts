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
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdCluster, MariaDBServer, waitFor } from '../helpers/index.js';
import { SyncUnit, type FailedEventDecision, type SyncConfig } from '../../src/units/sync/index.js';
import { createEtcdClient, Keys, shardKeys, type OptimisticInfo, type OptimisticOperation, type SourceTables } from '../../src/store/index.js';
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
