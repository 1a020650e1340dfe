/**
 * shardddl_online_ddl (issue 13, "works with shard merge in both modes"): online DDL and shard DDL
 * coordination together. 2 sources (shard_1 + shard_2 on source 1, shard_3 on source 2), each
 * shard `shard_N.t (id, v, n)` routed into one table, by two tasks on the same sources: `pessimistic`
 * (→ `merged_pes`.`t`) and `optimistic` (→ `merged_opt`.`t`), both `online-ddl: true`, with the
 * route's extract-schema column `c_shard`. Rows are written to every shard throughout.
 *
 * gh-ost adds a column on every shard, one shard after the other (its statement sequence replayed
 * in SQL, test/helpers/online-ddl.ts: changelog, ghost table, ALTER of the ghost table, row copy,
 * the applier mirroring live writes, atomic cut-over). The consumer translates each cut-over
 * RENAME into the recorded ALTER on the real table, which then goes to the shard handler: the
 * pessimistic lock waits for all three shards (rows after the cut-over held back meanwhile), the
 * optimistic one applies the first ADD COLUMN and skips the rest. Both merged tables end with the
 * column exactly once, no shard-DDL lock left, no error in query-status, no ghost / changelog /
 * trash table on the target, and their rows equal the union of the shards row by row.
 *
 * The second case runs Debian's real pt-online-schema-change (triggers, `_t_new`, row copy in
 * chunks, RENAME swap, `_t_old` dropped) on `shard_1.t` (source 1) and then `shard_2.t` (source 2)
 * of a 2-shard merge, the app writing to both shards all along, and kills -9 source 1's worker
 * during the first row copy (the source moves to a spare worker). The pessimistic lock holds
 * shard_1's translated ALTER (and its later rows) until shard_2 is cut over, then runs it once;
 * the optimistic task adds the column at shard_1's cut-over. Skipped, with the apt-get line, when
 * pt-osc is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor, type MariaDBServer } from '../../helpers/index.js';
import { killProc, missingBinaries, waitTask, type SubtaskView } from '../../helpers/cluster.js';
import { appWriter, ghostAtomicCutOver, ghostCatchUp, ghostPrepare, ghostRowCopy, ptOscMissing, runPtOsc } from '../../helpers/online-ddl.js';
import type { Writer } from '../../helpers/writer.js';
import { setupScenario, type Scenario } from '../helpers/scenario.js';
import { shardUnion, targetColumns, targetRows } from '../helpers/shard.js';

const CASE = dirname(fileURLToPath(import.meta.url));
const TASKS = [
  ['pessimistic', 'merged_pes'],
  ['optimistic', 'merged_opt'],
] as const;

/** Diagnostics (query-status, shard-ddl-lock of both tasks) and "both merged tables equal the union of the shards". */
function checks(s: Scenario, shards: [MariaDBServer, string][]): { diag: () => Promise<string>; converged: (what: string, cols: string[], timeoutMs?: number) => Promise<void> } {
  const diag = async (): Promise<string> => {
    let out = '';
    for (const [task] of TASKS) {
      out += `\n${(await s.cluster.ctl(['query-status', task])).stdout}\n${(await s.cluster.ctl(['shard-ddl-lock', task])).stdout}`;
    }
    return out;
  };
  const converged = async (what: string, cols: string[], timeoutMs = 240_000): Promise<void> => {
    for (const [task, schema] of TASKS) {
      let last = '';
      await waitFor(
        `${task}: ${what}`,
        async () => {
          const [want, got] = [JSON.stringify(await shardUnion(shards, cols)), JSON.stringify(await targetRows(s.target, cols, `${schema}.t`))];
          last = `target ${got.slice(0, 1500)}\nshards ${want.slice(0, 1500)}`;
          return want === got;
        },
        { timeoutMs, intervalMs: 1000 },
      ).catch(async (e: Error) => {
        throw new Error(`${e.message}\n${last}${await diag()}`);
      });
    }
  };
  return { diag, converged };
}

