/**
 * check_data: `dmctl check-data` on a real cluster. A running task with writes in flight is
 * reported equal (a differing chunk is re-read after the task has applied what the source had);
 * a row changed, deleted or inserted on the target behind DM.ts's back is reported with its key
 * and both images; `--fix-sql-file` writes statements that repair the target and are not applied
 * by the check; an unknown task is refused with its code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingBinaries, waitTask } from '../../helpers/cluster.js';
import { setupScenario } from '../helpers/scenario.js';
import { loopWriter, rowWriter } from '../../helpers/writer.js';

const CASE = dirname(fileURLToPath(import.meta.url));

interface TableJson {
  table: string;
  equal: boolean;
  sourceRows: number;
  targetRows: number;
  chunks: number;
  rows: { kind: string; key: Record<string, string>; source?: Record<string, unknown>; target?: Record<string, unknown> }[];
}

void test('check_data: live task equal, target tampering found with keys and images, fix-up SQL repairs', { skip: missingBinaries() || false, timeout: 300_000 }, async (t) => {
  const s = await setupScenario(t, CASE);
  const src = s.sources[0];
  assert.ok(src);
  await s.loadData(src, 'db.sql');
  await s.createSources();
  const r = await s.cluster.ctl(['start-task', s.conf('dm-task.yaml')]);
  assert.equal(r.json['result'], true, r.stdout);
  await waitTask(s.cluster, 'test', 'Sync', (x) => x.every((st) => st.unit === 'Sync' && st.stage === 'Running'), 120_000);

  // writes in flight while the check runs: a short burst the rechecks outlast
  const w = rowWriter(src, 'check_data', 't', 100_000);
  const live = s.cluster.ctl(['check-data', 'test', '--chunk-size', '1000']);
  await new Promise((res) => setTimeout(res, 1500));
  const writes = await w.stop();
  const lr = await live;
  assert.ok(writes > 0);
  assert.equal(lr.json['result'], true, lr.stdout);
  const lt = lr.json['tables'] as TableJson[];
  assert.equal(lt.length, 2);
  assert.ok(lt.find((x) => x.table === '`check_data`.`t`')!.sourceRows >= 5000);
  assert.match(lr.stderr, /checking `check_data`\.`t`/);

  // sustained writes all over the table for the whole check (not a burst): still equal, the rechecks absorb them
  const hot = loopWriter(src, 'check_data', async (c, i) => {
    await c.query('UPDATE t SET n = n + 1 WHERE id = ?', [1 + ((i * 37) % 5000)]);
    return 1;
  }, { pauseMs: 2 });
  await new Promise((res) => setTimeout(res, 1000));
  const sr = await s.cluster.ctl(['check-data', 'test', '--chunk-size', '500']);
  const hotWrites = await hot.stop();
  assert.ok(hotWrites > 100, `writes during the check: ${hotWrites}`);
  assert.equal(sr.json['result'], true, sr.stdout);

  // behind DM.ts's back: change, delete and insert rows on the target (the task keeps running)
  await waitTask(s.cluster, 'test', 'synced', (x) => x.every((st) => st.stage === 'Running'), 30_000);
  await s.target.sql("UPDATE check_data.t SET v = 'tampered' WHERE id = 1234");
  await s.target.sql('DELETE FROM check_data.t WHERE id = 4321');
  await s.target.sql("INSERT INTO check_data.t VALUES (999999, 'stray', 0)");
  const fixFile = join(s.dir, 'fix.sql');
  const d = await s.cluster.ctl(['check-data', 'test', '--chunk-size', '1000', '--recheck', '1', '--fix-sql-file', fixFile]);
  assert.equal(d.json['result'], false, d.stdout);
  assert.equal(d.code !== 0, true, 'exit code non-zero when the data differ');
  const t1 = (d.json['tables'] as TableJson[]).find((x) => x.table === '`check_data`.`t`')!;
  assert.equal(t1.equal, false);
  const kinds = t1.rows.map((x) => `${x.kind}:${x.key['id']}`).sort();
  assert.deepEqual(kinds, ['different:1234', 'extra-on-target:999999', 'missing-on-target:4321'], d.stdout);
  const diff = t1.rows.find((x) => x.kind === 'different')!;
  assert.equal(diff.source?.['v'], 'row 1234');
  assert.equal(diff.target?.['v'], 'tampered');
  assert.equal(d.json['fixSqlStatements'], 3);
  // the check applied nothing
  assert.equal((await s.target.sql('SELECT v FROM check_data.t WHERE id = 1234'))[0]!['v'], 'tampered');
  for (const stmt of readFileSync(fixFile, 'utf8').split('\n').filter((l) => l.trim() !== '')) await s.target.sql(stmt);
  const again = await s.cluster.ctl(['check-data', 'test', '-T', 'check_data.t']);
  assert.equal(again.json['result'], true, again.stdout);
  assert.equal((again.json['tables'] as TableJson[]).length, 1);

  // 0 would mean "the default" on the wire: refused, not turned into 100 rows / 10,000-row chunks
  for (const flag of ['--max-rows', '--chunk-size']) {
    const zero = await s.cluster.ctl(['check-data', 'test', flag, '0']);
    assert.equal(zero.json['result'], false, zero.stdout);
    assert.match(String(zero.json['msg']), /code=42001.*must be a positive integer/);
  }
  const unknown = await s.cluster.ctl(['check-data', 'nosuchtask']);
  assert.equal(unknown.json['result'], false, unknown.stdout);
  assert.match(String(unknown.json['msg']), /code=38\d{3}/);
});
