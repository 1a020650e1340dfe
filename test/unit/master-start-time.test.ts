/** start-task --start-time: DM's wall-clock format read in the task's timezone, or a zoned ISO time. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DMError } from '../../src/errors/index.js';
import { resolveStartTime } from '../../src/master/start-time.js';

void test('start-time without a zone is UTC when the task has no timezone', () => {
  assert.equal(resolveStartTime('2024-01-02 15:04:05'), '2024-01-02T15:04:05.000Z');
  assert.equal(resolveStartTime('2024-01-02T15:04:05'), '2024-01-02T15:04:05.000Z');
});

void test("start-time is read in the task's timezone (offset or IANA name, DST included)", () => {
  assert.equal(resolveStartTime('2024-01-02 15:04:05', '+08:00'), '2024-01-02T07:04:05.000Z');
  assert.equal(resolveStartTime('2024-01-02 15:04:05', 'Asia/Shanghai'), '2024-01-02T07:04:05.000Z');
  assert.equal(resolveStartTime('2024-07-02 15:04:05', 'Europe/Berlin'), '2024-07-02T13:04:05.000Z');
  assert.equal(resolveStartTime('2024-01-02 15:04:05', 'Europe/Berlin'), '2024-01-02T14:04:05.000Z');
});

void test('a zoned ISO start-time keeps its own zone', () => {
  assert.equal(resolveStartTime('2024-01-02T15:04:05+02:00', 'Asia/Shanghai'), '2024-01-02T13:04:05.000Z');
});

void test('bad start-times give error 38018', () => {
  for (const bad of ['yesterday', '2024-02-30 10:00:00', '2024-01-02 25:00:00', '']) {
    assert.throws(() => resolveStartTime(bad), (e: unknown) => e instanceof DMError && e.code === 38018, bad);
  }
});
