/**
 * Subtask.operateSchema (binlog-schema on the worker): list at any stage; update/delete only while
 * Paused (40301); no sync unit → 40302; a resume waits for an update in flight, so the resumed
 * unit reads what the update wrote. Units are scripted (no database is involved at this layer).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../helpers/index.js';
import { silentLogger } from '../../src/log/index.js';
import { createRegistry } from '../../src/metrics/index.js';
import { canceledResult, okResult, type ProcessResult, type Unit, type UnitType } from '../../src/units/index.js';
import type { SchemaOpRequest } from '../../src/units/sync/index.js';
import { Subtask } from '../../src/worker/index.js';

/** Runs until paused; records the order of process() calls and schema operations. */
class WaitingUnit implements Unit {
  readonly log: string[] = [];
  release: (() => void) | undefined;
  private stop: (() => void) | undefined;
  constructor(readonly type: UnitType) {}
  async init(): Promise<void> {}
  async process(signal: AbortSignal): Promise<ProcessResult> {
    this.log.push('process');
    if (this.type !== 'Sync') return okResult();
    await new Promise<void>((res) => {
      this.stop = res;
      signal.addEventListener('abort', () => res(), { once: true });
    });
    return canceledResult();
  }
  pause(): void {
    this.stop?.();
  }
  resume(signal: AbortSignal): Promise<ProcessResult> {
    return this.process(signal);
  }
  async close(): Promise<void> {}
  status(): Record<string, unknown> {
    return {};
  }
  /** A set/remove waits for release() (a slow write), get answers at once. */
  async operateSchema(req: SchemaOpRequest): Promise<string> {
    if (req.op !== 'get') await new Promise<void>((res) => (this.release = res));
    this.log.push(`schema:${req.op}`);
    return req.op === 'get' ? 'CREATE TABLE `t` (`id` int NOT NULL)' : '';
  }
}

function subtask(units: Unit[]): Subtask {
  return new Subtask({
    input: { taskName: 't', sourceId: 's', taskYaml: '', sourceYaml: '' },
    logger: silentLogger,
    registry: createRegistry(),
    workerName: 'w',
    unitsFactory: () => units,
  });
}

const codeOf = async (p: Promise<unknown>): Promise<number | undefined> => {
  try {
    await p;
    return undefined;
  } catch (e) {
    return (e as { code?: number }).code;
  }
};

void test('subtask binlog-schema: list while Running; update/delete refused unless Paused; resume waits for an update in flight', async (t) => {
  const sync = new WaitingUnit('Sync');
  const st = subtask([new WaitingUnit('Load'), sync]);
  t.after(() => st.stop());
  st.start('Running');
  await waitFor('sync running', async () => sync.log.includes('process'));
  assert.match(await st.operateSchema({ op: 'get', database: 'd', table: 't' }), /^CREATE TABLE/);
  assert.equal(await codeOf(st.operateSchema({ op: 'set', database: 'd', table: 't', schema: 'CREATE TABLE t (id INT)' })), 40301);
  assert.equal(await codeOf(st.operateSchema({ op: 'remove', database: 'd', table: 't' })), 40301);
  assert.deepEqual(sync.log, ['process', 'schema:get'], 'refused operations never reached the unit');

  await st.pause();
  assert.equal(st.stageName, 'Paused');
  const upd = st.operateSchema({ op: 'set', database: 'd', table: 't', schema: 'CREATE TABLE t (id INT)' });
  await waitFor('update started', async () => sync.release !== undefined);
  const resumed = st.resume();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(st.stageName, 'Paused', 'resume waits while the update is in flight');
  sync.release?.();
  assert.equal(await upd, '');
  await resumed;
  assert.equal(st.stageName, 'Running');
  await waitFor('sync processing again', async () => sync.log.filter((x) => x === 'process').length === 2);
  assert.deepEqual(sync.log, ['process', 'schema:get', 'schema:set', 'process'], 'the resumed unit started after the update finished');
});

void test('subtask binlog-schema: a subtask without a sync unit (task-mode full) answers 40302', async (t) => {
  const st = subtask([new WaitingUnit('Dump'), new WaitingUnit('Load')]);
  t.after(() => st.stop());
  st.start('Running');
  await waitFor('finished', async () => st.stageName === 'Finished');
  assert.equal(await codeOf(st.operateSchema({ op: 'get', database: 'd', table: 't' })), 40302);
  assert.equal(await codeOf(st.operateSchema({ op: 'remove', database: 'd', table: 't' })), 40302);
});
