/**
 * Config is compiled once (issue 12 §3): the compiled task carries every default (src/config's
 * named constants, DM's values), the text start-task stores comes from the same parse, and a unit
 * built from the compiled subtask runs with exactly those values (it applies no defaults of its own).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import {
  compileSubtask,
  compileTask,
  subtaskOf,
  looksEncrypted,
  DEFAULT_BINLOG_QUEUE_BYTES,
  DEFAULT_BINLOG_QUEUE_EVENTS,
  DEFAULT_CHECKPOINT_FLUSH_INTERVAL_S,
  DEFAULT_LOADER_POOL_SIZE,
  DEFAULT_META_SCHEMA,
  DEFAULT_MYDUMPER_THREADS,
  DEFAULT_SYNC_RETRY_TIMEOUT_MS,
  DEFAULT_SYNCER_BATCH,
  DEFAULT_SYNCER_WORKER_COUNT,
} from '../../src/config/index.js';
import { silentLogger } from '../../src/log/index.js';
import type { SyncerSettings } from '../../src/units/sync/index.js';
import { createUnits, shardConfig } from '../../src/worker/pipeline.js';
import type { ShardDDLClient } from '../../src/units/sync/index.js';

const taskYaml = (mode: string, syncer = ''): string => `name: cc
task-mode: ${mode}
target-database: {host: 127.0.0.1, port: 1, user: root, password: secret}
mysql-instances:
  - source-id: s1
    meta: {binlog-name: mysql-bin.000001, binlog-pos: 4}
${syncer ? `    syncer-config-name: sy\nsyncers:\n  sy: ${syncer}\n` : ''}`;
const sourceYaml = 'source-id: s1\nflavor: mariadb\nfrom: {host: 127.0.0.1, port: 1, user: root, password: ""}\n';

void test('the compiled task carries the defaults, once, in a frozen object', () => {
  const c = compileTask(taskYaml('all'));
  assert.deepEqual(c.sourceIds, ['s1']);
  const sub = subtaskOf(c, 's1');
  assert.equal(sub.metaSchema, DEFAULT_META_SCHEMA);
  assert.equal(sub.syncer.checkpointFlushInterval, DEFAULT_CHECKPOINT_FLUSH_INTERVAL_S);
  assert.equal(sub.syncer.checkpointFlushInterval, 30, "DM's checkpoint-flush-interval default");
  assert.equal(sub.syncer.safeModeDuration, 2 * 30 * 1000, 'safe-mode-duration: twice the flush interval');
  assert.equal(sub.syncer.workerCount, DEFAULT_SYNCER_WORKER_COUNT);
  assert.equal(sub.syncer.batch, DEFAULT_SYNCER_BATCH);
  assert.equal(sub.mydumper.threads, DEFAULT_MYDUMPER_THREADS);
  assert.equal(sub.loader.poolSize, DEFAULT_LOADER_POOL_SIZE);
  assert.equal(sub.loader.dir, './dumped_data.cc');
  for (const o of [c, c.task, c.subtasks, sub, sub.syncer, sub.targetDatabase]) assert.ok(Object.isFrozen(o));
  assert.throws(() => subtaskOf(c, 'nope'), /no mysql-instances entry with source-id "nope"/);
  // what the worker compiles from the same text is the same subtask
  assert.deepEqual(compileSubtask(taskYaml('all'), 's1'), sub);
});

void test('the text start-task stores comes from the same parse: password encrypted, loads back to the same task', () => {
  const text = `# a comment kept\n${taskYaml('incremental')}`;
  const c = compileTask(text);
  const stored = c.storedText();
  assert.match(stored, /# a comment kept/);
  assert.doesNotMatch(stored, /password: secret/);
  const pw = /password: (\S+)/.exec(stored)?.[1] ?? '';
  assert.ok(looksEncrypted(pw), `stored password ${pw} is encrypted`);
  assert.deepEqual(compileTask(stored).task, c.task);
  assert.equal(c.task.targetDatabase.password, 'secret');
});

/** The settings of the sync unit the worker's pipeline builds from a task text. */
async function syncSettingsOf(yaml: string): Promise<SyncerSettings> {
  const units = createUnits({ taskName: 'cc', sourceId: 's1', taskYaml: yaml, sourceYaml }, { logger: silentLogger, registry: new Registry(), workerName: 'w1' });
  const sync = units.find((u) => u.type === 'Sync');
  assert.ok(sync);
  try {
    await sync.init(AbortSignal.timeout(10_000)); // flavor given: no connection
    const inner = await (sync as unknown as { build(): Promise<{ settings: SyncerSettings }> }).build();
    return { ...inner.settings };
  } finally {
    for (const u of units) await u.close();
  }
}

void test('a sync unit given the compiled subtask does not re-default it', async () => {
  assert.deepEqual(await syncSettingsOf(taskYaml('incremental')), {
    workerCount: DEFAULT_SYNCER_WORKER_COUNT,
    batch: DEFAULT_SYNCER_BATCH,
    checkpointFlushIntervalMs: DEFAULT_CHECKPOINT_FLUSH_INTERVAL_S * 1000,
    safeModeDurationSec: 2 * DEFAULT_CHECKPOINT_FLUSH_INTERVAL_S,
    safeMode: false,
    retryTimeoutMs: DEFAULT_SYNC_RETRY_TIMEOUT_MS,
    maxQueueEvents: DEFAULT_BINLOG_QUEUE_EVENTS,
    maxQueueBytes: DEFAULT_BINLOG_QUEUE_BYTES,
  });
  const set = await syncSettingsOf(taskYaml('incremental', '{checkpoint-flush-interval: 5, worker-count: 3, batch: 7, safe-mode: true, safe-mode-duration: 90s}'));
  assert.equal(set.checkpointFlushIntervalMs, 5000);
  assert.equal(set.workerCount, 3);
  assert.equal(set.batch, 7);
  assert.equal(set.safeMode, true);
  assert.equal(set.safeModeDurationSec, 90);
});

void test('strict-optimistic-shard-mode reaches the sync unit (sent with each optimistic shard DDL info)', () => {
  // the etcd client is not called here: only handed on
  const ctx = { shardDDL: {} as ShardDDLClient };
  const of = (extra: string): boolean | undefined => shardConfig(compileSubtask(`${taskYaml('incremental')}shard-mode: optimistic\n${extra}`, 's1'), ctx)?.strictOptimistic;
  assert.equal(of(''), false);
  assert.equal(of('strict-optimistic-shard-mode: true\n'), true);
});
