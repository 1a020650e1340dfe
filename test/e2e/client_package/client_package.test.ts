/**
 * client_package: the `dm-ts/client` package entry used the way another app uses it. The entry is
 * built to dist (`npm run build:client`, part of `npm run build`), a throw-away app directory gets
 * `node_modules/dm-ts` pointing at this package, and
 * - a TypeScript app type-checks against the entry's declarations;
 * - a plain `node` script (no tsx, no path into src/) imports `dm-ts/client` and drives a real
 *   dm-master with token authentication: cluster info, create a source, start a task, watch it
 *   reach Sync on the WatchCluster stream, pause it, and sees coded DMApiErrors (unknown task,
 *   no token);
 * - a page on another origin (in the master's `cors-allowed-origins`), its script bundled from
 *   `dm-ts/client` by esbuild, runs in Debian's chromium (playwright-core) and resumes the task
 *   over gRPC-web; a page of an origin not allowed is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { makeTempDir, removeTempDir, waitFor } from '../../helpers/index.js';
import { missingBinaries } from '../../helpers/cluster.js';
import { setupScenario } from '../helpers/scenario.js';

const run = promisify(execFile);
const CASE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(CASE, '..', '..', '..');
const CHROMIUM = '/usr/bin/chromium';

/** The other app: imports only `dm-ts/client`, prints one JSON line of what it saw. */
const NODE_APP = `
import { createDMClient, DMApiError, Code, Stage, UnitType } from 'dm-ts/client';
const [base, token, sourceYaml, taskYaml] = process.argv.slice(2);
const out = {};
const dm = createDMClient({ baseUrl: base, token, timeoutMs: 60000 });
const info = await dm.clusterInfo();
out.leader = info.leader?.name ?? '';
out.workers = info.workers.map((w) => w.name);
const created = await dm.createSources([sourceYaml]);
out.created = created.sources.map((s) => s.source);
const started = await dm.startTask(taskYaml);
out.started = started.sources.map((s) => s.source + ':' + s.result);
const ac = new AbortController();
const deadline = setTimeout(() => ac.abort(), 120000);
for await (const v of dm.watchCluster({ intervalMs: 500, signal: ac.signal })) {
  const st = (v.status?.sources ?? []).flatMap((s) => s.subTaskStatus).find((s) => s.name === 'apptask');
  if (st && st.unit === UnitType.SYNC && st.stage === Stage.RUNNING) {
    out.synced = { unit: UnitType[st.unit], stage: Stage[st.stage], tasks: v.tasks };
    ac.abort();
  }
}
clearTimeout(deadline);
await dm.pauseTask('apptask');
for (let i = 0; i < 120; i++) {
  const st = await dm.queryStatus('apptask');
  out.pausedStage = Stage[st.sources[0]?.subTaskStatus[0]?.stage ?? 0];
  if (out.pausedStage === 'PAUSED') break;
  await new Promise((r) => setTimeout(r, 500));
}
try {
  await dm.stopTask('no-such-task');
} catch (e) {
  out.unknownTask = { isDMApiError: e instanceof DMApiError, code: e.code, workaround: e.workaround };
}
dm.setToken(undefined);
try {
  await dm.listMembers();
} catch (e) {
  out.noToken = { isDMApiError: e instanceof DMApiError, connectCode: Code[e.connectCode] };
}
console.log(JSON.stringify(out));
`;

/** A TypeScript app using the client's types. */
const TYPED_APP = `
import { createDMClient, DMApiError, Stage, type SubTaskStatus, type DMClientOptions } from 'dm-ts/client';
const opts: DMClientOptions = { baseUrl: 'https://dm-master:8261', token: () => 'secret', protocol: 'grpc-web' };
const dm = createDMClient(opts);
export async function stageOf(task: string): Promise<string> {
  const st: SubTaskStatus | undefined = (await dm.queryStatus(task)).sources[0]?.subTaskStatus[0];
  try {
    await dm.pauseTask(task);
  } catch (e) {
    if (e instanceof DMApiError) return \`\${e.code}: \${e.workaround}\`;
  }
  const bytes: bigint = st?.bytesDone ?? 0n;
  return \`\${Stage[st?.stage ?? Stage.UNSPECIFIED]} \${bytes}\`;
}
`;

/** The browser app's script, bundled from `dm-ts/client` like any web app would. */
const BROWSER_APP = `
import { createDMClient, Stage } from 'dm-ts/client';
window.runDM = async (base, token) => {
  const dm = createDMClient({ baseUrl: base, token });
  try {
    const m = await dm.listMembers();
    await dm.resumeTask('apptask');
    let stage = '';
    for (let i = 0; i < 120 && stage !== 'RUNNING'; i++) {
      const st = await dm.queryStatus('apptask');
      stage = Stage[st.sources[0]?.subTaskStatus[0]?.stage ?? 0];
      if (stage !== 'RUNNING') await new Promise((r) => setTimeout(r, 500));
    }
    return { ok: true, masters: m.masters.length, stage };
  } catch (e) {
    return { ok: false, error: String(e && e.message), code: e && e.connectCode };
  }
};
`;

function serve(dir: string): Promise<Server> {
  const s = createServer((req, res) => {
    const f = req.url === '/app.js' ? 'app.js' : 'index.html';
    res.writeHead(200, { 'content-type': f.endsWith('.js') ? 'text/javascript' : 'text/html' });
    res.end(readFileSync(join(dir, f)));
  });
  return new Promise((r) => s.listen(0, '127.0.0.1', () => r(s)));
}

