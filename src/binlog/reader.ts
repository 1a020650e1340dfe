/**
 * The binlog reader: @vlasky/zongji behind our own interface. One long-lived object per
 * (task, source): `start()` connects and streams into a bounded queue, the consumer iterates it.
 *
 * State machine: New → Running → Closed (close(), or a fatal error which ends the iteration by
 * throwing a DMError). Connection errors inside Running are retried with exponential backoff
 * (cockatiel), resuming from the last transaction boundary; the events of a transaction that was
 * cut off and already queued are suppressed on replay, so the consumer sees each transaction once.
 *
 * Event stream: `gtid` → `rows`* → `xid` per DML transaction; `gtid` → `query` for a DDL.
 * `pos` of `xid` and DDL `query` events is the position right after them with the executed GTID
 * set including that transaction: the only safe checkpoints.
 *
 * Column names without binlog_row_metadata=FULL come from the schema tracker. Every TABLE_MAP is
 * checked against the tracked structure first (src/binlog/table-map-check.ts: count, type codes
 * and their metadata): a mismatch ends the stream with ErrBinlogTableMapMismatch, so no row is
 * ever delivered with its values under the wrong columns.
 *
 * Structure from the target (option `structureFromTarget`, set by the sync unit). The reader
 * reads ahead of the consumer, so when a DDL leaves an included table unknown to the tracker it
 * cannot look at the target: the DDL is not applied yet. Instead the DDL event is recorded as the
 * one the table awaits (`structuresNeeded(ev)`), and the first TABLE_MAP of the table after it
 * does not fail but keeps the binlog connection paused (zongji paused it for the lookup; our own
 * backpressure resume is held back too), so nothing after those rows is read. The consumer
 * applies the DDL at its barrier, then calls `structureFromTarget(ev, …)`: the target's
 * information_schema structure is adopted (and patched into the consumer's schema snapshot),
 * the paused lookup re-runs with the TABLE_MAP check, and the stream goes on. Only the last DDL
 * that left the table unknown is answered; since the stream stops at the first rows after it,
 * no later DDL of that table can have been read meanwhile, so the structure fits those rows.
 *
 * Files: this one is the reader's public API, its bounded queue and backpressure, heartbeats,
 * and the "structure from the target" hand-shake; the connections to the source (dump sessions,
 * reconnects with backoff, start position, control connection) are dump-session.ts; TABLE_MAP
 * and ROWS events → typed rows is row-decoder.ts; transactions and positions are txn-shaper.ts.
 */
import type { AnyBinlogEvent, TableMapEvent, WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent } from '@vlasky/zongji';
import type { Registry } from 'prom-client';
import { DMError, isDMError } from '../errors/index.js';
import { silentLogger, type Logger } from '../log/index.js';
import { DumpSession, type BinlogTransport, type DumpHost, type Session } from './dump-session.js';
import { RelaySession, type RelayReadOptions } from './relay-reader.js';
import type { BinlogEvent, QueryEvent } from './events.js';
import { EventQueue } from './event-queue.js';
import type { Flavor, Position, StartPoint } from './position.js';
import { ReaderMetrics } from './reader-metrics.js';
import { RowDecoder, eventName, forgetTableMaps } from './row-decoder.js';
import { TxnShaper, schemaSnapshots } from './txn-shaper.js';
import { SchemaTracker } from './schema-tracker.js';
import { getBinlogSettings, type Queryable } from './source-info.js';
import type { ConnConfig } from '../sql/index.js';
import { installZongjiFastpath } from './zongji-fastpath.js';
import { installQueryStatusCapture } from './query-status.js';
import { DEFAULT_BINLOG_HEARTBEAT_MS, DEFAULT_BINLOG_QUEUE_BYTES, DEFAULT_BINLOG_QUEUE_EVENTS } from '../config/index.js';

export { isRetryableReadError, DEFAULT_MAX_RECONNECTS } from './dump-session.js';

