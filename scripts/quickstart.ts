// Owned by the quickstart engineer (H9); the lead reassigned it from H8 — H8: please do not edit.
/**
 * `npm run quickstart`: a local DM.ts sandbox in ./.sandbox/ — a source and a target MariaDB, one
 * dm-master (embedded etcd) and one dm-worker, all detached — a sample `shop` database on the
 * source, a task in mode `all` started with the real dmctl, writes while it runs, then a wait
 * until the task is in sync and a source-vs-target comparison. Re-running replaces the sandbox.
 *
 *   npm run quickstart                  start (or restart) the sandbox and run the demo
 *   npm run quickstart -- --down        stop every sandbox process and remove the sandbox dir
 *   npm run quickstart -- --down --keep stop, keep the data
 *
 * Environment: DM_QUICKSTART_DIR, DM_QUICKSTART_WRITE_SECONDS, DM_QUICKSTART_SCALE,
 * DM_QUICKSTART_SYNC_TIMEOUT, DM_QUICKSTART_FREE_PORTS (docs/quickstart.md).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import { requireBinary } from '../test/helpers/services.js';
import { compareDatabases, describeDiffs, type TableDiff } from '../test/helpers/compare.js';
import {
  BIN,
  MEMBERS,
  ROOT,
  optionsFromEnv,
  sandboxPaths,
  type Member,
  type QuickstartOptions,
  type SandboxPaths,
} from './quickstart/sandbox-paths.js';
import { choosePorts, readPorts, type SandboxPorts } from './quickstart/ports.js';
import { isAlive, spawnDetached, stopSandbox, strayProcesses } from './quickstart/processes.js';
import { connOpts, startMariaDB, type SandboxMariaDB } from './quickstart/mariadb.js';
import { SAMPLE_DB, loadSample, masterPosition, writeForAWhile } from './quickstart/sample-data.js';
import { dmctlBin, dmctlCommandLine, dmctlInProcess, type CtlResult } from './quickstart/dmctl.js';
import {
  describeSubtask,
  formatFilePos,
  reached,
  subtasksOf,
  type FilePos,
  type SubtaskView,
} from './quickstart/task-status.js';
import { comparisonTable } from './quickstart/report.js';

const TASK = 'quickstart';
const SOURCE_ID = 'quickstart-source';
const TOTAL_STEPS = 7;

/** A step that failed: printed with its hint, exit code 1. */
class StepError extends Error {
  constructor(
    message: string,
    readonly hint = '',
  ) {
    super(message);
  }
}

const t0 = Date.now();
const out = (s = ''): void => void process.stdout.write(`${s}\n`);
const elapsed = (): string => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
const step = (n: number, what: string): void => out(`\n[${n}/${TOTAL_STEPS}] ${what}  (${elapsed()})`);
const ok = (s: string): void => out(`  ✓ ${s}`);
const info = (s: string): void => out(`    ${s}`);
const rel = (p: string): string => {
  const r = relative(process.cwd(), p);
  return r === '' ? '.' : r.startsWith('..') ? p : r.startsWith('.') ? r : `./${r}`;
};

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---------------------------------------------------------------- down

async function down(paths: SandboxPaths, keep: boolean): Promise<void> {
  const known = MEMBERS.some((m) => existsSync(paths.pidFile(m))) || strayProcesses(paths.dir).length > 0;
  if (!existsSync(paths.dir) && !known) {
    out(`No sandbox at ${rel(paths.dir)}: nothing to stop.`);
    return;
  }
  const r = await stopSandbox(paths);
  for (const s of r.stopped) ok(`stopped ${s}`);
  for (const s of r.killed) ok(`killed ${s} (did not stop within its grace period)`);
  if (r.stopped.length + r.killed.length === 0) ok('no sandbox process was running');
  if (keep) {
    ok(`kept the data in ${rel(paths.dir)} (run \`npm run quickstart -- --down\` again to remove it)`);
  } else {
    rmSync(paths.dir, { recursive: true, force: true });
    ok(`removed ${rel(paths.dir)}`);
  }
}

/** Stop a previous sandbox and clear its dir, keeping ports.json so the ports stay the same. */
async function resetSandbox(paths: SandboxPaths): Promise<void> {
  const r = await stopSandbox(paths);
  const n = r.stopped.length + r.killed.length;
  if (n > 0) ok(`stopped the previous sandbox (${[...r.stopped, ...r.killed].join(', ')})`);
  if (!existsSync(paths.dir)) return;
  for (const e of readdirSync(paths.dir))
    if (e !== 'ports.json') rmSync(join(paths.dir, e), { recursive: true, force: true });
}

