import type { Etcd3 } from 'etcd3';
import type { Logger } from '../log/index.js';
import type { Registry } from '../metrics/index.js';
import { getJSON, getText, Keys, listPrefix, parseJSON, PrefixWatcher, type SourceBound, type StageRecord, type SubtaskRecord, type ValidatorStageRecord, type RelayStageRecord } from '../store/index.js';
import type { DesiredValidation } from '../units/validate/index.js';

/** The leader's validator record as the subtask takes it (undefined: the task config decides). */
function desiredValidation(r: ValidatorStageRecord | undefined): DesiredValidation | undefined {
  if (!r) return undefined;
  return { stage: r.stage, ...(r.mode ? { mode: r.mode } : {}), ...(r.startTime ? { startTime: r.startTime } : {}), ...(r.cutoverPos || r.cutoverGtid ? { cutover: { ...(r.cutoverPos ? { pos: r.cutoverPos } : {}), ...(r.cutoverGtid ? { gtid: r.cutoverGtid } : {}) } } : {}) };
}
import type { RelayHolder } from './relay-holder.js';
import { sleepAbortable, Waker } from '../util/index.js';
import { Subtask } from './subtask.js';
import { earliestStoredFile, type PipelineInput } from './pipeline.js';
import { etcdBinlogOps } from './binlog-ops.js';
import { etcdShardDDLClient } from './shardddl-client.js';
import type { WorkerMetrics } from './metrics.js';
import type { RelayNeeds } from '../units/relay/index.js';

interface Running {
  subtask: Subtask;
  /** mod revision of the subtask config it was built from */
  configRev: string;
  /** mod revision of the desired stage last acted on (a new resume-task bumps it) */
  stageRev: string;
  /** mod revision of the validator record last acted on ('' = none) */
  validatorRev: string;
}

export interface ConvergerOptions {
  client: Etcd3;
  keys: Keys;
  workerName: string;
  relayDir?: string;
  /** The worker's relay needs registry (src/units/relay/needed.ts), handed to the subtasks' relay readers. */
  relayNeeds?: RelayNeeds;
  logger: Logger;
  registry: Registry;
  metrics: WorkerMetrics;
  secretKey?: Buffer;
  /** The worker's relay holder (runs the bound source's relay); none = no relay. */
  relay?: RelayHolder;
}

/**
 * Makes this worker's subtasks match the desired state the leader wrote: the source bound to
 * it (`source/bound/<worker>`), that source's subtask configs and desired stages. Level-
 * triggered: every change under `source/` or `task/` (watched from the last revision, re-listed
 * after compaction) re-reads the desired state and converges; while fenced it runs nothing.
 * States: New → Running → Stopped.
 */
export class Converger {
  private readonly subtasks = new Map<string, Running>();
  private source: string | undefined;
  /** mod revision of `source/bound/<worker>` the running subtasks were started under (their shard DDL writes compare it). */
  private boundRev = '';
  private fenced = true;
  /** The worker ran the bound source's relay after the last converge (its stop restarts the relay readers). */
  private relayWasRunning = false;
  private dirty = false;
  private readonly waker = new Waker();
  private readonly ac = new AbortController();
  private loop: Promise<void> | undefined;
  private watchers: PrefixWatcher[] = [];
  private readonly log: Logger;

  constructor(private readonly o: ConvergerOptions) {
    this.log = o.logger.child({ component: 'converger' });
  }

  get boundSource(): string | undefined {
    return this.source;
  }
  list(): Subtask[] {
    return [...this.subtasks.values()].map((r) => r.subtask);
  }

  start(): void {
    if (this.loop) return;
    const kick = { reset: () => this.kick(), put: () => this.kick(), del: () => this.kick() };
    this.watchers = [
      new PrefixWatcher(this.o.client, `${this.o.keys.prefix}source/`, kick, this.log),
      new PrefixWatcher(this.o.client, `${this.o.keys.prefix}task/`, kick, this.log),
    ];
    for (const w of this.watchers) w.start();
    this.loop = this.run(this.ac.signal);
  }

  kick(): void {
    this.dirty = true;
    this.waker.wake();
  }

