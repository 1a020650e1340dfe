/**
 * The chaos run shared by `npm run chaos` (test/chaos/run.ts) and the short in-suite variant
 * (test/e2e/chaos/chaos.test.ts).
 *
 * Real processes only: 3 dm-masters with embedded etcd and 2 dm-workers (test/integration's
 * DMCluster: each in its own process group, so kill -9 / SIGSTOP of a master also hits its etcd
 * member, as a machine crash or freeze would), 2 source MariaDBs (log-bin, ROW) and a target
 * MariaDB (test/helpers). One task, task-mode `all`, over both sources; each source's `chaos`
 * schema is routed to its own target schema (`chaos_s1`, `chaos_s2`: no shard merge).
 *
 * While writers run (test/chaos/bank.ts: money transfers with an invariant, side-table inserts,
 * periodic ADD COLUMN / ADD INDEX), faults are injected one after the other, in rotation, and
 * after each the run waits until the task is Running in Sync again and the target has caught up
 * with what the sources had when the fault ended. A watcher checks the invariant on the target
 * the whole time. A subtask paused with an error for longer than `humanAfterMs` "needed a human":
 * the run records it (code, message) and does `resume-task`, as an operator would. At the end the
 * writers stop, the run waits for `synced`, and every table is compared row by row.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { MariaDBServer, compareDatabases, describeDiffs, type TableDiff } from '../helpers/index.js';
import { DMCluster, dmctl, sourceYaml, subtasksOf, type CtlResult, type SubtaskView } from '../helpers/cluster.js';
import {
  SCHEMA,
  Watcher,
  Workload,
  checkInvariant,
  setupBank,
  type Violation,
  type WorkloadStats,
} from './bank.js';

export const FAULT_KINDS = [
  'leader-kill',
  'worker-kill',
  'target-down',
  'source-restart',
  'leader-stop',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const TASK = 'chaos';

export interface ChaosOptions {
  /** Passes over `faults` (each pass starts one further along the list). */
  rounds: number;
  /** No new fault starts after this many seconds (counted from the task start). */
  seconds: number;
  faults: FaultKind[];
  /** Before the rounds: kill -9 a worker while its subtask is in Load. */
  loadKill: boolean;
  targetDownMs: number;
  leaderStopMs: number;
  /** How long a killed worker stays down before it is restarted (systemd-style). */
  workerDownMs: number;
  /** Normal operation between a recovery and the next fault. */
  settleMs: number;
  /** A subtask paused with an error for longer than this needed a human (resume-task). */
  humanAfterMs: number;
  recoverTimeoutMs: number;
  syncTimeoutMs: number;
  bulkRows: number;
  writers: number;
  writePauseMs: number;
  ddlEveryMs: number;
  /**
   * Run the DDL loop during the full phase too (default: only once both subtasks reached Sync).
   * A DDL between a snapshot and the re-snapshot of a full phase resumed after a worker kill
   * pauses the task (34002, docs/chaos.md "Known failures").
   */
  ddlDuringLoad: boolean;
  watchMs: number;
  /** keepalive-ttl of masters and workers, seconds. */
  ttl: number;
  log: (line: string) => void;
}

export const DEFAULTS: ChaosOptions = {
  rounds: 6,
  seconds: 600,
  faults: [...FAULT_KINDS],
  loadKill: true,
  targetDownMs: 30_000,
  leaderStopMs: 20_000,
  workerDownMs: 2000,
  settleMs: 5000,
  humanAfterMs: 60_000,
  recoverTimeoutMs: 240_000,
  syncTimeoutMs: 180_000,
  bulkRows: 300_000,
  writers: 2,
  writePauseMs: 10,
  ddlEveryMs: 10_000,
  ddlDuringLoad: false,
  watchMs: 300,
  ttl: 3,
  log: () => undefined,
};

export interface HumanIntervention {
  /** Index into faults (-1: final sync). */
  fault: number;
  at: number;
  source: string;
  stage: string;
  unit: string;
  errors: string[];
  resumed: string;
}

