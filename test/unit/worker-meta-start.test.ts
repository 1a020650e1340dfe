/**
 * `meta` of a task as the sync unit's start (DM.ts issue 11 §3): `binlog-gtid: ""` is the empty
 * GTID set, i.e. from the oldest binlog, not "no meta".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTaskConfig, resolveSubtask } from '../../src/config/index.js';
import { metaStart } from '../../src/worker/pipeline.js';

const task = (meta: string): string => `name: t
task-mode: incremental
target-database: {host: h, user: u}
mysql-instances:
  - source-id: s1
    meta: ${meta}
`;

void test('meta binlog-gtid "" is accepted and starts from the empty GTID set', () => {
  const sub = resolveSubtask(parseTaskConfig(task('{binlog-gtid: ""}')), 's1');
  assert.deepEqual(metaStart(sub, true), { gtid: '' });
  assert.deepEqual(metaStart(sub, false), { gtid: '' });
  // with a file given, the file wins over an empty set
  const withFile = resolveSubtask(parseTaskConfig(task('{binlog-name: mysql-bin.000001, binlog-pos: 4, binlog-gtid: ""}')), 's1');
  assert.deepEqual(metaStart(withFile, true), { file: 'mysql-bin.000001', offset: 4 });
  assert.deepEqual(metaStart(resolveSubtask(parseTaskConfig(task('{binlog-name: mysql-bin.000001}')), 's1'), true), { file: 'mysql-bin.000001', offset: 4 });
});
