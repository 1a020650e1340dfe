/**
 * all_mode: two sources, each routed to its own target schema, with writes running during the
 * dump and load; after the switch to sync the target equals the sources, ignored tables stay out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { compareTables, describeDiffs, waitFor, type MariaDBServer } from '../../helpers/index.js';
import { missingBinaries, waitTask } from '../../helpers/cluster.js';
import { loopWriter, type Writer } from '../../helpers/writer.js';
import { setupScenario } from '../helpers/scenario.js';

const CASE = dirname(fileURLToPath(import.meta.url));

/** Inserts, updates and deletes on a source until stopped. */
function writer(src: MariaDBServer, db: string): Writer {
  return loopWriter(
    src,
    db,
    async (c, i0) => {
      const i = i0 + 1;
      await c.query('INSERT INTO log (msg, at) VALUES (?, NOW(3))', [`live ${i}`]);
      await c.query('UPDATE accounts SET balance = balance + 1, updated = NOW() WHERE id = ?', [1 + ((i * 97) % 20000)]);
      if (i % 3 === 0) await c.query('DELETE FROM accounts WHERE id = ?', [20000 - i]);
      return 3;
    },
    { pauseMs: 20 },
  );
}

void test('all_mode: two sources, routes, writes during the full phase', { skip: missingBinaries() || false, timeout: 400_000 }, async (t) => {
  const s = await setupScenario(t, CASE, { sources: 2, workers: 2 });
  const [s1, s2] = s.sources;
  assert.ok(s1 && s2);
  const data = readFileSync(join(CASE, 'data/db.sql'), 'utf8');
  await s1.sql(`CREATE DATABASE db1; USE db1; ${data}`);
  await s2.sql(`CREATE DATABASE db2; USE db2; ${data}`);
  await s.createSources();
  const w1 = writer(s1, 'db1');
  const w2 = writer(s2, 'db2');
  try {
    const r = await s.cluster.ctl(['start-task', s.conf('dm-task.yaml')]);
    assert.equal(r.json['result'], true, r.stdout);
    await waitTask(s.cluster, 'test', 'both sources in sync', (x) => x.length === 2 && x.every((st) => st.stage === 'Running' && st.unit === 'Sync'), 180_000);
    await sleep(1000);
  } finally {
    const n = (await w1.stop()) + (await w2.stop());
    assert.ok(n > 0, 'the writers ran');
  }
  for (const [src, db, dst] of [[s1, 'db1', 'dst1'], [s2, 'db2', 'dst2']] as const) {
    for (const table of ['accounts', 'log']) {
      await waitFor(`${db}.${table} equal to ${dst}.${table}`, async () => (await compareTables(src.connOpts(), s.target.connOpts(), db, table, { targetSchema: dst })).equal, { timeoutMs: 90_000, intervalMs: 1000 }).catch(async (e: Error) => {
        throw new Error(`${e.message}: ${describeDiffs([await compareTables(src.connOpts(), s.target.connOpts(), db, table, { targetSchema: dst })])}`);
      });
    }
  }
  const schemas = (await s.target.sql("SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ('db1','db2','dst1','dst2') ORDER BY 1")).map((r) => r['s']);
  assert.deepEqual(schemas, ['dst1', 'dst2'], 'tables land in the routed schemas only');
  assert.equal((await s.target.sql("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'dst1' AND TABLE_NAME = 'ignored'")).length, 0, 'ignore-tables is honoured');
  const summary = await s.cluster.ctl(['query-status']);
  assert.deepEqual(summary.json['tasks'], [{ taskName: 'test', taskStatus: 'Running', sources: ['mysql-replica-01', 'mysql-replica-02'] }]);
});
