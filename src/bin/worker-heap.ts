/**
 * The dm-worker's V8 heap-growth policy, set by its launcher (src/bin/dm-worker.ts).
 *
 * Why: a syncing worker promotes its in-flight rows (decoded images, row changes, keys, statement
 * text live longer than a young-generation cycle) to the old generation at roughly 0.8 KB per row
 * event, where they die. V8 lets the old generation grow to up to 4× the live heap after each full
 * GC (its growing factor on a large host), so with ~35 MB live a worker's RSS passed 200 MB in
 * every catch-up and in a 1,000-table full copy, almost all of it garbage not yet collected
 * (docs/benchmarks.md, "Issue 18: worker memory and CPU"). A fixed growing factor of
 * 1 + WORKER_HEAP_GROWING_PERCENT/100 bounds that garbage; the cost is more full GCs (CPU, stated
 * with the figures in docs/benchmarks.md).
 *
 * V8 reads `--heap-growing-percent` at every full GC, so setting it at start-up with
 * `v8.setFlagsFromString` acts like the node flag. An operator who gave the flag to node (on its
 * command line or in NODE_OPTIONS) keeps theirs: `node --heap-growing-percent=0 …` restores V8's
 * own dynamic factor (0 = off in V8).
 */
import v8 from 'node:v8';

/** The worker's old-generation growth after a full GC, in percent of the live heap. */
export const WORKER_HEAP_GROWING_PERCENT = 100;

const FLAG = /^--heap[-_]growing[-_]percent(=|$)/;

/** Whether node was started with its own `--heap-growing-percent` (command line or NODE_OPTIONS). */
export function operatorHeapGrowth(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  if (execArgv.some((a) => FLAG.test(a))) return true;
  return (nodeOptions ?? '').split(/\s+/).some((a) => FLAG.test(a));
}

/**
 * Apply the worker's heap-growth policy unless the operator chose one. Returns the percent in
 * force when applied here, or 'operator' when node's own flag was kept.
 */
export function applyWorkerHeapPolicy(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env['NODE_OPTIONS'],
  setFlags: (flags: string) => void = (f) => v8.setFlagsFromString(f),
): number | 'operator' {
  if (operatorHeapGrowth(execArgv, nodeOptions)) return 'operator';
  setFlags(`--heap-growing-percent=${WORKER_HEAP_GROWING_PERCENT}`);
  return WORKER_HEAP_GROWING_PERCENT;
}
