/**
 * What the relay purger keeps for a subtask without a running relay reader, and where a new relay
 * starts (src/worker/pipeline.ts storedRelayNeed / earliestStoredFile), read from a real target:
 * the sync checkpoint, else the full phase's snapshot (lowest), else the incremental task's meta
 * file; unknown (nothing is purged) before a full phase recorded its snapshot and when the target
 * cannot be reached; nothing for a task without a sync unit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer, freePort } from '../helpers/index.js';
import { taskYaml, sourceYaml } from '../helpers/cluster.js';
import { createMetaTables, metaTableName } from '../../src/units/index.js';
import { earliestStoredFile, storedRelayNeed, type PipelineInput } from '../../src/worker/pipeline.js';

void test('stored relay needs: checkpoint, else full-phase snapshot, else meta file; unknown before the snapshot and with the target down', async (t) => {
  const target = await MariaDBServer.start();
  t.after(() => target.stop());
  const src = sourceYaml('s1', 3306);
  const input = (task: string, yaml: string): PipelineInput => ({ taskName: task, sourceId: 's1', taskYaml: yaml, sourceYaml: src });
  const all = input('ta', taskYaml('ta', ['s1'], target.port));
  const inc = input('ti', taskYaml('ti', ['s1'], target.port, { file: 'mysql-bin.000007', pos: 1234 }));
  const full = input('tf', taskYaml('tf', ['s1'], target.port).replace('task-mode: all', 'task-mode: full'));

  assert.deepEqual(await storedRelayNeed(all), { task: 'ta', unknown: 'its full phase has not recorded its binlog position yet' });
  assert.deepEqual(await storedRelayNeed(inc), { task: 'ti', pos: { file: 'mysql-bin.000007', offset: 1234 } });
  assert.equal(await storedRelayNeed(full), undefined, 'task-mode full has no sync unit');

  // the full phase recorded two snapshots: the lowest is where sync starts
  await createMetaTables(target.pool(), 'dm_meta', 'ta', ['loadSnapshot', 'syncerCheckpoint']);
  const snap = metaTableName('dm_meta', 'ta', 'loadSnapshot');
  await target.sql(`INSERT INTO ${snap} (source_id, seq, kind, binlog_name, binlog_pos, binlog_gtid, flavor) VALUES ('s1', 1, 'start', 'mysql-bin.000005', 900, '', 'mariadb'), ('s1', 2, 'bound', 'mysql-bin.000006', 4, '', 'mariadb')`);
  assert.deepEqual(await storedRelayNeed(all), { task: 'ta', pos: { file: 'mysql-bin.000005', offset: 900 } });
  assert.equal(await earliestStoredFile([inc, all, full]), 'mysql-bin.000005');
  // then its checkpoint wins
  await target.sql(`INSERT INTO ${metaTableName('dm_meta', 'ta', 'syncerCheckpoint')} (id, binlog_name, binlog_pos) VALUES ('s1', 'mysql-bin.000009', 77)`);
  assert.deepEqual(await storedRelayNeed(all), { task: 'ta', pos: { file: 'mysql-bin.000009', offset: 77 } });
  assert.equal(await earliestStoredFile([inc, all]), 'mysql-bin.000007');

  // the target cannot be reached: unknown
  const down = input('td', taskYaml('td', ['s1'], await freePort(), { file: 'mysql-bin.000001', pos: 4 }));
  const n = await storedRelayNeed(down);
  assert.ok(n && 'unknown' in n && /cannot be read from the target/.test(n.unknown), JSON.stringify(n));
  assert.equal(await earliestStoredFile([down]), undefined);
  // a subtask whose config does not compile: unknown, not a failed purge
  const bad = await storedRelayNeed(input('tb', 'name: tb\ntask-mode: nope\n'));
  assert.ok(bad && 'unknown' in bad && /config cannot be compiled/.test(bad.unknown), JSON.stringify(bad));
});
