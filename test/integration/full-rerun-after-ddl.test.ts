/**
 * A full phase that already finished is run again (the worker was fenced or restarted after
 * Load, before Sync caught up) while the source's table has had an ALTER since the snapshot:
 * the re-run must not compare the loaded target tables with the source's current structure
 * (the sync phase applies that ALTER from the binlog). Found by the chaos run (docs/chaos.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer } from '../helpers/index.js';
import { createFullUnits } from '../../src/units/full/index.js';
import { createRegistry } from '../../src/metrics/index.js';

const sig = (): AbortSignal => new AbortController().signal;

void test('full phase re-run after it finished: a table altered upstream since the snapshot is not a mismatch', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  t.after(async () => {
    await Promise.all([src.stop(), dst.stop()]);
  });
  await src.sql('CREATE DATABASE rr; CREATE TABLE rr.t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)');
  await src.sql("INSERT INTO rr.t SELECT seq, CONCAT('v', seq) FROM mysql.seq_1_to_500");
  const units = (): ReturnType<typeof createFullUnits> =>
    createFullUnits(
      {
        taskName: 'rr',
        sourceId: 'src-rr',
        taskMode: 'all',
        source: src.connOpts(),
        target: dst.connOpts(),
        baList: { doDbs: ['rr'] },
        mydumper: { threads: 1, rows: 200 },
        loader: { poolSize: 1 },
      },
      { registry: createRegistry() },
    );
  const first = units();
  for (const u of first.units) {
    const r = await u.process(sig());
    assert.deepEqual(r.errors, []);
    await u.close();
  }
  // upstream DDL after the snapshot; the sync phase (not run here) has not applied it yet
  await src.sql('ALTER TABLE rr.t ADD COLUMN c INT NOT NULL DEFAULT 7');
  // the restarted subtask runs its full-phase units again: they find every chunk done
  const again = units();
  let detail: Record<string, unknown> | undefined;
  for (const u of again.units) {
    const r = await u.process(sig());
    assert.deepEqual(r.errors, [], JSON.stringify(r.errors));
    assert.equal(r.isCanceled, false);
    detail = r.detail;
  }
  assert.equal(again.load.status()['stage'], 'Finished');
  for (const u of again.units) await u.close();
  assert.ok(detail?.['startPos'], 'the first snapshot position is handed to sync again');
  // nothing reloaded, the target table untouched: the ALTER is the sync phase's job
  const cols = await dst.sql(
    "SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'rr' AND TABLE_NAME = 't' ORDER BY ORDINAL_POSITION",
  );
  assert.deepEqual(
    cols.map((r) => r['c']),
    ['id', 'v'],
  );
  assert.equal(Number((await dst.sql('SELECT COUNT(*) AS n FROM rr.t'))[0]?.['n']), 500);
});
