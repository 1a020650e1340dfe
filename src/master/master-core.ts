import type { Etcd3, IOperation } from 'etcd3';
import type { DataCheckDeps } from './data-check.js';
import { DMError, toDMError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import {
  Keys,
  binlogOpKey,
  getJSON,
  getText,
  leaderTxn,
  listJSON,
  listText,
  listPrefix,
  type Fence,
  type MasterInfo,
  type StageRecord,
  type RelayStageRecord,
  type SubtaskRecord,
  type ValidatorStageRecord,
  type TxnCompare,
  type WorkerInfo,
  type LeaderElection,
} from '../store/index.js';
import { checkBinlogOpRequest, operateBinlogOps, type BinlogOpName, type BinlogOpResult } from './binlog-ops.js';
import { removeTaskMeta } from './remove-meta.js';
import { shardMetaDeletes } from './shardddl/index.js';
import { resolveStartTime } from './start-time.js';
import { limitReport, type CheckReport } from '../checker/index.js';

/** "No limit" for the check items a CheckTask handler returns. */
const ALL_ITEMS = 1_000_000;
import { bindingOps, readClusterView, Scheduler, type ClusterView } from './scheduler/index.js';
import { encryptSourcePassword, sourceFacts, taskFactsOf, encryptText } from './config-adapter.js';
import { compileTask, parseDuration, type CompiledTask } from '../config/index.js';
import { TaskTemplates } from './task-templates.js';
import { checkSourceConnection, sourceWallTimeToInstant } from './source-check.js';
import type { CheckTaskHandler, TaskPrecheck } from './precheck.js';

export interface MasterCoreOptions {
  client: Etcd3;
  keys: Keys;
  name: string;
  addr: string;
  election: LeaderElection;
  /** The running scheduler (leader only). */
  scheduler: () => Scheduler | undefined;
  /** etcd client endpoints handed to workers at registration. */
  etcdEndpoints: () => Promise<string[]>;
  keepaliveTtlSec: number;
  secretKey?: Buffer;
  /** Runs before start-task writes anything (none: no precheck). */
  precheck?: TaskPrecheck;
  /** The body of check-task (none: the RPC answers ErrNotImplemented). */
  checkTask?: CheckTaskHandler;
  /** Skip the connection test of operate-source (tests of the control plane only). */
  skipSourceConnect?: boolean;
  logger: Logger;
}

export interface SourceResult {
  source: string;
  worker: string;
  result: boolean;
  msg: string;
}

/**
 * The control-plane operations of dm-master, independent of the RPC layer. Writes must run on
 * the leader (the RPC layer forwards); every write is one fenced txn, so a deposed leader writes
 * nothing. Errors are DMErrors with codes; nothing is written when validation fails.
 */
export class MasterCore {
  readonly keys: Keys;
  /** The OpenAPI's task templates (`config task-template`). */
  readonly templates: TaskTemplates;
  private readonly client: Etcd3;
  private readonly log: Logger;

  constructor(private readonly o: MasterCoreOptions) {
    this.keys = o.keys;
    this.client = o.client;
    this.log = o.logger.child({ component: 'master-core' });
    this.templates = new TaskTemplates(o.client, o.keys, o.secretKey);
  }

  /** The etcd client (read-only uses by the RPC edge, e.g. shard-ddl-lock). */
  get etcd(): Etcd3 {
    return this.client;
  }

  private fence(): Fence | undefined {
    return this.o.election.fence;
  }

  private async txn(ops: IOperation[], compares: TxnCompare[] = []): Promise<boolean> {
    return leaderTxn(this.client, this.fence(), ops, compares, (e) => this.o.election.stepDown(e.message));
  }

  // ---- sources ----------------------------------------------------------------------------

  /**
   * operate-source create: validate every config, try every connection, then one txn. With
   * `workerName` (`-w`) the binding to that free worker is written in the same txn, so the
   * scheduler never binds the new source elsewhere first.
   */
  async createSources(configs: string[], workerName = ''): Promise<SourceResult[]> {
    if (configs.length === 0) throw new DMError('ErrMasterInvalidRequest', 'operate-source create needs at least one source config');
    if (workerName && configs.length !== 1) throw new DMError('ErrMasterInvalidRequest', `operate-source create -w ${workerName} binds one source: give one source config`);
    const facts = configs.map((c, i) => sourceFacts(c, this.o.secretKey, configs.length > 1 ? `source config #${i + 1}` : 'source.yaml'));
    const seen = new Set<string>();
    for (const f of facts) {
      if (seen.has(f.sourceId)) throw new DMError('ErrConfigDuplicateSourceID', `source-id ${f.sourceId} is given twice`);
      seen.add(f.sourceId);
    }
    const existing = await listText(this.client, this.keys.sourceConfig());
    for (const f of facts) {
      if (existing.has(f.sourceId)) throw new DMError('ErrMasterSourceExists', `source ${f.sourceId} already exists`);
    }
    const bindTo = workerName && facts[0] ? { source: facts[0].sourceId, worker: workerName } : undefined;
    if (bindTo) Scheduler.requireFree(await readClusterView(this.client, this.keys), bindTo.worker);
    if (!this.o.skipSourceConnect) await Promise.all(facts.map((f) => checkSourceConnection(f)));
    const ops: IOperation[] = facts.map((f, i) => this.client.put(this.keys.sourceConfig(f.sourceId)).value(encryptSourcePassword(configs[i] ?? '', this.o.secretKey)));
    const compares = facts.map((f): TxnCompare => ({ key: this.keys.sourceConfig(f.sourceId), target: 'Create', cmp: '==', value: 0 }));
    if (bindTo) {
      const b = bindingOps(this.client, this.keys, bindTo.source, bindTo.worker);
      ops.push(...b.ops);
      compares.push(...b.compares, { key: this.keys.workerAlive(bindTo.worker), target: 'Create', cmp: '>', value: 0 });
    }
    if (!(await this.txn(ops, compares))) {
      if (bindTo && !(await listText(this.client, this.keys.sourceConfig())).has(bindTo.source)) {
        throw new DMError('ErrSchedulerWorkerNotFree', `worker ${bindTo.worker} was bound or went offline meanwhile; nothing was created`);
      }
      throw new DMError('ErrMasterSourceExists', 'a source with one of these ids was created concurrently');
    }
    this.log.info({ sources: facts.map((f) => f.sourceId), worker: bindTo?.worker }, 'sources created');
    const results: SourceResult[] = facts.map((f) => ({ source: f.sourceId, worker: bindTo?.worker ?? '', result: true, msg: '' }));
    if (!bindTo) this.o.scheduler()?.kick();
    return results;
  }

  /** Sources that tasks use: source id → task names. */
  private async tasksBySource(): Promise<Map<string, string[]>> {
    const { kvs } = await listPrefix(this.client, this.keys.subtask());
    const out = new Map<string, string[]>();
    for (const kv of kvs) {
      const { source, task } = Keys.sourceAndTask(kv.key);
      out.set(source, [...(out.get(source) ?? []), task]);
    }
    return out;
  }

  /** operate-source update: only when no task uses the source. */
  async updateSource(config: string): Promise<SourceResult> {
    const f = sourceFacts(config, this.o.secretKey);
    const cur = await getText(this.client, this.keys.sourceConfig(f.sourceId));
    if (cur === undefined) throw new DMError('ErrMasterSourceNotFound', `source ${f.sourceId} not found`);
    const tasks = (await this.tasksBySource()).get(f.sourceId) ?? [];
    if (tasks.length > 0) throw new DMError('ErrMasterSourceHasTasks', `source ${f.sourceId} is used by tasks ${tasks.join(', ')}`);
    if (!this.o.skipSourceConnect) await checkSourceConnection(f);
    const ok = await this.txn([this.client.put(this.keys.sourceConfig(f.sourceId)).value(encryptSourcePassword(config, this.o.secretKey))], [
      { key: this.keys.sourceConfig(f.sourceId), target: 'Create', cmp: '>', value: 0 },
    ]);
    if (!ok) throw new DMError('ErrMasterSourceNotFound', `source ${f.sourceId} was removed concurrently`);
    return { source: f.sourceId, worker: '', result: true, msg: '' };
  }

  /** operate-source stop: remove sources that no task uses (ids, or configs naming them). */
  async stopSources(ids: string[]): Promise<SourceResult[]> {
    if (ids.length === 0) throw new DMError('ErrMasterInvalidRequest', 'operate-source stop needs source ids');
    const view = await readClusterView(this.client, this.keys);
    const tasks = await this.tasksBySource();
    for (const id of ids) {
      if (!view.sources.has(id)) throw new DMError('ErrMasterSourceNotFound', `source ${id} not found`);
      const t = tasks.get(id) ?? [];
      if (t.length > 0) throw new DMError('ErrMasterSourceHasTasks', `source ${id} is used by tasks ${t.join(', ')}`);
    }
    const ops: IOperation[] = [];
    for (const id of ids) {
      ops.push(this.client.delete().key(this.keys.sourceConfig(id)));
      ops.push(this.client.delete().key(this.keys.sourceRelayStage(id)));
      ops.push(this.client.delete().key(this.keys.sourceLastBound(id)));
      const w = view.boundBy.get(id);
      if (w !== undefined) ops.push(this.client.delete().key(this.keys.sourceBound(w)));
    }
    await this.txn(ops);
    this.o.scheduler()?.kick();
    return ids.map((id) => ({ source: id, worker: view.boundBy.get(id) ?? '', result: true, msg: '' }));
  }

  /** operate-source show. */
  async showSources(ids: string[]): Promise<SourceResult[]> {
    const view = await readClusterView(this.client, this.keys);
    const want = ids.length > 0 ? ids : [...view.sources].sort();
    return want.map((id) => {
      if (!view.sources.has(id)) return { source: id, worker: '', result: false, msg: `source ${id} not found` };
      const w = view.boundBy.get(id) ?? '';
      const stage = w ? view.workers.get(w)?.stage ?? 'offline' : 'unbound';
      return { source: id, worker: w, result: true, msg: w ? (stage === 'bound' ? 'bound' : 'bound (worker offline)') : 'unbound' };
    });
  }

  async sourceConfig(id: string): Promise<string> {
    const v = await getText(this.client, this.keys.sourceConfig(id));
    if (v === undefined) throw new DMError('ErrMasterSourceNotFound', `source ${id} not found`);
    return v;
  }

  // ---- relay ------------------------------------------------------------------------------

  /**
   * start-relay / stop-relay / pause-relay / resume-relay: the desired relay stage of a source
   * (`source/relay-stage/<source>`, one fenced txn). The relay runs on the worker bound to the
   * source: named workers must be that worker (ErrRelayWorkerNotBound otherwise).
   */
  async operateRelay(op: 'start' | 'stop' | 'pause' | 'resume', source: string, workers: string[]): Promise<SourceResult> {
    const view = await readClusterView(this.client, this.keys);
    if (!view.sources.has(source)) throw new DMError('ErrMasterSourceNotFound', `source ${source} not found`);
    const bound = view.boundBy.get(source) ?? '';
    for (const w of workers) {
      if (w !== bound) {
        throw new DMError('ErrRelayWorkerNotBound', `${op}-relay: worker ${w} is not bound to source ${source}${bound ? ` (bound: ${bound})` : ' (no worker bound)'}`);
      }
    }
    const stage: RelayStageRecord['stage'] = op === 'stop' ? 'Stopped' : op === 'pause' ? 'Paused' : 'Running';
    if (op === 'pause' || op === 'resume') {
      const cur = await getJSON<RelayStageRecord>(this.client, this.keys.sourceRelayStage(source));
      const enabled = cur ? cur.stage !== 'Stopped' : /^\s*enable-relay:\s*true\b/m.test((await getText(this.client, this.keys.sourceConfig(source))) ?? '');
      if (!enabled) throw new DMError('ErrRelayNotRunning', `${op}-relay: the relay of source ${source} is not started (start-relay first)`);
    }
    await this.txn([this.client.put(this.keys.sourceRelayStage(source)).value(JSON.stringify({ stage } satisfies RelayStageRecord))]);
    this.log.info({ op, source, stage }, 'relay operated');
    return { source, worker: bound, result: true, msg: '' };
  }

  /** Sources whose relay should run (relay stage Running/Paused, or no stage and `enable-relay: true`). */
  async relaySources(): Promise<Set<string>> {
    const [stages, configs] = await Promise.all([listPrefix(this.client, this.keys.sourceRelayStage()), listText(this.client, this.keys.sourceConfig())]);
    const stageOf = new Map(stages.kvs.map((kv) => [Keys.lastPart(kv.key), (JSON.parse(kv.value) as RelayStageRecord).stage]));
    const out = new Set<string>();
    for (const [id, text] of configs) {
      const st = stageOf.get(id);
      if (st ? st !== 'Stopped' : /^\s*enable-relay:\s*true\b/m.test(text)) out.add(id);
    }
    return out;
  }

  // ---- tasks ------------------------------------------------------------------------------

  /** start-task: validate, precheck, then subtask configs + Running stages + task config in ONE txn. */
  async startTask(
    taskYaml: string,
    only: string[],
    signal: AbortSignal,
    opts: { removeMeta?: boolean; startTime?: string; createStopped?: boolean; restart?: boolean; safeModeDuration?: string } = {},
  ): Promise<{ results: SourceResult[]; checkResult: string }> {
    if (opts.restart) return { results: await this.restartTask(taskYaml, only, opts), checkResult: '' };
    // the one parse of the task: everything below uses this compiled object
    const task = this.compileTask(taskYaml);
    const t = taskFactsOf(task.task);
    // a bad --start-time is refused before anything else (38018)
    if (opts.startTime) resolveStartTime(opts.startTime);
    const sourceIds = only.length > 0 ? t.sourceIds.filter((s) => only.includes(s)) : t.sourceIds;
    for (const s of only) if (!t.sourceIds.includes(s)) throw new DMError('ErrMasterInvalidRequest', `source ${s} is not in the task's mysql-instances`);
    const sources = await listText(this.client, this.keys.sourceConfig());
    for (const s of sourceIds) if (!sources.has(s)) throw new DMError('ErrMasterSourceNotFound', `source ${s} of task ${t.name} not found; create it with operate-source create`);
    const startTimes = opts.startTime ? await this.startTimes(opts.startTime, sourceIds, sources) : new Map<string, string>();
    const existing = await getText(this.client, this.keys.taskConfig(t.name));
    const subtasks = await listPrefix(this.client, this.keys.subtask());
    const running = new Set(subtasks.kvs.map((kv) => Keys.sourceAndTask(kv.key)).filter((x) => x.task === t.name).map((x) => x.source));
    if (opts.removeMeta && sourceIds.some((s) => running.has(s))) {
      throw new DMError('ErrMasterTaskRunning', `task ${t.name} is running on ${sourceIds.filter((s) => running.has(s)).join(', ')}; stop it before start-task --remove-meta`);
    }
    if (existing !== undefined && sourceIds.every((s) => running.has(s))) {
      throw new DMError('ErrMasterTaskExists', `task ${t.name} already exists; stop it first or use resume-task`);
    }
    const precheck = this.o.precheck;
    let checkResult = '';
    if (precheck) {
      const yamls = new Map<string, string>();
      for (const s of sourceIds) yamls.set(s, sources.get(s) ?? '');
      checkResult = (await precheck({ task, sourceIds, sourceYamls: yamls, signal, ...(this.o.secretKey ? { secretKey: this.o.secretKey } : {}) })) ?? '';
    }
    if (opts.removeMeta) {
      // Still the leader? (a deposed leader must not clear a running task's checkpoints)
      if (!this.o.election.isLeader) throw new DMError('ErrEtcdFenced', 'this dm-master lost leadership during start-task');
      await removeTaskMeta(task.task, sourceIds);
      this.log.info({ task: t.name, sources: sourceIds }, 'task meta removed');
    }
    // --remove-meta also drops the task's shard DDL records (locks, infos, operations) of these
    // sources; the lock records too when no other source of the task is running
    const shardDeletes = opts.removeMeta ? shardMetaDeletes(this.client, this.keys, t.name, sourceIds, running.size === 0) : [];
    // passwords never in plain text in etcd: the stored task text carries the target password encrypted
    const stored = task.storedText();
    const ops: IOperation[] = [...shardDeletes, this.client.put(this.keys.taskConfig(t.name)).value(stored)];
    const compares: TxnCompare[] = [];
    for (const s of sourceIds) {
      if (running.has(s)) continue;
      const startTime = startTimes.get(s);
      const sub: SubtaskRecord = { task: stored, sourceId: s, ...(startTime ? { startTime } : {}) };
      // created stopped (the OpenAPI's create): the worker builds the subtask and waits, paused
      const stage: StageRecord = { stage: opts.createStopped ? 'Paused' : 'Running' };
      ops.push(this.client.put(this.keys.subtask(s, t.name)).value(JSON.stringify(sub)));
      ops.push(this.client.put(this.keys.taskStage(s, t.name)).value(JSON.stringify(stage)));
      compares.push({ key: this.keys.subtask(s, t.name), target: 'Create', cmp: '==', value: 0 });
      compares.push({ key: this.keys.sourceConfig(s), target: 'Create', cmp: '>', value: 0 });
    }
    if (!(await this.txn(ops, compares))) throw new DMError('ErrEtcdTxnConflict', `task ${t.name} or one of its sources changed concurrently`);
    this.log.info({ task: t.name, sources: sourceIds }, opts.createStopped ? 'task created (paused)' : 'task started');
    const view = await readClusterView(this.client, this.keys);
    return {
      results: sourceIds.map((s) => ({ source: s, worker: view.boundBy.get(s) ?? '', result: true, msg: '' })),
      checkResult,
    };
  }

  /**
   * Runs again, from `opts.startTime`, the task `name` whose subtasks on `only` (empty: all of
   * them) are all paused by the user: each subtask record is rewritten from the task's stored
   * config with the new start time (a new revision, so its worker rebuilds the subtask) and its
   * stage set Running, in one txn that fails if any of them changed meanwhile. A running subtask
   * is refused (38017): pause it first. `--remove-meta` is not taken here. `safeModeDuration`
   * (e.g. "60s") is stored with each subtask: its sync unit runs in safe mode that long whenever
   * it starts.
   */
  private async restartTask(name: string, only: string[], opts: { removeMeta?: boolean; startTime?: string; safeModeDuration?: string }): Promise<SourceResult[]> {
    if (opts.removeMeta) throw new DMError('ErrMasterInvalidRequest', 'a restart does not remove the task meta; give remove-meta when the task is created');
    if (opts.startTime) resolveStartTime(opts.startTime);
    let safeModeSeconds: number | undefined;
    if (opts.safeModeDuration) {
      const ms = parseDuration(opts.safeModeDuration);
      if (ms === undefined || ms <= 0) throw new DMError('ErrMasterInvalidRequest', `safe mode duration '${opts.safeModeDuration}' is not a positive duration like "60s" or "5m"`);
      safeModeSeconds = Math.ceil(ms / 1000);
    }
    const stored = await this.taskConfig(name);
    const { kvs } = await listPrefix(this.client, this.keys.subtask());
    const mine = kvs.filter((kv) => Keys.sourceAndTask(kv.key).task === name);
    for (const s of only) if (!mine.some((kv) => Keys.sourceAndTask(kv.key).source === s)) throw new DMError('ErrMasterInvalidRequest', `task ${name} has no subtask on source ${s}`);
    const chosen = only.length > 0 ? mine.filter((kv) => only.includes(Keys.sourceAndTask(kv.key).source)) : mine;
    if (chosen.length === 0) throw new DMError('ErrMasterTaskNotFound', `task ${name} has no subtask`);
    const sourceIds = chosen.map((kv) => Keys.sourceAndTask(kv.key).source);
    const stages = await Promise.all(sourceIds.map(async (s) => ({ s, rec: await getJSON<StageRecord>(this.client, this.keys.taskStage(s, name)) })));
    const running = stages.filter((x) => x.rec?.stage !== 'Paused').map((x) => x.s);
    if (running.length > 0) throw new DMError('ErrMasterTaskRunning', `task ${name} is running on ${running.join(', ')}; stop (pause) it first to start it again from a start time`);
    const sources = await listText(this.client, this.keys.sourceConfig());
    const startTimes = opts.startTime ? await this.startTimes(opts.startTime, sourceIds, sources) : new Map<string, string>();
    const ops: IOperation[] = [];
    const compares: TxnCompare[] = [];
    for (const kv of chosen) {
      const s = Keys.sourceAndTask(kv.key).source;
      const startTime = startTimes.get(s);
      const sub: SubtaskRecord = { task: stored, sourceId: s, ...(startTime ? { startTime } : {}), ...(safeModeSeconds ? { safeModeSeconds } : {}) };
      ops.push(this.client.put(kv.key).value(JSON.stringify(sub)));
      ops.push(this.client.put(this.keys.taskStage(s, name)).value(JSON.stringify({ stage: 'Running' } satisfies StageRecord)));
      compares.push({ key: kv.key, target: 'Mod', cmp: '==', value: kv.modRevision });
    }
    if (!(await this.txn(ops, compares))) throw new DMError('ErrEtcdTxnConflict', `task ${name} changed concurrently`);
    this.log.info({ task: name, sources: sourceIds, startTime: opts.startTime ?? '' }, 'task restarted');
    const view = await readClusterView(this.client, this.keys);
    return sourceIds.map((s) => ({ source: s, worker: view.boundBy.get(s) ?? '', result: true, msg: '' }));
  }

  /**
   * `--start-time` per source as an instant: a time with its own zone as it is; a wall-clock time
   * (DM's "2006-01-02 15:04:05") in each upstream's time zone, as DM reads it (UTC when the master
   * is told not to connect to sources).
   */
  private async startTimes(text: string, sourceIds: readonly string[], sources: ReadonlyMap<string, string>): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const wall = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})$/.exec(text.trim());
    for (const id of sourceIds) {
      if (!wall || this.o.skipSourceConnect) {
        out.set(id, resolveStartTime(text));
        continue;
      }
      const f = sourceFacts(sources.get(id) ?? '', this.o.secretKey, `source ${id}`);
      const r = await sourceWallTimeToInstant(f, `${wall[1]} ${wall[2]}`);
      this.log.info({ source: id, startTime: text, zone: r.zone, instant: r.iso }, 'start-time read in the source time zone');
      out.set(id, r.iso);
    }
    return out;
  }

  /** A submitted task text compiled once (src/config compileTask) with the master's secret key. */
  private compileTask(text: string): CompiledTask {
    return compileTask(text, { file: 'task.yaml', ...this.secretOpts() });
  }

  private secretOpts(): { secretKey?: Buffer } {
    return this.o.secretKey ? { secretKey: this.o.secretKey } : {};
  }

  /**
   * HandleError (`dmctl binlog skip|replace|inject|revert|list`): store or delete the operation
   * for the task's subtasks on `only` (or all its sources) in one fenced txn per position, then
   * resume those subtasks for skip/replace/inject so the sync unit replays the failed event. `list`
   * reads. Without `-b`, the operation is for the event each source is paused on (`errorPosOf`
   * asks its worker), stored under that event's exact position; a source with no error gets
   * ErrMasterBinlogOpNoError in its result and nothing is stored or resumed for it (DM: "source
   * '…' has no error").
   */
  async handleError(
    op: BinlogOpName,
    task: string,
    only: string[],
    binlogPos: string,
    sqls: string[],
    errorPosOf?: (source: string) => Promise<string | undefined>,
  ): Promise<BinlogOpResult[]> {
    if (!task) throw new DMError('ErrMasterInvalidRequest', 'binlog needs a task name');
    checkBinlogOpRequest({ op, task, sources: [], binlogPos, sqls });
    const all = await this.taskSources(task);
    const sources = only.length > 0 ? all.filter((s) => only.includes(s)) : all;
    if (sources.length === 0) throw new DMError('ErrMasterTaskNotFound', `task ${task} not found${only.length ? ` on sources ${only.join(', ')}` : ''}`);
    const txn = (ops: IOperation[]): Promise<boolean> => this.txn(ops);
    if (op === 'list' || binlogPos) {
      const results = await operateBinlogOps(this.client, this.keys, txn, { op, task, sources, binlogPos, sqls });
      if (op === 'skip' || op === 'replace' || op === 'inject') await this.operateTask('resume', task, sources);
      this.log.info({ op, task, sources, pos: binlogPos || 'all' }, 'binlog operation handled');
      return results;
    }
    const results: BinlogOpResult[] = [];
    const handled: string[] = [];
    for (const source of sources) {
      let pos: string | undefined;
      try {
        pos = await errorPosOf?.(source);
      } catch (e) {
        results.push({ source, result: false, msg: toDMError(e, 'ErrMasterWorkerUnreachable', `cannot ask the worker of source ${source} for its error`).toString() });
        continue;
      }
      if (!pos) {
        results.push({ source, result: false, msg: new DMError('ErrMasterBinlogOpNoError', `source '${source}' has no error`).toString() });
        continue;
      }
      results.push(...(await operateBinlogOps(this.client, this.keys, txn, { op, task, sources: [source], binlogPos: pos, sqls })));
      handled.push(source);
    }
    if (handled.length > 0 && (op === 'skip' || op === 'replace' || op === 'inject')) await this.operateTask('resume', task, handled);
    this.log.info({ op, task, sources: handled, refused: sources.filter((s) => !handled.includes(s)) }, 'binlog operation handled at the error position');
    return results.sort((a, b) => a.source.localeCompare(b.source));
  }

  /** Source ids a task has subtasks on. */
  async taskSources(task: string): Promise<string[]> {
    const { kvs } = await listPrefix(this.client, this.keys.subtask());
    return kvs.map((kv) => Keys.sourceAndTask(kv.key)).filter((x) => x.task === task).map((x) => x.source).sort();
  }

  /** All (task, source) pairs with subtasks. */
  async allSubtasks(): Promise<{ task: string; source: string }[]> {
    const { kvs } = await listPrefix(this.client, this.keys.subtask());
    return kvs.map((kv) => Keys.sourceAndTask(kv.key));
  }

  /** stop-task / pause-task / resume-task on some or all sources of a task (or, name empty, of sources). */
  async operateTask(op: 'stop' | 'pause' | 'resume', name: string, only: string[]): Promise<SourceResult[]> {
    let pairs = await this.allSubtasks();
    if (name) pairs = pairs.filter((p) => p.task === name);
    else if (only.length === 0) throw new DMError('ErrMasterInvalidRequest', 'give a task name or sources');
    if (only.length > 0) pairs = pairs.filter((p) => only.includes(p.source));
    if (pairs.length === 0) throw new DMError('ErrMasterTaskNotFound', `task ${name || '(any)'} not found${only.length ? ` on sources ${only.join(', ')}` : ''}`);
    const ops: IOperation[] = [];
    for (const p of pairs) {
      if (op === 'stop') {
        ops.push(this.client.delete().key(this.keys.subtask(p.source, p.task)));
        ops.push(this.client.delete().key(this.keys.taskStage(p.source, p.task)));
        ops.push(this.client.delete().key(this.keys.validatorStage(p.source, p.task)));
        // its pending binlog operations go with it: none may hit an error of a later task of that name
        ops.push(this.client.delete().prefix(binlogOpKey(this.keys, p.source, p.task)));
      } else {
        const rec: StageRecord = { stage: op === 'pause' ? 'Paused' : 'Running' };
        ops.push(this.client.put(this.keys.taskStage(p.source, p.task)).value(JSON.stringify(rec)));
      }
    }
    if (op === 'stop') {
      const all = await this.allSubtasks();
      const tasks = new Set(pairs.map((p) => p.task));
      for (const t of tasks) {
        const left = all.filter((p) => p.task === t && !pairs.some((q) => q.task === t && q.source === p.source));
        if (left.length === 0) ops.push(this.client.delete().key(this.keys.taskConfig(t)));
        // the task's shard DDL records go with it (DM's RemoveMetaData): all of them when the whole
        // task stops, else those of the stopped sources (the keeper stops waiting for them)
        const stopped = pairs.filter((p) => p.task === t).map((p) => p.source);
        ops.push(...shardMetaDeletes(this.client, this.keys, t, stopped, left.length === 0));
      }
    }
    await this.txn(ops);
    this.log.info({ op, task: name, sources: pairs.map((p) => p.source) }, 'task operated');
    const view = await readClusterView(this.client, this.keys);
    return pairs.map((p) => ({ source: p.source, worker: view.boundBy.get(p.source) ?? '', result: true, msg: name ? '' : p.task }));
  }

  /** `dmctl validation start|stop|update`: the validator records of subtasks, one fenced txn (src/master/handlers/validation.ts). */
  async putValidatorStages(recs: readonly { source: string; task: string; rec: ValidatorStageRecord }[]): Promise<void> {
    await this.txn(recs.map((r) => this.client.put(this.keys.validatorStage(r.source, r.task)).value(JSON.stringify(r.rec))));
  }

  /** The validator record of a subtask (undefined: the task config decides). */
  async validatorStage(source: string, task: string): Promise<ValidatorStageRecord | undefined> {
    return getJSON<ValidatorStageRecord>(this.client, this.keys.validatorStage(source, task));
  }

  async taskConfig(name: string): Promise<string> {
    const v = await getText(this.client, this.keys.taskConfig(name));
    if (v === undefined) throw new DMError('ErrMasterTaskNotFound', `task ${name} not found`);
    return v;
  }

  /** Desired stages: task → source → stage. */
  async taskStages(): Promise<Map<string, Map<string, StageRecord>>> {
    const { kvs } = await listPrefix(this.client, this.keys.taskStage());
    const out = new Map<string, Map<string, StageRecord>>();
    for (const kv of kvs) {
      const { source, task } = Keys.sourceAndTask(kv.key);
      const m = out.get(task) ?? new Map<string, StageRecord>();
      m.set(source, JSON.parse(kv.value) as StageRecord);
      out.set(task, m);
    }
    return out;
  }

  // ---- members ----------------------------------------------------------------------------

  async clusterView(): Promise<ClusterView> {
    return readClusterView(this.client, this.keys);
  }

  async masters(): Promise<{ info: MasterInfo; alive: boolean; evicted: boolean; memberId: string }[]> {
    const [infos, alive, evicted] = await Promise.all([
      listJSON<MasterInfo>(this.client, this.keys.masterInfo()),
      listJSON<MasterInfo>(this.client, this.keys.masterAlive()),
      listText(this.client, this.keys.masterEvicted()),
    ]);
    let members: { ID?: string; peerURLs?: string[] }[] = [];
    try {
      members = (await this.client.cluster.memberList({})).members ?? [];
    } catch {
      members = [];
    }
    return [...infos.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((info) => {
        const m = members.find((x) => (x.peerURLs ?? []).some((u) => info.peerUrls.includes(u)));
        return { info, alive: alive.has(info.name), evicted: evicted.has(info.name), memberId: m?.ID ? BigInt(m.ID).toString(16) : '' };
      });
  }

  /** RegisterWorker: record name + address; a live worker of that name at another address is refused. */
  async registerWorker(name: string, addr: string, labels: Record<string, string>): Promise<void> {
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new DMError('ErrMasterInvalidRequest', `worker name ${JSON.stringify(name)} may only hold letters, digits, '_', '.', '-'`);
    if (!addr) throw new DMError('ErrMasterInvalidRequest', 'worker address is empty');
    const view = await readClusterView(this.client, this.keys);
    const cur = view.workers.get(name);
    if (cur && cur.stage !== 'offline' && cur.addr && cur.addr !== addr) {
      throw new DMError('ErrWorkerNameConflict', `worker ${name} is registered and alive at ${cur.addr}, not ${addr}`);
    }
    const info: WorkerInfo = { name, addr, labels };
    await this.txn([this.client.put(this.keys.workerInfo(name)).value(JSON.stringify(info))]);
    this.log.info({ worker: name, addr }, 'worker registered');
  }

  /** offline-member --master: remove a stopped master's etcd member and records. */
  async offlineMaster(name: string): Promise<void> {
    const ms = await this.masters();
    const m = ms.find((x) => x.info.name === name);
    if (!m) throw new DMError('ErrSchedulerMasterNotFound', `master ${name} not found`);
    if (m.alive || name === this.o.name) throw new DMError('ErrSchedulerMemberOnline', `master ${name} is still running`);
    if (m.info.peerUrls.length > 0) {
      const members = (await this.client.cluster.memberList({})).members ?? [];
      const mem = members.find((x) => (x.peerURLs ?? []).some((u) => m.info.peerUrls.includes(u)));
      if (mem?.ID) await this.client.cluster.memberRemove({ ID: mem.ID });
    }
    await this.txn([this.client.delete().key(this.keys.masterInfo(name)), this.client.delete().key(this.keys.masterEvicted(name))], [
      { key: this.keys.masterAlive(name), target: 'Create', cmp: '==', value: 0 },
    ]);
  }

  /** check-task: run the master's CheckTask handler over the task's sources. */
  async checkTask(taskYaml: string, errorCnt: number, warnCnt: number, signal: AbortSignal): Promise<{ result: boolean; msg: string }> {
    const fn = this.o.checkTask;
    if (!fn) throw new DMError('ErrNotImplemented', 'check-task is not available in this dm-master');
    const task = this.compileTask(taskYaml);
    const t = taskFactsOf(task.task);
    const sources = await listText(this.client, this.keys.sourceConfig());
    const yamls = new Map<string, string>();
    for (const s of t.sourceIds) {
      const y = sources.get(s);
      if (y === undefined) throw new DMError('ErrMasterSourceNotFound', `source ${s} of task ${t.name} not found; create it with operate-source create`);
      yamls.set(s, y);
    }
    // The handler returns every item; the limits are applied here, exactly
    // (dmctl always sends its own defaults, so 0 really means "show none").
    const r = await fn(task, yamls, { errorCnt: ALL_ITEMS, warnCnt: ALL_ITEMS, signal, ...this.secretOpts() });
    let report: CheckReport | undefined;
    try {
      const parsed = JSON.parse(r.msg) as Partial<CheckReport> | null;
      if (parsed && typeof parsed === 'object' && Array.isArray(parsed.results) && parsed.summary) report = parsed as CheckReport;
    } catch {
      report = undefined;
    }
    return report ? { result: r.result, msg: JSON.stringify(limitReport(report, errorCnt, warnCnt)) } : r;
  }

  /** What the one-shot data check reads from the cluster (task and source configs, the secret key). */
  dataCheckDeps(): DataCheckDeps {
    return { taskConfig: (n) => this.taskConfig(n), sourceConfig: (id) => this.sourceConfig(id), secretKey: this.o.secretKey };
  }

  encrypt(plain: string): string {
    return encryptText(plain, this.o.secretKey);
  }

  async registrationInfo(): Promise<{ etcdEndpoints: string[]; prefix: string; keepaliveTtlSec: number }> {
    return { etcdEndpoints: await this.o.etcdEndpoints(), prefix: this.keys.prefix, keepaliveTtlSec: this.o.keepaliveTtlSec };
  }
}