// ---------------------------------------------------------------- up

interface Sandbox {
  paths: SandboxPaths;
  ports: SandboxPorts;
  source: SandboxMariaDB;
  target: SandboxMariaDB;
  masterAddr: string;
}

function mariaSpec(
  paths: SandboxPaths,
  m: 'source' | 'target',
  port: number,
  serverId: number,
): SandboxMariaDB {
  return {
    name: m,
    home: paths.home(m),
    port,
    serverId,
    logFile: paths.logFile(m),
    pidFile: paths.pidFile(m),
  };
}

function startNode(paths: SandboxPaths, m: Member, script: string, args: string[]): number {
  return spawnDetached({
    cmd: process.execPath,
    args: ['--import', 'tsx', script, ...args],
    cwd: ROOT,
    logFile: paths.logFile(m),
    pidFile: paths.pidFile(m),
    env: { ...process.env, DM_LOG_LEVEL: process.env['DM_LOG_LEVEL'] ?? 'info' },
  });
}

/** Poll until `check` yields true; fail early when the process died. */
async function waitReady(
  what: string,
  pid: number,
  log: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  signal: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (!isAlive(pid))
      throw new StepError(`${what} exited during start-up. Last lines of ${rel(log)}:\n${tail(log)}`);
    try {
      if (await check()) return;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() > deadline) {
      throw new StepError(
        `${what} not ready after ${timeoutMs / 1000} s${last ? ` (${last})` : ''}. Last lines of ${rel(log)}:\n${tail(log)}`,
      );
    }
    await sleep(500, undefined, { signal });
  }
}

async function httpOk(url: string, signal: AbortSignal): Promise<boolean> {
  const r = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(2000)]) });
  await r.body?.cancel();
  return r.ok;
}

async function up(o: QuickstartOptions, signal: AbortSignal): Promise<Sandbox> {
  const paths = sandboxPaths(o.dir);
  step(1, 'Checking for MariaDB and etcd');
  let bins: { mariadbd: string; installDb: string; etcd: string };
  try {
    bins = {
      mariadbd: requireBinary('mariadbd'),
      installDb: requireBinary('mariadb-install-db'),
      etcd: requireBinary('etcd'),
    };
  } catch (e) {
    throw new StepError(
      e instanceof Error ? e.message : String(e),
      'the quickstart needs MariaDB (mariadb-server) and etcd (etcd-server) from Debian/Ubuntu',
    );
  }
  ok(`mariadbd: ${bins.mariadbd}`);
  ok(`etcd: ${bins.etcd}`);

  step(2, `Starting the sandbox in ${rel(paths.dir)}`);
  await resetSandbox(paths);
  mkdirSync(paths.logs, { recursive: true });
  const ports = await choosePorts(paths.portsFile, o.freePorts);
  info(
    `ports (saved in ${rel(paths.portsFile)}): source ${ports.source}, target ${ports.target}, dm-master ${ports.master} (etcd peer ${ports.masterPeer}, client ${ports.masterClient}), dm-worker ${ports.worker}`,
  );
  const source = mariaSpec(paths, 'source', ports.source, 1);
  const target = mariaSpec(paths, 'target', ports.target, 2);
  const [sp, tp] = await Promise.all([
    startMariaDB(bins, source, signal),
    startMariaDB(bins, target, signal),
  ]).catch((e: unknown) => {
    throw new StepError(e instanceof Error ? e.message : String(e));
  });
  ok(`source MariaDB on 127.0.0.1:${source.port} (pid ${sp})`);
  ok(`target MariaDB on 127.0.0.1:${target.port} (pid ${tp})`);

  const masterAddr = `127.0.0.1:${ports.master}`;
  const peer = `http://127.0.0.1:${ports.masterPeer}`;
  const mp = startNode(paths, 'master1', BIN.master, [
    '--name',
    'master1',
    '--master-addr',
    masterAddr,
    '--advertise-addr',
    masterAddr,
    '--peer-urls',
    peer,
    '--advertise-peer-urls',
    peer,
    '--etcd-client-urls',
    `http://127.0.0.1:${ports.masterClient}`,
    '--initial-cluster',
    `master1=${peer}`,
    '--data-dir',
    paths.home('master1'),
  ]);
  await waitReady(
    'dm-master',
    mp,
    paths.logFile('master1'),
    90_000,
    async () => {
      if (!(await httpOk(`http://${masterAddr}/status`, signal))) return false;
      const r = await dmctlInProcess(masterAddr, ['list-member', '--leader'], signal);
      return r.json['result'] === true && JSON.stringify(r.json).includes('"master1"');
    },
    signal,
  );
  ok(`dm-master master1 on ${masterAddr} (pid ${mp}), embedded etcd data in ${rel(paths.home('master1'))}`);

  const workerAddr = `127.0.0.1:${ports.worker}`;
  const wp = startNode(paths, 'worker1', BIN.worker, [
    '--name',
    'worker1',
    '--worker-addr',
    workerAddr,
    '--advertise-addr',
    workerAddr,
    '--join',
    masterAddr,
    '--relay-dir',
    join(paths.home('worker1'), 'relay'),
  ]);
  await waitReady(
    'dm-worker',
    wp,
    paths.logFile('worker1'),
    90_000,
    async () => {
      const r = await dmctlInProcess(masterAddr, ['list-member', '--worker'], signal);
      return r.json['result'] === true && JSON.stringify(r.json).includes('"worker1"');
    },
    signal,
  );
  ok(`dm-worker worker1 on ${workerAddr} (pid ${wp}), registered with the master`);
  info(`logs in ${rel(paths.logs)}/, pids in ${rel(paths.dir)}/*.pid`);
  return { paths, ports, source, target, masterAddr };
}

