// src/util/retry.ts: the one retry/backoff module (cockatiel underneath).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, retryPolicy, retryWithin } from '../../src/util/index.js';

void test('Backoff without jitter doubles up to the cap and starts over after reset (the auto-resume delays)', () => {
  const b = new Backoff({ initialDelayMs: 1000, maxDelayMs: 5000, jitter: false });
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [1000, 2000, 4000, 5000, 5000]);
  b.reset();
  assert.equal(b.next(), 1000);
});

void test('Backoff with jitter stays within the cap', () => {
  const b = new Backoff({ initialDelayMs: 10, maxDelayMs: 50 });
  for (let i = 0; i < 20; i++) {
    const d = b.next();
    assert.ok(d >= 0 && d <= 50, String(d));
  }
});

void test('retryPolicy retries only what `when` accepts, at most maxAttempts times', async () => {
  let calls = 0;
  const p = retryPolicy({
    when: (e) => e.message === 'again',
    maxAttempts: 2,
    backoff: { initialDelayMs: 1, maxDelayMs: 2 },
  });
  await assert.rejects(
    p.execute(() => {
      calls++;
      throw new Error('again');
    }),
    /again/,
  );
  assert.equal(calls, 3);
  calls = 0;
  await assert.rejects(
    p.execute(() => {
      calls++;
      throw new Error('final');
    }),
    /final/,
  );
  assert.equal(calls, 1);
});

void test('retryWithin retries until it succeeds, and not past its time budget', async () => {
  let calls = 0;
  const r = await retryWithin(
    async () => {
      if (++calls < 3) throw new Error('transient');
      return 'ok';
    },
    {
      retryable: () => true,
      budgetMs: 10_000,
      backoff: { initialDelayMs: 1, maxDelayMs: 2 },
      signal: new AbortController().signal,
    },
  );
  assert.equal(r, 'ok');
  assert.equal(calls, 3);
  let seen = 0;
  await assert.rejects(
    retryWithin(
      async () => {
        throw new Error('transient');
      },
      {
        retryable: () => true,
        budgetMs: 0,
        backoff: { initialDelayMs: 1, maxDelayMs: 2 },
        signal: new AbortController().signal,
        onRetry: () => seen++,
      },
    ),
    /transient/,
  );
  assert.equal(seen, 0);
});