export interface FaultRecord {
  round: number;
  kind: FaultKind | 'worker-kill-load' | 'final-sync';
  detail: string;
  /** Seconds since the task start. */
  at: number;
  /** Seconds from the fault to the faulty part being back (restart done, SIGCONT, ...). */
  downS: number;
  /** Seconds from the fault to Running in Sync with the target caught up; null: never. */
  recoveredS: number | null;
  /** Errors subtasks showed meanwhile that went away on their own (auto-resume), by code. */
  autoResumed: string[];
}

export interface ChaosReport {
  elapsedS: number;
  roundsDone: number;
  faults: FaultRecord[];
  humans: HumanIntervention[];
  violations: Violation[];
  polls: number;
  tables: TableDiff[];
  rowsLost: number;
  rowsDuplicated: number;
  workload: Record<string, WorkloadStats>;
  /** Problems that end the run abnormally (not synced, ...), with the last status and log tails. */
  problems: string[];
}

const now = (): number => Date.now();
const secs = (ms: number): number => Math.round(ms / 100) / 10;

function taskYaml(sourceIds: string[], targetPort: number): string {
  return [
    `name: ${TASK}`,
    'task-mode: all',
    'target-database:',
    '  host: 127.0.0.1',
    `  port: ${targetPort}`,
    '  user: root',
    '  password: ""',
    'block-allow-list:',
    '  ba:',
    `    do-dbs: ["${SCHEMA}"]`,
    'routes:',
    ...sourceIds.flatMap((_, i) => [
      `  r${i + 1}:`,
      `    schema-pattern: "${SCHEMA}"`,
      `    target-schema: "${SCHEMA}_s${i + 1}"`,
    ]),
    'mysql-instances:',
    ...sourceIds.flatMap((id, i) => [
      `  - source-id: ${id}`,
      '    block-allow-list: ba',
      `    route-rules: [r${i + 1}]`,
      '    mydumper-thread: 2',
      '    loader-thread: 2',
      '    syncer-thread: 4',
    ]),
    '',
  ].join('\n');
}

function errorsOf(s: SubtaskView): string[] {
  return (s.result?.errors ?? []).map(
    (e) =>
      `${e.ErrCode}: ${`${e.Message}${e.RawCause ? `: ${e.RawCause}` : ''}`.slice(0, 400)}${e.Workaround ? ` (workaround: ${e.Workaround.slice(0, 200)})` : ''}`,
  );
}

