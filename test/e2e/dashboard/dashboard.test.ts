/**
 * dashboard: Debian's chromium, driven by playwright-core, opens the dashboard a real dm-master
 * serves at /dashboard/, sees the cluster live over gRPC-web, starts a task from pasted YAML
 * (check-task first), watches it reach Sync, pauses and resumes it, and saves a screenshot
 * (path printed; under test/.output/).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
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
  const s = await setupScenario(t, CASE);
  const src = s.sources[0];
  assert.ok(src);
  await s.loadData(src, 'db.sql');
  await s.createSources();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const base = `http://${s.cluster.masterAddrs[0]!}`;
  await page.goto(`${base}/dashboard/`);
  await waitText(page, 'conn', /^live$/, 30_000);
  await waitText(page, 'leader', /leader: /);
  await waitText(page, 'members', /worker/);
  // log in (this cluster needs no token: the page keeps working with one typed)
  await page.getByTestId('token').fill('not-needed');
  await page.getByTestId('login-submit').click();
  await waitText(page, 'conn', /^live$/, 30_000);

  await page.getByTestId('task-yaml').fill(readFileSync(s.conf('dm-task.yaml'), 'utf8'));
  await page.getByTestId('start-task').click();
  await waitText(page, 'task-result', /"result": true/, 60_000);
  const sub = 'test-mysql-replica-01';
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

  mkdirSync(OUT, { recursive: true });
  const shot = join(OUT, 'dashboard.png');
  await page.screenshot({ path: shot, fullPage: true });
  t.diagnostic(`screenshot: ${shot}`);
  assert.ok(existsSync(shot));
});