// ---------------------------------------------------------------- task

function render(template: string, vars: Record<string, string | number>): string {
  return template.replace(/\$\{([A-Z0-9_]+)\}/g, (_m, k: string) => {
    const v = vars[k];
    if (v === undefined) throw new Error(`template variable ${k} not given`);
    return String(v);
  });
}

function printReply(r: CtlResult): void {
  const text = (r.stdout.trim() || r.stderr.trim() || '(no output)').split('\n');
  for (const l of text) info(l);
}

async function ctlStep(sb: Sandbox, args: string[], signal: AbortSignal): Promise<CtlResult> {
  info(
    `$ ${dmctlCommandLine(
      sb.masterAddr,
      args.map((a) => (a.startsWith(sb.paths.dir) ? rel(a) : a)),
    )}`,
  );
  const r = await dmctlBin(sb.masterAddr, args, signal);
  printReply(r);
  if (r.code !== 0 || r.json['result'] !== true) {
    throw new StepError(
      `dmctl ${args[0] ?? ''} ${args[1] ?? ''} failed (exit ${r.code})${typeof r.json['msg'] === 'string' && r.json['msg'] ? `: ${r.json['msg']}` : ''}`,
      `logs: ${rel(sb.paths.logFile('master1'))}, ${rel(sb.paths.logFile('worker1'))}`,
    );
  }
  return r;
}

async function startTask(sb: Sandbox, signal: AbortSignal): Promise<void> {
  const vars = { SOURCE_PORT: sb.source.port, TARGET_PORT: sb.target.port };
  writeFileSync(
    sb.paths.sourceYaml,
    render(readFileSync(join(ROOT, 'deploy/quickstart/source.yaml'), 'utf8'), vars),
  );
  writeFileSync(
    sb.paths.taskYaml,
    render(readFileSync(join(ROOT, 'deploy/quickstart/task.yaml'), 'utf8'), vars),
  );
  info(`wrote ${rel(sb.paths.sourceYaml)} and ${rel(sb.paths.taskYaml)} (from deploy/quickstart/)`);
  await ctlStep(sb, ['operate-source', 'create', sb.paths.sourceYaml], signal);
  ok(`source ${SOURCE_ID} created`);
  await ctlStep(sb, ['start-task', sb.paths.taskYaml], signal);
  ok(`task ${TASK} started (mode all: dump + load, then sync)`);
}

async function queryTask(sb: Sandbox, signal: AbortSignal): Promise<SubtaskView | undefined> {
  const r = await dmctlInProcess(sb.masterAddr, ['query-status', TASK], signal);
  if (r.json['result'] !== true) return undefined;
  return subtasksOf(r.json)[0];
}

