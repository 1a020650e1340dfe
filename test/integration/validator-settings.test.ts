/**
 * The continuous validator's `validators:` keys, each shown to do what DM documents, against a real
 * MariaDB target (the validator is handed applied changes as the sync unit hands them):
 * - batch-query-size: rows per read-back statement; worker-count: read-back statements at once
 *   (counted in the target's general log: statements and distinct connections);
 * - row-error-delay: a differing row is read again every validate-interval and becomes an error
 *   only once it has differed for row-error-delay; a row repaired within the delay never does;
 * - meta-flush-interval: pending rows reach `<task>_validator_pending` without any sync
 *   checkpoint when the interval is short, not when it is long; a new validator of the same task
 *   resumes them;
 * - max-pending-row-count / max-pending-row-size: past them the validator stops with 36303;
 * - check-interval: how often the pending limits are looked at;
 * - `validation start --start-time`: only changes committed upstream from then on; `validation update
 *   --cutover-binlog-gtid`: cutoverReached once the verified GTID set contains it;
 * - its loop leaves no abort listener behind per tick (MaxListenersExceededWarning).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer } from '../helpers/index.js';
import { waitFor } from '../helpers/services.js';
import { ContinuousValidator, type ValidatorSettings } from '../../src/units/validate/index.js';
import type { Position } from '../../src/binlog/position.js';
import type { RowChange } from '../../src/units/sync/index.js';

const META = 'dm_meta';
const BASE: ValidatorSettings = {
  mode: 'full',
  workerCount: 1,
  validateIntervalMs: 0,
  checkIntervalMs: 100,
  rowErrorDelayMs: 600_000,
  metaFlushIntervalMs: 3_600_000,
  batchQuerySize: 100,
  maxPendingRowBytes: Number.MAX_SAFE_INTEGER,
  maxPendingRowCount: Number.MAX_SAFE_INTEGER,
};

interface Run {
  v: ContinuousValidator;
  /** Hand the validator one applied upstream transaction updating these rows of `vt.<table>` to `row <id>`. */
  apply(table: string, ids: readonly number[]): void;
}

const image = (id: number): unknown[] => [id, `row ${id}`];
const pendingCount = (v: ContinuousValidator): number =>
  v
    .status()
    .pendingRowsStatus.replace(/^.*: /, '')
    .split('/')
    .reduce((a, b) => a + Number(b), 0);

async function start(db: MariaDBServer, task: string, s: Partial<ValidatorSettings>, runs: ContinuousValidator[]): Promise<Run> {
  const v = new ContinuousValidator({ taskName: task, sourceId: 'mysql-01', metaSchema: META, target: db.connOpts(), settings: { ...BASE, ...s } });
  runs.push(v);
  let offset = 4;
  let pos: Position = { file: 'mysql-bin.000001', offset, gtid: '' };
  v.bind(() => pos);
  await v.setDesired(v.configured());
  assert.equal(v.currentStage, 'Running');
  return {
    v,
    apply(table, ids) {
      offset += 100;
      pos = { file: 'mysql-bin.000001', offset, gtid: '' };
      const changes: RowChange[] = ids.map((id) => ({ schema: 'vt', table, op: 'update', columns: ['id', 'v'], keyIdx: [0], otherUniqueKeys: false, before: image(id), after: image(id) }));
      v.applied([{ pos, timestamp: 0, changes }]);
    },
  };
}

/** The validator's read-back statements of `vt.<table>` in the general log. */
async function readBacks(db: MariaDBServer, table: string): Promise<{ thread: string; sql: string }[]> {
  const rows = await db.sql(
    "SELECT CAST(thread_id AS CHAR) AS thread, CONVERT(argument USING utf8mb4) AS `sql` FROM mysql.general_log WHERE command_type = 'Query' AND CONVERT(argument USING utf8mb4) LIKE ? ORDER BY event_time",
    [`(SELECT 0 AS __dm_vi,%FROM \`vt\`.\`${table}\`%`],
  );
  return rows.map((r) => ({ thread: String(r['thread']), sql: String(r['sql']) }));
}

