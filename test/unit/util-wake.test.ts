import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { Waker } from '../../src/util/index.js';

test('Waker: wake() ends a sleep early, and sleeps leave no abort listeners behind', async () => {
  const ac = new AbortController();
  const w = new Waker();
  const t0 = Date.now();
  const p = w.sleep(10_000, ac.signal);
  setTimeout(() => w.wake(), 20);
  await p;
  assert.ok(Date.now() - t0 < 5_000, 'woken long before the timeout');
  for (let i = 0; i < 50; i++) await w.sleep(1, ac.signal);
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0, 'a reconcile loop must not collect listeners');
  const q = w.sleep(10_000, ac.signal);
  ac.abort();
  await q;
  await w.sleep(10_000, ac.signal); // an aborted signal ends the sleep at once
});
