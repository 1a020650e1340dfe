/**
 * worker_failover_ddl: the source (without binlog_row_metadata=FULL) runs ALTER TABLEs while its
 * worker is dead after the full phase: the subtask rebuilt on the other worker goes straight to
 * Sync (no Load check re-runs against the altered source), replays the DDL itself and the target
 * ends equal to the source, rows before and after each ALTER in their own columns.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareDatabases, describeDiffs, waitFor } from '../../helpers/index.js';
import { killProc, missingBinaries, waitTask } from '../../helpers/cluster.js';
import { setupScenario } from '../helpers/scenario.js';

const CASE = dirname(fileURLToPath(import.meta.url));

void test(
  'worker_failover_ddl: kill -9 the bound worker after the full phase, ALTER TABLE on the source, the moved subtask syncs it',
  { skip: missingBinaries() || false, timeout: 400_000 },
  async (t) => {
    const s = await setupScenario(t, CASE, {
      masters: 1,
      workers: 2,
      sourceOpts: { extraArgs: ['--binlog-row-metadata=MINIMAL'] },
    });
    const src = s.sources[0];
    assert.ok(src);
    await s.loadData(src, 'db.sql');
    await s.createSources();
    const r = await s.cluster.ctl(['start-task', s.conf('dm-task.yaml')]);
    assert.equal(r.json['result'], true, r.stdout);
    const subs = await waitTask(s.cluster, 'test', 'syncing', (x) =>
      x.every((st) => st.stage === 'Running' && st.unit === 'Sync'),
    );
    const bound = subs[0]?.worker ?? '';
    const victim = s.cluster.workers.find((w) => w.name === bound);
    assert.ok(victim, `bound worker ${bound} found`);
    await killProc(victim, 'SIGKILL');
    // while no worker syncs: rows in the old layout, a column added, rows in the new layout, a reorder
    await src.sql(`INSERT INTO ha.t VALUES (5001, 'before', 1);
    ALTER TABLE ha.t ADD COLUMN extra INT NOT NULL DEFAULT 7 AFTER id;
    INSERT INTO ha.t VALUES (5002, 8, 'after add', 2);
    ALTER TABLE ha.t MODIFY n INT AFTER extra;
    INSERT INTO ha.t VALUES (5003, 9, 3, 'after reorder'); UPDATE ha.t SET n = -n WHERE id <= 10`);
    const moved = await waitTask(
      s.cluster,
      'test',
      'syncing on the other worker',
      (x) =>
        x.every(
          (st) => st.worker !== bound && st.worker !== '' && st.stage === 'Running' && st.unit === 'Sync',
        ),
      120_000,
    );
    assert.notEqual(moved[0]?.worker, bound);
    await waitFor(
      'target equals source after the move',
      async () => (await compareDatabases(src.connOpts(), s.target.connOpts(), 'ha')).every((d) => d.equal),
      { timeoutMs: 90_000, intervalMs: 1000 },
    ).catch(async (e: Error) => {
      const st = await s.cluster.ctl(['query-status', 'test']);
      throw new Error(
        `${e.message}: ${describeDiffs(await compareDatabases(src.connOpts(), s.target.connOpts(), 'ha'))} ${st.stdout}`,
      );
    });
  },
);
