/**
 * shardddl_pessimistic (DM's shardddl1/sequence_sharding cases, DM.ts style): 2 sources × 2 shard
 * tables → one target table `merged`.`t` (route + extract-schema column `c_shard`), task-mode all,
 * shard-mode pessimistic, 3 dm-masters and 3 dm-workers (the real binaries, driven by dmctl):
 *
 * - ADD COLUMN, ADD INDEX, MODIFY, CHANGE (rename), DROP COLUMN in sequence, shards at different
 *   speeds (one shard two DDLs ahead of its sibling), rows written between the shards' DDLs;
 * - `shard-ddl-lock` shows the lock with its synced and unsynced sources while it waits;
 * - pause-task / resume-task and stop-task / start-task while a lock waits;
 * - kill -9 of the worker of the lock's owner mid-lock (the source moves to the spare worker and
 *   resumes from its checkpoint), kill -9 of the leader mid-lock (the keeper on the new leader
 *   finishes the lock);
 * - the target ends equal to the union of the shards (with each row's c_shard), compared row by
 *   row, and every DDL ran once (the target has the final structure; no 1060/1061 on replay).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../helpers/index.js';
import { missingBinaries, waitTask } from '../../helpers/cluster.js';
import { setupScenario } from '../helpers/scenario.js';
import { shardUnion, targetRows, targetColumns } from '../helpers/shard.js';

const CASE = dirname(fileURLToPath(import.meta.url));

interface LockJSON {
  ID: string;
  owner: string;
  DDLs: string[];
  synced: string[];
  unsynced: string[];
}

void test(
  'shardddl_pessimistic: DDL sequence over 2 sources x 2 shards, kill -9 of worker and leader mid-lock, target = union of shards',
  { skip: missingBinaries() || false, timeout: 900_000 },
  async (t) => {
    const s = await setupScenario(t, CASE, { sources: 2, masters: 3, workers: 3 });
    const [src1, src2] = s.sources as [NonNullable<(typeof s.sources)[0]>, NonNullable<(typeof s.sources)[0]>];
    await s.loadData(src1, 'db1.prepare.sql');
    await s.loadData(src2, 'db2.prepare.sql');
    await s.createSources();
    const r = await s.cluster.ctl(['start-task', s.conf('dm-task.yaml')]);
    assert.equal(r.json['result'], true, r.stdout);
    await waitTask(s.cluster, 'test', 'syncing', (x) => x.length === 2 && x.every((st) => st.stage === 'Running' && st.unit === 'Sync'), 240_000);
    const shards: [typeof src1, string][] = [[src1, 'shard_1'], [src1, 'shard_2'], [src2, 'shard_3'], [src2, 'shard_4']];
    const converged = async (what: string, cols: string[], timeoutMs = 180_000): Promise<void> => {
      let last = '';
      await waitFor(
        what,
        async () => {
          const [want, got] = [JSON.stringify(await shardUnion(shards, cols)), JSON.stringify(await targetRows(s.target, cols))];
          last = `target ${got}\nshards ${want}`;
          return want === got;
        },
        { timeoutMs, intervalMs: 1000 },
      ).catch(async (e: Error) => {
        const st = await s.cluster.ctl(['query-status', 'test']);
        const locks = await s.cluster.ctl(['shard-ddl-lock', 'test']);
        throw new Error(`${e.message}\n${last}\n${st.stdout}\n${locks.stdout}`);
      });
    };
    await converged('full phase', ['id', 'v', 'name', 'c_shard']);
    const locks = async (): Promise<LockJSON[]> => ((await s.cluster.ctl(['shard-ddl-lock', 'test'])).json['locks'] as LockJSON[] | undefined) ?? [];

    // DDL 1: ADD COLUMN; shard_1 first with rows after it, shard_2 with rows before it
    await src1.sql("ALTER TABLE shard_1.t ADD COLUMN c VARCHAR(10); INSERT INTO shard_1.t VALUES (1003, 3, 'g', 'x1')");
    await src1.sql("INSERT INTO shard_2.t VALUES (2002, 2, 'h'); UPDATE shard_2.t SET v = 10 WHERE id = 2001");
    await src1.sql("ALTER TABLE shard_2.t ADD COLUMN c VARCHAR(10); INSERT INTO shard_2.t VALUES (2003, 3, 'i', 'x2')");
    // source 1 waits for source 2: the lock shows it
    let lock: LockJSON | undefined;
    await waitFor('lock of DDL 1 shown', async () => {
      lock = (await locks()).find((l) => l.DDLs.some((d) => d.includes('ADD COLUMN')));
      return lock !== undefined && lock.unsynced.length > 0;
    }, { timeoutMs: 120_000, intervalMs: 1000 });
    assert.equal(lock?.ID, 'test-`merged`.`t`');
    assert.ok(lock?.synced.some((x) => x.includes('mysql-replica-01')), JSON.stringify(lock));
    assert.ok(lock?.unsynced.some((x) => x.includes('mysql-replica-02')), JSON.stringify(lock));
    assert.equal(lock?.owner.startsWith('mysql-replica-01'), true, JSON.stringify(lock));
    // query-status of the waiting source: DM's unresolvedDDLLockID, blockingDDLs, unresolvedGroups
    await waitFor('query-status shows the wait', async () => {
      const q = (await s.cluster.ctl(['query-status', 'test'])).stdout;
      return q.includes('"unresolvedDDLLockID": "test-`merged`.`t`"') && /"blockingDDLs": \[\s*"ALTER TABLE `merged`.`t` ADD COLUMN c VARCHAR\(10\)"/.test(q) && q.includes('"unsynced": []');
    }, { timeoutMs: 60_000, intervalMs: 1000 }).catch(async (e: Error) => {
      throw new Error(`${e.message}: ${(await s.cluster.ctl(['query-status', 'test'])).stdout}`);
    });

    // source 2: shard_3 two DDLs ahead (ADD COLUMN, ADD INDEX) with rows between; then shard_4
    await src2.sql("ALTER TABLE shard_3.t ADD COLUMN c VARCHAR(10); INSERT INTO shard_3.t VALUES (3002, 2, 'j', 'y1')");
    await src2.sql("ALTER TABLE shard_3.t ADD INDEX iv (v); INSERT INTO shard_3.t VALUES (3003, 3, 'k', 'y2')");
    await src2.sql("INSERT INTO shard_4.t VALUES (4003, 3, 'l'); DELETE FROM shard_4.t WHERE id = 4002");
    await src2.sql("ALTER TABLE shard_4.t ADD COLUMN c VARCHAR(10); INSERT INTO shard_4.t VALUES (4004, 4, 'm', 'y3')");
    await src2.sql("ALTER TABLE shard_4.t ADD INDEX iv (v); INSERT INTO shard_4.t VALUES (4005, 5, 'n', 'y4')");
    // DDL 2 on source 1, then kill -9 of the worker of source 1 while the lock of DDL 2 may be open
    await src1.sql("ALTER TABLE shard_1.t ADD INDEX iv (v); INSERT INTO shard_1.t VALUES (1004, 4, 'o', 'x3')");
    const subs = await waitTask(s.cluster, 'test', 'bound', (x) => x.length === 2 && x.every((st) => st.worker !== ''));
    const w1 = subs.find((x) => x.source === 'mysql-replica-01')?.worker ?? '';
    const victim = s.cluster.workers.find((w) => w.name === w1);
    assert.ok(victim, `worker ${w1} of source 1`);
    await s.cluster.kill9(victim);
    await src1.sql("ALTER TABLE shard_2.t ADD INDEX iv (v); INSERT INTO shard_2.t VALUES (2004, 4, 'p', 'x4')");
    await waitTask(s.cluster, 'test', 'source 1 on the spare worker', (x) => x.length === 2 && x.every((st) => st.stage === 'Running' && st.unit === 'Sync' && st.worker !== w1 && st.worker !== ''), 180_000);
    await converged('DDL 1 and 2 through', ['id', 'v', 'name', 'c', 'c_shard']);

    // DDL 3 (MODIFY) everywhere, kill -9 of the leader while source 2 has not reached it
    await src1.sql("ALTER TABLE shard_1.t MODIFY c VARCHAR(30); ALTER TABLE shard_2.t MODIFY c VARCHAR(30); INSERT INTO shard_2.t VALUES (2005, 5, 'q', 'a-longer-value-x')");
    await src2.sql("ALTER TABLE shard_3.t MODIFY c VARCHAR(30); INSERT INTO shard_3.t VALUES (3004, 4, 'r', 'a-longer-value-y')");
    await waitFor('lock of DDL 3 shown', async () => (await locks()).some((l) => l.DDLs.some((d) => d.includes('MODIFY'))), { timeoutMs: 120_000, intervalMs: 1000 });
    // pause-task / resume-task and stop-task / start-task while the lock waits for source 2
    const ok = async (args: string[]): Promise<void> => {
      const x = await s.cluster.ctl(args);
      assert.equal(x.json['result'], true, `${args.join(' ')}: ${x.stdout}`);
    };
    await ok(['pause-task', 'test']);
    await waitTask(s.cluster, 'test', 'paused', (x) => x.length === 2 && x.every((st) => st.stage === 'Paused'));
    await ok(['resume-task', 'test']);
    await waitTask(s.cluster, 'test', 'resumed', (x) => x.length === 2 && x.every((st) => st.stage === 'Running' && st.unit === 'Sync'));
    await ok(['stop-task', 'test']);
    await src1.sql("INSERT INTO shard_1.t VALUES (1006, 6, 'while stopped', 'z')");
    await ok(['start-task', s.conf('dm-task.yaml')]);
    await waitTask(s.cluster, 'test', 'started again', (x) => x.length === 2 && x.every((st) => st.stage === 'Running' && st.unit === 'Sync'), 180_000);
    await waitFor('lock of DDL 3 shown again', async () => (await locks()).some((l) => l.DDLs.some((d) => d.includes('MODIFY'))), { timeoutMs: 120_000, intervalMs: 1000 });
    const leader = await s.cluster.waitLeader();
    await s.cluster.kill9(s.cluster.masters[leader]!);
    await src2.sql("ALTER TABLE shard_4.t MODIFY c VARCHAR(30); INSERT INTO shard_4.t VALUES (4006, 6, 's', 'a-longer-value-z')");
    await s.cluster.waitLeader();
    // DDL 4 and 5: CHANGE (rename) then DROP COLUMN, the shards of source 2 first this time
    await src2.sql("ALTER TABLE shard_3.t CHANGE c c2 VARCHAR(30); ALTER TABLE shard_4.t CHANGE c c2 VARCHAR(30); INSERT INTO shard_3.t VALUES (3005, 5, 't', 'renamed')");
    await src2.sql("ALTER TABLE shard_3.t DROP COLUMN name; ALTER TABLE shard_4.t DROP COLUMN name; INSERT INTO shard_4.t VALUES (4007, 7, 'dropped')");
    await src1.sql("INSERT INTO shard_1.t VALUES (1005, 5, 'u', 'before rename')");
    await src1.sql("ALTER TABLE shard_1.t CHANGE c c2 VARCHAR(30); ALTER TABLE shard_2.t CHANGE c c2 VARCHAR(30); UPDATE shard_1.t SET c2 = 'renamed too' WHERE id = 1001");
    await src1.sql("ALTER TABLE shard_1.t DROP COLUMN name; ALTER TABLE shard_2.t DROP COLUMN name; INSERT INTO shard_2.t VALUES (2006, 6, 'last')");
    await converged('every DDL through', ['id', 'v', 'c2', 'c_shard'], 240_000);
    // ADD COLUMN appends on the target too: after the route's extract column
    assert.deepEqual(await targetColumns(s.target), ['id', 'v', 'c_shard', 'c2']);
    const ct = (await s.target.sql("SELECT COLUMN_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='merged' AND TABLE_NAME='t' AND COLUMN_NAME='c2'"))[0]?.['t'];
    assert.equal(ct, 'varchar(30)');
    const idx = await s.target.sql("SELECT COUNT(*) AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA='merged' AND TABLE_NAME='t' AND INDEX_NAME='iv'");
    assert.equal(Number(idx[0]?.['n']), 1);
    await waitFor('no lock left', async () => (await locks()).length === 0, { timeoutMs: 60_000, intervalMs: 1000 });
    const st = await waitTask(s.cluster, 'test', 'still syncing', (x) => x.length === 2 && x.every((y) => y.stage === 'Running' && y.unit === 'Sync'));
    assert.equal(st.length, 2);
  },
);
