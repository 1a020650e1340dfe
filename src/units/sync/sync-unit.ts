/**
 * The sync unit: incremental replication from the upstream binlog into the target.
 *
 *   reader → filter/route → upstream transaction → causality scheduler → worker-count appliers → target
 *
 * Every target transaction carries the ledger rows of the upstream transactions it contains;
 * the checkpoint (low-water mark) advances separately and prunes the ledger below it. A restart
 * replays from the checkpoint and skips ledgered transactions: exactly-once, never half a
 * transaction visible. DDL runs alone at a barrier.
 *
 * This file is the lifecycle shell only: the Unit contract (init / process / pause / resume /
 * close / status) and the wiring of one run. Each stage is its own file, read in data-path order:
 *
 *   start-position.ts   where a run starts (checkpoint, or the full phase's hand-off / meta / time)
 *   binlog-source.ts    the reader as the unit sees it (src/binlog's reader behind a factory)
 *   consumer.ts         events → filters (filters.ts) → routes → whole upstream transactions (txn.ts)
 *   causality.ts        which transactions may run in parallel / be merged
 *   applier.ts          a group → one target transaction with its ledger row; safe mode; retries
 *   ddl-apply.ts        the DDL barrier
 *   tracker.ts          the low-water mark
 *   checkpoint-flush.ts the flush loop → checkpoint.ts (the checkpoint and ledger tables)
 *   sync-status.ts      query-status, lag, `synced`, master polling, gauges
 *   target.ts           the target session and retry policy every stage shares
 *
 * States: New → (init) Ready → Running ⇄ Paused → Closed.
 */
import type { Pool } from 'mysql2/promise';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createBinlogReader } from '../../binlog/index.js';
import { formatFilePos } from '../../binlog/position.js';
import { DMError, toDMError, type DMErrorJSON } from '../../errors/index.js';
import { DEFAULT_BINLOG_HEARTBEAT_MS } from '../../config/index.js';
import { silentLogger } from '../../log/index.js';
import { createRegistry } from '../../metrics/index.js';
import { classifyCode, classifyError, createPool } from '../../sql/index.js';
import { canceledResult, errorResult, okResult, type ProcessResult, type Unit } from '../unit.js';
import { TxnApplier } from './applier.js';
import type { AppliedSink } from './applied-sink.js';
import type { SyncReader, SyncReaderFactory } from './binlog-source.js';
import { CausalityScheduler } from './causality.js';
import { CheckpointStore } from './checkpoint.js';
import { CheckpointFlusher } from './checkpoint-flush.js';
import { resolveSettings, type FailedEventDecision, type FailedEventInfo, type SyncConfig, type SyncerSettings } from './config.js';
import { missingColumnWarner, TxnConsumer } from './consumer.js';
import { DDLApplier } from './ddl-apply.js';
import { buildFilters, type SyncFilters } from './filters.js';
import { OnlineDDL } from './online-ddl.js';
import { compileOnlineDDLRules } from '../../filter/index.js';
import { syncMetrics, type SyncMetrics } from './metrics.js';
import { readerOptions, startPlan } from './start-position.js';
import { SyncProgress, type RunView, type SyncLabels } from './sync-status.js';
import { retryTarget, targetConnConfig, type TargetRetry } from './target.js';
import { LowWaterMark } from './tracker.js';
import type { ShardHandler } from './shard-group.js';
import { ShardOptimist } from './shard-optimist.js';
import { ShardPessimist } from './shard-pessimist.js';

export type SyncUnitState = 'New' | 'Ready' | 'Running' | 'Paused' | 'Closed';

export interface SyncUnitDeps {
  logger?: Logger;
  registry?: Registry;
  /** Defaults to src/binlog's createBinlogReader. */
  readerFactory?: SyncReaderFactory;
  /** Reader heartbeat (ms) when the upstream is idle. */
  heartbeatMs?: number;
  /** The dm-worker's name: the `worker` label of DM's syncer metrics. */
  workerName?: string;
  /** Told of every applied row change (the continuous validator): applied-sink.ts. */
  appliedSink?: AppliedSink;
}