export interface BinlogReaderOptions {
  connection: ConnConfig;
  flavor: Flavor;
  /** The replica server-id this reader uses (unique per reader and different from every real server). */
  serverId: number;
  start: StartPoint;
  /** Decode rows only for tables this returns true for (others are skipped cheaply); DDL always delivered. */
  includeTable?: (schema: string, table: string) => boolean;
  /** Bounded queue between reader and consumer (default 10_000 events). */
  maxQueueEvents?: number;
  /** Default 64 MiB; the reader pauses the connection when full. */
  maxQueueBytes?: number;
  /** Emit a HeartbeatEvent when idle this long (default 1000 ms; 0 disables). */
  heartbeatMs?: number;
  logger?: Logger;
  registry?: Registry;
  labels?: { task?: string; source_id?: string };
  /** A snapshot from `exportSchemas()` taken with the checkpoint being resumed (instead of seeding from the source). */
  schemas?: string;
  /**
   * Without `schemas`, on a source that does not write binlog_row_metadata=FULL: the structures
   * at the start position in exportSchemas() format (the sync unit reads the downstream tables,
   * as DM does), instead of the source's current information_schema. Given the control connection.
   */
  seedSchemas?: (source: Queryable) => Promise<string>;
  /** Consecutive failed reconnects before the iteration fails with ErrBinlogReadFailed (default 30, ~5 min). */
  maxReconnects?: number;
  /** How often to read SHOW MASTER STATUS for the master-side metrics (default 10_000 ms; 0 disables). */
  masterStatusIntervalMs?: number;
  /**
   * The consumer re-reads from the target the structure of tables a DDL left unknown to the schema
   * tracker (see "structure from the target" in the file head): rows of such a table wait for
   * `structureFromTarget()` instead of stopping with ErrBinlogRowMetadata. Default false.
   */
  structureFromTarget?: boolean;
  /**
   * Read the events from the worker's local relay files instead of a binlog connection
   * (src/binlog/relay-reader.ts): same events, same positions. The source connection is then
   * only used to start (see relay-reader.ts).
   */
  relay?: RelayReadOptions;
}

export interface BinlogReaderStatus {
  /** Last transaction boundary read (where a restart would resume). */
  position: Position;
  connected: boolean;
  queueEvents: number;
  queueBytes: number;
  reconnects: number;
  /** The events come from the worker's relay files, not from a binlog connection. */
  relay?: boolean;
}

export interface BinlogReader extends AsyncIterable<BinlogEvent> {
  /** Connects and starts streaming; rejects with a coded DMError (e.g. ErrBinlogPurged) if the start is invalid. */
  start(signal: AbortSignal): Promise<void>;
  /** Idempotent; ends the iteration. */
  close(): Promise<void>;
  status(): BinlogReaderStatus;
  /**
   * The schema tracker's tables as of the last event the consumer took from the iterator:
   * persist it with the checkpoint and pass it back as `schemas` when resuming from there.
   */
  exportSchemas(): string;
  /**
   * Additive to the iterator (do not mix the two on one reader): up to `max` queued events in
   * stream order, waiting only while none is queued. `[]` means the stream ended; a fatal
   * error is thrown as by the iterator; `signal` aborts the wait (ErrCanceled). A DDL (`query`)
   * event is only ever the first event of a batch, so that exportSchemas() right after the call
   * is the state as of every event of the batch (after its DDL, if it starts with one): what a
   * consumer handling the batch's events one by one must persist with them.
   */
  nextBatch(max?: number, signal?: AbortSignal): Promise<BinlogEvent[]>;
  /**
   * The tables (of the included ones) that this DDL event left unknown to the schema tracker:
   * with `structureFromTarget`, the consumer reads each one's structure from the target after
   * applying (or skipping) the DDL and hands it over with structureFromTarget().
   */
  structuresNeeded(ev: QueryEvent): { schema: string; table: string }[];
  /**
   * Read `target` (the routed name of `table` on the target) from `conn`'s information_schema and
   * use it as the structure of `table` as of `ev`. Ignored when a later DDL has touched the table
   * since (that DDL asks again). Rejects with ErrBinlogTargetStructure when the query fails.
   */
  structureFromTarget(ev: QueryEvent, table: { schema: string; table: string }, conn: Queryable, target: { schema: string; table: string }): Promise<void>;
  /**
   * The consumer wrote a checkpoint at `pos`: a relay reader tells its `relay.needs` (the
   * purger) that it no longer needs the relay before it. A no-op for the network reader.
   */
  checkpointed(pos: Position): void;
}

