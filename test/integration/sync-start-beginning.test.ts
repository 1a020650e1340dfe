/**
 * Sync unit from the very start of the source's binlog (DM.ts issue 11 §3): nothing between the
 * requested position and the first applied event is skipped — file:4 of the first file, an
 * empty GTID set with enable-gtid, and a GTID start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer } from '../helpers/index.js';
import { describeDiffs, startSyncUnit, syncConfig, waitConverged } from './sync-fixture.js';

async function firstFile(s: MariaDBServer): Promise<string> {
  const rows = (await s.sql('SHOW BINARY LOGS')) as { Log_name: string }[];
  return rows[0]!.Log_name;
}

// the first file holds the CREATE TABLE and the first rows; the rest is in the next file
const WORKLOAD = [
  "CREATE DATABASE b0; CREATE TABLE b0.t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO b0.t VALUES (1, 'one'); INSERT INTO b0.t VALUES (2, 'two')",
  'FLUSH BINARY LOGS',
  "UPDATE b0.t SET v = 'uno' WHERE id = 1; CREATE TABLE b0.u (id INT PRIMARY KEY); INSERT INTO b0.u VALUES (7)",
];

for (const mode of ['file:4', 'gtid ""', 'file:4 + enable-gtid', 'file:4, MINIMAL metadata'] as const) {
  void test(`incremental from the start of the binlog (${mode}) applies the CREATE TABLE and every row after it`, async (t) => {
    const [src, dst] = await Promise.all([MariaDBServer.start(mode.includes('MINIMAL') ? { extraArgs: ['--binlog-row-metadata=MINIMAL'] } : {}), MariaDBServer.start()]);
    for (const q of WORKLOAD) await src.sql(q);
    const file = await firstFile(src);
    const start = mode === 'gtid ""' ? { gtid: '' } : { file, offset: 4, gtid: '' };
    const { unit, running, early } = await startSyncUnit(t, [src, dst], syncConfig(src, dst, { start, ...(mode.startsWith('file:4') && !mode.includes('enable-gtid') ? {} : { enableGtid: true }) }));
    const diffs = await waitConverged(src, dst, ['b0'], 30_000);
    assert.equal(early(), undefined, `the unit stopped: ${JSON.stringify(early())}`);
    assert.ok(diffs.length === 2 && diffs.every((d) => d.equal), describeDiffs(diffs));
    assert.deepEqual(await dst.sql('SELECT id, v FROM b0.t ORDER BY id'), [{ id: 1, v: 'uno' }, { id: 2, v: 'two' }]);
    unit.pause();
    assert.deepEqual((await running).errors, []);
  });
}
