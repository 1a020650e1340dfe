/**
 * shardddl_transfer (issue 13, "shard DDL coordination must survive operations"): 2 sources × 2
 * shard tables per task, two tasks on the same sources — `pes` (pessimistic, shard_1..4 →
 * `merged_pes`.`t`) and `opt` (optimistic, shard_o1..o4 → `merged_opt`.`t`), both with the route's
 * extract-schema column `c_shard` — 1 dm-master and 3 dm-workers (one spare), the real binaries
 * driven by dmctl. Source 1 holds shard_1, shard_2, shard_o1, shard_o2; source 2 the others.
 *
 * 1. kill -9 during a shard online schema change: gh-ost (its statement sequence replayed in SQL)
 *    adds a column to shard_1; right after its cut-over (translated, waiting in source 1's group
 *    for shard_2) the worker of source 1 is killed; the source moves to the spare worker, which
 *    replays from its checkpoint; gh-ost then runs on shard_2, shard_3, shard_4; the column is on
 *    the merged table once and no lock is left;
 * 2. pessimistic, transfer of the OWNER: source 1 reaches ADD COLUMN first (the lock's owner) and
 *    waits for source 2; `transfer-source` moves source 1 to the free worker; source 2 then reaches
 *    the DDL: the new worker of source 1 runs it once, the lock clears;
 * 3. pessimistic, transfer of a NON-OWNER: source 2 reaches the next DDL first (owner); source 1
 *    is half-way (shard_1 reached it, its rows held back, shard_2 not yet) when it is transferred;
 *    shard_2 reaches it on the new worker: the lock finishes;
 * 4. pessimistic, the owner's worker STALLS (SIGSTOP) longer than its lease mid-lock: the source
 *    moves to a free worker, the other source completes the lock and the stalled worker resumes at
 *    once; the lock finishes through the new worker and the DDL reaches the target once;
 * 5. optimistic: a lock open (shard_o1 and shard_o3 added a column, shard_o2 and shard_o4 not);
 *    source 2 is transferred; the remaining shards add it (nothing more to run) and the lock clears;
 *    then a DROP COLUMN round split by another transfer: the column goes when the last shard
 *    dropped it.
 * After each step both targets equal the union of their shards (row by row, with c_shard), every
 * DDL ran once (final columns), no lock is left and both tasks sync without error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor, type MariaDBServer } from '../../helpers/index.js';
import { missingBinaries, waitTask } from '../../helpers/cluster.js';
import { ghostAtomicCutOver, ghostCatchUp, ghostPrepare, ghostRowCopy } from '../../helpers/online-ddl.js';
import { setupScenario } from '../helpers/scenario.js';
import { shardUnion, targetColumns, targetRows } from '../helpers/shard.js';

const CASE = dirname(fileURLToPath(import.meta.url));
const S1 = 'mysql-replica-01';
const S2 = 'mysql-replica-02';

interface LockJSON {
  ID: string;
  owner: string;
  DDLs: string[];
  synced: string[];
  unsynced: string[];
}

void test(
  'shardddl_transfer: transfer-source of the owner / a non-owner mid-lock, optimistic lock across a transfer, kill -9 between two shards\' gh-ost cut-overs: target = union of shards',
  { skip: missingBinaries() || false, timeout: 600_000 },
  async (t) => {
    const s = await setupScenario(t, CASE, { sources: 2, masters: 1, workers: 3 });
    const [src1, src2] = s.sources as [MariaDBServer, MariaDBServer];
    await s.loadData(src1, 'db1.prepare.sql');
    await s.loadData(src2, 'db2.prepare.sql');
    await s.createSources();
    for (const task of ['pes', 'opt']) {
      const r = await s.cluster.ctl(['start-task', s.conf(`dm-task-${task}.yaml`)]);
      assert.equal(r.json['result'], true, r.stdout);
    }
    const syncing = (x: { stage: string; unit: string; worker: string }[]): boolean => x.length === 2 && x.every((st) => st.stage === 'Running' && st.unit === 'Sync' && st.worker !== '');
    for (const task of ['pes', 'opt']) await waitTask(s.cluster, task, 'syncing', syncing, 180_000);

    const shardsOf: Record<'pes' | 'opt', [MariaDBServer, string][]> = {
      pes: [[src1, 'shard_1'], [src1, 'shard_2'], [src2, 'shard_3'], [src2, 'shard_4']],
      opt: [[src1, 'shard_o1'], [src1, 'shard_o2'], [src2, 'shard_o3'], [src2, 'shard_o4']],
    };
    const diag = async (task: string): Promise<string> => `\n${(await s.cluster.ctl(['query-status', task])).stdout}\n${(await s.cluster.ctl(['shard-ddl-lock', task])).stdout}`;
    const converged = async (task: 'pes' | 'opt', what: string, cols: string[], timeoutMs = 120_000): Promise<void> => {
      let last = '';
      await waitFor(
        `${task}: ${what}`,
        async () => {
          const [want, got] = [JSON.stringify(await shardUnion(shardsOf[task], cols)), JSON.stringify(await targetRows(s.target, cols, `merged_${task}.t`))];
          last = `target ${got.slice(-1500)}\nshards ${want.slice(-1500)}`;
          return want === got;
        },
        { timeoutMs, intervalMs: 1000 },
      ).catch(async (e: Error) => {
        throw new Error(`${e.message}\n${last}${await diag(task)}\n${s.cluster.logs()}`);
      });
    };
    const locks = async (task: string): Promise<LockJSON[]> => ((await s.cluster.ctl(['shard-ddl-lock', task])).json['locks'] as LockJSON[] | undefined) ?? [];
    const noLock = async (task: string): Promise<void> => {
      await waitFor(`${task}: no shard-DDL lock left`, async () => (await locks(task)).length === 0, { timeoutMs: 60_000, intervalMs: 1000 }).catch(async (e: Error) => {
        throw new Error(`${e.message}${await diag(task)}`);
      });
    };
    const waitLock = async (task: string, what: string, pred: (l: LockJSON) => boolean): Promise<LockJSON> => {
      let found: LockJSON | undefined;
      await waitFor(`${task}: ${what}`, async () => {
        found = (await locks(task)).find(pred);
        return found !== undefined;
      }, { timeoutMs: 90_000, intervalMs: 500 }).catch(async (e: Error) => {
        throw new Error(`${e.message}${await diag(task)}`);
      });
      return found as LockJSON;
    };
    /** The worker each source is bound to now (from the pes task's query-status). */
    const bound = async (): Promise<Map<string, string>> => {
      const subs = await waitTask(s.cluster, 'pes', 'bound', (x) => x.length === 2 && x.every((st) => st.worker !== ''));
      return new Map(subs.map((x) => [x.source, x.worker]));
    };
    const transfer = async (source: string, worker: string): Promise<void> => {
      // a worker just (re)started may not be registered yet: retry while it is not free
      let out = '';
      await waitFor(`transfer-source ${source} ${worker}`, async () => {
        const r = await s.cluster.ctl(['transfer-source', source, worker]);
        out = r.stdout;
        return r.json['result'] === true;
      }, { timeoutMs: 30_000, intervalMs: 1000 }).catch((e: Error) => {
        throw new Error(`${e.message}: ${out}`);
      });
      for (const task of ['pes', 'opt']) {
        await waitTask(s.cluster, task, `${source} syncing on ${worker}`, (x) => syncing(x) && x.find((st) => st.source === source)?.worker === worker, 90_000);
      }
    };
    const freeWorker = async (): Promise<string> => {
      const used = new Set((await bound()).values());
      const free = s.cluster.workers.filter((w) => !used.has(w.name) && s.cluster.alive(w)).map((w) => w.name);
      assert.ok(free.length > 0, 'a free worker');
      return free[0] as string;
    };
    await converged('pes', 'full phase', ['id', 'v', 'n', 'c_shard']);
    await converged('opt', 'full phase', ['id', 'v', 'n', 'c_shard']);

    // ---- 1. kill -9 of source 1's worker between shard_1's and shard_2's gh-ost cut-overs ----
    const ghost = async (src: MariaDBServer, db: string, id: number): Promise<void> => {
      await ghostPrepare(src, db, 'add column e int not null default 5');
      await ghostRowCopy(src, db, 1000);
      await ghostCatchUp(src, db);
      await ghostAtomicCutOver(src, db);
      await src.sql(`drop /* gh-ost */ table if exists \`${db}\`.\`_t_ghc\``);
      await src.sql(`INSERT INTO \`${db}\`.t (id, v, n, e) VALUES (?, 'after cut-over', 1, ?)`, [id, id % 100]);
    };
    await ghost(src1, 'shard_1', 10901);
    await waitFor('pes: shard_1\'s translated ADD COLUMN waits in the group of source 1', async () => {
      const q = (await s.cluster.ctl(['query-status', 'pes'])).stdout;
      return /"unresolvedGroups": \[\s*\{\s*"target": "`merged_pes`\.`t`",\s*"DDLs": \[\s*"alter \/\* gh-ost \*\/ table `merged_pes`\.`t` add column e int not null default 5"/.test(q);
    }, { timeoutMs: 60_000, intervalMs: 500 }).catch(async (e: Error) => {
      throw new Error(`${e.message}${await diag('pes')}`);
    });
    const before = await bound();
    const victim = s.cluster.workers.find((w) => w.name === before.get(S1));
    assert.ok(victim, 'the worker of source 1');
    await s.cluster.kill9(victim);
    await src1.sql("INSERT INTO shard_1.t (id, v, n, e) VALUES (10902, 'while its worker is down', 2, 2)");
    await ghost(src1, 'shard_2', 20901);
    await ghost(src2, 'shard_3', 30901);
    await ghost(src2, 'shard_4', 40901);
    await waitTask(s.cluster, 'pes', 'source 1 on another worker', (x) => syncing(x) && x.find((st) => st.source === S1)?.worker !== victim.name, 90_000);
    // the killed worker comes back (a slow restart): its source is elsewhere, it is the free one now
    s.cluster.spawn(victim);
    await converged('pes', 'gh-ost on every shard across the kill', ['id', 'v', 'n', 'e', 'c_shard']);
    assert.deepEqual(await targetColumns(s.target, 'merged_pes'), ['id', 'v', 'n', 'c_shard', 'e']);
    await noLock('pes');
    const tables = (await s.target.sql("SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'merged_pes'")).map((r) => String(r['t']));
    assert.deepEqual(tables, ['t'], 'no ghost, changelog or trash table on the target');

    // ---- 2. pessimistic: transfer-source of the lock's owner while the lock waits ----
    await src1.sql("ALTER TABLE shard_1.t ADD COLUMN c INT; INSERT INTO shard_1.t VALUES (910003, 'p2', 3, 5, 13)");
    await src1.sql("ALTER TABLE shard_2.t ADD COLUMN c INT; INSERT INTO shard_2.t VALUES (920003, 'p2', 3, 5, 23)");
    const l2 = await waitLock('pes', 'ADD COLUMN c waits for source 2', (l) => l.DDLs.some((d) => /ADD COLUMN c/i.test(d)) && l.unsynced.some((x) => x.includes(S2)));
    assert.ok(l2.owner.startsWith(S1), JSON.stringify(l2));
    await transfer(S1, await freeWorker());
    await src1.sql("INSERT INTO shard_1.t VALUES (910004, 'after the transfer', 4, 5, 14)");
    await src2.sql("ALTER TABLE shard_3.t ADD COLUMN c INT; ALTER TABLE shard_4.t ADD COLUMN c INT; INSERT INTO shard_4.t VALUES (940003, 'p2', 3, 5, 43)");
    await converged('pes', 'owner transferred mid-lock', ['id', 'v', 'n', 'e', 'c', 'c_shard']);
    await noLock('pes');

    // ---- 3. pessimistic: transfer-source of a non-owner, half-way through its group ----
    await src2.sql("ALTER TABLE shard_3.t ADD COLUMN d INT; ALTER TABLE shard_4.t ADD COLUMN d INT; INSERT INTO shard_3.t VALUES (930004, 'p3', 4, 5, 34, 1)");
    const l3 = await waitLock('pes', 'ADD COLUMN d waits for source 1', (l) => l.DDLs.some((d) => /ADD COLUMN d/i.test(d)) && l.unsynced.some((x) => x.includes(S1)));
    assert.ok(l3.owner.startsWith(S2), JSON.stringify(l3));
    await src1.sql("ALTER TABLE shard_1.t ADD COLUMN d INT; INSERT INTO shard_1.t VALUES (910005, 'held back', 5, 5, 15, 2); UPDATE shard_2.t SET v = 'not held' WHERE id = 20001");
    await transfer(S1, await freeWorker());
    await src1.sql("ALTER TABLE shard_2.t ADD COLUMN d INT; INSERT INTO shard_2.t VALUES (920005, 'p3', 5, 5, 25, 3)");
    await converged('pes', 'non-owner transferred mid-lock', ['id', 'v', 'n', 'e', 'c', 'd', 'c_shard']);
    assert.deepEqual(await targetColumns(s.target, 'merged_pes'), ['id', 'v', 'n', 'c_shard', 'e', 'c', 'd']);
    await noLock('pes');

    // ---- 4. pessimistic: the owner's worker stalls (SIGSTOP) longer than its lease mid-lock ----
    // The source moves to a free worker; the other source then completes the lock and the stalled
    // worker is resumed at once: it may still act on the owner's operation it was waiting for (a
    // watch event handled before its fencing timer), but its `done` is refused (40007); the DDL
    // reaches the target once and the lock finishes through the new worker.
    await src1.sql("ALTER TABLE shard_1.t ADD COLUMN f INT; ALTER TABLE shard_2.t ADD COLUMN f INT; INSERT INTO shard_2.t VALUES (920006, 'p4', 6, 5, 26, 4, 6)");
    const l4 = await waitLock('pes', 'ADD COLUMN f waits for source 2', (l) => l.DDLs.some((d) => /ADD COLUMN f/i.test(d)) && l.unsynced.some((x) => x.includes(S2)));
    assert.ok(l4.owner.startsWith(S1), JSON.stringify(l4));
    const stalledName = (await bound()).get(S1) ?? '';
    const stalledProc = s.cluster.workers.find((w) => w.name === stalledName);
    const pid = stalledProc?.child?.pid;
    assert.ok(pid !== undefined, `the worker of source 1 (${stalledName})`);
    process.kill(-pid, 'SIGSTOP');
    try {
      for (const task of ['pes', 'opt']) {
        await waitTask(s.cluster, task, 'source 1 moved off the stalled worker', (x) => syncing(x) && x.find((st) => st.source === S1)?.worker !== stalledName, 90_000);
      }
      await src2.sql("ALTER TABLE shard_3.t ADD COLUMN f INT; ALTER TABLE shard_4.t ADD COLUMN f INT; INSERT INTO shard_3.t VALUES (930006, 'p4', 6, 5, 36, 4, 6)");
    } finally {
      process.kill(-pid, 'SIGCONT');
    }
    await src1.sql("INSERT INTO shard_1.t VALUES (910006, 'after the stall', 6, 5, 16, 4, 6)");
    await converged('pes', 'owner\'s worker stalled mid-lock', ['id', 'v', 'n', 'e', 'c', 'd', 'f', 'c_shard']);
    assert.deepEqual(await targetColumns(s.target, 'merged_pes'), ['id', 'v', 'n', 'c_shard', 'e', 'c', 'd', 'f']);
    await noLock('pes');

    // ---- 5. optimistic: a lock open across a transfer; a DROP COLUMN round split by another ----
    await src1.sql("ALTER TABLE shard_o1.t ADD COLUMN c INT; INSERT INTO shard_o1.t VALUES (110201, 'o', 1, 11)");
    await src2.sql("ALTER TABLE shard_o3.t ADD COLUMN c INT; INSERT INTO shard_o3.t VALUES (130201, 'o', 1, 13)");
    await waitLock('opt', 'ADD COLUMN c open (shard_o2, shard_o4 without it)', (l) => l.unsynced.length === 2);
    await converged('opt', 'first shards added c', ['id', 'v', 'n', 'c_shard']);
    await transfer(S2, await freeWorker());
    await src1.sql("ALTER TABLE shard_o2.t ADD COLUMN c INT; INSERT INTO shard_o2.t VALUES (120201, 'o', 1, 12)");
    await src2.sql("ALTER TABLE shard_o4.t ADD COLUMN c INT; INSERT INTO shard_o4.t VALUES (140201, 'o', 1, 14)");
    await converged('opt', 'every shard added c', ['id', 'v', 'n', 'c', 'c_shard']);
    await noLock('opt');
    await src1.sql("ALTER TABLE shard_o1.t DROP COLUMN n; ALTER TABLE shard_o2.t DROP COLUMN n; INSERT INTO shard_o1.t VALUES (110202, 'no n', 21)");
    await src2.sql("ALTER TABLE shard_o3.t DROP COLUMN n; INSERT INTO shard_o3.t VALUES (130202, 'no n', 23)");
    await waitLock('opt', 'DROP COLUMN n waits for shard_o4', (l) => l.unsynced.length > 0);
    assert.ok((await targetColumns(s.target, 'merged_opt')).includes('n'), 'n stays while shard_o4 has it');
    await transfer(S2, await freeWorker());
    await src2.sql("INSERT INTO shard_o4.t VALUES (140202, 'still n', 2, 24); ALTER TABLE shard_o4.t DROP COLUMN n; INSERT INTO shard_o4.t VALUES (140203, 'no n', 24)");
    await converged('opt', 'every shard dropped n', ['id', 'v', 'c', 'c_shard']);
    assert.deepEqual(await targetColumns(s.target, 'merged_opt'), ['id', 'v', 'c_shard', 'c']);
    await noLock('opt');

    // both tasks sync on, no error left
    for (const task of ['pes', 'opt']) {
      const subs = await waitTask(s.cluster, task, 'still syncing, no error', syncing);
      for (const st of subs) assert.deepEqual(st.result?.errors ?? [], [], `${task} ${st.source}: ${JSON.stringify(st.result)}`);
    }
    await converged('pes', 'end', ['id', 'v', 'n', 'e', 'c', 'd', 'f', 'c_shard']);
    // how often a worker that had lost its source tried a shard DDL write (refused with 40007): printed, not asserted
    const refused = s.cluster.workers.map((w) => `${w.name}: ${readFileSync(w.log, 'utf8').split('\n').filter((l) => l.includes('ErrWorkerSourceNotBound') || l.includes('no longer bound to source')).length}`);
    t.diagnostic(`shard DDL writes refused to workers that lost their source: ${refused.join(', ')}`);
  },
);
