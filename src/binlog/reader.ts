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
 */
import ZongJi from '@vlasky/zongji';
import type { AnyBinlogEvent, TableMapEvent, WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent } from '@vlasky/zongji';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { Registry } from 'prom-client';
import { DMError, isDMError } from '../errors/index.js';
import { silentLogger, type Logger } from '../log/index.js';
import { BINLOG_RECONNECT_BACKOFF, Backoff, sleepAbortable } from '../util/index.js';
import type { BinlogEvent, ColumnInfo, QueryEvent, RowImage, RowsEvent } from './events.js';
import { EventQueue } from './event-queue.js';
import { compareFilePos, parseGtidSet, type Flavor, type Position, type StartPoint } from './position.js';
import { ReaderMetrics } from './reader-metrics.js';
import { TxnShaper, schemaSnapshots } from './txn-shaper.js';
import { SchemaTracker } from './schema-tracker.js';
import { getBinlogFiles, getBinlogSettings, openControlConnection, type Queryable } from './source-info.js';
import { binlogStreamOptions, getMasterStatus, isFatalBinlogReadError, isReconnectableStreamError, type ConnConfig } from '../sql/index.js';
import { findStartByTime } from './start-time.js';
import { enableFastpath, installZongjiFastpath } from './zongji-fastpath.js';
import { installQueryStatusCapture } from './query-status.js';
import { describeBinlog, describeTracked, tableMapMismatch, type TableMapInfo } from './table-map-check.js';

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
}

export interface BinlogReaderStatus {
  /** Last transaction boundary read (where a restart would resume). */
  position: Position;
  connected: boolean;
  queueEvents: number;
  queueBytes: number;
  reconnects: number;
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
   * error is thrown as by the iterator; `signal` aborts the wait (ErrCanceled).
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
}

export const DEFAULT_MAX_QUEUE_EVENTS = 10_000;
export const DEFAULT_MAX_QUEUE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_HEARTBEAT_MS = 1000;
export const DEFAULT_MAX_RECONNECTS = 30;
export const DEFAULT_MASTER_STATUS_INTERVAL_MS = 10_000;
/** Default `max` of nextBatch(). */
export const DEFAULT_BATCH_EVENTS = 1024;
/** How often counted reads and the syncer position are written to the metrics. */
const METRICS_FLUSH_MS = 1000;
/** zongji's type code of GEOMETRY columns, and BLOB's (whose reader returns the raw bytes). */
const MYSQL_TYPE_GEOMETRY = 255;
const MYSQL_TYPE_BLOB = 252;

const NO_KEY: string[] = [];

/** Per-table-id decoding metadata (shared by the RowsEvents of that table: consumers must not mutate it). */
interface TableMeta {
  version: number;
  schema: string;
  table: string;
  names: string[];
  binlogPk: string[];
  columns: ColumnInfo[];
  keyColumns: string[];
  uniqueKeys: string[][];
  yearIdx: number[];
}

interface Session {
  zj: ZongJi;
  ended: boolean;
  /** Resolves when the session ended with a retryable error or by close(); rejects on a fatal error. */
  done: Promise<void>;
  /** Resolves at the first event of the stream; rejects when the session ends before. */
  firstEvent: Promise<void>;
  finish: (err?: unknown) => void;
  started: () => void;
}


class ZongjiBinlogReader implements BinlogReader {
  private readonly o: BinlogReaderOptions;
  private readonly log: Logger;
  private readonly queue: EventQueue<BinlogEvent>;
  private readonly metrics: ReaderMetrics | undefined;
  private readonly tracker: SchemaTracker;
  private readonly closeCtl = new AbortController();
  private stateName: 'new' | 'running' | 'closed' = 'new';
  private loopDone: Promise<void> = Promise.resolve();
  private session: Session | undefined;
  private ctrl: Connection | undefined;
  private timers: NodeJS.Timeout[] = [];

