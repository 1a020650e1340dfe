#!/usr/bin/env node
// Runs the node:test files of one layer (unit | integration | e2e | all) through tsx.
// Node 20's --test does not expand globs, so this finds the files itself.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const layers = process.argv[2] === 'all' || !process.argv[2] ? ['unit', 'integration', 'e2e'] : [process.argv[2]];
const filter = process.argv[3];
const concurrency = process.env.DM_TEST_CONCURRENCY ?? (layers.includes('unit') && layers.length === 1 ? '4' : '2');

function find(dir) {
  let out = [];
  let entries = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out = out.concat(find(p));
    else if (e.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

let failed = false;
for (const layer of layers) {
  const files = find(join('test', layer))
    .filter((f) => !filter || f.includes(filter))
    .sort();
  if (files.length === 0) {
    console.log(`# ${layer}: no test files`);
    continue;
  }
  console.log(`# ${layer}: ${files.length} test files`);
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-force-exit', `--test-concurrency=${concurrency}`, '--test-timeout=600000', '--test-reporter=spec', ...files],
    { stdio: 'inherit', env: { ...process.env, DM_LOG_LEVEL: process.env.DM_LOG_LEVEL ?? 'warn' } },
  );
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
