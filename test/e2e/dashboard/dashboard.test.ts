/**
 * dashboard: Debian's chromium, driven by playwright-core, opens the dashboard a real dm-master
 * (with token authentication on) serves at /dashboard/, is refused until it logs in with a token,
 * then sees the cluster live over gRPC-web, starts a task from pasted YAML (check-task first),
 * watches the full copy's progress (rows, bytes, ETA) and the task reach Sync, pauses and resumes
 * it, sees "no DDL lock" in the shard DDL locks section, starts the source's relay log from the
 * page and sees its stage, relay binlog and catch-up flag, pauses and resumes it; a page logged in
 * with a read token sees the same sections and its relay action is refused with a clear message;
 * and saves screenshots (path printed; under test/.output/). A page of another origin calling the
 * master with the same token is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeTempDir, removeTempDir } from '../../helpers/index.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { missingBinaries } from '../../helpers/cluster.js';
import { setupScenario } from '../helpers/scenario.js';
// @ts-expect-error -- a plain .mjs build script without types
import { buildWeb } from '../../../scripts/build-web.mjs';

const CASE = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const OUT = join(CASE, '..', '..', '.output');

const noChromium = existsSync(CHROMIUM) ? false : `chromium is not installed (as root: apt-get update && apt-get install -y chromium)`;

async function textOf(page: Page, testId: string): Promise<string> {
  return (await page.getByTestId(testId).textContent({ timeout: 1000 }).catch(() => '')) ?? '';
}

async function waitText(page: Page, testId: string, re: RegExp, timeoutMs = 90_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < end) {
    last = await textOf(page, testId);
    if (re.test(last)) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${testId}: waited for ${String(re)}, last "${last}"; page: ${(await page.locator('main').textContent()) ?? ''}`);
}

void test('dashboard: live view, start a task from YAML, Sync, pause and resume, screenshot', { skip: missingBinaries() || noChromium, timeout: 300_000 }, async (t) => {
  await (buildWeb as () => Promise<string>)();
  // token authentication on: an admin token for the page and dmctl, a cluster token for master↔worker
  const sec = makeTempDir('dash-sec');
  t.after(() => removeTempDir(sec));
  const token = randomBytes(32).toString('hex');
  const readToken = randomBytes(32).toString('hex');
  const sha = (x: string): string => createHash('sha256').update(x).digest('hex');
  writeFileSync(join(sec, 'tokens.yaml'), `tokens:\n  - name: ops\n    role: admin\n    sha256: ${sha(token)}\n  - name: viewer\n    role: read\n    sha256: ${sha(readToken)}\n`);
  writeFileSync(join(sec, 'cluster.token'), randomBytes(32).toString('hex'));
  const before = process.env['DM_TOKEN'];
  process.env['DM_TOKEN'] = token; // the harness's dmctl calls
  t.after(() => {
    if (before === undefined) delete process.env['DM_TOKEN'];
    else process.env['DM_TOKEN'] = before;
  });
  const s = await setupScenario(t, CASE, {
    masterConfig: [`auth-token-file: "${join(sec, 'tokens.yaml')}"`, `cluster-token-file: "${join(sec, 'cluster.token')}"`],
    workerConfig: [`cluster-token-file: "${join(sec, 'cluster.token')}"`],
  });
  const src = s.sources[0];
  assert.ok(src);
  await s.loadData(src, 'db.sql');
  await s.createSources();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const base = `http://${s.cluster.masterAddrs[0]!}`;
  await page.goto(`${base}/dashboard/`);
  // no token yet: the stream is refused
  await waitText(page, 'conn', /unauthenticated|credential|token/i, 30_000);
  await page.getByTestId('token').fill('wrong-token');
  await page.getByTestId('login-submit').click();
  await waitText(page, 'conn', /unauthenticated|credential|token/i, 30_000);
  await page.getByTestId('token').fill(token);
  await page.getByTestId('login-submit').click();
  await waitText(page, 'conn', /^live$/, 30_000);
  await waitText(page, 'leader', /leader: /);
  await waitText(page, 'members', /worker/);
  assert.equal(await page.getByTestId('token').inputValue(), '', 'the token is not left in the form');

  // the target table exists already, with a trigger that makes each loaded row take 5 ms: the
  // load (2000 rows, 100 per chunk, one at a time) lasts long enough to watch its progress
  await s.target.sql('CREATE DATABASE dash; CREATE TABLE dash.t (id INT PRIMARY KEY, v VARCHAR(40))');
  await s.target.sql('CREATE TRIGGER dash.slow BEFORE INSERT ON dash.t FOR EACH ROW SET @dm_slow = SLEEP(0.005)');
  await page.getByTestId('task-yaml').fill(readFileSync(s.conf('dm-task.yaml'), 'utf8'));
  await page.getByTestId('start-task').click();
  await waitText(page, 'task-result', /"result": true/, 60_000);
  const sub = 'test-mysql-replica-01';
  // the full-copy progress bar: rows done / estimated, bytes done / estimated, ETA
  await waitText(page, `progress-${sub}`, /\b[\d,]+ \/ [\d,]+ rows · [\d.]+ (B|KiB|MiB) \/ [\d.]+ (B|KiB|MiB) · ETA \d+/, 120_000);
  const bar = await page.getByTestId(`progress-${sub}`).locator('.bar > div').getAttribute('style');
  assert.match(bar ?? '', /width:\d+(\.\d)?%/, 'the bar is drawn');
  mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: join(OUT, 'dashboard-load.png'), fullPage: true });
  await waitText(page, `unit-${sub}`, /^Sync$/, 120_000);
  await waitText(page, `stage-${sub}`, /^Running$/);
  await src.sql("INSERT INTO dash.t VALUES (5000, 'live')");
  await waitText(page, 'tasks', /synced/, 60_000);

  await page.getByTestId('pause-test').click();
  await waitText(page, `stage-${sub}`, /^Paused$/, 60_000);
  const st = await s.cluster.ctl(['query-status', 'test']);
  assert.match(st.stdout, /"stage": "Paused"/, 'the dashboard paused the real task');
  await page.getByTestId('resume-test').click();
  await waitText(page, `stage-${sub}`, /^Running$/, 60_000);

  // a page of another origin: the master refuses its calls even with a valid token (CORS allow-list empty)
  const evil = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>elsewhere</title>');
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
  t.after(() => evil.close());
  const other = await browser.newPage();
  await other.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
  const outcome = await other.evaluate(
    async ([url, tok]) => {
      try {
        const r = await fetch(`${url}/dm.master.v1.MasterService/OperateTask`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${tok}` },
          body: JSON.stringify({ op: 'TASK_OP_STOP', name: 'test' }),
        });
        return `answered ${r.status}`;
      } catch (e) {
        return `refused: ${String(e)}`;
      }
    },
    [base, token] as const,
  );
  assert.match(outcome, /^refused/, outcome);
  const still = await s.cluster.ctl(['query-status', 'test']);
  assert.match(still.stdout, /"stage": "Running"/, 'the other origin did not stop the task');

  // shard DDL locks: this one-source task has none
  await waitText(page, 'locks', /no DDL lock/, 30_000);
  // relay log: off (no enable-relay), started from the page; its stage, position and catch-up flag show
  const rel = 'mysql-replica-01';
  page.on('dialog', (d) => void d.accept());
  await waitText(page, `relay-stage-${rel}`, /^off$/, 30_000);
  await page.getByTestId(`relay-start-${rel}`).click();
  await waitText(page, `relay-stage-${rel}`, /^Running$/, 90_000);
  await waitText(page, `relay-binlog-${rel}`, /\.\d{6}:\d+/, 60_000);
  await waitText(page, `relay-catchup-${rel}`, /^yes$/, 60_000);
  mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: join(OUT, 'dashboard-relay.png'), fullPage: true });

  // a read token: the page shows locks and relay; a relay action is refused cleanly, nothing changes
  const ro = await browser.newPage();
  const alerts: string[] = [];
  ro.on('dialog', (d) => {
    alerts.push(d.message());
    void d.accept();
  });
  await ro.goto(`${base}/dashboard/`);
  await ro.getByTestId('token').fill(readToken);
  await ro.getByTestId('login-submit').click();
  await waitText(ro, 'conn', /^live$/, 30_000);
  await waitText(ro, 'locks', /no DDL lock/, 30_000);
  await waitText(ro, `relay-stage-${rel}`, /^Running$/, 30_000);
  await ro.getByTestId(`relay-pause-${rel}`).click();
  const until = Date.now() + 30_000;
  while (alerts.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
  assert.match(alerts[0] ?? '', /pause-relay .*failed: .*log in with a token that may do this/i, `the read token's action is refused: ${alerts.join(' | ')}`);
  await ro.close();
  await new Promise((r) => setTimeout(r, 2500)); // two views of the stream
  assert.equal(await textOf(page, `relay-stage-${rel}`), 'Running', 'the read token did not pause the relay');

  await page.getByTestId(`relay-pause-${rel}`).click();
  await waitText(page, `relay-stage-${rel}`, /^Paused$/, 60_000);
  await page.getByTestId(`relay-resume-${rel}`).click();
  await waitText(page, `relay-stage-${rel}`, /^Running$/, 60_000);

  mkdirSync(OUT, { recursive: true });
  const shot = join(OUT, 'dashboard.png');
  await page.screenshot({ path: shot, fullPage: true });
  t.diagnostic(`screenshot: ${shot}`);
  assert.ok(existsSync(shot));
});
