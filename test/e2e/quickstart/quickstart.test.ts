/**
 * quickstart: `npm run quickstart` end to end in a temp sandbox dir (free ports, short write
 * phase): exit 0 and "all tables equal"; every sandbox process alive afterwards (detached from
 * the script); a second run replaces the first sandbox (its processes gone) and passes again; then `npm run quickstart -- --down` stops them all (including the master's etcd
 * child) and removes the dir, and a second `--down` is a harmless no-op.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, removeTempDir, trackChild } from '../../helpers/index.js';
import { MEMBERS, ROOT, sandboxPaths } from '../../../scripts/quickstart/sandbox-paths.js';
import { isAlive, readPid, stopSandbox, strayProcesses } from '../../../scripts/quickstart/processes.js';
import { missingBinaries } from '../../helpers/cluster.js';

interface Run {
  code: number;
  out: string;
}

async function npmQuickstart(args: string[], env: Record<string, string>, timeoutMs: number): Promise<Run> {
  const child = spawn('npm', ['run', '--silent', 'quickstart', '--', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
    signal: AbortSignal.timeout(timeoutMs),
  });
  trackChild(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number>((resolve) => {
    child.once('error', () => resolve(-1));
    child.once('close', (c: number | null) => resolve(c ?? -1));
  });
  return { code, out };
}

const skip = missingBinaries();

void test(
  'npm run quickstart migrates the sample database, then --down stops and removes everything',
  { skip: skip || false, timeout: 600_000 },
  async (t) => {
    const tmp = makeTempDir('quickstart');
    const dir = join(tmp, 'sandbox');
    const paths = sandboxPaths(dir);
    t.after(async () => {
      await stopSandbox(paths); // only does something when the test failed before --down
      rmSync(dir, { recursive: true, force: true });
      removeTempDir(tmp);
    });
    const env = {
      DM_QUICKSTART_DIR: dir,
      DM_QUICKSTART_WRITE_SECONDS: '4',
      DM_QUICKSTART_FREE_PORTS: '1',
      DM_LOG_LEVEL: 'info',
    };

    const up = await npmQuickstart([], env, 300_000);
    assert.equal(up.code, 0, up.out);
    assert.match(up.out, /RESULT: all 5 tables equal between source and target/, up.out);
    assert.match(up.out, /"stage": "Running"/, 'query-status is printed');
    assert.match(up.out, /npm run quickstart -- --down/, 'tells how to stop the sandbox');

    // the sandbox outlives the script: every member runs, recorded in its pid file
    const pids = MEMBERS.map((m) => ({ m, pid: readPid(paths.pidFile(m)) }));
    for (const { m, pid } of pids) {
      assert.ok(pid !== undefined, `${m}.pid written`);
      assert.ok(isAlive(pid), `${m} (pid ${pid}) still runs after the script exited`);
    }
    const first = strayProcesses(dir); // members plus children such as the embedded etcd
    assert.ok(first.length >= MEMBERS.length, `sandbox processes: ${first.join(', ')}`);

    // re-running is safe: it stops the running sandbox and starts a fresh one (small data: quicker)
    const rerun = await npmQuickstart(
      [],
      { ...env, DM_QUICKSTART_SCALE: '0.05', DM_QUICKSTART_WRITE_SECONDS: '1' },
      300_000,
    );
    assert.equal(rerun.code, 0, rerun.out);
    assert.match(rerun.out, /stopped the previous sandbox/, rerun.out);
    assert.match(rerun.out, /RESULT: all 5 tables equal between source and target/, rerun.out);
    for (const pid of first) assert.equal(isAlive(pid), false, `pid ${pid} of the first sandbox is gone`);
    const all = strayProcesses(dir);
    assert.ok(all.length >= MEMBERS.length, `sandbox processes: ${all.join(', ')}`);

    const down = await npmQuickstart(['--down'], env, 120_000);
    assert.equal(down.code, 0, down.out);
    for (const m of MEMBERS) assert.match(down.out, new RegExp(`stopped ${m} \\(pid`), down.out);
    for (const pid of all) assert.equal(isAlive(pid), false, `pid ${pid} is gone after --down`);
    assert.deepEqual(strayProcesses(dir), []);
    assert.equal(existsSync(dir), false, 'sandbox dir removed');

    const again = await npmQuickstart(['--down'], env, 60_000);
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /nothing to stop/);
  },
);
