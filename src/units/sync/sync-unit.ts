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
 * States: New → (init) Ready → Running ⇄ Paused → Closed.
 */
import type mysql from 'mysql2/promise';
import type { Pool, PoolConnection } from 'mysql2/promise';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { BinlogEvent, QueryEvent, RowsEvent } from '../../binlog/events.js';
import { createBinlogReader } from '../../binlog/index.js';
import { compareFilePos, formatFilePos, type Position } from '../../binlog/position.js';
import { DMError, toDMError, type DMErrorJSON } from '../../errors/index.js';
import { silentLogger } from '../../log/index.js';
import { createRegistry } from '../../metrics/index.js';
import { classifyCode, classifyError, connect, createPool, ddlEffectState, getMasterStatus, initSqlFor, isAlreadyAppliedError, isRetryable, parseDDL, quoteId, type ConnConfig } from '../../sql/index.js';
import { retryWithin, SYNC_TARGET_BACKOFF } from '../../util/index.js';
import { canceledResult, errorResult, okResult, type ProcessResult, type Unit } from '../unit.js';
import { CausalityScheduler, type Group } from './causality.js';
import { CheckpointStore } from './checkpoint.js';
import { DEFAULT_META_SCHEMA, resolveSettings, type FailedEventDecision, type FailedEventInfo, type SyncConfig, type SyncerSettings } from './config.js';
import { parseSyncDDL, routedDDL, schemaToEnsure, type ParsedDDL } from './ddl.js';
import { ddlSessionSQL, sessionResetSQL } from './ddl-session.js';
import { buildStatements } from './dml-builder.js';
import { buildFilters, type SyncFilters } from './filters.js';
import { downstreamSchemas } from './downstream-schemas.js';
import { fileIndex, syncMetrics, type SyncMetrics } from './metrics.js';
import type { SyncReader, SyncReaderFactory, SyncReaderOptions } from './reader.js';
import { LowWaterMark } from './tracker.js';
import { addKeysOf, rowChangesOf, type RowChange, type UpstreamTxn } from './txn.js';

/**
 * The target connection: src/sql's session (UTC `time_zone`, DM.ts's `sql_mode` with
 * NO_AUTO_VALUE_ON_ZERO: row images are exact) with no FK checks (as DM), then the task's
 * `target-database.session`, which may replace any of them.
 */
function targetConnConfig(target: ConnConfig): ConnConfig {
  return { ...target, session: { foreign_key_checks: 0, ...target.session } };
}

/** Upper bound of one multi-statement query (max_allowed_packet is 16 MiB by default). */
const MAX_QUERY_BYTES = 4 * 1024 * 1024;

export type SyncUnitState = 'New' | 'Ready' | 'Running' | 'Paused' | 'Closed';

export interface SyncUnitDeps {
  logger?: Logger;
  registry?: Registry;
  /** Defaults to src/binlog's createBinlogReader. */
  readerFactory?: SyncReaderFactory;
  /** Reader heartbeat (ms) when the upstream is idle. */
  heartbeatMs?: number;
}

interface OpenTxn {
  gtid: string;
  changes: RowChange[];
  keys: Set<string>;
  bytes: number;
  failed?: DMError;
}

/** Totals and rates for status(). */
interface Counters {
  events: number;
  rows: number;
  txns: number;
  skippedTxns: number;
  ddls: number;
}

/** A merged group the target rejected (non-retryable): its transactions are applied again one by one. */
class RejectedGroup extends Error {
  constructor(cause: unknown) {
    super('target rejected a merged group', { cause });
  }
}

const defaultReaderFactory: SyncReaderFactory = (opts) => createBinlogReader(opts);

export class SyncUnit implements Unit {
  readonly type = 'Sync' as const;
  private state: SyncUnitState = 'New';
  private readonly cfg: SyncConfig;
  private readonly settings: SyncerSettings;
  private readonly log: Logger;
  private readonly metrics: SyncMetrics;
  private readonly labels: { task: string; source_id: string };
  private readonly filters: SyncFilters;
  private readonly store: CheckpointStore;
  private readerFactory: SyncReaderFactory | undefined;
  private readonly heartbeatMs: number;
  private pool: Pool | undefined;
  private srcConn: mysql.Connection | undefined;
  private stopAc: AbortController | undefined;
  private running: Promise<ProcessResult> | undefined;
  private reader: SyncReader | undefined;
  private tracker: LowWaterMark | undefined;
  private scheduler: CausalityScheduler | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private processStartedAt = 0;
  /** Automatic safe mode (after an unclean exit) until this time (ms; 0 = off). */
  private autoSafeModeUntil = 0;
  private entriesThisRun = 0;
  private currentPos: Position | undefined;
  private masterPos: Position | undefined;
  private lastCheckpoint: Position | undefined;
  private idle = false;
  private readonly totals: Counters = { events: 0, rows: 0, txns: 0, skippedTxns: 0, ddls: 0 };
  /**
   * Where the time goes (ms, cumulative): the consumer waiting for the reader / for a free applier
   * (backpressure), appliers waiting for causal predecessors, building statements, target round trips.
   */
  private readonly waits = { readerMs: 0, schedulerMs: 0, buildMs: 0, targetMs: 0, groups: 0 };
  private rateSample = { at: Date.now(), events: 0, rows: 0, txns: 0 };
  private rates = { eventsPerSec: 0, rowsPerSec: 0, txnsPerSec: 0 };
  private lastError: DMErrorJSON | undefined;
  /** Position (`file:offset`, end of its transaction) of the event the last run failed on, for `binlog` without `-b`. */
  private failedEventPos: string | undefined;
  /** Schema snapshot to store with the next checkpoint (taken only where it matches the low-water mark). */
  private schemasToSave: string | undefined;

