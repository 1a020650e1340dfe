/**
 * chaos (short): the run of `npm run chaos` (test/chaos/chaos.ts) with one round: 3 dm-masters,
 * 2 dm-workers, 2 sources and a target, task-mode all; a worker killed -9 during Load, then the
 * leader killed -9, a worker killed -9 mid-stream, the target stopped, a source restarted and the
 * leader frozen (SIGSTOP), while money transfers, side-table inserts and ADD COLUMN / ADD INDEX
 * run upstream. Asserts what a user cares about: no row lost or duplicated, target == source,
 * never half a transaction visible on the target, and no fault that needed a human (a subtask
 * left paused with an error: the test fails and shows it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingBinaries } from '../../helpers/cluster.js';
import { FAULT_KINDS, formatReport, runChaos } from '../../chaos/chaos.js';

void test(
  'chaos: faults in rotation during transfers and DDL; nothing lost, duplicated or half-applied; no human needed',
  { skip: missingBinaries() || false, timeout: 600_000 },
  async (t) => {
    const r = await runChaos({
      rounds: 1,
      seconds: 300,
      faults: [...FAULT_KINDS],
      loadKill: true,
      targetDownMs: 5000,
      leaderStopMs: 6000,
      settleMs: 1000,
      bulkRows: 50_000,
      ddlEveryMs: 3000,
      humanAfterMs: 45_000,
      recoverTimeoutMs: 150_000,
      syncTimeoutMs: 120_000,
      log: (line) => t.diagnostic(line),
    });
    const text = formatReport(r);
    t.diagnostic(text);
    assert.deepEqual(r.problems, [], text);
    assert.deepEqual(
      r.humans.map((h) => `${h.source} ${h.unit} ${h.stage}: ${h.errors.join(' | ')}`),
      [],
      `a fault needed a human (a subtask stayed paused with an error):\n${text}`,
    );
    assert.deepEqual(
      r.faults.map((f) => f.kind),
      ['worker-kill-load', ...FAULT_KINDS],
      text,
    );
    assert.ok(
      r.faults.every((f) => f.recoveredS !== null),
      text,
    );
    assert.equal(r.rowsLost, 0, text);
    assert.equal(r.rowsDuplicated, 0, text);
    assert.deepEqual(r.violations, [], `half transactions seen on the target:\n${text}`);
    assert.ok(r.polls > 0, 'the watcher checked the target');
    assert.equal(r.tables.length, 8, text);
    assert.ok(
      r.tables.every((d) => d.equal),
      text,
    );
    for (const [src, w] of Object.entries(r.workload)) {
      assert.ok(
        w.transfers > 0 && w.ddls.length > 0,
        `${src}: the workload ran (${w.transfers} transfers, ${w.ddls.length} DDLs)`,
      );
    }
  },
);
