import assert from 'node:assert/strict';
import type { Unit } from '../../src/units/unit.js';

/**
 * Run units in order (dump then load, ...), asserting that each ends without errors and without
 * being canceled; `close` closes each unit after it ran. Returns the last unit's result detail.
 */
export async function runUnits(
  units: readonly Unit[],
  opts: { close?: boolean } = {},
): Promise<Record<string, unknown> | undefined> {
  let detail: Record<string, unknown> | undefined;
  for (const u of units) {
    const r = await u.process(new AbortController().signal);
    assert.deepEqual(r.errors, [], JSON.stringify(r.errors));
    assert.equal(r.isCanceled, false);
    detail = r.detail;
    if (opts.close) await u.close();
  }
  return detail;
}