void test('validators: batch-query-size, worker-count, row-error-delay, meta-flush-interval, max-pending-row-count/size are honoured', { timeout: 180_000 }, async (t) => {
  const db = await MariaDBServer.start();
  const runs: ContinuousValidator[] = [];
  // the validator's loop waits on its abort signal every tick: a listener left behind per tick shows up as this warning
  const leaks: string[] = [];
  const onWarning = (w: Error): void => void (w.name === 'MaxListenersExceededWarning' && leaks.push(w.message));
  process.on('warning', onWarning);
  t.after(async () => {
    process.off('warning', onWarning);
    await Promise.all(runs.map((v) => v.close()));
    await db.stop();
  });
  await db.sql('CREATE DATABASE vt');
  for (const tb of ['b1', 'b3', 'd', 'f', 'p']) {
    await db.sql(`CREATE TABLE vt.${tb} (id INT PRIMARY KEY, v VARCHAR(40))`);
    await db.sql(`INSERT INTO vt.${tb} SELECT seq, CONCAT('row ', seq) FROM mysql.seq_1_to_200`);
  }
  await db.sql("SET GLOBAL log_output = 'TABLE'; SET GLOBAL general_log = 1");

  await t.test('batch-query-size and worker-count', async () => {
    // 25 rows, 10 per statement, one at a time: 3 statements on one connection
    const one = await start(db, 'wc1', { batchQuerySize: 10, workerCount: 1 }, runs);
    one.apply('b1', Array.from({ length: 25 }, (_, i) => i + 1));
    await waitFor('25 rows verified', async () => pendingCount(one.v) === 0 || undefined, { timeoutMs: 30_000, intervalMs: 50 });
    const q1 = await readBacks(db, 'b1');
    assert.equal(q1.length, 3, q1.map((q) => q.sql.slice(0, 60)).join('\n'));
    assert.deepEqual(q1.map((q) => q.sql.split('UNION ALL').length), [10, 10, 5]);
    assert.equal(new Set(q1.map((q) => q.thread)).size, 1);
    assert.equal(one.v.status().processedRowsStatus, 'insert/update/delete: 0/25/0');

    // 90 rows, 10 per statement, three at a time: 9 statements spread over at most 3 connections (more than 1)
    const three = await start(db, 'wc3', { batchQuerySize: 10, workerCount: 3 }, runs);
    three.apply('b3', Array.from({ length: 90 }, (_, i) => i + 1));
    await waitFor('90 rows verified', async () => pendingCount(three.v) === 0 || undefined, { timeoutMs: 30_000, intervalMs: 50 });
    const q3 = await readBacks(db, 'b3');
    assert.equal(q3.length, 9);
    const threads = new Set(q3.map((q) => q.thread)).size;
    assert.ok(threads >= 2 && threads <= 3, `read-back connections: ${threads}`);
  });

  await t.test('row-error-delay: retried every validate-interval, an error only after the delay', async () => {
    await db.sql("UPDATE vt.d SET v = 'tampered' WHERE id IN (1, 2)");
    const r = await start(db, 'delay', { validateIntervalMs: 100, rowErrorDelayMs: 2500 }, runs);
    const t0 = Date.now();
    r.apply('d', [1, 2, 3]);
    await new Promise((res) => setTimeout(res, 1200));
    assert.deepEqual(await r.v.errors(), [], 'no error before row-error-delay');
    // row 2 is repaired within the delay: read back equal, never an error
    await db.sql("UPDATE vt.d SET v = 'row 2' WHERE id = 2");
    const errs = await waitFor('the error of row 1', async () => {
      const e = await r.v.errors();
      return e.length > 0 ? e : undefined;
    }, { timeoutMs: 30_000, intervalMs: 50 });
    const foundAfter = Date.now() - t0;
    assert.ok(foundAfter >= 2500, `error after ${foundAfter} ms, row-error-delay 2500 ms`);
    assert.equal(errs.length, 1, JSON.stringify(errs));
    const e = errs[0]!;
    assert.equal(e.type, 'column-mismatch');
    assert.equal(`${e.tgtSchema}.${e.tgtTable}`, 'vt.d');
    assert.equal(e.pk, '[1]');
    assert.equal(e.data['v'], 'row 1');
    assert.equal(e.dstData?.['v'], 'tampered');
    // row 1 was read back several times before it became an error (retries, not one look)
    const reads = (await readBacks(db, 'd')).filter((q) => /`id` <=> 1\b/.test(q.sql));
    assert.ok(reads.length >= 5, `row 1 read back ${reads.length} times`);
    await new Promise((res) => setTimeout(res, 500));
    assert.equal((await r.v.errors()).length, 1, 'the repaired row 2 is not an error');
    assert.equal(r.v.status().errorRowsStatus, 'new/ignored/resolved: 1/0/0');
    assert.equal(pendingCount(r.v), 0);
  });

  await t.test('meta-flush-interval: pending rows saved on their own, resumed by a new validator', async () => {
    const pendingRows = async (task: string): Promise<number> =>
      Number((await db.sql(`SELECT COUNT(*) AS n FROM ${META}.${task}_validator_pending`))[0]!['n']);
    // rows stay pending (validate-interval 1 h); no sync checkpoint is ever taken here
    const fast = await start(db, 'flush_fast', { validateIntervalMs: 3_600_000, metaFlushIntervalMs: 300 }, runs);
    const slow = await start(db, 'flush_slow', { validateIntervalMs: 3_600_000, metaFlushIntervalMs: 3_600_000 }, runs);
    fast.apply('f', [1, 2, 3, 4, 5]);
    slow.apply('f', [1, 2, 3, 4, 5]);
    await waitFor('flushed by meta-flush-interval', async () => (await pendingRows('flush_fast')) === 5 || undefined, { timeoutMs: 10_000, intervalMs: 50 });
    await new Promise((res) => setTimeout(res, 1000));
    assert.equal(await pendingRows('flush_slow'), 0, 'a 1 h meta-flush-interval has not saved yet');
    // a tampered row after the save: a new validator of the task (the process restarted) finds it
    await fast.v.close();
    await db.sql("UPDATE vt.f SET v = 'tampered' WHERE id = 4");
    const again = await start(db, 'flush_fast', { validateIntervalMs: 100, rowErrorDelayMs: 200 }, runs);
    const errs = await waitFor('the resumed row found different', async () => {
      const e = await again.v.errors();
      return e.length > 0 ? e : undefined;
    }, { timeoutMs: 30_000, intervalMs: 50 });
    assert.deepEqual(errs.map((e) => [e.pk, e.type]), [['[4]', 'column-mismatch']]);
    assert.equal(again.v.status().processedRowsStatus, 'insert/update/delete: 0/5/0');
  });

  await t.test('max-pending-row-count and max-pending-row-size stop the validator with 36303', async () => {
    const stopped = async (r: Run): Promise<number | undefined> =>
      waitFor('validator stopped', async () => {
        const st = r.v.status();
        return st.stage === 'Stopped' ? (st.result?.errors[0]?.code ?? -1) : undefined;
      }, { timeoutMs: 10_000, intervalMs: 50 });
    const atLimit = await start(db, 'cnt_ok', { validateIntervalMs: 3_600_000, maxPendingRowCount: 5 }, runs);
    atLimit.apply('p', [1, 2, 3, 4, 5]);
    const over = await start(db, 'cnt_over', { validateIntervalMs: 3_600_000, maxPendingRowCount: 5 }, runs);
    over.apply('p', [1, 2, 3, 4, 5, 6]);
    assert.equal(await stopped(over), 36303);
    const big = await start(db, 'size_over', { validateIntervalMs: 3_600_000, maxPendingRowBytes: 100 }, runs);
    big.apply('p', Array.from({ length: 20 }, (_, i) => i + 1));
    assert.equal(await stopped(big), 36303);
    assert.equal(atLimit.v.currentStage, 'Running', 'exactly max-pending-row-count rows pending is allowed');
  });

  await t.test('check-interval: the pending limits and metrics are looked at that often', async () => {
    // the first look is at the first round; rows arriving after it are looked at a check-interval later
    const slow = await start(db, 'chk_slow', { validateIntervalMs: 3_600_000, maxPendingRowCount: 5, checkIntervalMs: 3_600_000 }, runs);
    const quick = await start(db, 'chk_quick', { validateIntervalMs: 3_600_000, maxPendingRowCount: 5, checkIntervalMs: 200 }, runs);
    // past the first round (a round every 500 ms here: validate-interval / 4, at most 500 ms)
    await new Promise((res) => setTimeout(res, 900));
    slow.apply('p', [1, 2, 3, 4, 5, 6]);
    quick.apply('p', [1, 2, 3, 4, 5, 6]);
    await waitFor('the 200 ms validator stopped', async () => quick.v.currentStage === 'Stopped' || undefined, { timeoutMs: 10_000, intervalMs: 50 });
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(slow.v.currentStage, 'Running', 'a 1 h check-interval has not looked again');
  });

  await t.test('validation start --start-time and update --cutover-binlog-gtid', async () => {
    const v = new ContinuousValidator({ taskName: 'times', sourceId: 'mysql-01', metaSchema: META, target: db.connOpts(), settings: BASE });
    runs.push(v);
    const uuid = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
    let pos: Position = { file: 'mysql-bin.000001', offset: 4, gtid: `${uuid}:1-10` };
    v.bind(() => pos);
    const now = Math.floor(Date.now() / 1000);
    await v.setDesired({ stage: 'Running', mode: 'full', startTime: new Date((now + 3600) * 1000).toISOString(), cutover: { gtid: `${uuid}:1-12` } });
    const change = (id: number): RowChange => ({ schema: 'vt', table: 'p', op: 'update', columns: ['id', 'v'], keyIdx: [0], otherUniqueKeys: false, before: image(id), after: image(id) });
    // committed upstream before --start-time: not validated; after it: validated
    pos = { file: 'mysql-bin.000001', offset: 100, gtid: `${uuid}:1-11` };
    v.applied([{ pos, timestamp: now, changes: [change(1)] }]);
    pos = { file: 'mysql-bin.000001', offset: 200, gtid: `${uuid}:1-12` };
    v.applied([{ pos, timestamp: now + 7200, changes: [change(2), change(3)] }]);
    const st = await waitFor('verified through the cut-over GTID', async () => {
      const x = v.status();
      return x.cutoverReached ? x : undefined;
    }, { timeoutMs: 10_000, intervalMs: 50 });
    assert.equal(st.processedRowsStatus, 'insert/update/delete: 0/2/0');
    assert.equal(st.cutoverBinlogGtid, `${uuid}:1-12`);
    assert.equal(st.verifiedThroughGtid, `${uuid}:1-12`);
    v.update({ gtid: `${uuid}:1-13` });
    assert.equal(v.status().cutoverReached, false, 'a cut-over GTID not yet applied is not reached');
  });

  await t.test('no listener piles up on the loop signal', async () => {
    await new Promise((res) => setImmediate(res));
    assert.deepEqual(leaks, []);
  });
});