  private readonly shaper: TxnShaper;
  private lastHeartbeat = 0;
  private tableKeys = new Map<number, string[]>();
  private metaCache = new Map<number, TableMeta>();
  private readonly includeCache = new Map<string, boolean>();
  private paused = false;
  private connected = false;
  private connectedOnce = false;
  private reconnects = 0;
  private consumerSchemas = '';
  private rowMetadataFull = true;
  private fatal: DMError | undefined;
  /** zongji decodes rows to arrays and caches TableMap metadata (src/binlog/zongji-fastpath.ts). */
  private fastpath = false;
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
      buildRows: (raw, base, name) => this.buildRows(raw as WriteRowsEvent | UpdateRowsEvent | DeleteRowsEvent, base, name),
      onDDL: (schema, sql) => this.onDDL(schema, sql),
      onBoundary: (pos) => this.metrics?.syncer(pos),
      onWarn: (msg, err) => this.log.warn({ err }, msg),
    });
  }

  // ---- public API ------------------------------------------------------------------------

  async start(signal: AbortSignal): Promise<void> {
    if (this.stateName !== 'new') throw new DMError('ErrInternal', `binlog reader start() called in state ${this.stateName}`);
    this.stateName = 'running';
    const onAbort = (): void => void this.close();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      signal.throwIfAborted();
      this.ctrl = await openControlConnection(this.o.connection).catch((e: unknown) => {
        throw new DMError('ErrUpstreamUnreachable', `cannot connect to the source at ${this.o.connection.host}:${this.o.connection.port}`, { cause: e });
      });
      const settings = await getBinlogSettings(this.ctrl);
      if (!settings.logBin) throw new DMError('ErrBinlogFormatNotRow', 'binary logging is off on the source (log_bin=OFF)');
      if (settings.format !== 'ROW') throw new DMError('ErrBinlogFormatNotRow', `the source writes binlog_format=${settings.format}, ROW is required`);
      this.rowMetadataFull = settings.rowMetadata === 'FULL';
      this.fastpath = await installZongjiFastpath();
      await installQueryStatusCapture();
      await this.resolveStart();
      if (this.o.schemas) this.tracker.importSchemas(this.o.schemas);
      else if (!this.rowMetadataFull && this.o.seedSchemas) this.tracker.importSchemas(await this.o.seedSchemas(this.ctrl));
      else await this.tracker.seedFromSource(this.ctrl, this.o.includeTable);
      this.consumerSchemas = this.tracker.exportSchemas();
      await this.updateMasterStatus();
      signal.throwIfAborted();
      if (this.stateName !== 'running') throw new DMError('ErrCanceled', 'binlog reader closed during start');
      // first session: errors of any kind reject start()
      const first = this.openSession();
      await first.firstEvent;
      this.loopDone = this.runLoop(first);
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
    await this.stopSession();
    await this.loopDone;
    const ctrl = this.ctrl;
    this.ctrl = undefined;
    await ctrl?.end().catch(() => ctrl.destroy());
    this.metrics?.remove();
  }

  status(): BinlogReaderStatus {
    return {
      position: { ...this.shaper.boundary },
      connected: this.connected,
      queueEvents: this.queue.size,
      queueBytes: this.queue.byteSize,
      reconnects: this.reconnects,
    };
  }

  exportSchemas(): string {
    return this.consumerSchemas;
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
    const tm = this.session?.zj.tableMap;
    if (tm) {
      for (const id of Object.keys(tm)) {
        const e = tm[Number(id)];
        if (e && e.parentSchema === table.schema && e.tableName === table.table) delete tm[Number(id)];
      }
    }
    const w = this.waiters.get(k);
    this.waiters.delete(k);
    w?.();
  }

  async nextBatch(max = DEFAULT_BATCH_EVENTS, signal?: AbortSignal): Promise<BinlogEvent[]> {
    let batch: BinlogEvent[];
    if (signal === undefined) batch = await this.queue.nextBatch(max);
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
        batch = await Promise.race([this.queue.nextBatch(0).then(() => (cancelled ? [] : this.queue.takeBatch(max))), aborted]);
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

  // ---- start position --------------------------------------------------------------------

  private async resolveStart(): Promise<void> {
    const ctrl = this.ctrl!;
    let start = this.o.start;
    if ('time' in start) {
      const p = await findStartByTime(ctrl, this.o, start.time, this.closeCtl.signal);
      this.log.info({ time: start.time.toISOString(), position: p }, 'start time resolved to binlog position');
      start = p.gtid && p.file === '' ? { gtid: p.gtid } : { file: p.file, offset: p.offset };
      if (p.gtid) this.shaper.executed = parseGtidSet(p.gtid, this.o.flavor);
    }
    if ('gtid' in start) {
      this.shaper.executed = parseGtidSet(start.gtid, this.o.flavor);
      this.shaper.boundary = { file: '', offset: 0, gtid: this.shaper.executed.toString() };
      this.shaper.resumeByGtid = true;
      return;
    }
    if (!start.file || start.offset < 4) throw new DMError('ErrBinlogInvalidPosition', `invalid start position ${start.file}:${start.offset}`);
    this.shaper.curFile = start.file;
    this.shaper.boundary = { file: start.file, offset: start.offset, gtid: '' };
    if (this.shaper.executed === undefined) {
      if (this.o.flavor === 'mariadb') {
        const [rows] = await ctrl.query<RowDataPacket[]>('SELECT BINLOG_GTID_POS(?, ?) AS g', [start.file, start.offset]);
        const g = rows[0]?.['g'];
        if (typeof g === 'string') this.shaper.executed = parseGtidSet(g, 'mariadb');
      } else if (start.offset > 4) {
        // MySQL has no BINLOG_GTID_POS: read the file from its Previous_gtids event and
        // suppress everything before the requested offset
        this.shaper.skipBefore = { file: start.file, offset: start.offset };
      }
    }
    if (this.shaper.executed) this.shaper.boundary = { ...this.shaper.boundary, gtid: this.shaper.executed.toString() };
  }

  // ---- sessions and reconnects -----------------------------------------------------------

  private async runLoop(first: Session): Promise<void> {
    const backoff = new Backoff(BINLOG_RECONNECT_BACKOFF);
    let failures = 0;
    let session: Session | undefined = first;
    for (;;) {
      const boundaryBefore = `${this.shaper.boundary.file}:${this.shaper.boundary.offset}`;
      try {
        await session.done;
      } catch (e) {
        this.fail(e);
        return;
      }
      session = undefined;
      if (this.stateName === 'closed') return;
      // retryable error: reconnect from the last boundary
      if (`${this.shaper.boundary.file}:${this.shaper.boundary.offset}` !== boundaryBefore) {
        failures = 0;
        backoff.reset();
      }
      failures++;
      if (failures > (this.o.maxReconnects ?? DEFAULT_MAX_RECONNECTS)) {
        this.fail(new DMError('ErrBinlogReadFailed', `binlog reader gave up after ${failures - 1} reconnect attempts`));
        return;
      }
      const delayMs = backoff.next();
      this.log.warn({ delayMs: Math.round(delayMs), attempt: failures, position: this.shaper.boundary }, 'binlog reader reconnecting');
      if (!(await sleepAbortable(delayMs, this.closeCtl.signal))) return;
      this.reconnects++;
      this.metrics?.reconnect();
      try {
        await this.updateMasterStatus();
      } catch {
        // the source may still be down; the session below reports it
      }
      session = this.openSession();
    }
  }

  private openSession(): Session {
    this.shaper.reconnecting();
    // a decode waiting for the target structure belonged to the old connection
    this.waiters.clear();
    this.tableKeys.clear();
    this.metaCache.clear();
    this.paused = false;
    const c = this.o.connection;
    const zj = new ZongJi(binlogStreamOptions(c));
    if (this.fastpath) enableFastpath(zj);
    let doneRes: () => void = () => {};
    let doneRej: (e: unknown) => void = () => {};
    let firstRes: () => void = () => {};
    let firstRej: (e: unknown) => void = () => {};
    const done = new Promise<void>((a, b) => ((doneRes = a), (doneRej = b)));
    const firstEvent = new Promise<void>((a, b) => ((firstRes = a), (firstRej = b)));
    done.catch(() => undefined);
    firstEvent.catch(() => undefined);
    const s: Session = {
      zj,
      ended: false,
      done,
      firstEvent,
      started: firstRes,
      finish: (err?: unknown) => {
        if (err === undefined) {
          doneRes();
          firstRej(
            this.stateName === 'closed'
              ? new DMError('ErrCanceled', 'binlog reader closed during start')
              : new DMError('ErrUpstreamUnreachable', `binlog connection to ${c.host}:${c.port} failed before streaming`),
          );
        } else {
          doneRej(err);
          firstRej(err);
        }
      },
    };
    this.session = s;
    const internals = zj as unknown as {
      _skipSchema: (db: string, table: string) => boolean;
      _fetchTableInfo: (ev: TableMapEvent, next: () => void) => void;
    };
    const include = this.o.includeTable;
    if (include) {
      // asked once per TableMap event (one per statement on MariaDB): cache the answer per table
      const cache = this.includeCache;
      internals._skipSchema = (db, table) => {
        const key = `${db}\u0000${table}`;
        let inc = cache.get(key);
        if (inc === undefined) {
          if (cache.size >= 100_000) cache.clear();
          inc = include(db, table);
          cache.set(key, inc);
        }
        return !inc;
      };
    }
    internals._fetchTableInfo = (ev, next) => this.tableInfoFromTracker(s, ev, next);

    let streaming = false;
    zj.on('binlog', (ev: AnyBinlogEvent) => {
      if (s.ended || this.session !== s) return;
      if (!streaming) {
        streaming = true;
        s.started();
        this.connected = true;
        this.connectedOnce = true;
      }
      try {
        this.onEvent(ev);
      } catch (e) {
        this.endSession(s, e);
      }
    });
    zj.on('error', (e: Error) => this.endSession(s, e));

    let opts: Record<string, unknown>;
    if (this.shaper.resumeByGtid || (this.shaper.boundary.file === '' && this.shaper.executed)) {
      opts = { serverId: this.o.serverId, gtidSet: (this.shaper.executed ?? parseGtidSet('', this.o.flavor)).toString() };
    } else if (this.shaper.skipBefore) {
      opts = { serverId: this.o.serverId, filename: this.shaper.skipBefore.file, position: 4 };
    } else {
      opts = { serverId: this.o.serverId, filename: this.shaper.boundary.file, position: this.shaper.boundary.offset };
    }
    this.log.info({ start: opts }, 'binlog reader connecting');
    zj.start(opts);
    return s;
  }

  /** End a session: retryable errors let runLoop reconnect; anything else is fatal. */
  private endSession(s: Session, e: unknown): void {
    if (s.ended) return;
    s.ended = true;
    this.connected = false;
    void this.stopZongji(s.zj);
    if (this.session === s) this.session = undefined;
    if (this.stateName === 'closed') {
      s.finish();
      return;
    }
    if (!isDMError(e) && isReconnectableStreamError(e)) {
      this.log.warn({ err: e, position: this.shaper.boundary }, 'binlog connection lost');
      if (!this.connectedOnce) {
        s.finish(new DMError('ErrUpstreamUnreachable', `cannot read the binlog from ${this.o.connection.host}:${this.o.connection.port}`, { cause: e }));
        return;
      }
      s.finish();
      return;
    }
    if (!isDMError(e) && isFatalBinlogReadError(e)) {
      void this.classifyFatalRead(e).then(s.finish, s.finish);
      return;
    }
    s.finish(isDMError(e) ? e : new DMError('ErrBinlogDecode', `binlog stream failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e }));
  }

  /** ER_SOURCE_FATAL_ERROR_READING_BINLOG: purged, or a position/GTID the source never had. */
  private async classifyFatalRead(e: unknown): Promise<DMError> {
    const at = this.shaper.resumeByGtid ? `GTID ${this.shaper.executed?.toString() ?? ''}` : `${this.shaper.boundary.file}:${this.shaper.boundary.offset}`;
    try {
      const ctrl = await this.control();
      const files = await getBinlogFiles(ctrl);
      const first = files[0];
      if (this.shaper.resumeByGtid || this.shaper.boundary.file === '') {
        const ms = await getMasterStatus(ctrl);
        const now = parseGtidSet(ms.gtid, this.o.flavor);
        const want = this.shaper.executed ?? parseGtidSet('', this.o.flavor);
        if (!now.contains(want)) {
          return new DMError('ErrBinlogInvalidPosition', `the source has not executed the start ${at} (source GTID set: ${now.toString()})`, {
            cause: e,
            workaround: 'Check that the GTID belongs to this source (not another cluster), or start from a binlog file and position.',
          });
        }
        return new DMError('ErrBinlogPurged', `the binlog holding the transactions after ${at} has been purged on the source (oldest file: ${first?.name ?? 'none'})`, { cause: e });
      }
      const file = files.find((f) => f.name === this.shaper.boundary.file);
      if (!file && first && compareFilePos({ file: this.shaper.boundary.file, offset: 0 }, { file: first.name, offset: 0 }) < 0) {
        return new DMError('ErrBinlogPurged', `binlog file ${this.shaper.boundary.file} has been purged on the source (oldest file: ${first.name})`, { cause: e });
      }
      if (!file) {
        return new DMError('ErrBinlogInvalidPosition', `binlog file ${this.shaper.boundary.file} does not exist on the source (files: ${files.map((f) => f.name).join(', ')})`, { cause: e });
      }
      return new DMError('ErrBinlogInvalidPosition', `position ${at} is not the start of an event in a binlog file of ${file.size} bytes`, {
        cause: e,
        workaround: 'Start from a transaction boundary, e.g. a position from SHOW MASTER STATUS, SHOW BINLOG EVENTS, or a DM checkpoint.',
      });
    } catch (qe) {
      return new DMError('ErrBinlogReadFailed', `the source refused to send the binlog from ${at}`, { cause: e ?? qe });
    }
  }

  private async stopZongji(zj: ZongJi): Promise<void> {
    if (zj.stopped) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000);
      zj.once('stopped', () => {
        clearTimeout(t);
        resolve();
      });
      try {
        zj.stop();
      } catch {
        clearTimeout(t);
        resolve();
      }
    });
    zj.removeAllListeners('binlog');
    zj.on('error', () => {});
  }

  private async stopSession(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (!s) return;
    const wasEnded = s.ended;
    s.ended = true;
    this.connected = false;
    await this.stopZongji(s.zj);
    if (!wasEnded) s.finish();
  }

  private fail(e: unknown): void {
    const err = isDMError(e) ? e : new DMError('ErrBinlogReadFailed', e instanceof Error ? e.message : String(e), { cause: e });
    this.fatal = err;
    this.log.error({ err, position: this.shaper.boundary }, 'binlog reader stopped on a fatal error');
    this.queue.end(err);
    void this.close();
  }

  // ---- events ----------------------------------------------------------------------------

  private onEvent(ev: AnyBinlogEvent): void {
    this.metrics?.read((ev.size ?? 0) + 19);
    const name = eventName(ev);
    if (name === 'tablemap') {
      this.onTableMap(ev as TableMapEvent);
      return;
    }
    this.shaper.feed(ev, name);
  }

  private onTableMap(tm: TableMapEvent): void {
    if (tm.primaryKey && tm.columnNames) {
      const pk = tm.primaryKey;
      const prev = this.tableKeys.get(tm.tableId);
      // keep the previous array when unchanged, so tableMeta's cache check is one comparison
      if (!prev || prev.length !== pk.length || !pk.every((i, j) => prev[j] === tm.columnNames?.[i])) {
        this.tableKeys.set(
          tm.tableId,
          pk.map((i) => tm.columnNames?.[i] ?? ''),
        );
      }
    } else this.tableKeys.delete(tm.tableId);
    // GEOMETRY: decode as BLOB so the row carries the raw internal value (4-byte SRID + WKB)
    // instead of zongji's lossy {x, y} objects; same length-prefixed layout in the row image
    const entry = this.session?.zj.tableMap[tm.tableId] as { columns?: { type: number; charset: string | null }[] } | undefined;
    const cols = entry?.columns;
    if (cols) {
      for (const c of cols) {
        if (c.type === MYSQL_TYPE_GEOMETRY) {
          c.type = MYSQL_TYPE_BLOB;
          c.charset = null;
        }
      }
    }
  }

  private onDDL(schema: string, sql: string): string | undefined {
    const touched = this.tracker.applyDDL(schema, sql);
    this.ddlUnknown = [];
    for (const t of touched) {
      const k = `${t.schema}\u0000${t.table}`;
      if (this.o.structureFromTarget && this.tracker.get(t.schema, t.table) === 'unknown' && (this.o.includeTable?.(t.schema, t.table) ?? true)) this.ddlUnknown.push(t);
      else this.awaiting.delete(k);
    }
    if (touched.length === 0) return undefined;
    if (this.session) {
      // drop zongji's cached table maps for the changed tables: re-read from the next TableMap
      const tm = this.session.zj.tableMap;
      for (const id of Object.keys(tm)) {
        const e = tm[Number(id)];
        if (e && touched.some((t) => t.schema === e.parentSchema && t.table === e.tableName)) delete tm[Number(id)];
      }
    }
    return this.tracker.exportSchemas();
  }

  /** Column/key metadata of a table map, cached per table id until the columns or tracked schemas change. */
  private tableMeta(tableId: number, tm: { parentSchema: string; tableName: string; columns: { name: string }[]; columnSchemas: { COLUMN_TYPE: string; UNSIGNED?: boolean }[] }): TableMeta {
    const binlogPk = this.tableKeys.get(tableId) ?? NO_KEY;
    const c = this.metaCache.get(tableId);
    if (c !== undefined && c.version === this.tracker.version && c.binlogPk === binlogPk && c.schema === tm.parentSchema && c.table === tm.tableName) {
      // zongji rebuilds the table map entry at each TableMap event (one per statement):
      // a plain loop over the names instead of allocating
      const cols = tm.columns;
      const names = c.names;
      let same = names.length === cols.length;
      for (let i = 0; same && i < names.length; i++) same = names[i] === cols[i]!.name;
      if (same) return c;
    }
    const tracked = this.tracker.get(tm.parentSchema, tm.tableName);
    const names = tm.columns.map((col) => col.name);
    const nameSet = new Set(names);
    // the tracked structure describes these rows when it has the same columns (always true for
    // MINIMAL metadata, where the names came from it); with FULL metadata the binlog's names win
    const t0 = tracked !== undefined && tracked !== 'unknown' ? tracked : undefined;
    const known = t0 && t0.columns.length === names.length && t0.columns.every((col, i) => col.name === names[i]) ? t0 : undefined;
    const columns: ColumnInfo[] = tm.columns.map((col, i) => {
      const cs = tm.columnSchemas[i];
      const ct = (cs?.COLUMN_TYPE ?? '').toLowerCase();
      const info: ColumnInfo = { name: col.name, type: /^[a-z0-9_]+/.exec(ct)?.[0] ?? ct, unsigned: cs?.UNSIGNED ?? ct.includes('unsigned') };
      const tc = known?.columns[i];
      if (tc) {
        info.nullable = tc.nullable;
        if (tc.generated) info.generated = true;
      }
      return info;
    });
    let keyColumns = binlogPk.length > 0 ? binlogPk : (t0?.keyColumns ?? []);
    if (!keyColumns.every((k) => nameSet.has(k))) keyColumns = [];
    const uniqueKeys = (t0?.uniqueKeys ?? []).filter((u) => u.every((k) => nameSet.has(k)) && u.join('\u0000') !== keyColumns.join('\u0000'));
    const meta: TableMeta = {
      version: this.tracker.version,
      schema: tm.parentSchema,
      table: tm.tableName,
      names,
      binlogPk,
      columns,
      keyColumns,
      uniqueKeys,
      yearIdx: columns.flatMap((col, i) => (col.type === 'year' ? [i] : [])),
    };
    this.metaCache.set(tableId, meta);
    return meta;
  }

  private buildRows(ev: WriteRowsEvent | UpdateRowsEvent | DeleteRowsEvent, at: { pos: Position; timestamp: number; serverId: number }, name: string): RowsEvent | undefined {
    const tm = this.session?.zj.tableMap[ev.tableId];
    if (!tm?.columns) return undefined;
    const m = this.tableMeta(ev.tableId, tm as typeof tm & { columns: { name: string }[] });
    if (name === 'updaterows') {
      const raw = (ev as UpdateRowsEvent).rows;
      const before: RowImage[] = new Array<RowImage>(raw.length);
      const after: RowImage[] = new Array<RowImage>(raw.length);
      for (let i = 0; i < raw.length; i++) {
        const r = raw[i]!;
        before[i] = toImage(r.before, m);
        after[i] = toImage(r.after, m);
      }
      return {
        kind: 'rows',
        op: 'update',
        schema: m.schema,
        table: m.table,
        columns: m.columns,
        keyColumns: m.keyColumns,
        uniqueKeys: m.uniqueKeys,
        rows: after,
        before,
        pos: at.pos,
        timestamp: at.timestamp,
        serverId: at.serverId,
      };
    }
    const raw = (ev as WriteRowsEvent | DeleteRowsEvent).rows;
    const rows: RowImage[] = new Array<RowImage>(raw.length);
    for (let i = 0; i < raw.length; i++) rows[i] = toImage(raw[i]!, m);
    return {
      kind: 'rows',
      op: name === 'writerows' ? 'insert' : 'delete',
      schema: m.schema,
      table: m.table,
      columns: m.columns,
      keyColumns: m.keyColumns,
      uniqueKeys: m.uniqueKeys,
      rows,
      pos: at.pos,
      timestamp: at.timestamp,
      serverId: at.serverId,
    };
  }

  /** Decoding without binlog column names: the tracked structure as of this position. */
  private tableInfoFromTracker(s: Session, ev: TableMapEvent, next: () => void): void {
    const t = this.tracker.get(ev.schemaName, ev.tableName);
    const k = `${ev.schemaName}\u0000${ev.tableName}`;
    if (t === 'unknown' && this.awaiting.has(k)) {
      // the DDL before these rows could not be followed: wait (connection paused) until the
      // consumer has applied it and handed over the target's structure
      this.log.info({ schema: ev.schemaName, table: ev.tableName, position: `${this.shaper.curFile}:${this.shaper.lastEnd}` }, 'rows wait for the table structure from the target');
      this.waiters.set(k, () => {
        if (this.session === s && !s.ended) this.tableInfoFromTracker(s, ev, next);
      });
      return;
    }
    if (t === undefined || t === 'unknown') {
      this.endSession(
        s,
        new DMError('ErrBinlogRowMetadata', `no column names in the binlog for ${ev.schemaName}.${ev.tableName} and its structure at ${this.shaper.curFile}:${this.shaper.lastEnd} is ${t === 'unknown' ? 'unknown (a DDL could not be tracked)' : 'not tracked'}`),
      );
      return;
    }
    // the tracked structure names the columns: it must be the one the binlog's types describe
    const why = tableMapMismatch(t, ev as unknown as TableMapInfo);
    if (why !== undefined) {
      this.endSession(s, this.tableMapMismatchError(ev.schemaName, ev.tableName, why, describeTracked(t), describeBinlog(ev as unknown as TableMapInfo)));
      return;
    }
    s.zj.tableMap[ev.tableId] = {
      columnSchemas: t.columns.map((c) => ({ COLUMN_NAME: c.name, COLLATION_NAME: null, CHARACTER_SET_NAME: c.charset, COLUMN_COMMENT: '', COLUMN_TYPE: c.columnType })),
      parentSchema: ev.schemaName,
      tableName: ev.tableName,
    };
    next();
    // zongji resumes the connection after this callback; keep our backpressure pause
    queueMicrotask(() => {
      if (this.paused && this.session === s) s.zj.connection?.pause();
    });
  }

  /** ErrBinlogTableMapMismatch naming the table, both structures and the command that fixes it. */
  private tableMapMismatchError(schema: string, table: string, why: string, tracked: string, binlog: string): DMError {
    const task = this.o.labels?.task ?? '<task>';
    const source = this.o.labels?.source_id ?? '<source>';
    return new DMError(
      'ErrBinlogTableMapMismatch',
      `binlog TABLE_MAP of ${schema}.${table} at ${this.shaper.curFile}:${this.shaper.lastEnd} does not match the tracked structure: ${why}; tracked ${tracked}, binlog ${binlog}`,
      {
        workaround:
          `Write the CREATE TABLE statement ${schema}.${table} had at that position to a file and run ` +
          `\`dmctl binlog-schema update ${task} ${schema} ${table} <create-table-file> -s ${source}\`, then resume the task ` +
          '(or set binlog_row_metadata=FULL on the source). `binlog skip` does not fix it: later rows would still be decoded with the wrong structure.',
      },
    );
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
      this.session?.zj.connection?.pause();
    }
  }

  private onDrain(): void {
    if (!this.paused) return;
    this.paused = false;
    // a TableMap waiting for the target structure keeps the connection paused: zongji resumes it
    if (this.waiters.size > 0) return;
    this.session?.zj.connection?.resume();
  }

  // ---- timers ----------------------------------------------------------------------------

  private startTimers(): void {
    const hb = this.o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    if (hb > 0) {
      const t = setInterval(() => {
        if (!this.connected || this.shaper.txnOpen || this.queue.size > 0 || this.stateName !== 'running') return;
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
      const t = setInterval(() => void this.updateMasterStatus().catch(() => undefined), ms);
      t.unref();
      this.timers.push(t);
    }
  }

  /** The control connection (SHOW MASTER STATUS, SHOW BINARY LOGS), reopened after a failure. */
  private async control(): Promise<Connection> {
    if (this.ctrl) return this.ctrl;
    const c = await openControlConnection(this.o.connection);
    if (this.stateName === 'closed') {
      c.destroy();
      throw new DMError('ErrCanceled', 'binlog reader closed');
    }
    this.ctrl = c;
    return c;
  }

  private async updateMasterStatus(): Promise<void> {
    if (!this.metrics || this.stateName === 'closed') return;
    try {
      const ctrl = await this.control();
      const ms = await getMasterStatus(ctrl);
      this.metrics.position('master', ms);
    } catch (e) {
      const c = this.ctrl;
      this.ctrl = undefined;
      c?.destroy();
      throw e;
    }
  }
}

/** `ev.getEventName()` allocates a lowercased string per call: cache it per event class. */
const eventNames = new Map<unknown, string>();
function eventName(ev: AnyBinlogEvent): string {
  const k = ev.constructor;
  let n = eventNames.get(k);
  if (n === undefined) {
    n = ev.getEventName();
    eventNames.set(k, n);
  }
  return n;
}

/** zongji's row (an array in column order with the fast path, else keyed by column name) as an array in column order. */
function toImage(r: unknown, m: TableMeta): RowImage {
  let out: unknown[];
  if (Array.isArray(r)) out = r;
  else {
    const o = r as Record<string, unknown>;
    const names = m.names;
    const n = names.length;
    out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) {
      const v = o[names[i]!];
      out[i] = v === undefined ? null : v;
    }
  }
  // zongji decodes YEAR 0000 as 1900 (not a valid YEAR value)
  const years = m.yearIdx;
  for (let k = 0; k < years.length; k++) {
    const i = years[k]!;
    if (out[i] === 1900) out[i] = 0;
  }
  return out;
}

/** Create a binlog reader; call `start(signal)`, then iterate it. */
export function createBinlogReader(opts: BinlogReaderOptions): BinlogReader {
  return new ZongjiBinlogReader(opts);
}