/** Print a progress line whenever the subtask's stage/unit changes, or every ~5 s. */
class ProgressPrinter {
  private lastUnit = '';
  private lastAt = 0;
  show(s: SubtaskView | undefined): void {
    if (!s) return;
    const key = `${s.stage}/${s.unit}/${s.errors.length}`;
    if (key !== this.lastUnit || Date.now() - this.lastAt >= 5000) {
      info(`[${elapsed()}] task ${TASK}: ${describeSubtask(s)}`);
      this.lastUnit = key;
      this.lastAt = Date.now();
    }
  }
}

async function watchWhile(
  sb: Sandbox,
  until: Promise<unknown>,
  progress: ProgressPrinter,
  signal: AbortSignal,
): Promise<void> {
  let done = false;
  void until.then(
    () => (done = true),
    () => (done = true),
  );
  while (!done) {
    progress.show(await queryTask(sb, signal).catch(() => undefined));
    for (let i = 0; i < 20 && !done; i++) await sleep(100, undefined, { signal });
  }
}

const ERROR_GRACE_MS = 30_000;

async function waitInSync(
  sb: Sandbox,
  target: FilePos,
  timeoutS: number,
  progress: ProgressPrinter,
  signal: AbortSignal,
): Promise<SubtaskView> {
  const deadline = Date.now() + timeoutS * 1000;
  let failingSince = 0;
  let last: SubtaskView | undefined;
  for (;;) {
    const s = await queryTask(sb, signal).catch(() => undefined);
    if (s) {
      last = s;
      progress.show(s);
      if (reached(s, target)) return s;
      const failing = s.errors.length > 0 || s.stage === 'Paused';
      if (!failing) failingSince = 0;
      else if (failingSince === 0) failingSince = Date.now();
      else if (Date.now() - failingSince > ERROR_GRACE_MS) {
        const errs = s.errors
          .map(
            (e) =>
              `    ${e.code ? `[code=${e.code}] ` : ''}${e.message}${e.workaround ? `\n      workaround: ${e.workaround}` : ''}`,
          )
          .join('\n');
        throw new StepError(
          `task ${TASK} is ${s.stage} in unit ${s.unit || '?'} and did not recover in ${ERROR_GRACE_MS / 1000} s:\n${errs || '    (no error reported)'}`,
        );
      }
      if (s.stage === 'Stopped' || s.stage === 'Finished')
        throw new StepError(`task ${TASK} is ${s.stage}; expected it to keep running in unit Sync`);
    }
    if (Date.now() > deadline) {
      throw new StepError(
        `task ${TASK} did not reach the source position ${formatFilePos(target)} within ${timeoutS} s; last status: ${last ? describeSubtask(last) : 'none (query-status failed)'}`,
        'raise DM_QUICKSTART_SYNC_TIMEOUT on a slow machine',
      );
    }
    await sleep(1000, undefined, { signal });
  }
}

async function compareUntilEqual(sb: Sandbox, signal: AbortSignal): Promise<TableDiff[]> {
  let diffs: TableDiff[] = [];
  for (let i = 0; i < 5; i++) {
    diffs = await compareDatabases(connOpts(sb.source), connOpts(sb.target), SAMPLE_DB);
    if (diffs.length > 0 && diffs.every((d) => d.equal)) return diffs;
    await sleep(2000, undefined, { signal });
  }
  return diffs;
}

async function usage(sb: Sandbox | undefined, paths: SandboxPaths): Promise<void> {
  const m = sb?.masterAddr ?? `127.0.0.1:${readPorts(paths.portsFile)?.master ?? 8261}`;
  out('\nUse the sandbox:');
  out(`  ${dmctlCommandLine(m, ['query-status', TASK])}`);
  out(`  ${dmctlCommandLine(m, ['list-member'])}`);
  out(`  node --import tsx src/bin/dmctl.ts --master-addr ${m}            # interactive dmctl`);
  if (sb) {
    out(`  mariadb -h127.0.0.1 -P${sb.source.port} -uroot ${SAMPLE_DB}    # the source (write here…)`);
    out(`  mariadb -h127.0.0.1 -P${sb.target.port} -uroot ${SAMPLE_DB}    # …and watch the target follow`);
  }
  const dashboard = `http://${m}/dashboard/`;
  const hasDashboard = await httpOk(dashboard, AbortSignal.timeout(3000)).catch(() => false);
  out(
    `  logs: ${rel(paths.logs)}/   task file: ${rel(paths.taskYaml)}${hasDashboard ? `   dashboard: ${dashboard}` : ''}`,
  );
  out('Stop it:');
  out('  npm run quickstart -- --down          # stop everything and remove the sandbox');
  out('  npm run quickstart -- --down --keep   # stop, keep the data');
}

