/**
 * shard-mode pessimistic, worker side, on real MariaDB and etcd: two sources × two shard tables
 * routed into one target table, the lock keeper played by the test (shard-fake-leader.ts).
 *
 * - a shard that reached a DDL has its later rows held back while its sibling's rows go on;
 * - the source's info is put only when both of its shards reached the DDL, with the routed DDL;
 * - the owner runs each DDL once, the other source skips it; held rows land after it;
 * - several DDLs in sequence, shards at different speeds (one shard two DDLs ahead);
 * - a unit closed mid-lock and a new one started on the same checkpoint: no DDL twice, no row
 *   lost or doubled;
 * - the target ends equal to the union of the shards (data, not counts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdCluster, MariaDBServer, waitFor } from '../helpers/index.js';
import { SyncUnit, type SyncConfig } from '../../src/units/sync/index.js';
import { createEtcdClient, Keys, listPrefix, shardKeys, type PessimisticInfo } from '../../src/store/index.js';
import { etcdShardDDLClient } from '../../src/worker/shardddl-client.js';
import { createRegistry } from '../../src/metrics/index.js';
import { masterPos, syncConfig } from './sync-fixture.js';
import { fakePessimisticLeader } from './shard-fake-leader.js';

const ROUTES = [
  { schemaPattern: 'shard_*', targetSchema: 'merged' },
  { schemaPattern: 'shard_*', tablePattern: 't', targetSchema: 'merged', targetTable: 't' },
];

void test('pessimistic: 2 sources x 2 shards, DDL sequence, held rows, restart mid-lock', { timeout: 400_000 }, async (t) => {
  const [s1, s2, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start(), MariaDBServer.start()]);
  const etcd = await EtcdCluster.start(1);
  const client = createEtcdClient({ endpoints: etcd.endpoints });
  const keys = new Keys(`/shard-p-${process.pid}/`);
  const leaderAc = new AbortController();
  const leader = fakePessimisticLeader(client, keys, 'test', ['mysql-01', 'mysql-02'], leaderAc.signal);
  const units: { unit: SyncUnit; ac: AbortController; running: Promise<unknown> }[] = [];
  t.after(async () => {
    leaderAc.abort();
    await leader.done.catch(() => undefined);
    for (const u of units) await u.unit.close();
    client.close();
    await Promise.all([s1.stop(), s2.stop(), dst.stop(), etcd.stop()]);
  });
  const [p1, p2] = await Promise.all([masterPos(s1), masterPos(s2)]);
  await s1.sql('CREATE DATABASE shard_1; CREATE TABLE shard_1.t (id INT PRIMARY KEY, v INT); CREATE DATABASE shard_2; CREATE TABLE shard_2.t (id INT PRIMARY KEY, v INT)');
  await s2.sql('CREATE DATABASE shard_3; CREATE TABLE shard_3.t (id INT PRIMARY KEY, v INT); CREATE DATABASE shard_4; CREATE TABLE shard_4.t (id INT PRIMARY KEY, v INT)');
  for (const [s, a, b] of [[s1, 1, 2], [s2, 3, 4]] as const) await s.sql(`INSERT INTO shard_${a}.t VALUES (${a}001, 1), (${a}002, 2); INSERT INTO shard_${b}.t VALUES (${b}001, 1)`);

  const registry = createRegistry();
  const cfgOf = (src: MariaDBServer, sourceId: string, start: typeof p1): SyncConfig =>
    syncConfig(src, dst, {
      sourceId,
      start,
      baList: { doDbs: ['shard_*'] },
      routes: ROUTES,
      shard: { mode: 'pessimistic', client: etcdShardDDLClient(client, keys), maxHoldBytes: 64 * 1024 * 1024 },
    });
  const startUnit = async (src: MariaDBServer, sourceId: string, start: typeof p1): Promise<number> => {
    const unit = new SyncUnit(cfgOf(src, sourceId, start), { heartbeatMs: 200, registry });
    const ac = new AbortController();
    await unit.init(ac.signal);
    units.push({ unit, ac, running: unit.process(ac.signal) });
    return units.length - 1;
  };
  const stopUnit = async (i: number): Promise<void> => {
    const u = units[i]!;
    u.unit.pause();
    const r = (await u.running) as { errors: unknown[] };
    assert.deepEqual(r.errors, [], 'a paused unit ends without errors');
    await u.unit.close();
  };
  let u1 = await startUnit(s1, 'mysql-01', p1);
  const u2 = await startUnit(s2, 'mysql-02', p2);
  const noErrors = (): void => {
    for (const u of units) {
      const st = u.unit.status();
      if (st['error'] !== undefined && st['stage'] !== 'Closed') throw new Error(`sync unit stopped: ${JSON.stringify(st['error'])}`);
    }
  };
  const targetIds = async (): Promise<number[]> => ((await dst.sql('SELECT id FROM merged.t ORDER BY id').catch(() => [])) as { id: number }[]).map((r) => r.id);
  const infos = async (): Promise<PessimisticInfo[]> => (await listPrefix(client, shardKeys.pessimisticInfo(keys, 'test'))).kvs.map((kv) => JSON.parse(kv.value) as PessimisticInfo);
  await waitFor('initial rows', async () => (noErrors(), (await targetIds()).length === 6), { timeoutMs: 90_000 });

  // DDL 1 on shard_1 only: its next row is held back, shard_2's goes on
  await s1.sql("ALTER TABLE shard_1.t ADD COLUMN c VARCHAR(10); INSERT INTO shard_1.t VALUES (1003, 3, 'x')");
  await s1.sql('INSERT INTO shard_2.t VALUES (2002, 2)');
  await waitFor('shard_2 row applied', async () => (noErrors(), (await targetIds()).includes(2002)), { timeoutMs: 60_000 });
  assert.ok(!(await targetIds()).includes(1003), 'the row written after shard_1 reached the DDL is held back');
  assert.deepEqual(await infos(), [], 'no info before every shard of the source reached the DDL');
  const cols = async (): Promise<string[]> => ((await dst.sql("SELECT COLUMN_NAME AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='merged' AND TABLE_NAME='t' ORDER BY ORDINAL_POSITION")) as { n: string }[]).map((r) => r.n);
  assert.deepEqual(await cols(), ['id', 'v']);

  // shard_2 reaches it: source 1's info (routed DDL), no operation while source 2 has not
  await s1.sql("ALTER TABLE shard_2.t ADD COLUMN c VARCHAR(10); INSERT INTO shard_2.t VALUES (2003, 3, 'y')");
  await waitFor('source 1 info', async () => (noErrors(), (await infos()).length === 1), { timeoutMs: 60_000 });
  const i1 = (await infos())[0]!;
  assert.equal(i1.source, 'mysql-01');
  assert.equal(i1.downSchema, 'merged');
  assert.equal(i1.downTable, 't');
  assert.deepEqual(i1.ddls, ['ALTER TABLE `merged`.`t` ADD COLUMN c VARCHAR(10)']);
  assert.equal(registry.getSingleMetric('dm_syncer_shard_lock_resolving') !== undefined, true);
  const gauge = await registry.getSingleMetricAsString('dm_syncer_shard_lock_resolving');
  assert.match(gauge, /dm_syncer_shard_lock_resolving\{task="test",source_id="mysql-01"\} 1/);

  // source 2: shard_3 two DDLs ahead (DDL 1 and DDL 2), with rows in between; then shard_4 DDL 1
  await s2.sql("ALTER TABLE shard_3.t ADD COLUMN c VARCHAR(10); INSERT INTO shard_3.t VALUES (3003, 3, 'z')");
  await s2.sql("ALTER TABLE shard_3.t ADD INDEX iv (v); INSERT INTO shard_3.t VALUES (3004, 4, 'w')");
  await s2.sql('INSERT INTO shard_4.t VALUES (4002, 2)');
  await waitFor('shard_4 row applied', async () => (noErrors(), (await targetIds()).includes(4002)), { timeoutMs: 60_000 });
  await s2.sql("ALTER TABLE shard_4.t ADD COLUMN c VARCHAR(10); INSERT INTO shard_4.t VALUES (4003, 3, 'v')");
  // lock 1 resolves: rows held on both sources land; shard_3's DDL 2 now waits for shard_4
  await waitFor('lock 1 resolved', async () => (noErrors(), leader.rounds.length === 1 && (await targetIds()).includes(4003) && (await targetIds()).includes(1003)), { timeoutMs: 90_000 });
  assert.deepEqual(await cols(), ['id', 'v', 'c']);
  assert.equal(leader.rounds[0]!.owner, 'mysql-01');
  assert.ok((await targetIds()).includes(3003), 'shard_3 row between its DDL 1 and DDL 2 applied');
  assert.ok(!(await targetIds()).includes(3004), 'shard_3 row after its DDL 2 held back');

  // DDL 2 on the rest; then DDL 3 (CHANGE = rename + modify) reached by shard_1 only, and a restart of source 1 mid-lock
  await s2.sql("ALTER TABLE shard_4.t ADD INDEX iv (v); INSERT INTO shard_4.t VALUES (4004, 4, 'u')");
  await s1.sql("ALTER TABLE shard_1.t ADD INDEX iv (v); ALTER TABLE shard_2.t ADD INDEX iv (v); INSERT INTO shard_1.t VALUES (1004, 4, 'a')");
  await waitFor('lock 2 resolved', async () => (noErrors(), leader.rounds.length === 2 && (await targetIds()).includes(3004) && (await targetIds()).includes(4004) && (await targetIds()).includes(1004)), { timeoutMs: 90_000 });
  await s1.sql("ALTER TABLE shard_1.t CHANGE c c2 VARCHAR(20); INSERT INTO shard_1.t VALUES (1005, 5, 'held')");
  await s1.sql("INSERT INTO shard_2.t VALUES (2004, 4, 'b')");
  await waitFor('shard_2 row applied', async () => (noErrors(), (await targetIds()).includes(2004)), { timeoutMs: 60_000 });
  await stopUnit(u1);
  await s1.sql("ALTER TABLE shard_2.t CHANGE c c2 VARCHAR(20); INSERT INTO shard_2.t VALUES (2005, 5, 'c')");
  u1 = await startUnit(s1, 'mysql-01', p1); // resumes from its checkpoint (before shard_1's DDL 3)
  await waitFor('source 1 info for DDL 3', async () => (noErrors(), (await infos()).some((i) => i.ddls[0]?.includes('CHANGE'))), { timeoutMs: 90_000 });
  // restart again while the info is up (mid-lock): the same info is put again
  await stopUnit(u1);
  u1 = await startUnit(s1, 'mysql-01', p1);
  await s2.sql("ALTER TABLE shard_3.t CHANGE c c2 VARCHAR(20); ALTER TABLE shard_4.t CHANGE c c2 VARCHAR(20); INSERT INTO shard_3.t VALUES (3005, 5, 'd'), (3006, 6, 'e')");
  await s1.sql("UPDATE shard_1.t SET c2 = 'upd' WHERE id = 1001; DELETE FROM shard_2.t WHERE id = 2001");

  const union = async (): Promise<unknown[]> => {
    const rows: Record<string, unknown>[] = [];
    for (const [s, n] of [[s1, 1], [s1, 2], [s2, 3], [s2, 4]] as const) rows.push(...(await s.sql(`SELECT id, v, c2 FROM shard_${n}.t`)));
    return rows.sort((a, b) => Number(a['id']) - Number(b['id']));
  };
  let last: unknown[] = [];
  await waitFor(
    'target equals the union of the shards',
    async () => {
      noErrors();
      if (leader.rounds.length < 3) return false;
      last = await dst.sql('SELECT id, v, c2 FROM merged.t ORDER BY id').catch(() => []);
      return JSON.stringify(last) === JSON.stringify(await union());
    },
    { timeoutMs: 120_000 },
  ).catch(async (e: unknown) => {
    throw new Error(`${(e as Error).message}: target ${JSON.stringify(last)} vs shards ${JSON.stringify(await union())}; rounds ${JSON.stringify(leader.rounds)}; status ${JSON.stringify(units.at(-1)?.unit.status())}`);
  });
  assert.deepEqual(
    leader.rounds.map((r) => r.ddls),
    [['ALTER TABLE `merged`.`t` ADD COLUMN c VARCHAR(10)'], ['ALTER TABLE `merged`.`t` ADD INDEX iv (v)'], ['ALTER TABLE `merged`.`t` CHANGE c c2 VARCHAR(20)']],
    'one lock per DDL, in order',
  );
  assert.deepEqual(await cols(), ['id', 'v', 'c2']);
  const ct = (await dst.sql("SELECT COLUMN_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='merged' AND TABLE_NAME='t' AND COLUMN_NAME='c2'"))[0]?.['t'];
  assert.equal(ct, 'varchar(20)');
  // the whole checkpoint caught up: nothing left held
  for (const i of [u1, u2]) assert.equal(units[i]!.unit.status()['heldEvents'], 0);
  assert.deepEqual(await infos(), []);
});

void test('pessimistic: a run that ends after the owner ran the DDL but before it marked the operation done', { timeout: 300_000 }, async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const etcd = await EtcdCluster.start(1);
  const client = createEtcdClient({ endpoints: etcd.endpoints });
  const keys = new Keys(`/shard-p2-${process.pid}/`);
  const leaderAc = new AbortController();
  const leader = fakePessimisticLeader(client, keys, 'test', ['mysql-01'], leaderAc.signal);
  const units: SyncUnit[] = [];
  t.after(async () => {
    leaderAc.abort();
    await leader.done.catch(() => undefined);
    for (const u of units) await u.close();
    client.close();
    await Promise.all([src.stop(), dst.stop(), etcd.stop()]);
  });
  const start = await masterPos(src);
  await src.sql('CREATE DATABASE shard_1; CREATE TABLE shard_1.t (id INT PRIMARY KEY, v INT); CREATE DATABASE shard_2; CREATE TABLE shard_2.t (id INT PRIMARY KEY, v INT)');
  await src.sql('INSERT INTO shard_1.t VALUES (1, 1); INSERT INTO shard_2.t VALUES (2, 2)');
  const real = etcdShardDDLClient(client, keys);
  let crashes = 0;
  const crashing = {
    ...real,
    markPessimisticDone: async (op: Parameters<typeof real.markPessimisticDone>[0]): Promise<void> => {
      if (crashes === 0) {
        crashes++;
        throw new Error('injected: the run ends between the DDL (and its ledger row) and the operation marked done');
      }
      await real.markPessimisticDone(op);
    },
  };
  const run = async (): Promise<{ unit: SyncUnit; running: Promise<{ errors: { code: number }[] }> }> => {
    const unit = new SyncUnit(syncConfig(src, dst, { start, baList: { doDbs: ['shard_*'] }, routes: ROUTES, shard: { mode: 'pessimistic', client: crashing, maxHoldBytes: 1 << 20 } }), { heartbeatMs: 200 });
    units.push(unit);
    const ac = new AbortController();
    await unit.init(ac.signal);
    return { unit, running: unit.process(ac.signal) };
  };
  const first = await run();
  await src.sql("ALTER TABLE shard_1.t ADD COLUMN c INT; INSERT INTO shard_1.t VALUES (3, 3, 30); ALTER TABLE shard_2.t ADD COLUMN c INT; INSERT INTO shard_2.t VALUES (4, 4, 40)");
  const r = await first.running;
  assert.equal(r.errors[0]?.code, 36105, JSON.stringify(r.errors));
  const cols = async (): Promise<number> => Number((await dst.sql("SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='merged' AND TABLE_NAME='t' AND COLUMN_NAME='c'"))[0]?.['n']);
  assert.equal(await cols(), 1, 'the owner ran the DDL before the run ended');
  await first.unit.close();
  // the replay finds the round in the ledger: the DDL is not reported or run again, the left
  // operation is marked done (the keeper can finish), the held rows are applied once
  const second = await run();
  await src.sql('INSERT INTO shard_1.t VALUES (5, 5, 50)');
  await waitFor('rows after the restart', async () => {
    const st = second.unit.status();
    if (st['error'] !== undefined) throw new Error(JSON.stringify(st['error']));
    const rows = await dst.sql('SELECT id, v, c FROM merged.t ORDER BY id').catch(() => []);
    return JSON.stringify(rows) === JSON.stringify([{ id: 1, v: 1, c: null }, { id: 2, v: 2, c: null }, { id: 3, v: 3, c: 30 }, { id: 4, v: 4, c: 40 }, { id: 5, v: 5, c: 50 }]);
  }, { timeoutMs: 60_000 });
  await waitFor('the keeper finished the round', () => Promise.resolve(leader.rounds.length === 1), { timeoutMs: 30_000 });
  assert.equal(second.unit.status()['totalDDLs'], 0, 'the DDL was not run again');
  const infos = await listPrefix(client, shardKeys.pessimisticInfo(keys, 'test'));
  assert.equal(infos.kvs.length, 0);
});