/** Run the whole chaos scenario and return what happened; never throws for product failures. */
export async function runChaos(options: Partial<ChaosOptions> = {}): Promise<ChaosReport> {
  const o: ChaosOptions = { ...DEFAULTS, ...options };
  const log = (s: string): void => o.log(s);
  const report: ChaosReport = {
    elapsedS: 0,
    roundsDone: 0,
    faults: [],
    humans: [],
    violations: [],
    polls: 0,
    tables: [],
    rowsLost: 0,
    rowsDuplicated: 0,
    workload: {},
    problems: [],
  };

  log('starting 2 source MariaDBs, a target MariaDB, 3 dm-masters and 2 dm-workers');
  const servers = await Promise.all([MariaDBServer.start(), MariaDBServer.start(), MariaDBServer.start()]);
  const [s1, s2, target] = servers;
  const sources = [s1, s2];
  const sourceIds = ['chaos-s1', 'chaos-s2'];
  const targetSchemas = sourceIds.map((_, i) => `${SCHEMA}_s${i + 1}`);
  const cluster = new DMCluster('chaos');
  const frozen = new Set<string>();
  const workloads: Workload[] = [];
  let watcher: Watcher | undefined;
  let t0 = now();
  let stopPolling = false;
  let pollerDone: Promise<void> | undefined;

  const ctlAddrs = (): string[] =>
    cluster.masters.filter((m) => cluster.alive(m) && !frozen.has(m.name)).map((m) => `127.0.0.1:${m.port}`);
  const ctl = (args: string[]): Promise<CtlResult> =>
    dmctl(['--master-addr', ctlAddrs().join(','), '--rpc-timeout', '10s', ...args]);
  let lastStatus = '';
  const status = async (): Promise<SubtaskView[]> => {
    try {
      const r = await ctl(['query-status', TASK]);
      lastStatus = r.stdout;
      return subtasksOf(r.json);
    } catch (e) {
      lastStatus = String(e);
      return [];
    }
  };
  // Target schemas whose invariant must hold from now on: their subtask has applied the binlog
  // past the source position read when it was first seen in Sync. Before that the target may mix
  // snapshots: a full phase resumed after a kill loads its remaining chunks from a new snapshot,
  // and the sync replays (idempotently, safe mode) from the first snapshot's position until it
  // passes the last one (as DM does).
  const synced = new Set<string>();
  const gatePos = new Map<string, { name: string; pos: number }>();
  const noteSync = async (subs: SubtaskView[]): Promise<void> => {
    for (const s of subs) {
      const i = sourceIds.indexOf(s.source);
      const schema = targetSchemas[i];
      if (s.unit !== 'Sync' || schema === undefined || synced.has(schema)) continue;
      const gate = gatePos.get(schema);
      if (!gate) {
        const r = await sources[i]!.sql('SHOW MASTER STATUS').catch(() => []);
        const f = r[0];
        if (f) gatePos.set(schema, { name: String(f['File']), pos: Number(f['Position']) });
        continue;
      }
      // DM's `syncerBinlog: "(file, pos)"`
      const m = /^\((.+), (\d+)\)$/.exec(s.sync?.syncerBinlog ?? '');
      const at = m ? { name: m[1]!, pos: Number(m[2]) } : undefined;
      if (at?.name && (at.name > gate.name || (at.name === gate.name && (at.pos ?? 0) >= gate.pos))) {
        synced.add(schema);
        log(
          `  [${secs(now() - t0)} s] ${s.source} applied past ${gate.name}:${gate.pos}: the watcher checks ${schema} from now on`,
        );
      }
    }
  };

  try {
    await Promise.all(sources.map((s) => setupBank(s, o.bulkRows)));
    await cluster.startMasters(3, o.ttl);
    await cluster.startWorker('worker1', o.ttl);
    await cluster.startWorker('worker2', o.ttl);
    await waitUntil('both workers registered', 60_000, async () => {
      const r = await ctl(['list-member', '--worker']);
      const ws =
        (r.json['members'] as { worker?: { workers?: { stage: string }[] } }[] | undefined)?.[0]?.worker
          ?.workers ?? [];
      return ws.filter((w) => w.stage !== 'offline').length === 2;
    });
    for (const [i, id] of sourceIds.entries()) {
      const f = join(cluster.dir, `${id}.yaml`);
      writeFileSync(f, sourceYaml(id, sources[i]!.port));
      await waitUntil(
        `operate-source create ${id}`,
        60_000,
        async () => (await ctl(['operate-source', 'create', f])).json['result'] === true,
      );
    }
    const taskFile = join(cluster.dir, 'task.yaml');
    writeFileSync(taskFile, taskYaml(sourceIds, target.port));

    for (const [i, s] of sources.entries()) {
      const ddlGate = (): boolean => o.ddlDuringLoad || synced.size === sourceIds.length;
      const w = new Workload(() => s.connOpts(), {
        writers: o.writers,
        pauseMs: o.writePauseMs,
        ddlEveryMs: o.ddlEveryMs,
        seed: i + 1,
        ddlGate,
      });
      w.start();
      workloads.push(w);
    }
    const st = await ctl(['start-task', taskFile]);
    if (st.json['result'] !== true) throw new Error(`start-task failed: ${st.stdout}${st.stderr}`);
    t0 = now();
    log(`task ${TASK} started (${o.bulkRows} bulk rows per source); writers running`);
    watcher = new Watcher(
      () => target.connOpts(),
      targetSchemas,
      (s) => synced.has(s),
      o.watchMs,
      t0,
    );
    watcher.start();
    // until both schemas are watched, a status poll every second (the fault steps poll too)
    const poller = (async () => {
      while (synced.size < sourceIds.length && !stopPolling) {
        await noteSync(await status());
        await sleep(1000);
      }
    })();
    pollerDone = poller;

    // --- recovery: Running in Sync everywhere and the target caught up with the sources ---
    const recover = async (rec: FaultRecord, faultIdx: number, tFault: number): Promise<void> => {
      const marks: number[] = [];
      for (const s of sources) {
        const m = await waitUntil('source answers', 60_000, async () => {
          const r = await s.sql(`SELECT COALESCE(MAX(id), 0) AS m FROM ${SCHEMA}.transfers`);
          return Number(r[0]?.['m'] ?? 0) + 1;
        }).catch(() => 1);
        marks.push(m - 1);
      }
      const deadline = now() + o.recoverTimeoutMs;
      const pausedSince = new Map<string, number>();
      const seen = new Set<string>();
      while (now() < deadline) {
        const subs = await status();
        await noteSync(subs);
        for (const s of subs) {
          const errs = errorsOf(s);
          for (const e of errs) seen.add(e.split(':')[0] ?? e);
          if (s.stage === 'Paused' && errs.length > 0) {
            const since = pausedSince.get(s.source) ?? now();
            pausedSince.set(s.source, since);
            if (now() - since > o.humanAfterMs) {
              const r = await ctl(['resume-task', TASK]);
              const h: HumanIntervention = {
                fault: faultIdx,
                at: secs(now() - t0),
                source: s.source,
                stage: s.stage,
                unit: s.unit,
                errors: errs,
                resumed:
                  r.json['result'] === true
                    ? 'resume-task ok'
                    : `resume-task failed: ${r.stdout.slice(0, 300)}`,
              };
              report.humans.push(h);
              log(
                `  NEEDED A HUMAN: ${s.source} ${s.unit} ${s.stage} for > ${secs(o.humanAfterMs)} s: ${errs.join(' | ')}; ${h.resumed}`,
              );
              pausedSince.delete(s.source);
            }
          } else pausedSince.delete(s.source);
        }
        const running =
          subs.length === sourceIds.length && subs.every((s) => s.stage === 'Running' && s.unit === 'Sync');
        // after the full phase, also past the snapshots' safe-mode window (the watcher's gate)
        if (running && synced.size === sourceIds.length && (await caughtUp(target, targetSchemas, marks))) {
          rec.recoveredS = secs(now() - tFault);
          rec.autoResumed = [...seen];
          return;
        }
        await sleep(500);
      }
      rec.autoResumed = [...seen];
      report.problems.push(
        `fault ${faultIdx + 1} (${rec.kind}): not recovered within ${secs(o.recoverTimeoutMs)} s; last query-status:\n${lastStatus}\n${cluster.logs()}`,
      );
      log(`  NOT RECOVERED within ${secs(o.recoverTimeoutMs)} s`);
    };

    const inject = async (
      round: number,
      kind: FaultRecord['kind'],
      fn: () => Promise<string>,
    ): Promise<void> => {
      const idx = report.faults.length;
      const tFault = now();
      const rec: FaultRecord = {
        round,
        kind,
        detail: '',
        at: secs(tFault - t0),
        downS: 0,
        recoveredS: null,
        autoResumed: [],
      };
      report.faults.push(rec);
      log(`[${rec.at.toFixed(1)} s] round ${round} fault ${idx + 1}: ${kind}`);
      rec.detail = await fn();
      rec.downS = secs(now() - tFault);
      log(`  ${rec.detail}; back after ${rec.downS} s`);
      await recover(rec, idx, tFault);
      if (rec.recoveredS !== null)
        log(
          `  recovered ${rec.recoveredS} s after the fault${rec.autoResumed.length ? ` (errors shown meanwhile: ${rec.autoResumed.join(', ')})` : ''}`,
        );
    };

    const workerOf = async (source: string): Promise<string> =>
      (await status()).find((s) => s.source === source)?.worker ?? '';
    const killWorker = async (name: string): Promise<void> => {
      const w = cluster.workers.find((x) => x.name === name);
      if (!w) throw new Error(`no worker ${name}`);
      await cluster.kill9(w);
      await sleep(o.workerDownMs);
      cluster.spawn(w);
    };

    // --- round 1 opens with a worker killed in the middle of Load ---
    if (o.loadKill) {
      await inject(1, 'worker-kill-load', async () => {
        const inLoad = await waitUntil(
          'a subtask in Load',
          120_000,
          async () => {
            const subs = await status();
            await noteSync(subs);
            if (subs.length === sourceIds.length && subs.every((s) => s.unit === 'Sync'))
              return { source: '', worker: subs[0]?.worker ?? '', missed: true };
            const s = subs.find((x) => x.unit === 'Load' && x.stage === 'Running' && x.worker !== '');
            return s ? { source: s.source, worker: s.worker, missed: false } : false;
          },
          100,
        );
        if (inLoad.missed) {
          await killWorker(inLoad.worker);
          return `kill -9 ${inLoad.worker}: Load was already over (mid-stream instead)`;
        }
        await killWorker(inLoad.worker);
        return `kill -9 ${inLoad.worker} while ${inLoad.source} was in Load; restarted after ${secs(o.workerDownMs)} s`;
      });
    } else {
      await waitUntil('both subtasks in Sync', o.syncTimeoutMs, async () => {
        const subs = await status();
        await noteSync(subs);
        return (
          subs.length === sourceIds.length && subs.every((s) => s.unit === 'Sync' && s.stage === 'Running')
        );
      });
    }

    // --- the rounds ---
    let workerTurn = 0;
    let sourceTurn = 0;
    outer: for (let round = 1; round <= o.rounds; round++) {
      const order = o.faults.map((_, i) => o.faults[(i + round - 1) % o.faults.length]!);
      for (const kind of order) {
        if (now() - t0 > o.seconds * 1000) break outer;
        // a master killed by the previous fault was restarted at once; have all 3 up again
        await cluster.waitAllUp(120_000);
        await sleep(o.settleMs);
        switch (kind) {
          case 'leader-kill':
            await inject(round, kind, async () => {
              const li = await cluster.waitLeader();
              const victim = cluster.masters[li]!;
              const t = now();
              await cluster.kill9(victim);
              const ni = await cluster.waitLeader(60_000, li);
              const took = secs(now() - t);
              cluster.spawn(victim);
              return `kill -9 leader ${victim.name} (with its etcd); ${cluster.masters[ni]!.name} leader after ${took} s; ${victim.name} restarted at once`;
            });
            break;
          case 'worker-kill':
            await inject(round, kind, async () => {
              const source = sourceIds[workerTurn++ % sourceIds.length]!;
              const name = await workerOf(source);
              if (!name) throw new Error(`no worker shown for ${source}`);
              await killWorker(name);
              return `kill -9 ${name} (bound to ${source}) mid-stream; restarted after ${secs(o.workerDownMs)} s`;
            });
            break;
          case 'target-down':
            await inject(round, kind, async () => {
              await target.shutdown();
              await sleep(o.targetDownMs);
              await target.restart();
              return `target MariaDB stopped for ${secs(o.targetDownMs)} s, then started`;
            });
            break;
          case 'source-restart':
            await inject(round, kind, async () => {
              const i = sourceTurn++ % sources.length;
              await sources[i]!.restart();
              return `source ${sourceIds[i]} MariaDB restarted (shutdown + start)`;
            });
            break;
          case 'leader-stop':
            await inject(round, kind, async () => {
              const li = await cluster.waitLeader();
              const victim = cluster.masters[li]!;
              const pid = victim.child?.pid;
              if (pid === undefined) throw new Error('leader has no pid');
              frozen.add(victim.name);
              process.kill(-pid, 'SIGSTOP');
              await sleep(o.leaderStopMs);
              process.kill(-pid, 'SIGCONT');
              frozen.delete(victim.name);
              const ni = await cluster.waitLeader();
              return `SIGSTOP leader ${victim.name} (with its etcd) for ${secs(o.leaderStopMs)} s, then SIGCONT; leader now ${cluster.masters[ni]!.name}`;
            });
            break;
        }
      }
      report.roundsDone = round;
    }

    // --- the end: writers stop, task synced, row-by-row comparison ---
    log(`[${secs(now() - t0)} s] stopping the writers`);
    for (const [i, w] of workloads.entries()) report.workload[sourceIds[i]!] = await w.stop();
    workloads.length = 0;
    const final: FaultRecord = {
      round: 0,
      kind: 'final-sync',
      detail: 'final sync',
      at: secs(now() - t0),
      downS: 0,
      recoveredS: null,
      autoResumed: [],
    };
    // the final wait reuses recover(): Running in Sync and the target caught up; humans counted
    await recover(final, -1, now());
    log(
      `[${secs(now() - t0)} s] target caught up (Running in Sync on both); waiting for query-status synced`,
    );
    if (final.recoveredS !== null) {
      try {
        await waitUntil(
          'query-status synced',
          o.syncTimeoutMs,
          async () => {
            const subs = await status();
            return subs.length === sourceIds.length && subs.every((s) => s.sync?.synced === true && s.stage === 'Running');
          },
          1000,
        );
      } catch (e) {
        report.problems.push(`${(e as Error).message}; last query-status:\n${lastStatus}`);
      }
    }
    log(`[${secs(now() - t0)} s] comparing source and target row by row`);
    const compareAll = async (): Promise<TableDiff[]> =>
      (
        await Promise.all(
          sources.map((s, i) => compareDatabases(s.connOpts(), target.connOpts(), SCHEMA, targetSchemas[i])),
        )
      ).flat();
    let diffs = await compareAll();
    const until = now() + 60_000;
    while (diffs.some((d) => !d.equal) && now() < until) {
      await sleep(2000);
      diffs = await compareAll();
    }
    report.tables = diffs;
    report.rowsLost = diffs.reduce((a, d) => a + d.onlyInSourceCount, 0);
    report.rowsDuplicated = diffs.reduce((a, d) => a + d.onlyInTargetCount, 0);
    if (diffs.some((d) => !d.equal))
      report.problems.push(`target differs from source:\n${describeDiffs(diffs)}`);
    // the invariant once more on the quiet target, and on the sources themselves (a check of the workload)
    const tc = await mysql.createConnection(target.connOpts());
    try {
      for (const s of targetSchemas) {
        const w = await checkInvariant(tc, s);
        if (w) report.violations.push({ at: secs(now() - t0), schema: s, what: `final: ${w}` });
      }
    } finally {
      await tc.end();
    }
    for (const [i, s] of sources.entries()) {
      const c = await mysql.createConnection(s.connOpts());
      try {
        const w = await checkInvariant(c, SCHEMA);
        if (w) report.problems.push(`source ${sourceIds[i]} breaks its own invariant (workload bug): ${w}`);
      } finally {
        await c.end();
      }
    }
  } catch (e) {
    report.problems.push(
      `run aborted: ${(e as Error).stack ?? String(e)}\nlast query-status:\n${lastStatus}\n${cluster.logs()}`,
    );
  } finally {
    stopPolling = true;
    await pollerDone;
    for (const w of workloads) await w.stop().catch(() => undefined);
    if (watcher) {
      await watcher.stop();
      report.polls += watcher.polls;
      report.violations.unshift(...watcher.violations);
    }
    report.elapsedS = secs(now() - t0);
    for (const m of cluster.masters) {
      try {
        if (m.child?.pid !== undefined && cluster.alive(m)) process.kill(-m.child.pid, 'SIGCONT');
      } catch {
        /* group gone */
      }
    }
    await cluster.close();
    await Promise.all(servers.map((s) => s.stop()));
  }
  return report;
}

