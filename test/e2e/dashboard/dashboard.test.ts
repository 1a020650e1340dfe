/**
 * dashboard: Debian's chromium, driven by playwright-core, opens the dashboard a real dm-master
 * (with token authentication on) serves at /dashboard/, is refused until it logs in with a token,
 * then sees the cluster live over gRPC-web, starts a task from pasted YAML (check-task first),
 * watches the full copy's progress (rows, bytes, ETA) and the task reach Sync, pauses and resumes
 * it, sees "no DDL lock" in the shard DDL locks section, starts the source's relay log from the
 * page and sees its stage, relay binlog and catch-up flag, pauses and resumes it; a page logged in
 * with a read token sees the same sections and its relay action is refused with a clear message;
 * and saves screenshots (path printed; under test/.output/). A page of another origin calling the
 * master with the same token is refused. On the same cluster (2 sources), the shard DDL locks
 * section against real locks: see shardLocksCase.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeTempDir, removeTempDir, waitFor, type MariaDBServer } from '../../helpers/index.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { missingBinaries, waitTask, type CtlResult } from '../../helpers/cluster.js';
import { setupScenario, type Scenario } from '../helpers/scenario.js';
import { targetColumns, targetRows } from '../helpers/shard.js';
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

interface LockJson {
  ID: string;
  owner: string;
  DDLs: string[];
  synced: string[];
  unsynced: string[];
  error?: string;
  message?: string;
}

const locksOf = (r: CtlResult): LockJson[] => (r.json['locks'] as LockJson[] | undefined) ?? [];

/** Every row of `shard_N.<table>` on its source, with the route's extract column c_shard = N. */
async function unionOf(shards: [MariaDBServer, string][], table: string, cols: string[]): Promise<(string | null)[][]> {
  const out: (string | null)[][] = [];
  for (const [src, db] of shards) {
    const rows = await src.sql(`SELECT ${cols.map((c) => (c === 'c_shard' ? `'${db.replace(/^shard_/, '')}' AS c_shard` : `\`${c}\``)).join(', ')} FROM \`${db}\`.\`${table}\``);
    out.push(...rows.map((r) => cols.map((c) => (r[c] === null || r[c] === undefined ? null : String(r[c] as string | number)))));
  }
  return out.sort((a, b) => Number(a[0]) - Number(b[0]));
}

/**
 * Shard DDL locks from the page (issue 13): a real pessimistic lock (source 1 reached an ADD
 * COLUMN, source 2 did not) is shown with its ID, owner, DDLs, synced and unsynced sources;
 * a read token's Unlock… is refused and a dismissed confirmation sends nothing (the lock stays);
 * **Unlock…** (confirmed) makes the owner run the DDL and leaves source 2 out (dmctl shows no lock,
 * the target has the column and source 1's held-back rows); when source 2 later runs the same
 * ALTER it opens a new lock that source 1 will never join, and **Skip DDL…** lets source 2 go on
 * without running it again. The task stays Running without error and the merged table equals the
 * union of the shards. Then an optimistic conflict (INT vs VARCHAR for one column) is shown with
 * its message and code; **Skip DDL…** for the conflicting shard table (asked for in a prompt) and
 * the task's **Resume** let that shard go on. Last, a column rename on source 1 (optimistic,
 * non-strict) makes the lock wait for source 2, and the page shows the lock's message (what the
 * unsynced shard must run upstream), the same text as dmctl. At the end **Stop source…** of
 * source 2 is refused while tasks use it; the tasks stopped with **Stop**, it goes through.
 */