  /** Shared with the binlog reader, so its read/queue/reconnect metrics show on the worker's /metrics. */
  private readonly registry: Registry;

  constructor(cfg: SyncConfig, deps: SyncUnitDeps = {}) {
    this.cfg = cfg;
    this.settings = resolveSettings(cfg.syncer);
    this.labels = { task: cfg.taskName, source_id: cfg.sourceId };
    this.log = (deps.logger ?? silentLogger).child({
      component: 'syncer',
      task: cfg.taskName,
      source: cfg.sourceId,
    });
    this.registry = deps.registry ?? createRegistry();
    this.metrics = syncMetrics(this.registry);
    const metaSchema = cfg.metaSchema ?? DEFAULT_META_SCHEMA;
    this.filters = buildFilters({
      baList: cfg.baList,
      routes: cfg.routes,
      filters: cfg.filters,
      expressionFilters: cfg.expressionFilters,
      onMissingColumn: (schema, table, column) => this.warnMissingColumn(schema, table, column),
      caseSensitive: cfg.caseSensitive,
      metaSchema,
      sourceId: cfg.sourceId,
    });
    this.store = new CheckpointStore(metaSchema, cfg.taskName, cfg.sourceId);
    this.readerFactory = deps.readerFactory;
    this.heartbeatMs = deps.heartbeatMs ?? 1000;
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
    }
    try {
      await this.retryTarget(() => this.store.ensureTables(this.requirePool()), signal);
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
    this.running = this.run(signal).finally(() => {
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
    if (p) await p.end().catch(() => undefined);
    const s = this.srcConn;
    this.srcConn = undefined;
    if (s) await s.end().catch(() => undefined);
  }

  status(): Record<string, unknown> {
    const now = Date.now();
    const dt = (now - this.rateSample.at) / 1000;
    if (dt >= 1) {
      this.rates = {
        eventsPerSec: Math.round((this.totals.events - this.rateSample.events) / dt),
        rowsPerSec: Math.round((this.totals.rows - this.rateSample.rows) / dt),
        txnsPerSec: Math.round((this.totals.txns - this.rateSample.txns) / dt),
      };
      this.rateSample = {
        at: now,
        events: this.totals.events,
        rows: this.totals.rows,
        txns: this.totals.txns,
      };
    }
    // Every applied transaction is already durable with its ledger row, so "synced" is judged on the
    // applied low-water mark, not on the periodically flushed checkpoint (up to checkpoint-flush-interval old).
    const lwm = this.tracker?.position;
    const appliedPos = lwm && lwm.file !== '' ? lwm : this.lastCheckpoint;
    return {
      stage: this.state,
      currentPos: this.currentPos,
      appliedPos,
      checkpointPos: this.lastCheckpoint,
      masterPos: this.masterPos,
      synced:
        this.masterPos !== undefined && appliedPos !== undefined && compareFilePos(this.masterPos, appliedPos) <= 0,
      lagSeconds: this.lagSeconds(),
      ...this.rates,
      totalEvents: this.totals.events,
      totalRows: this.totals.rows,
      totalTransactions: this.totals.txns,
      skippedTransactions: this.totals.skippedTxns,
      totalDDLs: this.totals.ddls,
      pendingTransactions: this.tracker?.pending ?? 0,
      inflightGroups: this.scheduler?.inflightGroups ?? 0,
      readerQueue: this.reader?.status().queueEvents ?? 0,
      targetTransactions: this.waits.groups,
      waitMs: {
        reader: Math.round(this.waits.readerMs),
        scheduler: Math.round(this.waits.schedulerMs),
        dependency: Math.round(this.scheduler?.dependencyWaitMs ?? 0),
        build: Math.round(this.waits.buildMs),
        target: Math.round(this.waits.targetMs),
      },
      ...(this.lastError ? { error: this.lastError } : {}),
      ...(this.lastError && this.failedEventPos ? { failedEventPos: this.failedEventPos } : {}),
    };
  }

  /** The running reader's tracked structures (as of the last event taken), or undefined when not running. */
  liveSchemas(): string | undefined {
    return this.reader?.exportSchemas?.();
  }

  private lagSeconds(): number {
    const ts = this.tracker?.oldestPendingTimestamp;
    if (ts === undefined || ts === 0) return 0;
    return Math.max(0, Date.now() / 1000 - ts);
  }

  // ------------------------------------------------------------------ main loop

  private async run(signal: AbortSignal): Promise<ProcessResult> {
    this.state = 'Running';
    this.lastError = undefined;
    this.failedEventPos = undefined;
    const stopAc = new AbortController();
    this.stopAc = stopAc;
    const stop = AbortSignal.any([signal, stopAc.signal]);
    this.processStartedAt = Date.now();
    this.entriesThisRun = 0;
    let result: ProcessResult;
    let timer: NodeJS.Timeout | undefined;
    try {
      const pool = this.requirePool();
      const cp = await this.retryTarget(() => this.store.load(pool), stop).catch((e: unknown) => {
        throw toDMError(e, 'ErrCheckpointLoad', 'cannot load the checkpoint from the target');
      });
      const start = this.startSpec(cp.pos);
      const startPos: Position =
        cp.pos ??
        ('file' in start
          ? { file: start.file, offset: start.offset, gtid: '' }
          : { file: '', offset: 0, gtid: 'gtid' in start ? start.gtid : '' });
      this.lastCheckpoint = cp.pos;
      this.currentPos = startPos;
      // the reader below starts from the stored snapshot: one left pending by an earlier run (its
      // final flush failed) is not valid here, and would overwrite one set by `binlog-schema update`
      this.schemasToSave = undefined;
      // DM: automatic safe mode for safe-mode-duration after a start that follows an unclean exit
      const unclean = cp.pos !== undefined && !cp.cleanExit;
      this.autoSafeModeUntil = unclean ? Date.now() + this.settings.safeModeDurationSec * 1000 : 0;
      if (unclean && this.settings.safeModeDurationSec > 0) this.log.info({ seconds: this.settings.safeModeDurationSec }, 'previous run did not exit cleanly: safe mode on');
      if (cp.pos && cp.cleanExit) await this.retryTarget(() => this.store.markRunning(pool), stop);
      const tracker = new LowWaterMark(startPos);
      this.tracker = tracker;
      const scheduler = new CausalityScheduler({
        workerCount: this.settings.workerCount,
        batch: this.settings.batch,
        apply: (g) => this.applyGroup(g, stop),
      });
      scheduler.onCommitted = (g) => {
        // one ledger row per target transaction, keyed by its last upstream transaction
        const last = g.txns.length - 1;
        for (let i = 0; i <= last; i++) tracker.markDone((g.txns[i] as UpstreamTxn).track, i === last || g.ledgerEach === true);
        this.totals.txns += g.txns.length;
        this.metrics.finishedTxn.inc(this.labels, g.txns.length);
      };
      this.scheduler = scheduler;
      this.log.info({ start, checkpoint: cp.pos, ledger: cp.ledger.size, safeModeUntil: this.cfg.safeModeUntil, safeMode: this.settings.safeMode }, 'sync unit starting');
      const reader = this.readerFactory!({
        ...this.readerOptions(start),
        ...(cp.pos && cp.schemas ? { schemas: cp.schemas } : !cp.pos && this.cfg.startSchemas ? { schemas: this.cfg.startSchemas } : {}),
      });
      this.reader = reader;
      const onStop = (): void => void reader.close().catch(() => undefined);
      stop.addEventListener('abort', onStop, { once: true });
      try {
        await reader.start(stop);
        // nothing consumed yet: the reader's schemas are those at the start position
        if (!(cp.pos && cp.schemas)) this.schemasToSave = reader.exportSchemas?.();
        timer = setInterval(() => this.tick(stop), this.settings.checkpointFlushIntervalMs);
        await this.consume(reader, cp.ledger, cp.rowKeys, stop);
        await scheduler.drain();
        await this.flush(true, true);
        result = stop.aborted ? canceledResult() : okResult({ endPos: tracker.position });
      } finally {
        stop.removeEventListener('abort', onStop);
        await reader.close().catch(() => undefined);
      }
    } catch (e) {
      // Finish what is in flight, keep the checkpoint, then report.
      const drained = await (this.scheduler?.drain() ?? Promise.resolve()).then(
        () => true,
        () => false,
      );
      // Nothing is in flight after drain(). A group the target REJECTED (non-retryable) was rolled back,
      // so this is still a clean exit: no automatic safe mode on resume, which would otherwise turn
      // the rejected INSERT into an overwrite of the target's row instead of the same error again.
      const failure = this.scheduler?.error;
      const clean = drained || (failure instanceof DMError && !failure.retryable);
      await this.flush(true, clean).catch(() => undefined);
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
      this.reader = undefined;
      this.stopAc = undefined;
      if (this.state === 'Running') this.state = 'Ready';
    }
    this.metrics.lag.set(this.labels, 0);
    return result;
  }

  private startSpec(cp: Position | undefined): SyncReaderOptions['start'] {
    if (cp) {
      if (this.cfg.enableGtid && cp.gtid) return { gtid: cp.gtid };
      return { file: cp.file, offset: cp.offset };
    }
    const s = this.cfg.start;
    if (!s)
      throw new DMError(
        'ErrSyncNoStartPosition',
        `no checkpoint and no start position for source ${this.cfg.sourceId}`,
      );
    if ('time' in s) return { time: s.time };
    if ('file' in s && s.file) {
      if (this.cfg.enableGtid && s.gtid) return { gtid: s.gtid };
      return { file: s.file, offset: s.offset };
    }
    // an empty GTID set is a start too: everything from the oldest binlog the source has
    if ('gtid' in s && typeof s.gtid === 'string' && !('file' in s)) return { gtid: s.gtid };
    throw new DMError('ErrSyncNoStartPosition', `empty start position for source ${this.cfg.sourceId}`);
  }

  private readerOptions(start: SyncReaderOptions['start']): SyncReaderOptions {
    const src = this.cfg.source;
    return {
      connection: { host: src.host, port: src.port, user: src.user, password: src.password, ...(src.ssl ? { ssl: { ...src.ssl } } : {}) },
      flavor: src.flavor,
      serverId: src.serverId,
      start,
      includeTable: (s, t) => this.filters.includeTable(s, t),
      maxQueueEvents: this.settings.maxQueueEvents,
      maxQueueBytes: this.settings.maxQueueBytes,
      heartbeatMs: this.heartbeatMs,
      logger: this.log,
      registry: this.registry,
      labels: { task: this.cfg.taskName, source_id: this.cfg.sourceId },
      // no structures saved for the start position: DM's way, the downstream tables' (docs/sync.md)
      seedSchemas: (source) => downstreamSchemas(source, this.requirePool(), this.filters, this.log),
      structureFromTarget: true,
    };
  }

  private async consume(
    reader: SyncReader,
    ledger: Set<string>,
    rowKeys: Set<string>,
    stop: AbortSignal,
  ): Promise<void> {
    const tracker = this.tracker!;
    const scheduler = this.scheduler!;
    let cur: OpenTxn | undefined;
    const it = reader[Symbol.asyncIterator]();
    const waits = this.waits;
    for (;;) {
      const t0 = performance.now();
      const next = await it.next();
      waits.readerMs += performance.now() - t0;
      if (next.done) break;
      const ev = next.value;
      if (stop.aborted) break;
      if (scheduler.error !== undefined) throw scheduler.error;
      this.totals.events++;
      this.observe(ev);
      switch (ev.kind) {
        case 'gtid':
          cur = { gtid: ev.gtid, changes: [], keys: new Set(), bytes: 0 };
          break;
        case 'rows':
          cur ??= { gtid: '', changes: [], keys: new Set(), bytes: 0 };
          this.addRows(cur, ev);
          break;
        case 'xid': {
          const t = cur ?? { gtid: '', changes: [], keys: new Set(), bytes: 0 };
          cur = undefined;
          if (t.failed) throw t.failed;
          const id = t.gtid || formatFilePos(ev.pos);
          const track = tracker.push(id, ev.pos, ev.timestamp);
          this.entriesThisRun++;
          if (ledger.has(id)) {
            ledger.delete(id);
            this.totals.skippedTxns++;
            tracker.markDone(track, rowKeys.has(id));
          } else if (t.changes.length === 0) {
            tracker.markDone(track, false);
          } else {
            const txn: UpstreamTxn = {
              id,
              pos: ev.pos,
              timestamp: ev.timestamp,
              changes: t.changes,
              keys: t.keys,
              bytes: t.bytes,
              track,
            };
            const t1 = performance.now();
            await scheduler.add(txn, stop);
            waits.schedulerMs += performance.now() - t1;
          }
          break;
        }
        case 'query': {
          const t = cur;
          cur = undefined;
          await this.handleQuery(ev, t?.gtid ?? '', ledger, stop);
          await this.structuresFromTarget(ev, stop);
          break;
        }
        case 'heartbeat':
          this.idle = cur === undefined && tracker.pending === 0;
          break;
      }
    }
  }

  private observe(ev: BinlogEvent): void {
    this.currentPos = ev.pos;
    if (ev.kind === 'rows') {
      this.metrics.eventRows.observe(this.labels, ev.rows.length);
      this.totals.rows += ev.rows.length;
    }
    if (ev.kind !== 'heartbeat') this.idle = false;
  }

  private addRows(cur: OpenTxn, ev: RowsEvent): void {
    if (!this.filters.includeTable(ev.schema, ev.table)) return;
    const action = this.filters.dmlAction(ev.schema, ev.table, ev.op);
    if (action === 'Ignore') return;
    if (action === 'Error') {
      cur.failed ??= new DMError(
        'ErrSyncEventFilterError',
        `${ev.op} on ${ev.schema}.${ev.table} at ${formatFilePos(ev.pos)} matched an Error filter`,
      );
      return;
    }
    const kept = this.filters.keepRows(ev); // expression-filter
    if (kept.rows.length === 0) return;
    const route = this.filters.route(ev.schema, ev.table);
    const { changes, bytes } = rowChangesOf(kept, route);
    const cs = this.cfg.caseSensitive ?? false;
    for (const ch of changes) {
      addKeysOf(ch, ev.uniqueKeys, ev.keyColumns, cs, cur.keys);
      cur.changes.push(ch);
    }
    cur.bytes += bytes;
  }

  private readonly missingWarned = new Set<string>();
  private warnMissingColumn(schema: string, table: string, column: string): void {
    const k = `${schema}.${table}.${column}`;
    if (this.missingWarned.has(k)) return;
    this.missingWarned.add(k);
    this.log.warn({ schema, table, column }, 'expression-filter names a column the table does not have here: the expression skips nothing');
  }

  // ------------------------------------------------------------------ DDL

  private async handleQuery(
    ev: QueryEvent,
    gtid: string,
    ledger: Set<string>,
    stop: AbortSignal,
  ): Promise<void> {
    const tracker = this.tracker!;
    const id = gtid || formatFilePos(ev.pos);
    // also replayed: DDL before the full phase's last snapshot (a table re-copied under it has it)
    const firstOfRun = this.entriesThisRun === 0 || this.beforeSnapshotEnd(ev.pos);
    const track = tracker.push(id, ev.pos, ev.timestamp);
    this.entriesThisRun++;
    let p: ParsedDDL | undefined;
    try {
      p = parseSyncDDL(ev.sql, ev.schema);
    } catch (e) {
      // table DDL that cannot be read: the operator decides (dmctl binlog skip|replace), else pause
      const err = e instanceof DMError ? e : toDMError(e, 'ErrSQLParseDDL', 'cannot parse DDL');
      const decision = await this.onFailed({
        pos: ev.pos,
        sql: [ev.sql],
        isDDL: true,
        error: { code: err.code, message: err.message },
      });
      if (decision.action === 'fail') throw err;
      await this.scheduler!.drain();
      await this.flush(true);
      if (decision.action === 'replace') await this.execDDL(decision.sql, undefined, id, ev, false, stop);
      tracker.markDone(track, decision.action === 'replace');
      await this.flush(true);
      return;
    }
    if (!p || p.temporary) {
      tracker.markDone(track, false);
      return;
    }
    let apply: boolean;
    if (p.database !== undefined) apply = this.filters.includeSchema(p.database);
    else apply = p.tables.some((t) => this.filters.includeTable(t.schema, t.table));
    const first = p.tables[0];
    const action = this.filters.ddlAction(
      p.database ?? first?.schema ?? ev.schema,
      first?.table ?? '',
      p.type,
      ev.sql,
    );
    if (apply && action === 'Ignore') apply = false;
    if (apply && action === 'Error')
      throw new DMError(
        'ErrSyncEventFilterError',
        `DDL at ${formatFilePos(ev.pos)} matched an Error filter: ${ev.sql}`,
      );
    // Barrier: all earlier DML in the target and the checkpoint right before this DDL.
    await this.scheduler!.drain();
    await this.flush(true);
    if (!apply) {
      // not applied here, but the reader's schemas changed: keep the snapshot in step
      this.schemasToSave = this.reader?.exportSchemas?.() ?? this.schemasToSave;
      tracker.markDone(track, false);
      await this.flush(true);
      return;
    }
    if (ledger.has(id)) {
      ledger.delete(id);
      this.totals.skippedTxns++;
      tracker.markDone(track, true);
      await this.flush(true);
      return;
    }
    const route = (s: string, t: string): { schema: string; table: string } => this.filters.route(s, t);
    const sql = routedDDL(p, route, (s) => this.filters.routeSchema(s));
    // A routed table may be one shard of a merged target table (no shard-mode yet): the first
    // shard's DDL changes the merged table and the others' same DDL is then already there.
    const routed =
      (p.database !== undefined && this.filters.routeSchema(p.database) !== p.database) ||
      p.tables.some((t) => {
        const r = route(t.schema, t.table);
        return r.schema !== t.schema || r.table !== t.table;
      });
    await this.execDDL([sql], schemaToEnsure(p, route), id, ev, firstOfRun || routed, stop);
    this.totals.ddls++;
    // the consumer is exactly at this DDL: the snapshot matches the checkpoint written next
    this.schemasToSave = this.reader?.exportSchemas?.() ?? this.schemasToSave;
    tracker.markDone(track, true);
    await this.flush(true);
  }

  /**
   * After a DDL the reader's schema tracker could not follow (source without FULL row metadata):
   * hand the reader the structure its tables now have in the target, so the rows after the DDL
   * are decoded with it (src/binlog/reader.ts, "structure from the target"). The reader waits
   * for this before decoding those rows.
   */
  private async structuresFromTarget(ev: QueryEvent, stop: AbortSignal): Promise<void> {
    const reader = this.reader;
    const need = reader?.structuresNeeded?.(ev) ?? [];
    if (!reader?.structureFromTarget || need.length === 0) return;
    for (const t of need) {
      const target = this.filters.route(t.schema, t.table);
      await this.retryTarget(() => reader.structureFromTarget!(ev, t, this.requirePool(), target), stop);
    }
    this.schemasToSave = reader.exportSchemas?.() ?? this.schemasToSave;
  }

  /**
   * Run a DDL (its routed statements) alone on the target and write its ledger row. With
   * `skipIfPresent` (the first event after a crash, a DDL before the full phase's last snapshot,
   * or a DDL of a routed table, i.e. possibly one shard of a merged table) a DDL whose effect is
   * already present is skipped (src/sql's ddlEffectState, then the "already exists / does not
   * exist" errnos). A rejected DDL goes to the operator hook (skip / replace) or ends with 36001.
   */
  private async execDDL(
    initial: string[],
    ensureSchema: string | undefined,
    id: string,
    ev: QueryEvent,
    skipIfPresent: boolean,
    stop: AbortSignal,
  ): Promise<void> {
    let stmts = initial;
    for (;;) {
      try {
        await this.retryTarget(async () => {
          const conn = await this.requirePool().getConnection();
          // the event's own statements run under its upstream session (ddl-session.ts); a
          // connection still in that session is never given back to the pool
          const upstream = stmts === initial ? ddlSessionSQL(ev) : undefined;
          let inUpstreamSession = false;
          try {
            if (ensureSchema) await conn.query(`CREATE DATABASE IF NOT EXISTS ${quoteId(ensureSchema)}`);
            for (const s of stmts) {
              if (skipIfPresent && (await this.ddlAlreadyApplied(conn, s))) {
                this.log.info({ sql: s }, 'ddl effect already present, skipping');
                continue;
              }
              try {
                if (upstream !== undefined && !inUpstreamSession) {
                  inUpstreamSession = true;
                  await conn.query(upstream).catch((e: unknown) => {
                    if (isRetryable(e)) throw e;
                    throw new DMError('ErrSyncDDLSession', `target rejected the upstream session of the DDL at ${formatFilePos(ev.pos)}: ${upstream}`, { cause: e });
                  });
                }
                await conn.query(s);
              } catch (e) {
                if (skipIfPresent && isAlreadyAppliedError(e)) {
                  this.log.info(
                    { sql: s, errno: (e as { errno?: number }).errno },
                    'ddl effect already present, skipping',
                  );
                  continue;
                }
                throw e;
              }
            }
            if (inUpstreamSession) {
              await conn.query(sessionResetSQL(initSqlFor(targetConnConfig(this.cfg.target))));
              inUpstreamSession = false;
            }
            await conn.query(
              `${this.store.ledgerInsertSQL([{ id, pos: ev.pos }], true)} ON DUPLICATE KEY UPDATE is_ddl = 1`,
            );
          } finally {
            if (inUpstreamSession) conn.destroy();
            else conn.release();
          }
        }, stop);
        return;
      } catch (e) {
        if (isRetryable(e) || stop.aborted) throw this.retryExhausted(e, `DDL at ${formatFilePos(ev.pos)}`);
        const shown = stmts.join('; ');
        const err =
          e instanceof DMError && e.codeName === 'ErrSyncDDLSession'
            ? e
            : new DMError('ErrSyncDDLExecFailed', `target rejected DDL at ${formatFilePos(ev.pos)} (${id}): ${shown}`, { cause: e });
        const decision = await this.onFailed({
          pos: ev.pos,
          sql: stmts,
          isDDL: true,
          error: { code: err.code, message: err.message },
        });
        if (decision.action === 'skip') {
          this.log.warn({ sql: shown, pos: ev.pos }, 'failed ddl skipped by operator');
          stmts = [];
          continue;
        }
        if (decision.action === 'replace') {
          stmts = decision.sql;
          continue;
        }
        throw err;
      }
    }
  }

  /** Whether a (routed, fully qualified) DDL's effect is visibly in the target already. */
  private async ddlAlreadyApplied(conn: PoolConnection, sql: string): Promise<boolean> {
    let p: ParsedDDL;
    try {
      p = parseDDL(sql, '');
    } catch {
      return false; // e.g. an operator's replacement statement: just run it
    }
    return (await ddlEffectState(conn, p)) === 'present';
  }

  // ------------------------------------------------------------------ DML apply

  /** Whether `pos` lies at or before the full phase's highest snapshot position (cfg.safeModeUntil). */
  private beforeSnapshotEnd(pos: Position): boolean {
    const until = this.cfg.safeModeUntil;
    return !!(until && until.file && pos.file && compareFilePos(pos, until) <= 0);
  }

  private safeModeFor(g: Group): boolean {
    if (this.settings.safeMode) return true;
    if (this.autoSafeModeUntil > 0 && Date.now() < this.autoSafeModeUntil) return true;
    const until = this.cfg.safeModeUntil;
    // the full phase's overlap: safe as soon as ANY of the group's transactions lies in it (a group
    // that merges transactions across the upper bound must not apply the earlier ones non-idempotently)
    if (until && until.file) return g.txns.some((t) => t.pos.file !== '' && compareFilePos(t.pos, until) <= 0);
    return false;
  }

  /** The operator's decision on a failed event (`dmctl binlog`); a 'fail' records the position for `binlog` without `-b`. */
  private async onFailed(info: FailedEventInfo): Promise<FailedEventDecision> {
    const d = (await this.cfg.onFailedEvent?.(info)) ?? { action: 'fail' as const };
    // the first failure of a run is the one it ends with (appliers may reject several groups at once)
    if (d.action === 'fail') this.failedEventPos ??= formatFilePos(info.pos);
    return d;
  }

  /**
   * Apply one group (one target transaction). When the target rejects a group of several upstream
   * transactions, they are applied again one per target transaction, so the error, its position
   * and an operator (`dmctl binlog skip|replace`) concern exactly the failing upstream transaction.
   */
  private async applyGroup(g: Group, stop: AbortSignal): Promise<void> {
    const safeMode = this.safeModeFor(g);
    if (g.txns.length === 1) return this.applyTxns(g.txns, safeMode, stop, true);
    try {
      await this.applyTxns(g.txns, safeMode, stop, false);
    } catch (e) {
      if (!(e instanceof RejectedGroup)) throw e;
      g.ledgerEach = true;
      for (const t of g.txns) await this.applyTxns([t], safeMode, stop, true);
    }
  }

  /** `txns` in one target transaction with their ledger row; `single`: ask the operator hook on a rejection. */
  private async applyTxns(txns: UpstreamTxn[], safeMode: boolean, stop: AbortSignal, single: boolean): Promise<void> {
    const t0 = performance.now();
    const changes = txns.length === 1 ? (txns[0]?.changes ?? []) : txns.flatMap((t) => t.changes);
    let stmts = buildStatements(changes, { safeMode });
    const ledgerSQL = this.store.ledgerInsertSQL(txns);
    const t1 = performance.now();
    this.waits.buildMs += t1 - t0;
    const rowKey = txns[txns.length - 1]?.id ?? '';
    const lastPos = txns[txns.length - 1]?.pos;
    let attempts = 0;
    for (;;) {
      try {
        await this.retryTarget(async () => {
          if (attempts++ > 0 && (await this.store.hasTxn(this.requirePool(), rowKey))) return; // committed before the error
          const conn = await this.requirePool().getConnection();
          await this.execTxn(conn, [...stmts, ledgerSQL]);
        }, stop);
        break;
      } catch (e) {
        if (isRetryable(e) || stop.aborted)
          throw this.retryExhausted(e, `transaction ending at ${lastPos ? formatFilePos(lastPos) : '?'}`);
        if (!single) throw new RejectedGroup(e);
        const at = `${txns.map((t) => t.id).join(', ')} ending at ${lastPos ? formatFilePos(lastPos) : '?'}`;
        const err =
          classifyCode(e) === 'ErrDBDuplicateEntry'
            ? new DMError('ErrSyncDMLDuplicateEntry', `the target already has a row with the key written by upstream transaction ${at} (safe mode ${safeMode ? 'on' : 'off'}): ${stmts.join('; ').slice(0, 300)}`, { cause: e })
            : new DMError('ErrSyncDMLExecFailed', `target rejected the DML of ${at}`, { cause: e });
        const decision = lastPos
          ? await this.onFailed({ pos: lastPos, sql: stmts, isDDL: false, error: { code: err.code, message: err.message } })
          : { action: 'fail' as const };
        if (decision.action === 'skip') stmts = [];
        else if (decision.action === 'replace') stmts = decision.sql;
        else throw err;
        attempts = 0;
      }
    }
    const t2 = performance.now();
    this.waits.targetMs += t2 - t1;
    this.waits.groups++;
    this.metrics.txnDuration.observe(this.labels, (t2 - t0) / 1000);
  }

  /** One target transaction in one round trip; rolled back on any error. */
  private async execTxn(conn: PoolConnection, stmts: string[]): Promise<void> {
    try {
      // One round trip for a normal group; a huge upstream transaction goes in several queries.
      let buf = 'START TRANSACTION';
      for (const st of stmts) {
        if (buf.length + st.length > MAX_QUERY_BYTES) {
          await conn.query(buf);
          buf = st;
        } else buf += `;\n${st}`;
      }
      await conn.query(`${buf};\nCOMMIT`);
      conn.release();
    } catch (e) {
      if (isRetryable(e)) conn.destroy();
      else {
        await conn.query('ROLLBACK').catch(() => undefined);
        conn.release();
      }
      throw e;
    }
  }

  private retryExhausted(e: unknown, what: string): DMError {
    if (e instanceof DMError) return e;
    return new DMError('ErrSyncTargetRetryExhausted', `target kept failing for ${what}`, { cause: e });
  }

  /** Run `fn`, retrying retryable target errors with exponential backoff for `retryTimeoutMs`. */
  private async retryTarget<T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T> {
    return retryWithin(fn, {
      retryable: (e) => isRetryable(e),
      budgetMs: this.settings.retryTimeoutMs,
      backoff: SYNC_TARGET_BACKOFF,
      signal,
      onRetry: (err, delayMs) => this.log.warn({ err, delayMs }, 'retrying target operation'),
    });
  }

  // ------------------------------------------------------------------ checkpoint, lag, master

  private tick(stop: AbortSignal): void {
    void this.flush(false).catch((e: unknown) => this.log.warn({ err: e }, 'checkpoint flush failed'));
    void this.refreshMaster(stop).catch(() => undefined);
    const lag = this.idle ? 0 : this.lagSeconds();
    this.metrics.lag.set(this.labels, lag);
    this.metrics.queueSize.set(this.labels, this.scheduler?.pendingRows ?? 0);
    if (this.currentPos) {
      this.metrics.binlogFile.set({ ...this.labels, node: 'syncer' }, fileIndex(this.currentPos.file));
      this.metrics.binlogPos.set({ ...this.labels, node: 'syncer' }, this.currentPos.offset);
    }
    this.status(); // refresh rates
    if (
      this.masterPos &&
      this.currentPos &&
      this.masterPos.file === this.currentPos.file &&
      this.rates.eventsPerSec > 0
    ) {
      const bytesLeft = Math.max(0, this.masterPos.offset - this.currentPos.offset);
      this.metrics.remainingTime.set(this.labels, bytesLeft / Math.max(1, this.rates.eventsPerSec * 200));
    } else if (this.masterPos && this.currentPos && compareFilePos(this.masterPos, this.currentPos) <= 0) {
      this.metrics.remainingTime.set(this.labels, 0);
    }
  }

  private masterAt = 0;
  private async refreshMaster(stop: AbortSignal): Promise<void> {
    if (Date.now() - this.masterAt < 5000 || stop.aborted) return;
    this.masterAt = Date.now();
    const src = this.cfg.source;
    // the source's TLS and `from.session` applied
    this.srcConn ??= await connect(src, { connectTimeoutMs: 3000 });
    try {
      const r = await getMasterStatus(this.srcConn, { gtid: false });
      this.masterPos = { file: r.file, offset: r.offset, gtid: '' };
      this.metrics.binlogFile.set({ ...this.labels, node: 'master' }, fileIndex(r.file));
      this.metrics.binlogPos.set({ ...this.labels, node: 'master' }, this.masterPos.offset);
    } catch {
      const c = this.srcConn;
      this.srcConn = undefined;
      c?.destroy();
    }
  }

  /**
   * Write the low-water mark (serialised) when it moved (`force`: also the very first one; errors
   * thrown as ErrCheckpointSave). `clean`: the final checkpoint of a run, always written.
   */
  private flush(force: boolean, clean = false): Promise<void> {
    const next = this.flushing.then(async () => {
      const tracker = this.tracker;
      const pool = this.pool;
      if (!tracker || !pool) return;
      if (!clean && !tracker.changed && !(force && this.lastCheckpoint === undefined && tracker.position.file !== ''))
        return;
      const { pos, prune } = tracker.takeFlush();
      if (!pos.file && !pos.gtid) return;
      const schemas = this.schemasToSave;
      try {
        const conn = await pool.getConnection();
        try {
          await this.store.flush(conn, pos, prune, schemas, clean);
        } finally {
          conn.release();
        }
        this.lastCheckpoint = pos;
        if (this.schemasToSave === schemas) this.schemasToSave = undefined;
      } catch (e) {
        tracker.restorePrune(prune);
        if (force) throw toDMError(e, 'ErrCheckpointSave', 'saving the checkpoint failed');
        throw e;
      }
    });
    this.flushing = next.catch(() => undefined);
    return next;
  }
}
