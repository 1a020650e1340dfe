// DM `target-database.session`: the task's session variables are set on every target connection
// of the full phase (load) and of the sync unit. Shown with `sql_log_bin: false`: the target's
// own binlog does not grow while the rows arrive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer, compareDatabases, describeDiffs, runUnits } from '../helpers/index.js';
import { createFullUnits } from '../../src/units/full/index.js';
import { SyncUnit } from '../../src/units/sync/index.js';
import { masterPos, syncConfig, waitConverged } from './sync-fixture.js';

test('target-database.session applies to the load and sync connections (sql_log_bin off: the target binlog stays put)', { timeout: 180_000 }, async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const syncUnits: SyncUnit[] = [];
  t.after(async () => {
    await Promise.all(syncUnits.map((u) => u.close()));
    await Promise.all([src.stop(), dst.stop()]);
  });
  await src.sql('CREATE DATABASE ts; CREATE TABLE ts.a (id INT PRIMARY KEY, v VARCHAR(20))');
  await src.sql(`INSERT INTO ts.a VALUES ${Array.from({ length: 2000 }, (_, i) => `(${i}, 'v${i}')`).join(',')}`);
  await dst.sql('CREATE DATABASE dm_meta');
  const session = { sql_log_bin: false };

  const before = await masterPos(dst);
  const { units } = createFullUnits({
    taskName: 'ts',
    sourceId: 'src-1',
    taskMode: 'full',
    source: src.connOpts(),
    target: { ...dst.connOpts(), session },
    baList: { doDbs: ['ts'] },
    mydumper: { threads: 2, rows: 500 },
    loader: { poolSize: 2 },
  });
  await runUnits(units, { close: true });
  const loaded = await compareDatabases(src.connOpts(), dst.connOpts(), 'ts');
  assert.ok(loaded.every((d) => d.equal), describeDiffs(loaded));
  assert.deepEqual((await masterPos(dst)).offset, before.offset, 'the load wrote nothing to the target binlog');

  const start = await masterPos(src);
  const unit = new SyncUnit(syncConfig(src, dst, { start, target: { ...dst.connOpts(), session } }), { heartbeatMs: 200 });
  syncUnits.push(unit);
  const ac = new AbortController();
  await unit.init(ac.signal);
  const running = unit.process(ac.signal);
  await src.sql("INSERT INTO ts.a VALUES (5000, 'new'); UPDATE ts.a SET v = 'changed' WHERE id < 100; DELETE FROM ts.a WHERE id BETWEEN 100 AND 199");
  const synced = await waitConverged(src, dst, ['ts']);
  assert.ok(synced.length > 0 && synced.every((d) => d.equal), describeDiffs(synced));
  ac.abort();
  await running;
  assert.deepEqual((await masterPos(dst)).offset, before.offset, 'the sync unit wrote nothing to the target binlog');

  // and without the session setting, the same kind of write does reach the target binlog
  await dst.sql("INSERT INTO ts.a VALUES (6000, 'direct')");
  assert.ok((await masterPos(dst)).offset > before.offset);
});