/** Both tasks end with column c once (after the extract column), no shard, ghost or trash table, no lock, no online-DDL record, no error. */
async function settled(s: Scenario, diag: () => Promise<string>, syncing: (x: SubtaskView[]) => boolean): Promise<void> {
  for (const [task, schema] of TASKS) {
    assert.deepEqual(await targetColumns(s.target, schema), ['id', 'v', 'n', 'c_shard', 'c'], `${task}: column c once, after the extract column`);
    const tables = (await s.target.sql('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [schema])).map((r) => String(r['t']));
    assert.deepEqual(tables, ['t'], `${task}: no shadow, changelog or trash table on the target`);
    await waitFor(`${task}: no shard-DDL lock left`, async () => {
      const r = await s.cluster.ctl(['shard-ddl-lock', task]);
      return r.json['result'] === true && ((r.json['locks'] as unknown[] | undefined) ?? []).length === 0;
    }, { timeoutMs: 60_000, intervalMs: 1000 }).catch(async (e: Error) => {
      throw new Error(`${e.message}${await diag()}`);
    });
    const rec = await s.target.sql('SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', ['dm_meta', `${task}_onlineddl`]);
    if (Number(rec[0]?.['n']) > 0) {
      const left = await s.target.sql(`SELECT ghost_schema, ghost_table FROM dm_meta.\`${task}_onlineddl\``);
      assert.deepEqual(left, [], `${task}: online-DDL records deleted after the cut-overs`);
    }
    const subs = await waitTask(s.cluster, task, 'still syncing, no error', syncing);
    for (const st of subs) {
      assert.deepEqual(st.result?.errors ?? [], [], `${task} ${st.source}: ${JSON.stringify(st.result)}`);
      assert.equal(st.unresolvedDDLLockID, '', `${task} ${st.source}`);
    }
  }
}

void test(
  'shardddl_online_ddl: gh-ost ADD COLUMN on every shard under writes, pessimistic and optimistic tasks: column once, no lock left, target = union of shards',
  { skip: missingBinaries() || false, timeout: 900_000 },
  async (t) => {
    const s = await setupScenario(t, CASE, { sources: 2, masters: 1, workers: 2 });
    const [src1, src2] = s.sources as [MariaDBServer, MariaDBServer];
    await s.loadData(src1, 'db1.prepare.sql');
    await s.loadData(src2, 'db2.prepare.sql');
    await s.createSources();
    for (const [task] of TASKS) {
      const r = await s.cluster.ctl(['start-task', s.conf(`dm-task-${task}.yaml`)]);
      assert.equal(r.json['result'], true, r.stdout);
    }
    const syncing = (x: { stage: string; unit: string }[]): boolean => x.length === 2 && x.every((st) => st.stage === 'Running' && st.unit === 'Sync');
    for (const [task] of TASKS) await waitTask(s.cluster, task, 'syncing', syncing, 240_000);

    const shards: [MariaDBServer, string][] = [[src1, 'shard_1'], [src1, 'shard_2'], [src2, 'shard_3']];
    const { diag, converged } = checks(s, shards);
    await converged('full phase', ['id', 'v', 'n', 'c_shard']);

    // writers on every shard from here on; gh-ost's applier mirrors them while its ghost table lives
    const ghost = new Map<string, boolean>();
    const writers = new Map<string, Writer>();
    const startWriter = (src: MariaDBServer, db: string, firstId: number): void => {
      writers.set(db, appWriter(src, db, firstId, () => ghost.get(db) === true));
    };
    shards.forEach(([src, db], i) => startWriter(src, db, (i + 1) * 100_000));

    // gh-ost on each shard in turn: shard_1 and shard_2 (same source), then shard_3 (the other)
    for (const [i, [src, db]] of shards.entries()) {
      await ghostPrepare(src, db, "add column c int not null default 7");
      ghost.set(db, true);
      await ghostRowCopy(src, db, 50_000);
      await ghostCatchUp(src, db);
      await writers.get(db)?.stop();
      ghost.set(db, false);
      await ghostCatchUp(src, db);
      await ghostAtomicCutOver(src, db);
      await src.sql(`drop /* gh-ost */ table if exists \`${db}\`.\`_t_ghc\``);
      // the app writes on to the altered table (the column's default fills c)
      startWriter(src, db, (i + 1) * 100_000 + 50_000);
      await src.sql(`INSERT INTO \`${db}\`.t (id, v, n, c) VALUES (?, 'after cut-over', 1, ?)`, [(i + 1) * 100_000 + 90_000, i + 10]);
      if (i === 0) {
        // pessimistic: shard_1's translated ADD COLUMN waits in source 1's sharding group for
        // shard_2 (DM's unresolvedGroups; no master lock before the source's shards all reached it)
        await waitFor('pessimistic: ADD COLUMN waits in the group of source 1', async () => {
          const q = (await s.cluster.ctl(['query-status', 'pessimistic'])).stdout;
          return /"unresolvedGroups": \[\s*\{\s*"target": "`merged_pes`\.`t`",\s*"DDLs": \[\s*"alter \/\* gh-ost \*\/ table `merged_pes`\.`t` add column c int not null default 7"/.test(q);
        }, { timeoutMs: 120_000, intervalMs: 1000 }).catch(async (e: Error) => {
          throw new Error(`${e.message}${await diag()}`);
        });
        // optimistic: the column is on the merged table at once
        await waitFor('optimistic: column on the merged table', async () => (await targetColumns(s.target, 'merged_opt')).includes('c'), { timeoutMs: 120_000, intervalMs: 1000 }).catch(async (e: Error) => {
          throw new Error(`${e.message}${await diag()}`);
        });
        assert.ok(!(await targetColumns(s.target, 'merged_pes')).includes('c'), 'pessimistic: the column waits for every shard');
      }
      if (i === 1) {
        // pessimistic: source 1 synced, its DDL now in the master's lock, waiting for source 2
        await waitFor('pessimistic lock waits for source 2', async () => {
          const l = ((await s.cluster.ctl(['shard-ddl-lock', 'pessimistic'])).json['locks'] as { DDLs: string[]; synced: string[]; unsynced: string[] }[] | undefined) ?? [];
          return l.some((x) => x.DDLs.some((d) => /add column c/i.test(d)) && x.synced.some((y) => y.includes('mysql-replica-01')) && x.unsynced.some((y) => y.includes('mysql-replica-02')));
        }, { timeoutMs: 120_000, intervalMs: 1000 }).catch(async (e: Error) => {
          throw new Error(`${e.message}${await diag()}`);
        });
        assert.ok(!(await targetColumns(s.target, 'merged_pes')).includes('c'), 'pessimistic: the column waits for source 2');
      }
    }
    const written = await Promise.all([...writers.values()].map((w) => w.stop()));
    assert.ok(written.every((n) => n > 0), `every shard written to after its cut-over: ${written.join(', ')}`);

    await converged('every shard cut over', ['id', 'v', 'n', 'c', 'c_shard']);
    const union = await shardUnion(shards, ['id', 'v', 'n', 'c', 'c_shard']);
    t.diagnostic(`rows in the union of the shards: ${union.length}`);
    // not a vacuous comparison: old rows got the default, rows after each cut-over their own c
    for (const [i] of shards.entries()) assert.ok(union.some((r) => r[0] === String((i + 1) * 100_000 + 90_000) && r[3] === String(i + 10)), `after-cut-over row of shard ${i + 1}`);
    assert.ok(union.some((r) => r[3] === '7'));
    await settled(s, diag, syncing);
  },
);

void test(
  'shardddl_online_ddl: pt-online-schema-change (the real tool) ADD COLUMN on both shards of a 2-shard merge under writes, pessimistic and optimistic tasks, a worker killed -9 during the first row copy: the lock waits for both cut-overs and runs the ALTER once, the first optimistic cut-over adds the column; target = union of shards',
  { skip: missingBinaries() || false, timeout: 600_000 },
  async (t) => {
    const missing = ptOscMissing(); // the reason, with the apt-get line
    if (missing) {
      t.skip(missing);
      return;
    }
    // a spare worker: source 1's is killed during the change
    const s = await setupScenario(t, CASE, { sources: 2, masters: 1, workers: 3 });
    const [src1, src2] = s.sources as [MariaDBServer, MariaDBServer];
    await s.loadData(src1, 'db1.ptosc.sql');
    await s.loadData(src2, 'db2.ptosc.sql');
    await s.createSources();
    for (const [task] of TASKS) {
      const r = await s.cluster.ctl(['start-task', s.conf(`dm-task-${task}.yaml`)]);
      assert.equal(r.json['result'], true, r.stdout);
    }
    const syncing = (x: { stage: string; unit: string }[]): boolean => x.length === 2 && x.every((st) => st.stage === 'Running' && st.unit === 'Sync');
    for (const [task] of TASKS) await waitTask(s.cluster, task, 'syncing', syncing, 240_000);
    const shards: [MariaDBServer, string][] = [[src1, 'shard_1'], [src2, 'shard_2']];
    const { diag, converged } = checks(s, shards);
    await converged('full phase', ['id', 'v', 'n', 'c_shard']);

    // the app writes to both shards throughout; pt-osc's triggers copy its changes into _t_new
    const writers = shards.map(([src, db], i) => appWriter(src, db, (i + 1) * 100_000, () => false));
    for (const [i, [src, db]] of shards.entries()) {
      const osc = runPtOsc(src, db, 'ADD COLUMN c INT NOT NULL DEFAULT 7', ['--chunk-size=200', i === 0 ? '--sleep=0.5' : '--sleep=0.05']);
      if (i === 0) {
        // during shard_1's row copy (its ALTER of _t_new recorded by both tasks), the worker of
        // source 1 is killed -9: the source moves to the spare worker, which must carry the
        // change through the cut-over from the records
        for (const [task] of TASKS) {
          await waitFor(`${task}: pt-osc's ALTER of shard_1._t_new recorded`, async () => {
            const rows = await s.target.sql(`SELECT ghost_table FROM dm_meta.\`${task}_onlineddl\` WHERE ghost_schema = 'shard_1'`).catch(() => []);
            return rows.some((r) => r['ghost_table'] === '_t_new');
          }, { timeoutMs: 60_000, intervalMs: 100 });
        }
        const bound = (await waitTask(s.cluster, 'pessimistic', 'bound', syncing)).find((x) => x.source === 'mysql-replica-01')?.worker;
        const victim = s.cluster.workers.find((w) => w.name === bound);
        assert.ok(victim, `worker of source 1: ${bound}`);
        await killProc(victim, 'SIGKILL');
        const copying = await src.sql("SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shard_1' AND TABLE_NAME = '_t_new'");
        assert.equal(Number(copying[0]?.['n']), 1, 'the worker was killed before the cut-over');
        for (const [task] of TASKS) {
          await waitTask(s.cluster, task, 'source 1 moved to the spare worker', (x) => syncing(x) && x.every((st) => st.worker !== bound && st.worker !== ''), 120_000);
        }
      }
      const out = await osc;
      assert.match(out, new RegExp(`Successfully altered \`${db}\`\\.\`t\``), out);
      t.diagnostic(`${db}: ${/Copied rows OK|Copying .*/.exec(out)?.[0] ?? ''}, ${(out.match(/Created triggers OK/) ?? []).length} trigger set`);
      const marker = (i + 1) * 100_000 + 90_000;
      await src.sql(`INSERT INTO \`${db}\`.t (id, v, n, c) VALUES (?, 'after cut-over', 1, ?)`, [marker, i + 10]);
      if (i === 0) {
        // pessimistic: shard_1's translated ALTER is in the master's lock, waiting for source 2;
        // shard_1's rows after the cut-over are held back
        await waitFor('pessimistic lock waits for source 2', async () => {
          const l = ((await s.cluster.ctl(['shard-ddl-lock', 'pessimistic'])).json['locks'] as { DDLs: string[]; synced: string[]; unsynced: string[] }[] | undefined) ?? [];
          return l.some((x) => x.DDLs.some((d) => /add column c int not null default 7/i.test(d)) && x.synced.join() === 'mysql-replica-01' && x.unsynced.join() === 'mysql-replica-02');
        }, { timeoutMs: 120_000, intervalMs: 1000 }).catch(async (e: Error) => {
          throw new Error(`${e.message}${await diag()}`);
        });
        assert.ok(!(await targetColumns(s.target, 'merged_pes')).includes('c'), 'pessimistic: the ALTER waits for the other shard');
        assert.equal((await s.target.sql('SELECT 1 FROM merged_pes.t WHERE id = ?', [marker])).length, 0, "pessimistic: shard_1's rows after its cut-over are held back");
        // optimistic: the first cut-over's ADD COLUMN ran at once, and shard_1's new rows carry c
        await waitFor('optimistic: column and the after-cut-over row on the merged table', async () => JSON.stringify(await s.target.sql('SELECT c FROM merged_opt.t WHERE id = ?', [marker]).catch(() => [])) === '[{"c":10}]', { timeoutMs: 120_000, intervalMs: 1000 }).catch(async (e: Error) => {
          throw new Error(`${e.message}${await diag()}`);
        });
      }
    }
    const written = await Promise.all(writers.map((w) => w.stop()));
    assert.ok(written.every((n) => n > 0), `both shards written to: ${written.join(', ')}`);
    await converged('both shards cut over', ['id', 'v', 'n', 'c', 'c_shard']);
    const union = await shardUnion(shards, ['id', 'v', 'n', 'c', 'c_shard']);
    t.diagnostic(`rows in the union of the shards: ${union.length}`);
    // not vacuous: old rows got the default, rows written after each cut-over their own c, rows
    // written while pt-osc copied are there
    for (const i of [0, 1]) assert.ok(union.some((r) => r[0] === String((i + 1) * 100_000 + 90_000) && r[3] === String(i + 10)), `after-cut-over row of shard ${i + 1}`);
    for (const i of [0, 1]) assert.ok(union.some((r) => Number(r[0]) > (i + 1) * 100_000 && Number(r[0]) < (i + 1) * 100_000 + 90_000), `writer rows of shard ${i + 1}`);
    assert.ok(union.some((r) => r[3] === '7'));
    // pt-osc left no trigger and no _t_new / _t_old on the source, and none reached the target
    for (const [src, db] of shards) {
      const left = await src.sql("SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME LIKE '\\_%'", [db]);
      assert.deepEqual(left, [], `${db}: pt-osc cleaned up`);
    }
    assert.equal(Number((await s.target.sql("SELECT COUNT(*) AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA LIKE 'merged%'"))[0]?.['n']), 0, 'no trigger on the target');
    await settled(s, diag, syncing);
  },
);
