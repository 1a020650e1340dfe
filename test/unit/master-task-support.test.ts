import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DMError } from '../../src/errors/index.js';
import { assertTaskSupported, taskFacts } from '../../src/master/config-adapter.js';

const advanced = readFileSync(new URL('../fixtures/config/dm-task-advanced.yaml', import.meta.url), 'utf8');

test('start-task refuses shard-mode (no shard DDL coordination yet) with code 38019 and a workaround', () => {
  const t = taskFacts(advanced);
  assert.notEqual(t.shardMode, '', 'the DM sample uses shard-mode');
  assert.throws(
    () => assertTaskSupported(t),
    (e: unknown) =>
      e instanceof DMError && e.code === 38019 && /shard-mode "pessimistic"|shard-mode "optimistic"/.test(e.message) && e.workaround.includes('shard-mode'),
  );
});

test('a task without shard-mode is accepted', () => {
  const plain = advanced.replace(/^shard-mode:.*$/m, '');
  assert.doesNotThrow(() => assertTaskSupported(taskFacts(plain)));
});
