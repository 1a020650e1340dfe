/**
 * DM's reply shapes (test/fixtures/dm-replies): `assertDmShape(ours, 'stop-task.json')` checks
 * that every key DM's reply has is in ours, in the same place, with the same JSON type (a `null`
 * in DM's reply allows null or an object, as DM prints `result: null` when there is nothing to
 * report); arrays are compared element by element where both have one. DM.ts may add keys.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './paths.js';

export function dmReplyFixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(ROOT, 'test/fixtures/dm-replies', name), 'utf8')) as Record<string, unknown>;
}

function kind(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

function compare(ours: unknown, dm: unknown, path: string, problems: string[]): void {
  const [k, dk] = [kind(ours), kind(dm)];
  if (dk === 'null') {
    if (k !== 'null' && k !== 'object') problems.push(`${path}: DM prints null (or an object), DM.ts ${k}`);
    return;
  }
  if (k !== dk) {
    problems.push(`${path}: DM prints ${dk}, DM.ts ${k}`);
    return;
  }
  if (dk === 'array') {
    const [a, d] = [ours as unknown[], dm as unknown[]];
    if (a.length > 0 && d.length > 0) compare(a[0], d[0], `${path}[0]`, problems);
    return;
  }
  if (dk === 'object') {
    const [o, d] = [ours as Record<string, unknown>, dm as Record<string, unknown>];
    for (const key of Object.keys(d)) {
      if (!(key in o)) problems.push(`${path}.${key}: DM's key is missing`);
      else compare(o[key], d[key], `${path}.${key}`, problems);
    }
  }
}

export function assertDmShape(ours: unknown, fixture: string, context = ''): void {
  const problems: string[] = [];
  compare(ours, dmReplyFixture(fixture), '$', problems);
  assert.deepEqual(problems, [], `${fixture}: ${problems.join('; ')}\n${context || JSON.stringify(ours, null, 2)}`);
}
