// The dm-worker launcher's V8 heap-growth policy (src/bin/worker-heap.ts): applied unless the
// operator gave node its own --heap-growing-percent, and it does bound the old generation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { applyWorkerHeapPolicy, operatorHeapGrowth, WORKER_HEAP_GROWING_PERCENT } from '../../src/bin/worker-heap.js';

void test('the operator’s own flag (command line or NODE_OPTIONS, either spelling) is kept', () => {
  assert.equal(operatorHeapGrowth(['--heap-growing-percent=50'], undefined), true);
  assert.equal(operatorHeapGrowth(['--heap_growing_percent=0'], undefined), true);
  assert.equal(operatorHeapGrowth([], '--max-old-space-size=512 --heap-growing-percent=30'), true);
  assert.equal(operatorHeapGrowth(['--heap-growing-percentage=5', '--max-semi-space-size=8'], '--trace-gc'), false);
  assert.equal(operatorHeapGrowth([], undefined), false);
  const calls: string[] = [];
  assert.equal(applyWorkerHeapPolicy(['--heap-growing-percent=30'], undefined, (f) => calls.push(f)), 'operator');
  assert.equal(calls.length, 0, 'nothing set over the operator’s flag');
  assert.equal(applyWorkerHeapPolicy([], undefined, (f) => calls.push(f)), WORKER_HEAP_GROWING_PERCENT);
  assert.deepEqual(calls, [`--heap-growing-percent=${WORKER_HEAP_GROWING_PERCENT}`]);
});

/**
 * A child that holds ~10 MB live and churns ~80 MB of objects that live long enough to be
 * promoted (a FIFO of 20,000 small records), the pattern of a syncing worker's in-flight rows;
 * yielding to the event loop now and then as the worker does; prints the largest old-space size seen and the live old space after a final full GC.
 */
const CHURN = `
import v8 from 'node:v8';
import { applyWorkerHeapPolicy } from './src/bin/worker-heap.ts';
if (process.argv.includes('policy')) applyWorkerHeapPolicy([], undefined);
const live = Array.from({ length: 50_000 }, (_, i) => ({ i, s: 'row-' + i + '-'.padEnd(60, 'x') }));
const fifo = new Array(20_000);
let maxOld = 0;
const old = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_size;
for (let n = 0; n < 600_000; n++) {
  fifo[n % fifo.length] = { n, a: [n, n + 1, 'v' + n], s: 'val-' + n + '-'.padEnd(64, 'y') };
  if (n % 20_000 === 0) maxOld = Math.max(maxOld, old());
  if (n % 2_000 === 0) await new Promise((r) => setImmediate(r)); // yields as the worker does between batches (GC tasks run)
}
globalThis.gc();
const liveOld = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size;
console.log(JSON.stringify({ maxOld, liveOld, keep: live.length + fifo.length }));
`;

function churn(args: string[]): { maxOld: number; liveOld: number } {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', ...args.filter((a) => a.startsWith('--')), '--input-type=module', '-e', CHURN, ...args.filter((a) => !a.startsWith('--'))], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { maxOld: number; liveOld: number };
}

void test('with the policy the old generation grows far less than with V8’s own factor', () => {
  const withPolicy = churn(['policy']);
  const own = churn(['--heap-growing-percent=0']); // the operator's flag: V8's own dynamic factor (up to 4)
  const mb = (n: number): string => (n / 2 ** 20).toFixed(1);
  const seen = `policy: old space peaked at ${mb(withPolicy.maxOld)} MB with ${mb(withPolicy.liveOld)} MB live; V8's own factor: ${mb(own.maxOld)} MB with ${mb(own.liveOld)} MB live`;
  // (1 + percent/100) × live, with room for what is promoted while concurrent marking runs
  assert.ok(withPolicy.maxOld <= withPolicy.liveOld * (1 + WORKER_HEAP_GROWING_PERCENT / 100) * 1.75, seen);
  assert.ok(withPolicy.maxOld < own.maxOld * 0.75, seen);
});