const defaultReaderFactory: SyncReaderFactory = (opts) => createBinlogReader(opts);

export class SyncUnit implements Unit {
  readonly type = 'Sync' as const;
  private state: SyncUnitState = 'New';
  private readonly cfg: SyncConfig;
  private readonly settings: SyncerSettings;
  private readonly log: Logger;
  private readonly metrics: SyncMetrics;
  private readonly labels: SyncLabels;
  private readonly filters: SyncFilters;
  /** Task `online-ddl` (online-ddl.ts); undefined when off. */
  private readonly online: OnlineDDL | undefined;
  private readonly store: CheckpointStore;
  private readonly checkpoint: CheckpointFlusher;
  private readonly progress: SyncProgress;
  private readonly retry: TargetRetry;
  private readerFactory: SyncReaderFactory | undefined;
  private readonly heartbeatMs: number;
  private readonly sink: AppliedSink | undefined;
  private pool: Pool | undefined;
  private stopAc: AbortController | undefined;
  private running: Promise<ProcessResult> | undefined;
  /** The current (or last) run's stages, for status. */
  private readonly run: RunView = { tracker: undefined, scheduler: undefined, reader: undefined };
  private lastError: DMErrorJSON | undefined;
  /** The current (or last) run's shard DDL coordination (task shard-mode), for status. */
  private shard: ShardHandler | undefined;
  /** Position (`file:offset`, end of its transaction) of the event the last run failed on, for `binlog` without `-b`. */
  private failedEventPos: string | undefined;

  /** Shared with the binlog reader, so its read/queue/reconnect metrics show on the worker's /metrics. */
  private readonly registry: Registry;

  /** The task's shard mode (undefined without `shard-mode`). */
  get shardMode(): 'pessimistic' | 'optimistic' | undefined {
    return this.cfg.shard?.mode;
  }

  constructor(cfg: SyncConfig, deps: SyncUnitDeps = {}) {
    this.cfg = cfg;
    this.settings = resolveSettings(cfg.syncer);
    this.labels = { task: cfg.taskName, source_id: cfg.sourceId, worker: deps.workerName ?? '' };
    this.log = (deps.logger ?? silentLogger).child({
      component: 'syncer',
      task: cfg.taskName,
      source: cfg.sourceId,
    });
    this.registry = deps.registry ?? createRegistry();
    this.metrics = syncMetrics(this.registry);
    const metaSchema = cfg.metaSchema;
    const onlineRules = cfg.onlineDDL ? compileOnlineDDLRules(cfg.onlineDDL.shadowTableRules, cfg.onlineDDL.trashTableRules) : undefined;
    this.filters = buildFilters({
      onlineDDL: onlineRules,
      baList: cfg.baList,
      routes: cfg.routes,
      filters: cfg.filters,
      expressionFilters: cfg.expressionFilters,
      onMissingColumn: missingColumnWarner(this.log),
      caseSensitive: cfg.caseSensitive,
      metaSchema,
      sourceId: cfg.sourceId,
    });
    const filters = this.filters;
    this.online = onlineRules
      ? new OnlineDDL({ rules: onlineRules, metaSchema, taskName: cfg.taskName, sourceId: cfg.sourceId, includeTable: (s, t) => filters.includeTable(s, t), log: this.log })
      : undefined;
    this.store = new CheckpointStore(metaSchema, cfg.taskName, cfg.sourceId);
    this.checkpoint = new CheckpointFlusher(this.store);
    this.sink = deps.appliedSink;
    this.checkpoint.sink = deps.appliedSink;
    this.progress = new SyncProgress(cfg.source, this.metrics, this.labels);
    this.retry = (fn, signal) => retryTarget(fn, signal, this.settings.retryTimeoutMs, this.log);
    this.readerFactory = deps.readerFactory;
    this.heartbeatMs = deps.heartbeatMs ?? DEFAULT_BINLOG_HEARTBEAT_MS;
  }

