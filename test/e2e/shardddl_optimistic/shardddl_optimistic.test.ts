/**
 * shardddl_optimistic (DM's shardddl optimistic cases, DM.ts style): 2 sources × 2 shard tables →
 * `merged`.`t` (route + extract-schema column `c_shard`), task-mode all, shard-mode optimistic,
 * the real binaries driven by dmctl:
 *
 * - ADD COLUMN by one shard reaches the target at once, the others' same ADD runs nothing; rows
 *   of shards that have not added it yet keep flowing (no rows held back);
 * - ADD INDEX once; MODIFY to a wider type; DROP COLUMN kept on the target until the last shard
 *   dropped it; rows between every shard's DDLs;
 * - kill -9 of a worker between the shards' DDLs (its source moves to the spare worker);
 * - a column rename (non-strict default): the first shard waits with its rows held back
 *   (shard-ddl-lock / query-status show it), renamed once when the last shard renamed;
 * - an incompatible ADD COLUMN (other type than another shard's) pauses that subtask with 36102
 *   and DM's way out; `binlog skip` + `resume-task` goes on;
 * - the target ends equal to the union of the shards, row by row.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../helpers/index.js';
import { missingBinaries, waitTask } from '../../helpers/cluster.js';
import { setupScenario } from '../helpers/scenario.js';
import { shardUnion, targetColumns, targetRows } from '../helpers/shard.js';

const CASE = dirname(fileURLToPath(import.meta.url));

void test(
  'shardddl_optimistic: compatible DDLs applied at once, DROP COLUMN when all dropped, worker kill, conflict 36102 + binlog skip',
  { skip: missingBinaries() || false, timeout: 900_000 },
  async (t) => {
    const s = await setupScenario(t, CASE, { sources: 2, masters: 1, workers: 3 });
    const [src1, src2] = s.sources as [NonNullable<(typeof s.sources)[0]>, NonNullable<(typeof s.sources)[0]>];
    await s.loadData(src1, 'db1.prepare.sql');
    await s.loadData(src2, 'db2.prepare.sql');
    await s.createSources();
    const r = await s.cluster.ctl(['start-task', s.conf('dm-task.yaml')]);
    assert.equal(r.json['result'], true, r.stdout);
    await waitTask(s.cluster, 'test', 'syncing', (x) => x.length === 2 && x.every((st) => st.stage === 'Running' && st.unit === 'Sync'), 240_000);
    const ids = async (): Promise<number[]> => (await targetRows(s.target, ['id'])).map((x) => Number(x[0]));
    const has = (id: number, timeoutMs = 120_000): Promise<unknown> =>
      waitFor(`row ${id} on the target`, async () => (await ids()).includes(id), { timeoutMs, intervalMs: 500 }).catch(async (e: Error) => {
        throw new Error(`${e.message}: ${(await s.cluster.ctl(['query-status', 'test'])).stdout}`);
      });
    await has(4002, 180_000);

    // ADD COLUMN on shard_1: on the target at once; shard_2 / shard_4 rows without it flow on
    await src1.sql("ALTER TABLE shard_1.t ADD COLUMN c VARCHAR(10); INSERT INTO shard_1.t VALUES (1003, 3, 'g', 'x1')");
    await has(1003);
    assert.deepEqual(await targetColumns(s.target), ['id', 'v', 'name', 'c_shard', 'c']);
    await src1.sql("INSERT INTO shard_2.t VALUES (2002, 2, 'h')");
    await src2.sql("INSERT INTO shard_4.t VALUES (4003, 3, 'i')");
    await has(2002);
    await has(4003);
    // the others add it too (nothing to run), ADD INDEX once
    await src2.sql("ALTER TABLE shard_3.t ADD COLUMN c VARCHAR(10); INSERT INTO shard_3.t VALUES (3002, 2, 'j', 'y1')");
    await src1.sql("ALTER TABLE shard_2.t ADD COLUMN c VARCHAR(10); ALTER TABLE shard_2.t ADD INDEX iv (v); INSERT INTO shard_2.t VALUES (2003, 3, 'k', 'x2')");
    await src2.sql("ALTER TABLE shard_4.t ADD COLUMN c VARCHAR(10); ALTER TABLE shard_4.t ADD INDEX iv (v); INSERT INTO shard_4.t VALUES (4004, 4, 'l', 'y2')");
    await has(2003);
    await has(4004);
    // MODIFY to a wider type by one shard: the target widens, its big value lands
    await src2.sql("ALTER TABLE shard_3.t MODIFY v BIGINT; INSERT INTO shard_3.t VALUES (3003, 50000000000, 'm', 'y3')");
    await has(3003);
    const vt = (await s.target.sql("SELECT DATA_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='merged' AND TABLE_NAME='t' AND COLUMN_NAME='v'"))[0]?.['t'];
    assert.equal(vt, 'bigint');
    // DROP COLUMN name: stays on the target until every shard dropped it; kill -9 a worker in between
    await src1.sql("ALTER TABLE shard_1.t DROP COLUMN name; INSERT INTO shard_1.t VALUES (1004, 4, 'x3')");
    await has(1004);
    assert.ok((await targetColumns(s.target)).includes('name'), 'name kept while other shards have it');
    const subs = await waitTask(s.cluster, 'test', 'bound', (x) => x.length === 2 && x.every((st) => st.worker !== ''));
    const w2 = subs.find((x) => x.source === 'mysql-replica-02')?.worker ?? '';
    const victim = s.cluster.workers.find((w) => w.name === w2);
    assert.ok(victim);
    await s.cluster.kill9(victim);
    await src2.sql("ALTER TABLE shard_3.t DROP COLUMN name; INSERT INTO shard_3.t VALUES (3004, 4, 'y4'); ALTER TABLE shard_4.t DROP COLUMN name; INSERT INTO shard_4.t VALUES (4005, 5, 'y5')");
    await src1.sql("ALTER TABLE shard_2.t DROP COLUMN name; INSERT INTO shard_2.t VALUES (2004, 4, 'x4')");
    await waitTask(s.cluster, 'test', 'source 2 on the spare worker', (x) => x.length === 2 && x.every((st) => st.stage === 'Running' && st.unit === 'Sync' && st.worker !== w2 && st.worker !== ''), 180_000);
    await has(4005, 180_000);
    await has(2004);
    await waitFor('name dropped by the last shard', async () => !(await targetColumns(s.target)).includes('name'), { timeoutMs: 120_000, intervalMs: 1000 });

    // a column rename (strict-optimistic-shard-mode: false, the default): shard_1 renames c → c2 and
    // waits, its later rows held back while shard_2's flow; renamed once on the target when the last
    // shard renamed, then the held rows land
    await src1.sql("ALTER TABLE shard_1.t RENAME COLUMN c TO c2; INSERT INTO shard_1.t VALUES (1005, 5, 'r1')");
    await src1.sql("INSERT INTO shard_2.t VALUES (2005, 5, 'r2')");
    await has(2005);
    const rename = 'ALTER TABLE `merged`.`t` RENAME COLUMN c TO c2';
    const lock = await waitFor('rename lock shown', async () => {
      const l = ((await s.cluster.ctl(['shard-ddl-lock', 'test'])).json['locks'] as Record<string, unknown>[] | undefined)?.[0];
      return l && (l['DDLs'] as string[]).length > 0 ? l : false;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    assert.deepEqual([lock['DDLs'], lock['synced'], (lock['unsynced'] as string[]).length], [[rename], ['mysql-replica-01-`shard_1`.`t`'], 3]);
    assert.match((await s.cluster.ctl(['query-status', 'test'])).stdout, /RENAME COLUMN c TO c2/);
    assert.ok(!(await ids()).includes(1005), 'shard_1 rows after its rename are held back');
    assert.ok((await targetColumns(s.target)).includes('c'));
    await src1.sql("ALTER TABLE shard_2.t RENAME COLUMN c TO c2; INSERT INTO shard_2.t VALUES (2006, 6, 'r3')");
    await src2.sql("ALTER TABLE shard_3.t RENAME COLUMN c TO c2; INSERT INTO shard_3.t VALUES (3006, 6, 'r4'); ALTER TABLE shard_4.t RENAME COLUMN c TO c2; INSERT INTO shard_4.t VALUES (4007, 7, 'r5')");
    for (const id of [1005, 2006, 3006, 4007]) await has(id);
    assert.deepEqual(await targetColumns(s.target), ['id', 'v', 'c_shard', 'c2']);

    // a conflict: shard_3 adds d as INT, shard_4 as VARCHAR → source 2's subtask pauses with 36102
    await src2.sql('ALTER TABLE shard_3.t ADD COLUMN d INT; INSERT INTO shard_3.t VALUES (3005, 5, \'y6\', 7)');
    await has(3005);
    await src2.sql("ALTER TABLE shard_4.t ADD COLUMN d VARCHAR(5); INSERT INTO shard_4.t VALUES (4006, 6, 'y7', '8')");
    const paused = await waitTask(s.cluster, 'test', 'source 2 paused by the conflict', (x) => x.some((st) => st.source === 'mysql-replica-02' && st.stage === 'Paused'), 120_000);
    const err = JSON.stringify(paused.find((x) => x.source === 'mysql-replica-02'));
    assert.match(err, /36102/);
    assert.match(err, /shard-ddl-lock unlock|binlog skip/);
    // DM's way out used here: skip that DDL on this shard (the target keeps d INT), resume
    const skip = await s.cluster.ctl(['binlog', 'skip', 'test', '-s', 'mysql-replica-02']);
    assert.equal(skip.json['result'], true, skip.stdout);
    const res = await s.cluster.ctl(['resume-task', 'test', '-s', 'mysql-replica-02']);
    assert.equal(res.json['result'], true, res.stdout);
    await has(4006, 180_000);

    const cols = ['id', 'v', 'c2', 'd', 'c_shard'];
    // shards without d: compare what they have (d NULL on the target for them)
    const union = async (): Promise<(string | null)[][]> => {
      const withD = await shardUnion([[src2, 'shard_3'], [src2, 'shard_4']], cols);
      const withoutD = (await shardUnion([[src1, 'shard_1'], [src1, 'shard_2']], ['id', 'v', 'c2', 'c_shard'])).map((r) => [r[0]!, r[1]!, r[2]!, null, r[3]!]);
      return [...withD, ...withoutD].sort((a, b) => Number(a[0]) - Number(b[0]));
    };
    let last = '';
    await waitFor('target equals the union of the shards', async () => {
      const [want, got] = [JSON.stringify(await union()), JSON.stringify(await targetRows(s.target, cols))];
      last = `target ${got}\nshards ${want}`;
      return want === got;
    }, { timeoutMs: 120_000, intervalMs: 1000 }).catch((e: Error) => {
      throw new Error(`${e.message}\n${last}`);
    });
    assert.deepEqual(await targetColumns(s.target), ['id', 'v', 'c_shard', 'c2', 'd']);
  },
);