/** Every target schema has the transfer rows up to the given ids (the sources' maxima at the fault end). */
async function caughtUp(target: MariaDBServer, schemas: string[], marks: number[]): Promise<boolean> {
  try {
    for (const [i, s] of schemas.entries()) {
      const r = await target.sql(`SELECT COALESCE(MAX(id), 0) AS m FROM ${mysql.escapeId(s)}.transfers`);
      if (Number(r[0]?.['m'] ?? 0) < (marks[i] ?? 0)) return false;
    }
    return true;
  } catch {
    return false;
  }
}

async function waitUntil<T>(
  what: string,
  timeoutMs: number,
  fn: () => Promise<T | false>,
  intervalMs = 500,
): Promise<T> {
  const deadline = now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (now() > deadline)
      throw new Error(
        `timed out after ${secs(timeoutMs)} s waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
      );
    await sleep(intervalMs);
  }
}

/** The goals: 0 of each. */
export function failures(r: ChaosReport): string[] {
  const out: string[] = [];
  if (r.rowsLost > 0) out.push(`${r.rowsLost} rows lost`);
  if (r.rowsDuplicated > 0) out.push(`${r.rowsDuplicated} rows duplicated / extra`);
  if (r.violations.length > 0) out.push(`${r.violations.length} half transactions seen`);
  if (r.humans.length > 0) out.push(`${r.humans.length} tasks needed a human`);
  if (r.tables.length === 0 || r.tables.some((d) => !d.equal)) out.push('target != source');
  out.push(...r.problems.map((p) => p.split('\n')[0] ?? p));
  return out;
}

/** The printed summary. */
export function formatReport(r: ChaosReport): string {
  const lines: string[] = [];
  lines.push(`chaos: ${r.roundsDone} round(s), ${r.faults.length} fault(s), ${r.elapsedS} s`);
  lines.push('');
  lines.push('  #  round  at (s)  fault             down (s)  recovered (s)  after back (s)  detail');
  for (const [i, f] of r.faults.entries()) {
    lines.push(
      `${String(i + 1).padStart(3)}  ${String(f.round).padStart(5)}  ${f.at.toFixed(1).padStart(6)}  ${f.kind.padEnd(16)}  ${f.downS.toFixed(1).padStart(8)}  ${(f.recoveredS === null ? 'NEVER' : f.recoveredS.toFixed(1)).padStart(13)}  ${(f.recoveredS === null ? '-' : Math.max(0, f.recoveredS - f.downS).toFixed(1)).padStart(14)}  ${f.detail}${f.autoResumed.length ? ` [auto-resumed errors: ${f.autoResumed.join(', ')}]` : ''}`,
    );
  }
  lines.push('');
  for (const [src, w] of Object.entries(r.workload))
    lines.push(
      `workload ${src}: ${w.transfers} transfers, ${w.sideRows} side rows, ${w.ddls.length} DDLs, ${w.errors} failed attempts (rolled back, retried)`,
    );
  const equal = r.tables.filter((d) => d.equal).length;
  lines.push(
    `tables compared: ${r.tables.length} (${equal} equal)${r.tables.length ? ': ' + r.tables.map((d) => `${d.table} ${d.sourceRows}/${d.targetRows}${d.equal ? '' : ' DIFFERENT'}`).join(', ') : ''}`,
  );
  lines.push(`rows lost: ${r.rowsLost}`);
  lines.push(`rows duplicated / extra: ${r.rowsDuplicated}`);
  lines.push(`half transactions seen: ${r.violations.length} (in ${r.polls} invariant polls of the target)`);
  for (const v of r.violations.slice(0, 10)) lines.push(`  at ${v.at} s ${v.schema}: ${v.what}`);
  lines.push(`tasks that needed a human: ${r.humans.length}`);
  for (const h of r.humans)
    lines.push(
      `  after fault ${h.fault + 1}${h.fault >= 0 ? ` (${r.faults[h.fault]?.kind})` : ' (final sync)'} at ${h.at} s: ${h.source} ${h.unit} ${h.stage}: ${h.errors.join(' | ')}; ${h.resumed}`,
    );
  if (r.problems.length) {
    lines.push('problems:');
    for (const p of r.problems) lines.push(`  ${p.replace(/\n/g, '\n  ')}`);
  }
  const f = failures(r);
  lines.push(
    f.length === 0
      ? 'RESULT: ok (0 lost, 0 duplicated, 0 half transactions, 0 human interventions, target == source)'
      : `RESULT: FAILED: ${f.join('; ')}`,
  );
  return lines.join('\n');
}