async function shardLocksCase(t: TestContext, s: Scenario, browser: Browser, token: string, readToken: string): Promise<void> {
  const [src1, src2] = s.sources as [MariaDBServer, MariaDBServer];
  await s.loadData(src1, 'shard1.sql');
  await s.loadData(src2, 'shard2.sql');
  for (const task of ['pessimistic', 'optimistic']) {
    const r = await s.cluster.ctl(['start-task', s.conf(`dm-task-${task}.yaml`)]);
    assert.equal(r.json['result'], true, r.stdout);
  }
  const syncing = (x: { stage: string; unit: string; result: { errors: unknown[] } | null }[]): boolean =>
    x.length === 2 && x.every((st) => st.stage === 'Running' && st.unit === 'Sync' && (st.result?.errors.length ?? 0) === 0);
  for (const task of ['lk-pes', 'lk-opt']) await waitTask(s.cluster, task, 'syncing', syncing, 120_000);

  const page = await browser.newPage();
  t.after(() => page.close());
  // every dialog the page opens: confirmations accepted, prompts answered with `answer`, alerts kept
  const dialogs: string[] = [];
  const alerts: string[] = [];
  let answer = '';
  let cancel = false;
  page.on('dialog', (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    if (d.type() === 'alert') alerts.push(d.message());
    void (d.type() === 'prompt' ? d.accept(answer) : d.type() === 'confirm' && cancel ? d.dismiss() : d.accept());
  });
  await page.goto(`http://${s.cluster.masterAddrs[0]!}/dashboard/`);
  await page.getByTestId('token').fill(token);
  await page.getByTestId('login-submit').click();
  await waitText(page, 'conn', /^live$/, 30_000);

  const shards: [MariaDBServer, string][] = [
    [src1, 'shard_1'],
    [src2, 'shard_2'],
  ];
  const pes = 'lk-pes-`pes_merged`.`t`';
  const diag = async (): Promise<string> => `\n${(await s.cluster.ctl(['shard-ddl-lock'])).stdout}\n${(await s.cluster.ctl(['query-status', 'lk-pes'])).stdout}`;
  const until = async (what: string, pred: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> => {
    await waitFor(what, pred, { timeoutMs, intervalMs: 500 }).catch(async (e: Error) => {
      throw new Error(`${e.message}${await diag()}\ndialogs: ${dialogs.join(' | ')}`);
    });
  };

  // --- pessimistic: source 1 reaches an ALTER; source 2 does not
  await src1.sql("ALTER TABLE shard_1.pes ADD COLUMN c INT NOT NULL DEFAULT 5; INSERT INTO shard_1.pes VALUES (500, 'held back', 9)");
  await src2.sql("INSERT INTO shard_2.pes VALUES (1500, 'source 2 goes on')");
  await waitText(page, `lock-owner-${pes}`, /^mysql-replica-01$/, 60_000);
  await waitText(page, `lock-synced-${pes}`, /^mysql-replica-01$/);
  await waitText(page, `lock-unsynced-${pes}`, /^mysql-replica-02$/);
  await waitText(page, `lock-ddls-${pes}`, /add column c int not null default 5/i);
  assert.equal(await textOf(page, `lock-id-${pes}`), pes);
  const shown = locksOf(await s.cluster.ctl(['shard-ddl-lock', 'lk-pes']));
  assert.deepEqual(
    shown.map((l) => [l.ID, l.owner, l.synced, l.unsynced]),
    [[pes, 'mysql-replica-01', ['mysql-replica-01'], ['mysql-replica-02']]],
    'dmctl shows the lock the page shows',
  );
  await until('source 2 row on the target', async () => (await s.target.sql('SELECT 1 FROM pes_merged.t WHERE id = 1500').catch(() => [])).length === 1);
  assert.ok(!(await targetColumns(s.target, 'pes_merged')).includes('c'), 'the lock holds the DDL back');
  assert.equal((await s.target.sql('SELECT 1 FROM pes_merged.t WHERE id = 500')).length, 0, "source 1's rows after the DDL are held back");
  mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: join(OUT, 'dashboard-lock.png'), fullPage: true });

  // a read token sees the lock; its Unlock… is refused by the master, the lock stays
  const ro = await browser.newPage();
  t.after(() => ro.close());
  const roAlerts: string[] = [];
  ro.on('dialog', (d) => {
    if (d.type() === 'alert') roAlerts.push(d.message());
    void d.accept();
  });
  await ro.goto(`http://${s.cluster.masterAddrs[0]!}/dashboard/`);
  await ro.getByTestId('token').fill(readToken);
  await ro.getByTestId('login-submit').click();
  await waitText(ro, `lock-owner-${pes}`, /^mysql-replica-01$/, 30_000);
  await ro.getByTestId(`unlock-${pes}`).click();
  await until('the read token is refused', async () => roAlerts.length > 0, 30_000);
  assert.match(roAlerts[0] ?? '', /^unlock lk-pes-`pes_merged`\.`t` failed: .*log in with a token that may do this/i, roAlerts.join(' | '));
  // the confirmation dismissed: nothing is sent
  cancel = true;
  await page.getByTestId(`unlock-${pes}`).click();
  await until('the confirmation asked', async () => dialogs.some((d) => d.startsWith('confirm: Unlock lk-pes-')), 10_000);
  cancel = false;
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(locksOf(await s.cluster.ctl(['shard-ddl-lock', 'lk-pes'])).length, 1, 'neither the read token nor the dismissed confirmation unlocked it');
  assert.ok(!(await targetColumns(s.target, 'pes_merged')).includes('c'));

  // Unlock… (exec): the owner runs the DDL, the synced sources skip theirs, source 2 is left out
  await page.getByTestId(`unlock-${pes}`).click();
  await until('the lock is gone (dmctl)', async () => locksOf(await s.cluster.ctl(['shard-ddl-lock', 'lk-pes'])).length === 0);
  assert.match(dialogs.at(-1) ?? '', /^confirm: Unlock lk-pes-`pes_merged`\.`t`\? the owner mysql-replica-01 runs the DDLs/, dialogs.join(' | '));
  await until('the owner ran the DDL on the target', async () => (await targetColumns(s.target, 'pes_merged')).includes('c'));
  await until("source 1's held-back row applied", async () => JSON.stringify(await s.target.sql('SELECT c FROM pes_merged.t WHERE id = 500')) === '[{"c":9}]');
  await until('the page shows no lock', async () => (await page.getByTestId(`lock-${pes}`).count()) === 0, 30_000);

  // source 2 reaches the same ALTER later: a new lock (owner source 2) that source 1 never joins
  await src2.sql("ALTER TABLE shard_2.pes ADD COLUMN c INT NOT NULL DEFAULT 5; INSERT INTO shard_2.pes VALUES (1600, 'after its own ALTER', 11)");
  await waitText(page, `lock-owner-${pes}`, /^mysql-replica-02$/, 60_000);
  await waitText(page, `lock-unsynced-${pes}`, /^mysql-replica-01$/);
  // Skip DDL…: the target has the column already; nobody runs the DDL
  await page.getByTestId(`skip-lock-${pes}`).click();
  await until('the second lock is gone (dmctl)', async () => locksOf(await s.cluster.ctl(['shard-ddl-lock', 'lk-pes'])).length === 0);
  assert.match(dialogs.at(-1) ?? '', /^confirm: Unlock lk-pes-`pes_merged`\.`t`\? nobody runs the DDLs/, dialogs.join(' | '));
  await src1.sql("INSERT INTO shard_1.pes VALUES (700, 'after both', 3)");
  const cols = ['id', 'v', 'c', 'c_shard'];
  let last = '';
  await until('pessimistic: target = union of the shards', async () => {
    const [want, got] = [JSON.stringify(await unionOf(shards, 'pes', cols)), JSON.stringify(await targetRows(s.target, cols, 'pes_merged.t'))];
    last = `target ${got.slice(-400)} shards ${want.slice(-400)}`;
    return want === got;
  }).catch((e: Error) => {
    throw new Error(`${e.message}\n${last}`);
  });
  assert.deepEqual(await targetColumns(s.target, 'pes_merged'), ['id', 'v', 'c_shard', 'c'], 'the column once');
  for (const st of await waitTask(s.cluster, 'lk-pes', 'still syncing, no error', syncing)) assert.equal(st.unresolvedDDLLockID, '', st.source);
  assert.deepEqual(alerts, [], 'no action failed');

  // --- optimistic: source 1 adds d INT (run at once), source 2 adds d VARCHAR: a conflict
  const opt = 'lk-opt-`opt_merged`.`t`';
  await src1.sql("ALTER TABLE shard_1.opt ADD COLUMN d INT; INSERT INTO shard_1.opt VALUES (500, 'with d', 4)");
  await until('optimistic: the first ADD COLUMN runs at once', async () => (await targetColumns(s.target, 'opt_merged')).includes('d'));
  await src2.sql("ALTER TABLE shard_2.opt ADD COLUMN d VARCHAR(20)");
  await waitText(page, `lock-error-${opt}`, /38104.*column d is added with type varchar\(20\), but the merged table already has it as int/s, 60_000);
  const conflict = locksOf(await s.cluster.ctl(['shard-ddl-lock', 'lk-opt'])).find((l) => l.ID === opt);
  assert.match(conflict?.error ?? '', /38104/, `dmctl shows the conflict: ${JSON.stringify(conflict)}`);
  assert.equal(await textOf(page, `lock-error-${opt}`), conflict?.error, 'the page shows the message dmctl shows');
  await waitText(page, 'tasks', /code=36102/, 30_000);
  await page.screenshot({ path: join(OUT, 'dashboard-conflict.png'), fullPage: true });
  // Skip DDL… for the conflicting table (the prompt asks which), then Resume the task
  answer = 'mysql-replica-02-`shard_2`.`opt`';
  await page.getByTestId(`skip-lock-${opt}`).click();
  await until('the skip answered', async () => dialogs.some((d) => d.startsWith(`confirm: Unlock ${opt} for ${answer} with --action skip`)), 10_000);
  await until('the skip went through', async () => alerts.length > 0 || (await s.cluster.ctl(['shard-ddl-lock', 'lk-opt'])).stdout.includes('38104') === false, 30_000);
  assert.deepEqual(alerts, [], 'no action failed');
  const after = locksOf(await s.cluster.ctl(['shard-ddl-lock', 'lk-opt']));
  assert.ok(after.every((l) => !l.error), `no conflict left: ${JSON.stringify(after)}`);
  const [dType] = await s.target.sql("SELECT DATA_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'opt_merged' AND TABLE_NAME = 't' AND COLUMN_NAME = 'd'");
  assert.equal(dType?.['t'], 'int', "skipped: the conflicting shard's DDL did not run on the target");
  await page.getByTestId('resume-lk-opt').click();
  await src2.sql("INSERT INTO shard_2.opt VALUES (1500, 'after the skip', '42')");
  await waitTask(s.cluster, 'lk-opt', 'resumed, no error', syncing, 60_000);
  await until('source 2 goes on after the skip', async () => JSON.stringify(await s.target.sql('SELECT d FROM opt_merged.t WHERE id = 1500').catch(() => [])) === '[{"d":42}]');
  assert.deepEqual(alerts, [], 'no action failed');

  // --- optimistic rename (non-strict): source 1 renames v, the lock waits for source 2 and the
  // page says what source 2 must do (the lock's message, as dmctl shows it)
  await src1.sql('ALTER TABLE shard_1.opt RENAME COLUMN v TO v2');
  await waitText(page, `lock-message-${opt}`, /mysql-replica-02-`shard_2`\.`opt` has not: run the same rename on each of them upstream/, 60_000);
  const renaming = locksOf(await s.cluster.ctl(['shard-ddl-lock', 'lk-opt'])).find((l) => l.ID === opt);
  assert.equal(await textOf(page, `lock-message-${opt}`), renaming?.message, 'the page shows the message dmctl shows');
  await waitText(page, `lock-unsynced-${opt}`, /^mysql-replica-02-`shard_2`\.`opt`$/);
  await page.screenshot({ path: join(OUT, 'dashboard-rename.png'), fullPage: true });
  // (not resolved here: shard_2.opt still has the d VARCHAR(20) skipped above, so its rename would
  // meet that conflict again; the rename's resolution is covered by sync-shard-optimist.test.ts)

  // --- operate-source stop from the page: refused while tasks use the source; the tasks stopped
  // from the page (Stop, confirmed), it goes through and the source is gone
  const src2Id = 'mysql-replica-02';
  await page.getByTestId(`source-stop-${src2Id}`).click();
  await until('the refusal is shown', async () => alerts.length > 0, 30_000);
  assert.match(alerts[0] ?? '', /^stop-source mysql-replica-02 failed: .*task/i, alerts.join(' | '));
  assert.match((await s.cluster.ctl(['operate-source', 'show'])).stdout, /mysql-replica-02/, 'the source is still there');
  alerts.length = 0;
  for (const task of ['lk-opt', 'lk-pes']) await page.getByTestId(`stop-${task}`).click();
  assert.ok(dialogs.some((d) => d.startsWith('confirm: Stop task lk-opt?')), dialogs.join(' | '));
  await until('both tasks stopped (dmctl)', async () => !/lk-(opt|pes)/.test((await s.cluster.ctl(['query-status'])).stdout));
  await page.getByTestId(`source-stop-${src2Id}`).click();
  await until('the source is gone (dmctl)', async () => !(await s.cluster.ctl(['operate-source', 'show'])).stdout.includes(src2Id));
  await until('the page no longer lists it', async () => (await page.getByTestId(`relay-${src2Id}`).count()) === 0, 30_000);
  assert.deepEqual(alerts, [], 'no action failed');
}

void test('dashboard (chromium) against one token-protected cluster of 2 sources', { skip: missingBinaries() || noChromium, timeout: 480_000 }, async (t) => {
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
    sources: 2,
    workers: 2,
    masterConfig: [`auth-token-file: "${join(sec, 'tokens.yaml')}"`, `cluster-token-file: "${join(sec, 'cluster.token')}"`],
    workerConfig: [`cluster-token-file: "${join(sec, 'cluster.token')}"`],
  });
  const src = s.sources[0];
  assert.ok(src);
  await s.loadData(src, 'db.sql');
  await s.createSources();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  t.after(() => browser.close());
  await t.test('live view, start a task from YAML, Sync, pause and resume, relay, read token, screenshot', async (t) => {
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
  await t.test('shard DDL locks: a pessimistic lock unlocked (exec, then skip) and an optimistic conflict, from the page', async (t) => {
    await shardLocksCase(t, s, browser, token, readToken);
  });
});