  async init(signal: AbortSignal): Promise<void> {
    if (this.state === 'Closed') throw new DMError('ErrSyncUnitState', 'sync unit is closed');
    signal.throwIfAborted();
    this.readerFactory ??= defaultReaderFactory;
    if (!this.pool) {
      // session settings once per connection (not per target transaction)
      this.pool = createPool(targetConnConfig(this.cfg.target), {
        connectionLimit: this.settings.workerCount + 2,
        multipleStatements: true,
        connectTimeoutMs: 5000,
        rawGeometry: false,
      });
      this.checkpoint.pool = this.pool;
    }
    try {
      await this.retry(() => this.store.ensureTables(this.requirePool()), signal);
    } catch (e) {
      // a refused login or TLS handshake says more under its own code than as a checkpoint error
      const c = classifyCode(e);
      if (c === 'ErrDBAccessDenied' || c === 'ErrDBTLSHandshake') throw classifyError(e, { side: 'downstream', action: `connect to the target ${this.cfg.target.host}:${this.cfg.target.port}` });
      throw toDMError(e, 'ErrCheckpointLoad', 'cannot create the checkpoint tables in the target');
    }
    this.state = 'Ready';
  }

  private requirePool(): Pool {
    if (!this.pool) throw new DMError('ErrSyncUnitState', 'sync unit is not initialised');
    return this.pool;
  }

