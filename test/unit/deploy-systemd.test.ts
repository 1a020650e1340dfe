/**
 * The systemd units in deploy/systemd stay hardened (issue 16, docs/security.md): systemd's own
 * rating (`systemd-analyze security --offline=yes`) of each is at most 4.0, they run as the
 * unprivileged user `dm`, and they start the entry points the build produces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ANALYZE = '/usr/bin/systemd-analyze';
const MAX_EXPOSURE = 4.0;

for (const unit of ['dm-master.service', 'dm-worker.service']) {
  const path = join(ROOT, 'deploy', 'systemd', unit);
  void test(`${unit}: systemd-analyze exposure ≤ ${MAX_EXPOSURE}, user dm, entry point of the build`, { skip: existsSync(ANALYZE) ? false : 'systemd-analyze is not installed (apt-get install -y systemd)' }, () => {
    const r = spawnSync(ANALYZE, ['security', '--offline=yes', '--no-pager', path], { encoding: 'utf8' });
    const m = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(r.stdout);
    assert.ok(m?.[1], `no rating in the output (exit ${r.status}): ${r.stdout.slice(-500)} ${r.stderr.slice(-500)}`);
    assert.ok(Number(m[1]) <= MAX_EXPOSURE, `${unit} is rated ${m[1]} (> ${MAX_EXPOSURE})`);
    const text = readFileSync(path, 'utf8');
    assert.match(text, /^User=dm$/m);
    const bin = unit.replace('.service', '');
    assert.match(text, new RegExp(`^ExecStart=.*/dist/src/bin/${bin}\\.js `, 'm'));
  });
}
