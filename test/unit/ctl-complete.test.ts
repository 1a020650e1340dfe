/** dmctl's interactive completion: command names, then each command's sub-commands, flags and files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { complete } from '../../src/ctl/repl.js';

void test('the first word completes to command names', () => {
  const [hits, word] = complete('operate-s');
  assert.deepEqual(hits, ['operate-source']);
  assert.equal(word, 'operate-s');
  assert.ok(complete('')[0].includes('query-status'));
});

void test("sub-commands complete from the command's argument values", () => {
  assert.deepEqual(complete('config ')[0], ['task', 'source', 'master', 'worker', 'task-template', 'export', 'import']);
  assert.deepEqual(complete('config m'), [['master'], 'm']);
  assert.deepEqual(complete('config t')[0], ['task', 'task-template']);
  assert.deepEqual(complete('operate-source s')[0], ['stop', 'show']);
  assert.deepEqual(complete('binlog r')[0], ['replace', 'revert']);
  assert.deepEqual(complete('operate-leader ')[0], ['evict', 'cancel-evict']);
  // a flag and its value before the sub-command are skipped
  assert.deepEqual(complete('binlog -s mysql-01 sk')[0], ['skip']);
  // past the sub-command there is nothing fixed to offer for a task name
  assert.deepEqual(complete('binlog skip ')[0], []);
});

void test('commander sub-commands complete, then their own flags', () => {
  assert.deepEqual(complete('shard-ddl-lock u'), [['unlock'], 'u']);
  assert.deepEqual(complete('shard-ddl-lock unlock --a')[0], ['--action']);
  assert.ok(complete('shard-ddl-lock unlock -')[0].includes('--force-remove'));
  assert.deepEqual(complete('shard-ddl-lock --a')[0], [], 'the listing has no --action');
});

void test('flags complete for the command being typed', () => {
  const [hits, word] = complete('query-status --m');
  assert.deepEqual(hits, ['--more']);
  assert.equal(word, '--m');
  const startTask = complete('start-task -')[0];
  for (const f of ['--remove-meta', '--help']) assert.ok(startTask.includes(f), `${f} in ${startTask.join(' ')}`);
  assert.ok(complete('config task t1 -')[0].includes('--path'));
  assert.deepEqual(complete('no-such-command -')[0], []);
});

void test('file arguments complete to paths', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dmctl-complete-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'task-a.yaml'), '');
  writeFileSync(join(dir, 'task-b.yaml'), '');
  mkdirSync(join(dir, 'tasks'));
  assert.deepEqual(complete(`start-task ${dir}/task`)[0], [`${dir}/task-a.yaml`, `${dir}/task-b.yaml`, `${dir}/tasks/`]);
  assert.deepEqual(complete(`operate-source create ${dir}/task-a`)[0], [`${dir}/task-a.yaml`]);
});
