/**
 * The dm-master side of shard DDL coordination (issue 13) against 3 real dm-master processes
 * (embedded etcd) and a real MariaDB (sources and target). No dm-worker runs: the test plays the
 * workers' part by writing their records into etcd as a worker's sync unit would (infos, `done`
 * of their own operations, source tables) and checks what the leader's lock keeper writes, what
 * `shard-ddl-lock` shows (dmctl, through a follower), the unlock paths, conflict detection, the
 * non-strict optimistic wait for a rename (strict: a conflict), a
 * kill -9 of the leader in the middle of a lock (the new leader finishes it), and stop-task /
 * `start-task --remove-meta` clearing the task's records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer, waitFor } from '../helpers/index.js';
import { createEtcdClient, Keys, shardKeys, shardLockId, type OptimisticInfo, type OptimisticOperation, type PessimisticInfo, type PessimisticOperation, type SourceTables, type TableStructure } from '../../src/store/index.js';
import { SourceOp, TaskOp } from '../../src/gen/dm/master/v1/master_pb.js';
import { codeOf, DMCluster, sourceYaml, taskYaml } from '../helpers/cluster.js';
import { assertDmShape } from '../helpers/dm-shape.js';

const TTL = 3;

/** The value of `name{task=..., type=...}` in a Prometheus text page (NaN when absent). */
function metricLine(text: string, name: string, task: string, type: string): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (line.includes(`task="${task}"`) && line.includes(`type="${type}"`)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return NaN;
}