  /** Session lost past the fencing deadline: stop every subtask now, start nothing until recovered. */
  async fence(): Promise<void> {
    this.fenced = true;
    await this.stopAll('fenced');
    await this.o.relay?.converge(undefined, undefined, undefined);
  }

  /** Session back: converge again. */
  unfence(): void {
    this.fenced = false;
    this.kick();
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (!this.dirty) await this.waker.sleep(5000, signal);
      if (signal.aborted) return;
      this.dirty = false;
      try {
        await this.converge();
      } catch (err) {
        this.log.warn({ err }, 'converge failed, retrying');
        this.dirty = true;
        await sleepAbortable(500, signal);
      }
    }
  }

  private async stopAll(reason: string): Promise<void> {
    const all = [...this.subtasks.entries()];
    this.subtasks.clear();
    if (all.length > 0) this.log.info({ reason, tasks: all.map(([t]) => t) }, 'stopping all subtasks');
    await Promise.all(all.map(([, r]) => r.subtask.stop()));
  }

  private async converge(): Promise<void> {
    if (this.fenced) return;
    const { client, keys } = this.o;
    const boundKv = (await client.get(keys.sourceBound(this.o.workerName)).exec()).kvs[0];
    if (this.fenced) return;
    if (!boundKv) {
      if (this.source !== undefined) this.log.info({ source: this.source }, 'source unbound');
      this.source = undefined;
      this.boundRev = '';
      await this.stopAll('unbound');
      await this.o.relay?.converge(undefined, undefined, undefined);
      return;
    }
    const bound = parseJSON<SourceBound>(keys.sourceBound(this.o.workerName), boundKv.value.toString());
    if (this.source !== bound.source) {
      await this.stopAll('source changed');
      this.source = bound.source;
      this.log.info({ source: bound.source }, 'source bound');
    } else if (this.boundRev !== boundKv.mod_revision) {
      // bound again (the source was elsewhere meanwhile): subtasks started under the old binding
      // can no longer write shard DDL records; start them again from their checkpoints
      await this.stopAll('source bound again');
      this.log.info({ source: bound.source }, 'source bound again');
    }
    this.boundRev = boundKv.mod_revision;
    const binding = { worker: this.o.workerName, source: bound.source, boundRevision: boundKv.mod_revision };
    const source = bound.source;
    const [sourceYaml, subs, stages, validators, relayStage] = await Promise.all([
      getText(client, keys.sourceConfig(source)),
      listPrefix(client, keys.subtask(source)),
      listPrefix(client, keys.taskStage(source)),
      listPrefix(client, keys.validatorStage(source)),
      getJSON<RelayStageRecord>(client, keys.sourceRelayStage(source)),
    ]);
    const validatorOf = new Map(validators.kvs.map((kv) => [Keys.lastPart(kv.key), { rec: parseJSON<ValidatorStageRecord>(kv.key, kv.value), rev: kv.modRevision }]));
    if (this.fenced) return;
    // the relay first: subtasks of a relay source read from it; a new relay starts at the
    // earliest file the source's tasks need (their stored checkpoints)
    const taskInputs = (): PipelineInput[] =>
      sourceYaml === undefined
        ? []
        : subs.kvs
            .filter((kv) => stages.kvs.some((st) => Keys.lastPart(st.key) === Keys.lastPart(kv.key)))
            .map((kv) => ({ taskName: Keys.lastPart(kv.key), sourceId: source, taskYaml: parseJSON<SubtaskRecord>(kv.key, kv.value).task, sourceYaml }));
    try {
      await this.o.relay?.converge(source, sourceYaml, relayStage?.stage, () => earliestStoredFile(taskInputs(), this.o.secretKey));
    } catch (err) {
      this.log.warn({ err, source }, 'relay converge failed');
      this.o.metrics.operateError.inc({ worker: this.o.workerName, type: 'RelaySource' });
    }
    // the relay stopped (stop-relay, enable-relay turned off): a sync unit reading it would wait
    // at its end for good; restart the running sync units, whose readers then read the upstream
    const relayNow = this.o.relay?.current !== undefined;
    if (this.relayWasRunning && !relayNow) {
      const syncing = [...this.subtasks.values()].map((r) => r.subtask).filter((st) => st.stageName === 'Running' && st.status().unit === 'Sync');
      if (syncing.length > 0) this.log.info({ tasks: syncing.map((st) => st.name) }, 'relay stopped: sync units read the upstream binlog from now on');
      await Promise.all(syncing.map((st) => st.restartUnit()));
    }
    this.relayWasRunning = relayNow;
    const desired = new Map<string, { rec: SubtaskRecord; rev: string; stage: StageRecord['stage']; stageRev: string }>();
    const stageOf = new Map(stages.kvs.map((kv) => [Keys.lastPart(kv.key), { stage: parseJSON<StageRecord>(kv.key, kv.value).stage, rev: kv.modRevision }]));
    for (const kv of subs.kvs) {
      const task = Keys.lastPart(kv.key);
      const stage = stageOf.get(task);
      if (!stage) continue;
      desired.set(task, { rec: parseJSON<SubtaskRecord>(kv.key, kv.value), rev: kv.modRevision, stage: stage.stage, stageRev: stage.rev });
    }
    for (const [task, r] of [...this.subtasks]) {
      const d = desired.get(task);
      if (!d || d.rev !== r.configRev || sourceYaml === undefined) {
        this.subtasks.delete(task);
        await r.subtask.stop();
        this.o.metrics.forget(task, source);
      }
    }
    if (sourceYaml === undefined) return;
    for (const [task, d] of desired) {
      const cur = this.subtasks.get(task);
      if (!cur) {
        const st = new Subtask({
          input: { taskName: task, sourceId: source, taskYaml: d.rec.task, sourceYaml, ...(d.rec.startTime ? { startTime: d.rec.startTime } : {}), ...(d.rec.safeModeSeconds ? { safeModeSeconds: d.rec.safeModeSeconds } : {}) },
          logger: this.o.logger,
          registry: this.o.registry,
          workerName: this.o.workerName,
          ...(this.o.relayDir ? { relayDir: this.o.relayDir } : {}),
          pipelineExtras: {
            ...(this.o.relayNeeds ? { relayNeeds: this.o.relayNeeds } : {}),
            relayRunning: () => this.o.relay?.current !== undefined,
            binlogOps: etcdBinlogOps(client, keys, source, task),
            shardDDL: etcdShardDDLClient(client, keys, binding),
            ...(this.o.relay ? { relay: this.o.relay } : {}),
            ...(this.o.secretKey ? { secretKey: this.o.secretKey } : {}),
          },
          onStage: (s) => this.o.metrics.setStage(task, source, s),
          onUnitError: (unit, errors) => this.o.metrics.unitExited(task, source, unit, errors.every((e) => e.retryable)),
        });
        const v = validatorOf.get(task);
        this.subtasks.set(task, { subtask: st, configRev: d.rev, stageRev: d.stageRev, validatorRev: v?.rev ?? '' });
        void st.setValidation(desiredValidation(v?.rec));
        st.start(d.stage);
        continue;
      }
      const v = validatorOf.get(task);
      if ((v?.rev ?? '') !== cur.validatorRev) {
        cur.validatorRev = v?.rev ?? '';
        await cur.subtask.setValidation(desiredValidation(v?.rec));
      }
      const stageWritten = cur.stageRev !== d.stageRev;
      cur.stageRev = d.stageRev;
      if (d.stage === 'Paused') {
        if (!cur.subtask.isUserPaused) await cur.subtask.pause();
      } else if (cur.subtask.isUserPaused || cur.subtask.stageName === 'New' || (stageWritten && cur.subtask.stageName === 'Paused')) {
        // Desired Running: undo a user pause, or retry an error pause when resume-task wrote the
        // stage again; otherwise a pause by an error is left to the task checker.
        await cur.subtask.resume();
      }
    }
  }

  /** Stop watching and stop every subtask. Idempotent. */
  async close(): Promise<void> {
    this.ac.abort();
    this.waker.wake();
    await Promise.all(this.watchers.map((w) => w.close()));
    this.watchers = [];
    await this.loop;
    await this.stopAll('worker closing');
    await this.o.relay?.close();
  }
}