async function run(o: QuickstartOptions, signal: AbortSignal): Promise<number> {
  const paths = sandboxPaths(o.dir);
  let sb: Sandbox | undefined;
  try {
    sb = await up(o, signal);

    step(3, `Loading the sample database \`${SAMPLE_DB}\` on the source`);
    const loaded = await loadSample(connOpts(sb.source), o.scale, signal);
    ok(
      `${loaded.rows} rows: ${Object.entries(loaded.tables)
        .map(([t, n]) => `${t} ${n}`)
        .join(', ')}`,
    );

    step(4, 'Creating the source and starting the task with dmctl');
    await startTask(sb, signal);

    step(5, `Writing to the source for ${o.writeSeconds} s while the task runs`);
    const progress = new ProgressPrinter();
    const writing = writeForAWhile(connOpts(sb.source), o.scale, o.writeSeconds, signal);
    await watchWhile(sb, writing, progress, signal);
    const w = await writing;
    ok(
      `${w.transactions} transactions: ${w.inserted} rows inserted, ${w.updated} updated, ${w.deleted} deleted`,
    );

    step(6, 'Waiting for the task to catch up with the source');
    const pos = await masterPosition(connOpts(sb.source));
    info(
      `source binlog position after the last write: ${pos.name}:${pos.pos}${pos.gtid ? ` (GTID ${pos.gtid})` : ''}`,
    );
    const s = await waitInSync(sb, pos, o.syncTimeoutS, progress, signal);
    ok(`in sync: stage ${s.stage}, unit ${s.unit}, applied up to ${formatFilePos(s.checkpoint ?? s.master)}`);
    await ctlStep(sb, ['query-status', TASK], signal);
    const diffs = await compareUntilEqual(sb, signal);
    out('');
    for (const l of comparisonTable(diffs).split('\n')) info(l);
    out('');
    const bad = diffs.filter((d) => !d.equal);
    if (diffs.length === 0 || bad.length > 0) {
      out(`RESULT: ${bad.length} of ${diffs.length} tables differ between source and target ✗`);
      if (bad.length > 0) out(describeDiffs(diffs));
      await usage(sb, paths);
      return 1;
    }
    out(`RESULT: all ${diffs.length} tables equal between source and target ✓  (${elapsed()})`);

    step(7, 'Done. The sandbox keeps running');
    await usage(sb, paths);
    return 0;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    out(`\n✗ FAILED: ${msg}`);
    if (e instanceof StepError && e.hint) out(`  hint: ${e.hint}`);
    if (!(e instanceof StepError) && e instanceof Error && e.stack)
      out(e.stack.split('\n').slice(1, 6).join('\n'));
    out(`  logs: ${rel(paths.logs)}/`);
    out(
      '  The sandbox processes that did start are still running; stop them with: npm run quickstart -- --down',
    );
    return 1;
  }
}

async function main(): Promise<void> {
  const program = new Command('quickstart')
    .description(
      'start a local DM.ts sandbox (2 MariaDB, dm-master, dm-worker), migrate a sample database, compare',
    )
    .option('--down', 'stop the sandbox processes and remove the sandbox dir')
    .option('--keep', 'with --down: stop the processes but keep the data')
    .option('--dir <dir>', 'sandbox dir (default ./.sandbox, or DM_QUICKSTART_DIR)')
    .parse(process.argv);
  const flags = program.opts<{ down?: boolean; keep?: boolean; dir?: string }>();
  const o = optionsFromEnv(flags.dir);
  if (flags.down) {
    out(`Stopping the DM.ts sandbox in ${rel(o.dir)}`);
    await down(sandboxPaths(o.dir), flags.keep === true);
    return;
  }
  if (flags.keep) throw new Error('--keep only goes with --down');
  out(`DM.ts quickstart: a local sandbox in ${rel(o.dir)}`);
  // runs before the test harness's own handler (which exits at once)
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.prependOnceListener(sig, () =>
      out(
        `\n✗ interrupted (${sig}): processes already started keep running; stop them with: npm run quickstart -- --down`,
      ),
    );
  }
  const ac = new AbortController();
  process.exitCode = await run(o, ac.signal);
}

// Exit explicitly: RPC clients used for polling may keep sockets open; the sandbox is detached.
main().then(
  () => process.exit(process.exitCode ?? 0),
  (e: unknown) => {
    process.stderr.write(`quickstart: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