function col(name: string, columnType: string): TableStructure['columns'][number] {
  const dataType = columnType.replace(/\(.*$/, '').replace(/ unsigned$/, '');
  return { name, columnType, dataType, unsigned: columnType.includes('unsigned'), nullable: name !== 'id', charset: /char|text/.test(dataType) ? 'utf8mb4' : null, generated: false };
}
function table(schema: string, name: string, cols: [string, string][]): TableStructure {
  return { schema, table: name, columns: cols.map(([n, t]) => col(n, t)), keyColumns: ['id'], uniqueKeys: [], charset: 'utf8mb4' };
}

test('shard DDL lock keeper: pessimistic and optimistic locks, unlock, conflicts, leader kill -9, stop-task / --remove-meta', { timeout: 600_000 }, async (t) => {
  const db = await MariaDBServer.start();
  const c = new DMCluster('shardkeep');
  t.after(async () => {
    await c.close();
    await db.stop();
  });
  const ms = await db.sql('SHOW MASTER STATUS');
  const meta = { file: String(ms[0]?.['File']), pos: 4 };
  await c.startMasters(3, TTL);
  const etcd = createEtcdClient({ endpoints: c.masters.map((m) => `http://127.0.0.1:${m.etcdPort}`) });
  t.after(() => etcd.close());
  const keys = new Keys('/dm/');
  let leader = await c.waitLeader();
  const followerAddr = (): string[] => c.masters.filter((_, i) => i !== leader && c.alive(c.masters[i]!)).map((m) => m.addr).slice(0, 1);

  const putJSON = async (key: string, v: unknown): Promise<void> => {
    await etcd.put(key).value(JSON.stringify(v));
  };
  const getJSON = async <T>(key: string): Promise<T | undefined> => {
    const v = await etcd.get(key).string();
    return v === null ? undefined : (JSON.parse(v) as T);
  };
  const shardKeysOf = async (task: string): Promise<string[]> =>
    (await etcd.getAll().prefix('/dm/shardddl/').keys()).map(String).filter((k) => k.includes(`/${task}/`)).sort();
  /** As a worker does when it ran or skipped the DDLs: the same operation back with done. */
  const markDone = async (task: string, source: string): Promise<PessimisticOperation> => {
    const key = shardKeys.pessimisticOp(keys, task, source);
    const op = await waitFor(`operation of ${source}`, async () => (await getJSON<PessimisticOperation>(key)) ?? false, { timeoutMs: 30_000 });
    await putJSON(key, { ...op, done: true });
    return op;
  };

  await c.client(leader).operateSource({ op: SourceOp.START, config: [sourceYaml('s1', db.port), sourceYaml('s2', db.port)] });
  const ddl = 'ALTER TABLE `shard`.`tbl` ADD COLUMN `c2` INT';
  const info = (task: string, source: string, ddls: string[], pos = 'mysql-bin.000001:100'): PessimisticInfo => ({
    task,
    source,
    upSchema: `shard_${source}`,
    upTable: 't1',
    downSchema: 'shard',
    downTable: 'tbl',
    ddls,
    position: pos,
  });
  const lockId = shardLockId('shp', 'shard', 'tbl');

  await t.test('start-task accepts shard-mode pessimistic (no 38019 any more)', async () => {
    const r = await c.client(leader).startTask({ task: `${taskYaml('shp', ['s1', 's2'], db.port, meta)}shard-mode: pessimistic\n`, sources: [] });
    assert.equal(r.result, true);
  });

  await t.test('pessimistic: one source reached the DDL: lock shown un-synced, no operation yet', async () => {
    await putJSON(shardKeys.pessimisticInfo(keys, 'shp', 's1'), info('shp', 's1', [ddl]));
    const shown = await waitFor(
      'lock listed',
      async () => {
        const r = await c.ctl(['shard-ddl-lock', 'shp'], followerAddr());
        const locks = r.json['locks'] as Record<string, unknown>[] | undefined;
        return locks && locks.length === 1 ? r : false;
      },
      { timeoutMs: 30_000 },
    );
    assert.equal(shown.code, 0);
    assert.deepEqual(shown.json['locks'], [{ ID: lockId, task: 'shp', mode: 'pessimistic', owner: 's1', DDLs: [ddl], synced: ['s1'], unsynced: ['s2'] }]);
    // DM 1.0's name answers the same
    const legacy = await c.ctl(['show-ddl-locks'], followerAddr());
    assert.deepEqual(legacy.json['locks'], shown.json['locks']);
    assert.equal(await getJSON(shardKeys.pessimisticOp(keys, 'shp', 's1')), undefined, 'the owner waits for every source');
  });

  await t.test('pessimistic: every source reached it: owner execs; leader kill -9 mid-lock, workers put their infos again; the new leader puts skip for the rest and clears the lock', async () => {
    await putJSON(shardKeys.pessimisticInfo(keys, 'shp', 's2'), info('shp', 's2', [ddl]));
    const ownerOp = await waitFor('owner exec operation', async () => (await getJSON<PessimisticOperation>(shardKeys.pessimisticOp(keys, 'shp', 's1'))) ?? false, { timeoutMs: 30_000 });
    assert.deepEqual(ownerOp, { lockId, task: 'shp', source: 's1', ddls: [ddl], exec: true, done: false });
    assert.equal(await getJSON(shardKeys.pessimisticOp(keys, 'shp', 's2')), undefined, 'non-owners wait until the owner is done');
    const shown = await c.ctl(['shard-ddl-lock'], followerAddr());
    assert.deepEqual((shown.json['locks'] as Record<string, unknown>[])[0]?.['synced'], ['s1', 's2']);

    await c.kill9(c.masters[leader]!);
    const old = leader;
    leader = await c.waitLeader(90_000, old);
    // both workers restart meanwhile and put their info again (same DDLs): still this round
    await putJSON(shardKeys.pessimisticInfo(keys, 'shp', 's1'), info('shp', 's1', [ddl]));
    await putJSON(shardKeys.pessimisticInfo(keys, 'shp', 's2'), info('shp', 's2', [ddl]));
    // the owner's worker ran the DDL while there was no leader
    await markDone('shp', 's1');
    const skip = await waitFor('skip operation for s2 from the new leader', async () => (await getJSON<PessimisticOperation>(shardKeys.pessimisticOp(keys, 'shp', 's2'))) ?? false, { timeoutMs: 60_000 });
    assert.equal(skip.exec, false);
    assert.deepEqual(skip.ddls, [ddl]);
    await markDone('shp', 's2');
    await waitFor('lock cleared (infos, operations, record)', async () => (await shardKeysOf('shp')).length === 0, { timeoutMs: 30_000 });
    const none = await c.ctl(['shard-ddl-lock', 'shp'], followerAddr());
    assert.equal(none.json['msg'], 'no DDL lock exists');
    c.restartMaster(old);
    await c.waitAllUp(90_000);
    leader = await c.waitLeader();
  });

  await t.test('pessimistic: a source puts its next DDL before the lock is cleared: it starts the next lock', async () => {
    const ddl2 = 'ALTER TABLE `shard`.`tbl` ADD COLUMN `c3` INT';
    await putJSON(shardKeys.pessimisticInfo(keys, 'shp', 's1'), info('shp', 's1', [ddl2]));
    await putJSON(shardKeys.pessimisticInfo(keys, 'shp', 's2'), info('shp', 's2', [ddl2]));
    await markDone('shp', 's1');
    await waitFor('skip for s2', async () => (await getJSON<PessimisticOperation>(shardKeys.pessimisticOp(keys, 'shp', 's2')))?.exec === false, { timeoutMs: 30_000 });
    // s1 already reached its next DDL (the worker puts its info as soon as its operation is done)
    const ddl3 = 'ALTER TABLE `shard`.`tbl` DROP COLUMN `c3`';
    await putJSON(shardKeys.pessimisticInfo(keys, 'shp', 's1'), info('shp', 's1', [ddl3], 'mysql-bin.000001:300'));
    await markDone('shp', 's2');
    await waitFor('round cleared, s1 info kept', async () => {
      const ks = await shardKeysOf('shp');
      return ks.length === 1 && ks[0] === shardKeys.pessimisticInfo(keys, 'shp', 's1');
    }, { timeoutMs: 30_000 });
    const r = await c.ctl(['shard-ddl-lock', 'shp'], followerAddr());
    assert.deepEqual(r.json['locks'], [{ ID: lockId, task: 'shp', mode: 'pessimistic', owner: 's1', DDLs: [ddl3], synced: ['s1'], unsynced: ['s2'] }]);
    await etcd.delete().prefix('/dm/shardddl/pessimism/info/shp/');
  });

  await t.test('pessimistic: mismatched DDLs put the lock in error (metric); unlock by hand: owner execs, the other skips', async () => {
    await putJSON(shardKeys.pessimisticInfo(keys, 'shp', 's1'), info('shp', 's1', [ddl]));
    await putJSON(shardKeys.pessimisticInfo(keys, 'shp', 's2'), info('shp', 's2', ['ALTER TABLE `shard`.`tbl` ADD COLUMN `other` INT']));
    await waitFor(
      'dm_master_shard_ddl_error on the leader',
      async () => {
        const text = await (await fetch(`http://${c.masters[leader]!.addr}/metrics`)).text();
        return metricLine(text, 'dm_master_shard_ddl_error', 'shp', 'InfoPut - SyncLockError') >= 1;
      },
      { timeoutMs: 30_000 },
    );
    const metrics = await (await fetch(`http://${c.masters[leader]!.addr}/metrics`)).text();
    assert.equal(metricLine(metrics, 'dm_master_ddl_state_number', 'shp', 'Un-synced'), 1);
    assert.equal(await getJSON(shardKeys.pessimisticOp(keys, 'shp', 's1')), undefined, 'no operation for a lock in error');
    // unknown lock: coded error
    const bad = await c.ctl(['shard-ddl-lock', 'unlock', 'shp-`no`.`such`'], followerAddr());
    assert.equal(bad.code, 1);
    assert.match(String(bad.json['msg']), /38101/);
    // the unlock waits for the lock to go: play the workers meanwhile
    const unlocking = c.ctl(['shard-ddl-lock', 'unlock', lockId], followerAddr());
    const own = await markDone('shp', 's1');
    assert.equal(own.exec, true);
    const other = await markDone('shp', 's2');
    assert.equal(other.exec, false);
    const r = await unlocking;
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.json['result'], true);
    assertDmShape(r.json, 'unlock-ddl-lock.json', r.stdout);
    await waitFor('cleared', async () => (await shardKeysOf('shp')).length === 0, { timeoutMs: 30_000 });
  });

  await t.test('pessimistic: unlock --owner, --action skip, --force-remove (legacy unlock-ddl-lock)', async () => {
    await putJSON(shardKeys.pessimisticInfo(keys, 'shp', 's2'), info('shp', 's2', [ddl]));
    // --owner must have reached the DDL
    const notWaiting = await c.ctl(['shard-ddl-lock', 'unlock', lockId, '--owner', 's1'], followerAddr());
    assert.match(String(notWaiting.json['msg']), /38102/);
    // skip: nobody runs the DDL; s2 (the only source that reached it) gets exec=false; nobody answers → --force-remove clears it
    const r = await c.ctl(['unlock-ddl-lock', lockId, '--action', 'skip', '--force-remove'], followerAddr());
    assert.equal(r.json['result'], true, r.stdout);
    assert.match(String(r.json['msg']), /force-remove/);
    assertDmShape(r.json, 'unlock-ddl-lock.json', r.stdout);
    assert.deepEqual(await shardKeysOf('shp'), []);
  });

  await t.test('stop-task and start-task --remove-meta delete the task\'s shard DDL records', async () => {
    await putJSON(shardKeys.pessimisticInfo(keys, 'shp', 's1'), info('shp', 's1', [ddl]));
    await waitFor('lock listed', async () => ((await c.ctl(['shard-ddl-lock', 'shp'], followerAddr())).json['locks'] as unknown[] | undefined)?.length === 1, { timeoutMs: 30_000 });
    const listed = await c.ctl(['shard-ddl-lock', 'shp'], followerAddr());
    assertDmShape(listed.json, 'shard-ddl-lock.json', listed.stdout);
    const stop = await c.client(leader).operateTask({ op: TaskOp.STOP, name: 'shp', sources: [] });
    assert.equal(stop.result, true);
    assert.deepEqual(await shardKeysOf('shp'), []);
    // a record left over (e.g. written by a worker after the stop) goes with --remove-meta
    await putJSON(shardKeys.pessimisticInfo(keys, 'shp', 's2'), info('shp', 's2', [ddl]));
    await putJSON(shardKeys.optimisticInfo(keys, 'shp', 's2', 'a', 'b'), { task: 'shp' });
    const r = await c.client(leader).startTask({ task: `${taskYaml('shp', ['s1', 's2'], db.port, meta)}shard-mode: pessimistic\n`, sources: [], removeMeta: true });
    assert.equal(r.result, true);
    assert.deepEqual(await shardKeysOf('shp'), []);
    await c.client(leader).operateTask({ op: TaskOp.STOP, name: 'shp', sources: [] });
  });

  await t.test('optimistic: compatible DDLs answered per shard, conflict detected (38104), resolved by unlock -s -d -t', async () => {
    const r = await c.client(leader).startTask({ task: `${taskYaml('sho', ['s1', 's2'], db.port, meta)}shard-mode: optimistic\n`, sources: [] });
    assert.equal(r.result, true);
    const oLock = shardLockId('sho', 'shard', 'tbl');
    const st = (source: string, tables: string[]): SourceTables => ({ task: 'sho', source, tables: { shard: { tbl: { [`db_${source}`]: tables } } } });
    await putJSON(shardKeys.sourceTables(keys, 'sho', 's1'), st('s1', ['t1', 't2']));
    await putJSON(shardKeys.sourceTables(keys, 'sho', 's2'), st('s2', ['t1']));
    const before = (s: string, tb: string): TableStructure => table(`db_${s}`, tb, [['id', 'int(11)'], ['a', 'varchar(10)']]);
    const withC = (s: string, tb: string, cType = 'int(11)'): TableStructure => table(`db_${s}`, tb, [['id', 'int(11)'], ['a', 'varchar(10)'], ['c', cType]]);
    const oinfo = (s: string, tb: string, ddls: string[], after: TableStructure[], version = 1, prev = before(s, tb)): OptimisticInfo => ({
      task: 'sho',
      source: s,
      upSchema: `db_${s}`,
      upTable: tb,
      downSchema: 'shard',
      downTable: 'tbl',
      ddls,
      tableInfoBefore: prev,
      tableInfosAfter: after,
      version,
    });
    const answer = async (s: string, tb: string, version: number): Promise<OptimisticOperation> => {
      const key = shardKeys.optimisticOp(keys, 'sho', s, `db_${s}`, tb);
      const op = await waitFor(`answer for ${s}.${tb} v${version}`, async () => {
        const o = await getJSON<OptimisticOperation>(key);
        return o && o.version === version ? o : false;
      }, { timeoutMs: 30_000 });
      return op;
    };
    const done = async (s: string, tb: string, op: OptimisticOperation): Promise<void> => putJSON(shardKeys.optimisticOp(keys, 'sho', s, `db_${s}`, tb), { ...op, done: true });
    const add = 'ALTER TABLE `shard`.`tbl` ADD COLUMN `c` INT';
    // first shard adds c: the target runs it
    await putJSON(shardKeys.optimisticInfo(keys, 'sho', 's1', 'db_s1', 't1'), oinfo('s1', 't1', [add], [withC('s1', 't1')]));
    const a1 = await answer('s1', 't1', 1);
    assert.deepEqual(a1.ddls, [add]);
    assert.equal(a1.conflictStage, 'none');
    await done('s1', 't1', a1);
    // the lock shows which shards have the joined structure
    const shown = await c.ctl(['shard-ddl-lock', 'sho'], followerAddr());
    assert.deepEqual(shown.json['locks'], [{ ID: oLock, task: 'sho', mode: 'optimistic', owner: '', DDLs: [], synced: ['s1-`db_s1`.`t1`'], unsynced: ['s1-`db_s1`.`t2`', 's2-`db_s2`.`t1`'] }]);
    // second shard adds the same column: nothing to run
    await putJSON(shardKeys.optimisticInfo(keys, 'sho', 's2', 'db_s2', 't1'), oinfo('s2', 't1', [add], [withC('s2', 't1')]));
    const a2 = await answer('s2', 't1', 1);
    assert.deepEqual(a2.ddls, []);
    await done('s2', 't1', a2);
    // the third adds c as VARCHAR: conflict, coded, nothing run
    const addV = 'ALTER TABLE `shard`.`tbl` ADD COLUMN `c` VARCHAR(20)';
    await putJSON(shardKeys.optimisticInfo(keys, 'sho', 's1', 'db_s1', 't2'), oinfo('s1', 't2', [addV], [withC('s1', 't2', 'varchar(20)')]));
    const a3 = await answer('s1', 't2', 1);
    assert.equal(a3.conflictStage, 'detected');
    assert.match(a3.conflictMsg ?? '', /code=38104.*column c/);
    assert.deepEqual(a3.ddls, []);
    const inError = await c.ctl(['shard-ddl-lock', 'sho'], followerAddr());
    assert.deepEqual((inError.json['locks'] as Record<string, unknown>[])[0]?.['unsynced'], ['s1-`db_s1`.`t2`']);
    // pessimistic flags on an optimistic lock: refused with a code
    const wrong = await c.ctl(['shard-ddl-lock', 'unlock', oLock, '--owner', 's1'], followerAddr());
    assert.match(String(wrong.json['msg']), /38106/);
    // the user decides: skip that DDL on the target
    const un = await c.ctl(['shard-ddl-lock', 'unlock', oLock, '-s', 's1', '-d', 'db_s1', '-t', 't2', '--action', 'skip'], followerAddr());
    assert.equal(un.json['result'], true, un.stdout);
    const a3b = await getJSON<OptimisticOperation>(shardKeys.optimisticOp(keys, 'sho', 's1', 'db_s1', 't2'));
    assert.equal(a3b?.conflictStage, 'skipped');
    assert.deepEqual(a3b?.ddls, []);
    // the lock is still there (shards differ from the joined structure): --force-remove drops it at once
    const fr = await c.ctl(['shard-ddl-lock', 'unlock', oLock, '--force-remove'], followerAddr());
    assert.equal(fr.json['result'], true, fr.stdout);
    assert.deepEqual((await shardKeysOf('sho')).filter((k) => !k.includes('/source-tables/')), []);
    assert.equal((await c.ctl(['shard-ddl-lock', 'sho'], followerAddr())).json['msg'], 'no DDL lock exists');
    await c.client(leader).operateTask({ op: TaskOp.STOP, name: 'sho', sources: [] });
    assert.deepEqual(await shardKeysOf('sho'), []);
  });

  await t.test('optimistic: DROP COLUMN runs only when every shard dropped it; the lock is cleared when all shards agree', async () => {
    const r = await c.client(leader).startTask({ task: `${taskYaml('shd', ['s1', 's2'], db.port, meta)}shard-mode: optimistic\n`, sources: [] });
    assert.equal(r.result, true);
    for (const s of ['s1', 's2']) await putJSON(shardKeys.sourceTables(keys, 'shd', s), { task: 'shd', source: s, tables: { shard: { tbl: { [`db_${s}`]: ['t1'] } } } });
    const full = (s: string): TableStructure => table(`db_${s}`, 't1', [['id', 'int(11)'], ['b', 'int(11)']]);
    const dropped = (s: string): TableStructure => table(`db_${s}`, 't1', [['id', 'int(11)']]);
    const drop = 'ALTER TABLE `shard`.`tbl` DROP COLUMN `b`';
    const oi = (s: string): OptimisticInfo => ({ task: 'shd', source: s, upSchema: `db_${s}`, upTable: 't1', downSchema: 'shard', downTable: 'tbl', ddls: [drop], tableInfoBefore: full(s), tableInfosAfter: [dropped(s)], version: 1 });
    const ans = async (s: string): Promise<OptimisticOperation> => {
      const key = shardKeys.optimisticOp(keys, 'shd', s, `db_${s}`, 't1');
      const op = await waitFor(`answer ${s}`, async () => (await getJSON<OptimisticOperation>(key)) ?? false, { timeoutMs: 30_000 });
      await putJSON(key, { ...op, done: true });
      return op;
    };
    await putJSON(shardKeys.optimisticInfo(keys, 'shd', 's1', 'db_s1', 't1'), oi('s1'));
    assert.deepEqual((await ans('s1')).ddls, [], 'the other shard still has b');
    await putJSON(shardKeys.optimisticInfo(keys, 'shd', 's2', 'db_s2', 't1'), oi('s2'));
    assert.deepEqual((await ans('s2')).ddls, [drop], 'the last shard drops it on the target');
    await waitFor('optimistic lock cleared', async () => (await shardKeysOf('shd')).filter((k) => !k.includes('/source-tables/')).length === 0, { timeoutMs: 30_000 });
    await c.client(leader).operateTask({ op: TaskOp.STOP, name: 'shd', sources: [] });
  });

  await t.test('optimistic, non-strict: a rename waits (shard-ddl-lock shows who ran it), the last shard runs it, the waiting one is told to go on; strict conflicts', async () => {
    const r = await c.client(leader).startTask({ task: `${taskYaml('shr', ['s1', 's2'], db.port, meta)}shard-mode: optimistic\n`, sources: [] });
    assert.equal(r.result, true);
    const rLock = shardLockId('shr', 'shard', 'tbl');
    for (const s of ['s1', 's2']) await putJSON(shardKeys.sourceTables(keys, 'shr', s), { task: 'shr', source: s, tables: { shard: { tbl: { [`db_${s}`]: ['t1'] } } } });
    const old = (s: string): TableStructure => table(`db_${s}`, 't1', [['id', 'int(11)'], ['a', 'int(11)']]);
    const ren = (s: string): TableStructure => table(`db_${s}`, 't1', [['id', 'int(11)'], ['b', 'int(11)']]);
    const rename = 'ALTER TABLE `shard`.`tbl` RENAME COLUMN `a` TO `b`';
    const oi = (s: string, strict: boolean, version = 1): OptimisticInfo => ({
      task: 'shr', source: s, upSchema: `db_${s}`, upTable: 't1', downSchema: 'shard', downTable: 'tbl', ddls: [rename], tableInfoBefore: old(s), tableInfosAfter: [ren(s)], version, ...(strict ? { strict } : {}),
    });
    const opKey = (s: string): string => shardKeys.optimisticOp(keys, 'shr', s, `db_${s}`, 't1');
    const op = async (s: string, accept: (o: OptimisticOperation) => boolean): Promise<OptimisticOperation> =>
      waitFor(`operation of ${s}`, async () => {
        const o = await getJSON<OptimisticOperation>(opKey(s));
        return o && accept(o) ? o : false;
      }, { timeoutMs: 30_000 });
    // strict: a conflict at once
    await putJSON(shardKeys.optimisticInfo(keys, 'shr', 's1', 'db_s1', 't1'), oi('s1', true));
    const strict = await op('s1', (o) => o.version === 1);
    assert.equal(strict.conflictStage, 'detected');
    assert.match(strict.conflictMsg ?? '', /code=38104.*renaming column a to b/);
    // non-strict (the same DDL put again, as after the operator cleared it): s1 waits
    await putJSON(shardKeys.optimisticInfo(keys, 'shr', 's1', 'db_s1', 't1'), oi('s1', false, 2));
    const w = await op('s1', (o) => o.version === 2);
    assert.equal(w.conflictStage, 'waiting');
    assert.deepEqual(w.ddls, []);
    const shown = await c.ctl(['shard-ddl-lock', 'shr'], followerAddr());
    const shownLocks = shown.json['locks'] as Record<string, unknown>[];
    assert.match(String(shownLocks[0]?.['message']), /s2-`db_s2`.`t1` has not: run the same rename on each of them upstream/);
    assert.deepEqual(shownLocks.map(({ message: _m, ...l }) => l), [{ ID: rLock, task: 'shr', mode: 'optimistic', owner: '', DDLs: [rename], synced: ['s1-`db_s1`.`t1`'], unsynced: ['s2-`db_s2`.`t1`'] }]);
    // s2 renames too: it runs the rename; s1 is told to go on only once s2 is done
    await putJSON(shardKeys.optimisticInfo(keys, 'shr', 's2', 'db_s2', 't1'), oi('s2', false));
    const last = await op('s2', (o) => o.version === 1);
    assert.equal(last.conflictStage, 'none');
    assert.deepEqual(last.ddls, [rename]);
    assert.equal((await getJSON<OptimisticOperation>(opKey('s1')))?.conflictStage, 'waiting');
    await putJSON(opKey('s2'), { ...last, done: true });
    const go = await op('s1', (o) => o.conflictStage !== 'waiting');
    assert.deepEqual([go.conflictStage, go.ddls, go.version], ['resolved', [], 2]);
    await putJSON(opKey('s1'), { ...go, done: true });
    await waitFor('rename lock cleared', async () => (await shardKeysOf('shr')).filter((k) => !k.includes('/source-tables/')).length === 0, { timeoutMs: 30_000 });
    await c.client(leader).operateTask({ op: TaskOp.STOP, name: 'shr', sources: [] });
  });

  await t.test('unlock of a lock that does not exist answers 38101 over RPC too', async () => {
    assert.equal(await codeOf(c.client(leader).unlockDDLLock({ id: 'nope-`a`.`b`' })), 38101);
  });
});