  process(signal: AbortSignal): Promise<ProcessResult> {
    if (this.state === 'Closed' || this.state === 'New') {
      const e = new DMError('ErrSyncUnitState', `process() called in state ${this.state}`);
      return Promise.resolve(errorResult(e.toJSON()));
    }
    if (this.running) return this.running;
    this.running = this.runOnce(signal).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  pause(): void {
    if (this.state === 'Running') this.state = 'Paused';
    this.stopAc?.abort(new DMError('ErrCanceled', 'sync unit paused'));
  }

  resume(signal: AbortSignal): Promise<ProcessResult> {
    if (this.state === 'Paused') this.state = 'Ready';
    return this.process(signal);
  }

  async close(): Promise<void> {
    if (this.state === 'Closed') return;
    this.stopAc?.abort(new DMError('ErrCanceled', 'sync unit closed'));
    if (this.running) await this.running.catch(() => undefined);
    this.state = 'Closed';
    const p = this.pool;
    this.pool = undefined;
    this.checkpoint.pool = undefined;
    if (p) await p.end().catch(() => undefined);
    await this.progress.close();
  }

  refreshStatus(): Promise<void> {
    return this.progress.refreshForStatus();
  }

  status(): Record<string, unknown> {
    const s = this.progress.status(
      { stage: this.state, checkpointPos: this.checkpoint.lastCheckpoint, lastError: this.lastError, failedEventPos: this.failedEventPos },
      this.run,
    );
    return this.shard ? { ...s, ...this.shard.status() } : s;
  }

  /** The running reader's tracked structures (as of the last event taken), or undefined when not running. */
  liveSchemas(): string | undefined {
    return this.run.reader?.exportSchemas?.();
  }

  /** The operator's decision on a failed event (`dmctl binlog`); a 'fail' records the position for `binlog` without `-b`. */
  private readonly onFailed = async (info: FailedEventInfo): Promise<FailedEventDecision> => {
    const d = (await this.cfg.onFailedEvent?.(info)) ?? { action: 'fail' as const };
    // the first failure of a run is the one it ends with (appliers may reject several groups at once)
    if (d.action === 'fail') this.failedEventPos ??= formatFilePos(info.pos);
    return d;
  };

  // ------------------------------------------------------------------ one run

  /** One run: start position → reader → consumer → scheduler/appliers → checkpoint; ends drained. */
  private async runOnce(signal: AbortSignal): Promise<ProcessResult> {
    this.state = 'Running';
    this.lastError = undefined;
    this.failedEventPos = undefined;
    const stopAc = new AbortController();
    this.stopAc = stopAc;
    const stop = AbortSignal.any([signal, stopAc.signal]);
    const checkpoint = this.checkpoint;
    let result: ProcessResult;
    let timer: NodeJS.Timeout | undefined;
    try {
      const pool = this.requirePool();
      const cp = await this.retry(() => this.store.load(pool), stop).catch((e: unknown) => {
        throw toDMError(e, 'ErrCheckpointLoad', 'cannot load the checkpoint from the target');
      });
      // the online-DDL records as the target has them (a failed run may have left memory ahead)
      if (this.online) {
        const online = this.online;
        await this.retry(() => online.load(pool), stop);
      }
      const plan = startPlan(this.cfg, cp);
      checkpoint.lastCheckpoint = cp.pos;
      this.progress.currentPos = plan.startPos;
      // the reader below starts from the stored snapshot: one left pending by an earlier run (its
      // final flush failed) is not valid here, and would overwrite one set by `binlog-schema update`
      checkpoint.schemasToSave = undefined;
      const startSafe = this.settings.startSafeModeSec ?? 0;
      const autoSafeModeUntil = Math.max(plan.unclean ? Date.now() + this.settings.safeModeDurationSec * 1000 : 0, startSafe > 0 ? Date.now() + startSafe * 1000 : 0);
      if (plan.unclean && this.settings.safeModeDurationSec > 0) this.log.info({ seconds: this.settings.safeModeDurationSec }, 'previous run did not exit cleanly: safe mode on');
      if (startSafe > 0) this.log.info({ seconds: startSafe }, 'safe mode on after start (safe_mode_time_duration)');
      if (cp.pos && cp.cleanExit) await this.retry(() => this.store.markRunning(pool), stop);
      const tracker = new LowWaterMark(plan.startPos);
      this.run.tracker = tracker;
      checkpoint.tracker = tracker;
      const applier = new TxnApplier({
        pool,
        store: this.store,
        retry: this.retry,
        onFailed: this.onFailed,
        safeMode: { always: this.settings.safeMode, autoUntil: autoSafeModeUntil, snapshotEnd: this.cfg.safeModeUntil },
        tracker,
        totals: this.progress.totals,
        waits: this.progress.waits,
        metrics: this.metrics,
        labels: this.labels,
      });
      const scheduler = new CausalityScheduler({
        workerCount: this.settings.workerCount,
        batch: this.settings.batch,
        apply: (g) => applier.applyGroup(g, stop),
      });
      const sink = this.sink;
      sink?.bind(() => tracker.position);
      scheduler.onCommitted = sink
        ? (g) => {
            applier.committed(g);
            sink.applied(g.txns);
          }
        : (g) => applier.committed(g);
      this.run.scheduler = scheduler;
      this.log.info({ start: plan.start, checkpoint: cp.pos, ledger: cp.ledger.size, safeModeUntil: this.cfg.safeModeUntil, safeMode: this.settings.safeMode }, 'sync unit starting');
      const reader: SyncReader = this.readerFactory!(
        readerOptions(this.cfg, plan, {
          settings: this.settings,
          filters: this.filters,
          heartbeatMs: this.heartbeatMs,
          log: this.log,
          registry: this.registry,
          pool: () => this.requirePool(),
        }),
      );
      this.run.reader = reader;
      this.checkpoint.onFlushed = reader.checkpointed ? (pos) => reader.checkpointed?.(pos) : undefined;
      const ddl = new DDLApplier({
        pool,
        target: this.cfg.target,
        store: this.store,
        retry: this.retry,
        onFailed: this.onFailed,
        filters: this.filters,
        reader,
        tracker,
        scheduler,
        checkpoint,
        snapshotEnd: this.cfg.safeModeUntil,
        totals: this.progress.totals,
        log: this.log,
        metrics: this.metrics,
        labels: this.labels,
      });
      const shardCfg = this.cfg.shard;
      const shard: ShardHandler | undefined = shardCfg
        ? new (shardCfg.mode === 'pessimistic' ? ShardPessimist : ShardOptimist)({
            task: this.cfg.taskName,
            source: this.cfg.sourceId,
            sourceConn: this.cfg.source,
            cfg: shardCfg,
            filters: this.filters,
            tracker,
            scheduler,
            checkpoint,
            ddl,
            reader,
            pool,
            store: this.store,
            retry: this.retry,
            onFailed: this.onFailed,
            totals: this.progress.totals,
            log: this.log,
            metrics: this.metrics,
            labels: this.labels,
          })
        : undefined;
      this.shard = shard;
      const consumer = new TxnConsumer({
        filters: this.filters,
        caseSensitive: this.cfg.caseSensitive ?? false,
        tracker,
        scheduler,
        ddl,
        online: this.online ? { plugin: this.online, pool } : undefined,
        progress: this.progress,
        metrics: this.metrics,
        labels: this.labels,
        sink: this.sink,
        shard,
      });
      const onStop = (): void => void reader.close().catch(() => undefined);
      stop.addEventListener('abort', onStop, { once: true });
      try {
        await reader.start(stop);
        // nothing consumed yet: the reader's schemas are those at the start position
        if (!(cp.pos && cp.schemas)) checkpoint.schemasToSave = reader.exportSchemas?.();
        await shard?.start(stop);
        timer = setInterval(() => this.tick(stop), this.settings.checkpointFlushIntervalMs);
        await consumer.run(reader, cp.ledger, cp.rowKeys, stop);
        await scheduler.drain();
        await checkpoint.flush(true, true);
        result = stop.aborted ? canceledResult() : okResult({ endPos: tracker.position });
      } finally {
        stop.removeEventListener('abort', onStop);
        await reader.close().catch(() => undefined);
        await shard?.close?.().catch((e: unknown) => this.log.warn({ err: e }, 'shard handler close failed'));
      }
    } catch (e) {
      // Finish what is in flight, keep the checkpoint, then report.
      const drained = await (this.run.scheduler?.drain() ?? Promise.resolve()).then(
        () => true,
        () => false,
      );
      // Nothing is in flight after drain(). A group the target REJECTED (non-retryable) was rolled back,
      // so this is still a clean exit: no automatic safe mode on resume, which would otherwise turn
      // the rejected INSERT into an overwrite of the target's row instead of the same error again.
      const failure = this.run.scheduler?.error;
      const clean = drained || (failure instanceof DMError && !failure.retryable);
      await checkpoint.flush(true, clean).catch(() => undefined);
      // Stopping makes in-flight retries give up: that is a pause, unless the error is a real (non-retryable) one.
      if (stop.aborted && !(e instanceof DMError && !e.retryable && e.codeName !== 'ErrCanceled')) {
        result = canceledResult();
      } else {
        const err = e instanceof DMError ? e : toDMError(e, 'ErrInternal');
        this.lastError = err.toJSON();
        this.log.error({ err }, 'sync unit stopped with an error');
        result = errorResult(err.toJSON());
      }
    } finally {
      if (timer) clearInterval(timer);
      this.run.reader = undefined;
      this.stopAc = undefined;
      if (this.state === 'Running') this.state = 'Ready';
    }
    this.progress.stopped();
    return result;
  }

  /** Every checkpoint-flush-interval while running: flush the checkpoint, then poll the master and set the gauges. */
  private tick(stop: AbortSignal): void {
    void this.checkpoint.flush(false).catch((e: unknown) => this.log.warn({ err: e }, 'checkpoint flush failed'));
    this.progress.tick(stop, this.run);
  }
}
