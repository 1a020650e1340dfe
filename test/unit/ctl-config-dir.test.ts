// config export's task file: mysql-instances limited to the sources the task runs on (as DM
// rebuilds a task from its subtasks), everything else kept as written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { taskForSources } from '../../src/ctl/commands/config-dir.js';

const TASK = `# my task
name: t1
task-mode: all
target-database:
  host: 127.0.0.1
  password: "c2VjcmV0LWNpcGhlcnRleHQ="   # encrypted
mysql-instances:
  - source-id: s1
    block-allow-list: ba
  - source-id: s2
    block-allow-list: ba
  - source-id: s3
    block-allow-list: ba
block-allow-list:
  ba:
    do-dbs: ["db"]
`;

void test('a task on all its sources is exported byte for byte', () => {
  assert.equal(taskForSources(TASK, ['s1', 's2', 's3']), TASK);
  assert.equal(taskForSources(TASK, []), TASK, 'no source list: nothing to limit');
});

void test('a task on some of its sources keeps those instances only, and the rest of the file', () => {
  const out = taskForSources(TASK, ['s3', 's1']);
  const doc = parse(out) as { name: string; 'mysql-instances': { 'source-id': string }[]; 'target-database': { password: string }; 'block-allow-list': unknown };
  assert.deepEqual(doc['mysql-instances'].map((m) => m['source-id']), ['s1', 's3']);
  assert.equal(doc.name, 't1');
  assert.equal(doc['target-database'].password, 'c2VjcmV0LWNpcGhlcnRleHQ=', 'the ciphertext is kept as it is');
  assert.deepEqual(doc['block-allow-list'], { ba: { 'do-dbs': ['db'] } });
  assert.match(out, /^# my task/, 'comments stay');
});
