import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventQueue } from '../../src/binlog/event-queue.js';

void test('event queue: reports full by count and bytes, drains to half before resuming the producer', () => {
  let drains = 0;
  const q = new EventQueue<number>(4, 1000, () => drains++);
  assert.equal(q.push(1, 10), false);
  assert.equal(q.push(2, 10), false);
  assert.equal(q.push(3, 10), false);
  assert.equal(q.push(4, 10), true, 'full at 4 events');
  assert.equal(q.tryTake(), 1);
  assert.equal(drains, 0, 'still above half');
  assert.equal(q.tryTake(), 2);
  assert.equal(drains, 1, 'resumed at half');
  assert.equal(q.byteSize, 20);
  const big = new EventQueue<string>(100, 100, () => drains++);
  assert.equal(big.push('a', 60), false);
  assert.equal(big.push('b', 60), true, 'full by bytes');
});

void test('event queue: batches keep stream order across waits, and the end error reaches the consumer once', async () => {
  const q = new EventQueue<number>(1000, 1 << 20, () => undefined);
  for (let i = 0; i < 10; i++) q.push(i, 1);
  assert.deepEqual(await q.nextBatch(4), [0, 1, 2, 3]);
  assert.equal(q.tryTake(), 4);
  assert.deepEqual(await q.nextBatch(100), [5, 6, 7, 8, 9]);
  assert.equal(q.byteSize, 0);
  // a waiting consumer is woken by the next push
  const waiting = q.nextBatch(100);
  q.push(10, 1);
  q.push(11, 1);
  assert.deepEqual(await waiting, [10, 11]);
  const one = q.next();
  q.push(12, 1);
  assert.deepEqual(await one, { value: 12, done: false });
  q.push(13, 1);
  q.end(new Error('boom'));
  assert.deepEqual(await q.nextBatch(100), [13], 'queued items are drained before the error');
  await assert.rejects(q.nextBatch(100), /boom/);
  assert.deepEqual(await q.nextBatch(100), [], 'then done');
  assert.equal((await q.next()).done, true);
});

void test('event queue: an item that starts batches is only ever the first of one (the reader cuts batches at DDLs)', async () => {
  const q = new EventQueue<string>(1000, 1 << 20, () => undefined);
  for (const x of ['r1', 'r2', 'DDL1', 'DDL2', 'r3', 'r4', 'DDL3']) q.push(x, 1);
  const isDDL = (x: string): boolean => x.startsWith('DDL');
  assert.deepEqual(await q.nextBatch(100, isDDL), ['r1', 'r2'], 'ends before the DDL');
  assert.deepEqual(q.takeBatch(100, isDDL), ['DDL1'], 'a DDL right after a DDL: alone');
  assert.deepEqual(q.takeBatch(2, isDDL), ['DDL2', 'r3'], 'a DDL starts its batch, max still applies');
  assert.deepEqual(q.takeBatch(100, isDDL), ['r4']);
  assert.deepEqual(q.takeBatch(100, isDDL), ['DDL3']);
  assert.equal(q.byteSize, 0);
});