/** The queue bounds are src/config's (one value for the reader and the sync unit). */
export const DEFAULT_MAX_QUEUE_EVENTS = DEFAULT_BINLOG_QUEUE_EVENTS;
export const DEFAULT_MAX_QUEUE_BYTES = DEFAULT_BINLOG_QUEUE_BYTES;
export const DEFAULT_HEARTBEAT_MS = DEFAULT_BINLOG_HEARTBEAT_MS;
export const DEFAULT_MASTER_STATUS_INTERVAL_MS = 10_000;
/** Default `max` of nextBatch(). */
export const DEFAULT_BATCH_EVENTS = 1024;
/** nextBatch(): a DDL event only ever starts a batch (see the interface). */
const startsBatch = (ev: BinlogEvent): boolean => ev.kind === 'query';
/** How often counted reads and the syncer position are written to the metrics. */
const METRICS_FLUSH_MS = 1000;

class ZongjiBinlogReader implements BinlogReader, DumpHost {
  private readonly o: BinlogReaderOptions;
  private readonly log: Logger;
  private readonly queue: EventQueue<BinlogEvent>;
  private readonly metrics: ReaderMetrics | undefined;
  private readonly tracker: SchemaTracker;
  private readonly closeCtl = new AbortController();
  private stateName: 'new' | 'running' | 'closed' = 'new';
  private timers: NodeJS.Timeout[] = [];

  private readonly shaper: TxnShaper;
  /** The transport: dump sessions over a binlog connection (dump-session.ts), or the relay files (relay-reader.ts). */
  private readonly dump: BinlogTransport;
  /** TABLE_MAP and ROWS events → RowsEvents (row-decoder.ts). */
  private readonly decoder: RowDecoder;
  private lastHeartbeat = 0;
  private paused = false;
  private consumerSchemas = '';
  private rowMetadataFull = true;
  private fatal: DMError | undefined;
  /** Included tables the DDL being shaped left unknown (attached to its QueryEvent at delivery). */
  private ddlUnknown: { schema: string; table: string }[] = [];
  /** Per DDL event: the tables it left unknown. */
  private readonly needs = new WeakMap<QueryEvent, { schema: string; table: string }[]>();
  /** Per unknown table: the last DDL that left it unknown (the only one whose target structure fits). */
  private readonly awaiting = new Map<string, QueryEvent>();
  /** Per table: a TableMap decode waiting for structureFromTarget() (the connection stays paused). */
  private readonly waiters = new Map<string, () => void>();
  /** DDL events read so far, and the count each query event was read at. */
  private ddlSeq = 0;
  private readonly ddlSeqOf = new WeakMap<QueryEvent, number>();
  /** Structures adopted from the target, with the DDL count at adoption (for snapshots read before). */
  private adoptions: { schema: string; table: string; seq: number; state: SchemaTracker }[] = [];

  constructor(opts: BinlogReaderOptions) {
    this.o = opts;
    this.log = (opts.logger ?? silentLogger).child({ component: 'binlog-reader', serverId: opts.serverId });
    this.queue = new EventQueue<BinlogEvent>(opts.maxQueueEvents ?? DEFAULT_MAX_QUEUE_EVENTS, opts.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES, () => this.onDrain());
    this.metrics = opts.registry ? new ReaderMetrics(opts.registry, opts.labels ?? {}, () => ({ queueEvents: this.queue.size, queueBytes: this.queue.byteSize })) : undefined;
    this.tracker = new SchemaTracker({ flavor: opts.flavor, logger: this.log });
    this.shaper = new TxnShaper(opts.flavor, {
      deliver: (ev, bytes) => this.deliver(ev, bytes),
      buildRows: (raw, base, name) => this.decoder.buildRows(this.dump.session?.zj.tableMap, raw as WriteRowsEvent | UpdateRowsEvent | DeleteRowsEvent, base, name),
      onDDL: (schema, sql) => this.onDDL(schema, sql),
      onBoundary: (pos) => this.metrics?.syncer(pos),
      onWarn: (msg, err) => this.log.warn({ err }, msg),
    });
    this.decoder = new RowDecoder(this.tracker, this.shaper, opts.labels);
    this.dump = opts.relay
      ? new RelaySession({ ...opts, relay: opts.relay }, this.shaper, this, this.closeCtl.signal, this.log, this.metrics)
      : new DumpSession(opts, this.shaper, this, this.closeCtl.signal, this.log, this.metrics);
  }

