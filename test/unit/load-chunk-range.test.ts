import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chunkWhere, rangeBounds } from '../../src/units/full/chunk-plan.js';

test('rangeBounds: ranges of `rows` key values, open at both ends, covering every key exactly once', () => {
  const b = rangeBounds(1, 25, 10, 10);
  assert.deepEqual(b, [
    { lower: null, upper: 10 },
    { lower: 10, upper: 20 },
    { lower: 20, upper: null },
  ]);
  // every key in [min - 5, max + 5] falls in exactly one chunk (lower < k <= upper)
  for (const [min, max, rows] of [
    [1, 250000, 10000],
    [-7, 13, 3],
    [5, 5, 10],
    [0, 9, 10],
    [0, 10, 10],
  ] as const) {
    const cs = rangeBounds(min, max, rows, 1000) ?? [];
    assert.ok(cs.length > 0);
    for (let k = min - 5; k <= max + 5; k++) {
      const n = cs.filter((c) => (c.lower === null || k > c.lower) && (c.upper === null || k <= c.upper)).length;
      assert.equal(n, 1, `key ${k} of [${min}, ${max}] by ${rows}`);
    }
    // no closed range is wider than `rows` key values, so no chunk holds more than `rows` rows
    for (const c of cs) if (c.lower !== null && c.upper !== null) assert.ok(c.upper - c.lower <= rows);
    const first = cs[0];
    const last = cs.at(-1);
    assert.ok(first && last && first.lower === null && last.upper === null);
    if (first.upper !== null) assert.ok(min - 1 + rows === first.upper);
  }
});

test('rangeBounds: a key spread over more chunks than allowed is refused (the caller walks it)', () => {
  assert.equal(rangeBounds(1, 1_000_000, 1000, 999), undefined);
  assert.equal(rangeBounds(1, 1_000_000, 1000, 1000)?.length, 1000);
});

test('rangeBounds chunks as SQL: (lower, upper] on the key', () => {
  const cs = rangeBounds(1, 25, 10, 10) ?? [];
  const w = cs.map((c) => chunkWhere({ key: ['id'], lower: c.lower === null ? null : [c.lower], upper: c.upper === null ? null : [c.upper] }, ''));
  assert.deepEqual(w, ['`id` <= 10', '`id` > 10 AND `id` <= 20', '`id` > 20']);
});