void test('dm-ts/client: a Node app and a browser app of another origin drive a real master', { skip: missingBinaries() || false, timeout: 400_000 }, async (t) => {
  // 1. the package entry, built to dist as `npm run build` does
  await run('npx', ['tsc', '-p', 'tsconfig.client.json'], { cwd: ROOT });
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { default: string; types: string }> };
  const entry = pkg.exports['./client'];
  assert.ok(entry && existsSync(join(ROOT, entry.default)) && existsSync(join(ROOT, entry.types)), 'exports["./client"] points at built files');

  // 2. the other app's directory: node_modules/dm-ts is this package
  const app = makeTempDir('client-app');
  t.after(() => removeTempDir(app));
  mkdirSync(join(app, 'node_modules'));
  symlinkSync(ROOT, join(app, 'node_modules', 'dm-ts'), 'dir');
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'other-app', type: 'module', private: true }));
  writeFileSync(join(app, 'main.mjs'), NODE_APP);
  writeFileSync(join(app, 'browser.mjs'), BROWSER_APP);
  // its TypeScript sees the declarations through the package entry (bundler resolution, DOM, no Node types)
  writeFileSync(join(app, 'typed.ts'), TYPED_APP);
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'ESNext', moduleResolution: 'bundler', target: 'ES2022', lib: ['ES2022', 'DOM'], types: [], noEmit: true }, files: ['typed.ts'] }));
  await run(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', app], { cwd: app });
  const web = join(app, 'web');
  mkdirSync(web);
  await build({ entryPoints: [join(app, 'browser.mjs')], bundle: true, format: 'esm', target: 'es2022', outfile: join(web, 'app.js'), absWorkingDir: app, logLevel: 'warning' });
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>other app</title><script type="module" src="/app.js"></script>');
  const allowed = await serve(web);
  const denied = await serve(web);
  t.after(() => {
    allowed.close();
    denied.close();
  });
  const allowedOrigin = `http://127.0.0.1:${(allowed.address() as AddressInfo).port}`;
  const deniedOrigin = `http://127.0.0.1:${(denied.address() as AddressInfo).port}`;

  // 3. a cluster with token auth and the allowed origin
  const sec = makeTempDir('client-sec');
  t.after(() => removeTempDir(sec));
  const token = randomBytes(32).toString('hex');
  writeFileSync(join(sec, 'tokens.yaml'), `tokens:\n  - name: app\n    role: admin\n    sha256: ${createHash('sha256').update(token).digest('hex')}\n`);
  writeFileSync(join(sec, 'cluster.token'), randomBytes(32).toString('hex'));
  const before = process.env['DM_TOKEN'];
  process.env['DM_TOKEN'] = token;
  t.after(() => {
    if (before === undefined) delete process.env['DM_TOKEN'];
    else process.env['DM_TOKEN'] = before;
  });
  const s = await setupScenario(t, CASE, {
    masterConfig: [`auth-token-file: "${join(sec, 'tokens.yaml')}"`, `cluster-token-file: "${join(sec, 'cluster.token')}"`, `cors-allowed-origins: ["${allowedOrigin}"]`],
    workerConfig: [`cluster-token-file: "${join(sec, 'cluster.token')}"`],
  });
  const src = s.sources[0];
  assert.ok(src);
  await s.loadData(src, 'db.sql');
  const base = `http://${s.cluster.masterAddrs[0]!}`;

  // 4. the Node app
  const r = await run(process.execPath, [join(app, 'main.mjs'), base, token, readFileSync(s.conf('source1.yaml'), 'utf8'), readFileSync(s.conf('dm-task.yaml'), 'utf8')], { cwd: app, timeout: 240_000 });
  const seen = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
  t.diagnostic(JSON.stringify(seen));
  assert.ok(seen.leader, 'clusterInfo names the leader');
  assert.equal(seen.workers.length, 1);
  assert.deepEqual(seen.created, ['mysql-replica-01']);
  assert.deepEqual(seen.started, ['mysql-replica-01:true']);
  assert.deepEqual(seen.synced, { unit: 'SYNC', stage: 'RUNNING', tasks: ['apptask'] });
  assert.equal(seen.pausedStage, 'PAUSED');
  assert.deepEqual(seen.unknownTask.isDMApiError, true);
  assert.equal(seen.unknownTask.code, 38006, 'the master\'s code reaches the app');
  assert.ok(seen.unknownTask.workaround.length > 0);
  assert.deepEqual(seen.noToken, { isDMApiError: true, connectCode: 'Unauthenticated' });
  const st = await s.cluster.ctl(['query-status', 'apptask']);
  assert.match(st.stdout, /"stage": "Paused"/, 'the app paused the real task');

  // 5. the browser app (skipped without chromium)
  if (!existsSync(CHROMIUM)) {
    t.diagnostic('chromium is not installed: the browser part is skipped');
    return;
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  t.after(() => browser.close());
  const page = await browser.newPage();
  await page.goto(`${allowedOrigin}/`);
  await page.waitForFunction(() => 'runDM' in globalThis);
  const ok = await page.evaluate(([b, tok]) => (globalThis as unknown as { runDM: (b: string, t: string) => Promise<unknown> }).runDM(b, tok), [base, token] as const);
  assert.deepEqual(ok, { ok: true, masters: 1, stage: 'RUNNING' }, JSON.stringify(ok));
  await waitFor('the browser resumed the task', async () => /"stage": "Running"/.test((await s.cluster.ctl(['query-status', 'apptask'])).stdout), { timeoutMs: 30_000 });
  const other = await browser.newPage();
  await other.goto(`${deniedOrigin}/`);
  await other.waitForFunction(() => 'runDM' in globalThis);
  const refused = (await other.evaluate(([b, tok]) => (globalThis as unknown as { runDM: (b: string, t: string) => Promise<unknown> }).runDM(b, tok), [base, token] as const)) as { ok: boolean };
  assert.equal(refused.ok, false, `an origin not allowed is refused: ${JSON.stringify(refused)}`);
});