  get closed(): boolean {
    return this.stateName === 'closed';
  }

  // ---- public API ------------------------------------------------------------------------

  async start(signal: AbortSignal): Promise<void> {
    if (this.stateName !== 'new') throw new DMError('ErrInternal', `binlog reader start() called in state ${this.stateName}`);
    this.stateName = 'running';
    const onAbort = (): void => void this.close();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      signal.throwIfAborted();
      // undefined only for the relay with a schema snapshot and the source down (relay-reader.ts)
      const ctrl = await this.dump.openControl();
      if (ctrl) {
        const settings = await getBinlogSettings(ctrl);
        if (!settings.logBin) throw new DMError('ErrBinlogFormatNotRow', 'binary logging is off on the source (log_bin=OFF)');
        if (settings.format !== 'ROW') throw new DMError('ErrBinlogFormatNotRow', `the source writes binlog_format=${settings.format}, ROW is required`);
        this.rowMetadataFull = settings.rowMetadata === 'FULL';
      }
      this.dump.fastpath = await installZongjiFastpath();
      await installQueryStatusCapture();
      await this.dump.resolveStart();
      if (this.o.schemas) this.tracker.importSchemas(this.o.schemas);
      else if (!ctrl) throw new DMError('ErrUpstreamUnreachable', 'the source cannot be reached to seed the schema tracker');
      else if (!this.rowMetadataFull && this.o.seedSchemas) this.tracker.importSchemas(await this.o.seedSchemas(ctrl));
      else await this.tracker.seedFromSource(ctrl, this.o.includeTable);
      this.consumerSchemas = this.tracker.exportSchemas();
      await this.dump.updateMasterStatus();
      signal.throwIfAborted();
      if (this.stateName !== 'running') throw new DMError('ErrCanceled', 'binlog reader closed during start');
      // first session: errors of any kind reject start()
      await this.dump.begin();
      this.startTimers();
      this.log.info({ position: this.shaper.boundary, rowMetadataFull: this.rowMetadataFull, trackedTables: this.tracker.list().length }, 'binlog reader started');
    } catch (e) {
      const err = signal.aborted ? new DMError('ErrCanceled', 'binlog reader start canceled', { cause: e }) : isDMError(e) ? e : new DMError('ErrBinlogReadFailed', `starting the binlog reader failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      await this.close();
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    if (this.stateName !== 'closed') {
      this.stateName = 'closed';
      this.closeCtl.abort();
      for (const t of this.timers) clearInterval(t);
      this.timers = [];
      if (this.fatal) this.queue.end(this.fatal);
      else this.queue.clear();
    }
    // idempotent cleanup: also catches a session or control connection opened by a start()
    // that was still running when close() was first called
    await this.dump.stop();
    this.metrics?.remove();
  }

  status(): BinlogReaderStatus {
    return {
      position: { ...this.shaper.boundary },
      connected: this.dump.connected,
      queueEvents: this.queue.size,
      queueBytes: this.queue.byteSize,
      reconnects: this.dump.reconnects,
      relay: this.dump instanceof RelaySession,
    };
  }

  exportSchemas(): string {
    return this.consumerSchemas;
  }

  checkpointed(pos: Position): void {
    if (this.dump instanceof RelaySession) this.dump.checkpointed(pos);
  }

  structuresNeeded(ev: QueryEvent): { schema: string; table: string }[] {
    return this.needs.get(ev) ?? [];
  }

  async structureFromTarget(ev: QueryEvent, table: { schema: string; table: string }, conn: Queryable, target: { schema: string; table: string }): Promise<void> {
    const k = `${table.schema}\u0000${table.table}`;
    if (this.awaiting.get(k) !== ev) return;
    const read = new SchemaTracker({ flavor: this.o.flavor, logger: this.log });
    try {
      await read.seedFromSource(conn, undefined, [target]);
    } catch (e) {
      throw new DMError('ErrBinlogTargetStructure', `cannot read the structure of ${target.schema}.${target.table} from the target (for ${table.schema}.${table.table} after the DDL at ${ev.pos.file}:${ev.pos.offset})`, { cause: e });
    }
    if (this.awaiting.get(k) !== ev) return;
    this.awaiting.delete(k);
    const found = this.tracker.adopt(table.schema, table.table, read, target.schema, target.table);
    const state = new SchemaTracker({ flavor: this.o.flavor, logger: this.log });
    state.adopt(table.schema, table.table, this.tracker, table.schema, table.table);
    this.adoptions.push({ schema: table.schema, table: table.table, seq: this.ddlSeq, state });
    this.log.info({ table, target, found, ddl: ev.sql }, 'table structure re-read from the target after a ddl the schema tracker could not follow');
    // the consumer is at this DDL: its snapshot (persisted with the next checkpoint) gets the structure too
    this.consumerSchemas = this.tracker.patchSnapshot(this.consumerSchemas, table.schema, table.table);
    const tm = this.dump.session?.zj.tableMap;
    if (tm) forgetTableMaps(tm, (schema, name) => schema === table.schema && name === table.table);
    const w = this.waiters.get(k);
    this.waiters.delete(k);
    w?.();
  }

  async nextBatch(max = DEFAULT_BATCH_EVENTS, signal?: AbortSignal): Promise<BinlogEvent[]> {
    let batch: BinlogEvent[];
    if (signal === undefined) batch = await this.queue.nextBatch(max, startsBatch);
    else {
      signal.throwIfAborted();
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(new DMError('ErrCanceled', 'waiting for binlog events canceled', { cause: signal.reason }));
        signal.addEventListener('abort', onAbort, { once: true });
      });
      let cancelled = false;
      try {
        // wait without taking (max 0), then take unless aborted meanwhile: events stay queued for the next call
        batch = await Promise.race([this.queue.nextBatch(0).then(() => (cancelled ? [] : this.queue.takeBatch(max, startsBatch))), aborted]);
      } finally {
        cancelled = true;
        if (onAbort) signal.removeEventListener('abort', onAbort);
      }
      if (batch.length === 0 && !this.queue.isEnded) return this.nextBatch(max, signal);
    }
    for (const ev of batch) if (ev.kind === 'query') this.took(ev);
    return batch;
  }

  /** The consumer took a DDL event: exportSchemas() is now the tracker state after it. */
  private took(ev: BinlogEvent): void {
    if (ev.kind === 'query') {
      let snap = schemaSnapshots.get(ev);
      if (snap === undefined) return;
      // a DDL read before a structure was adopted from the target carries the table as unknown:
      // no DDL of that table was read in between (else the adoption would have been refused)
      const seq = this.ddlSeqOf.get(ev) ?? 0;
      this.adoptions = this.adoptions.filter((a) => a.seq >= seq);
      for (const a of this.adoptions) snap = a.state.patchSnapshot(snap, a.schema, a.table);
      this.consumerSchemas = snap;
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<BinlogEvent> {
    return {
      next: (): Promise<IteratorResult<BinlogEvent>> => {
        // fast path: no extra promise hop when events are queued
        const ev = this.queue.tryTake();
        if (ev !== undefined) {
          if (ev.kind === 'query') this.took(ev);
          return Promise.resolve({ value: ev, done: false });
        }
        return this.queue.next().then((r) => {
          if (!r.done) this.took(r.value);
          return r;
        });
      },
      return: async () => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  // ---- the session manager's host (dump-session.ts) ----------------------------------------

  fail(e: unknown): void {
    const err = isDMError(e) ? e : new DMError('ErrBinlogReadFailed', e instanceof Error ? e.message : String(e), { cause: e });
    this.fatal = err;
    this.log.error({ err, position: this.shaper.boundary }, 'binlog reader stopped on a fatal error');
    this.queue.end(err);
    void this.close();
  }

  newSession(): void {
    // a decode waiting for the target structure belonged to the old connection
    this.waiters.clear();
    this.decoder.reset();
    this.paused = false;
  }

  onEvent(ev: AnyBinlogEvent): void {
    this.metrics?.read((ev.size ?? 0) + 19);
    const name = eventName(ev);
    if (name === 'tablemap') {
      this.decoder.onTableMap(ev as TableMapEvent, this.dump.session?.zj.tableMap);
      return;
    }
    this.shaper.feed(ev, name);
  }

  /** Decoding without binlog column names: the tracked structure as of this position. */
  tableInfo(s: Session, ev: TableMapEvent, next: () => void): void {
    const t = this.tracker.get(ev.schemaName, ev.tableName);
    const k = `${ev.schemaName}\u0000${ev.tableName}`;
    if (t === 'unknown' && this.awaiting.has(k)) {
      // the DDL before these rows could not be followed: wait (connection paused) until the
      // consumer has applied it and handed over the target's structure
      this.log.info({ schema: ev.schemaName, table: ev.tableName, position: `${this.shaper.curFile}:${this.shaper.lastEnd}` }, 'rows wait for the table structure from the target');
      this.waiters.set(k, () => {
        if (this.dump.session === s && !s.ended) this.tableInfo(s, ev, next);
      });
      return;
    }
    const err = this.decoder.fromTracker(s.zj.tableMap, ev, t);
    if (err !== undefined) {
      this.dump.endSession(s, err);
      return;
    }
    next();
    // zongji resumes the connection after this callback; keep our backpressure pause
    queueMicrotask(() => {
      if (this.paused && this.dump.session === s) s.zj.connection?.pause();
    });
  }

  // ---- events ----------------------------------------------------------------------------

  private onDDL(schema: string, sql: string): string | undefined {
    const touched = this.tracker.applyDDL(schema, sql);
    this.ddlUnknown = [];
    for (const t of touched) {
      const k = `${t.schema}\u0000${t.table}`;
      if (this.o.structureFromTarget && this.tracker.get(t.schema, t.table) === 'unknown' && (this.o.includeTable?.(t.schema, t.table) ?? true)) this.ddlUnknown.push(t);
      else this.awaiting.delete(k);
    }
    if (touched.length === 0) return undefined;
    const session = this.dump.session;
    if (session) {
      // drop zongji's cached table maps for the changed tables: re-read from the next TableMap
      forgetTableMaps(session.zj.tableMap, (s, name) => touched.some((t) => t.schema === s && t.table === name));
    }
    return this.tracker.exportSchemas();
  }

  private deliver(ev: BinlogEvent, bytes: number): void {
    if (ev.kind === 'query') this.ddlSeqOf.set(ev, ++this.ddlSeq);
    if (ev.kind === 'query' && this.ddlUnknown.length > 0) {
      this.needs.set(ev, this.ddlUnknown);
      for (const t of this.ddlUnknown) this.awaiting.set(`${t.schema}\u0000${t.table}`, ev);
      this.ddlUnknown = [];
    }
    if (this.queue.push(ev, bytes) && !this.paused) {
      this.paused = true;
      this.dump.session?.zj.connection?.pause();
    }
  }

  private onDrain(): void {
    if (!this.paused) return;
    this.paused = false;
    // a TableMap waiting for the target structure keeps the connection paused: zongji resumes it
    if (this.waiters.size > 0) return;
    this.dump.session?.zj.connection?.resume();
  }

  // ---- timers ----------------------------------------------------------------------------

  private startTimers(): void {
    const hb = this.o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    if (hb > 0) {
      const t = setInterval(() => {
        if (!this.dump.connected || this.shaper.txnOpen || this.queue.size > 0 || this.stateName !== 'running') return;
        if (Date.now() - Math.max(this.shaper.lastDelivery, this.lastHeartbeat) < hb) return;
        this.lastHeartbeat = Date.now();
        this.queue.push({ kind: 'heartbeat', pos: { ...this.shaper.boundary }, timestamp: Math.floor(Date.now() / 1000), serverId: 0 }, 0);
      }, Math.max(10, Math.floor(hb / 4)));
      t.unref();
      this.timers.push(t);
    }
    if (this.metrics) {
      const m = this.metrics;
      const t = setInterval(() => m.flush(), METRICS_FLUSH_MS);
      t.unref();
      this.timers.push(t);
    }
    const ms = this.o.masterStatusIntervalMs ?? DEFAULT_MASTER_STATUS_INTERVAL_MS;
    if (ms > 0 && this.metrics) {
      const t = setInterval(() => void this.dump.updateMasterStatus().catch(() => undefined), ms);
      t.unref();
      this.timers.push(t);
    }
  }
}

/** Create a binlog reader; call `start(signal)`, then iterate it. */
export function createBinlogReader(opts: BinlogReaderOptions): BinlogReader {
  return new ZongjiBinlogReader(opts);
}
