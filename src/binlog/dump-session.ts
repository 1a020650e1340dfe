/**
 * The reader's connections to the source: the binlog dump (one zongji connection per session),
 * reconnects with exponential backoff, the start position, and the control connection
 * (SHOW MASTER STATUS, SHOW BINARY LOGS, BINLOG_GTID_POS).
 *
 * Why a file: everything that can go wrong between the source and the reader (refused
 * connections, resets, purged binlogs, positions that are not event starts) is decided here, apart
 * from what the events mean (row-decoder.ts, txn-shaper.ts) and what the consumer sees (reader.ts).
 *
 * Guarantees:
 * - A session dumps from the last transaction boundary (TxnShaper.boundary): by GTID set after
 *   a GTID start (or when no file is known yet), else by file:offset; a MySQL file:offset start
 *   without a known GTID set reads the file from its start and suppresses what precedes the
 *   offset (TxnShaper.skipBefore). The shaper suppresses a cut-off transaction's replayed events.
 * - Retryable errors (by errno / driver code, never by message: src/sql/errno.ts) end the
 *   session and the loop reconnects after a backoff (200 ms doubling to 10 s); the count resets
 *   when a session moved the boundary; after `maxReconnects` consecutive failures the stream
 *   fails with ErrBinlogReadFailed. Before the first event ever, an unreachable source is
 *   ErrUpstreamUnreachable (start() rejects with it).
 * - ER_SOURCE_FATAL_ERROR_READING_BINLOG (1236) is classified with the source's binlog list and
 *   GTID set: ErrBinlogPurged or ErrBinlogInvalidPosition, each with its workaround.
 * - Any other error is fatal (ErrBinlogDecode, or the DMError the decoder raised).
 * - stop() ends the current session, awaits the loop, and closes the control connection.
 *
 * States (the owner's): the session manager follows the reader's `closed` flag; after it, no new
 * session is opened and a control connection opened meanwhile is destroyed.
 */
import ZongJi from '@vlasky/zongji';
import type { AnyBinlogEvent, TableMapEvent } from '@vlasky/zongji';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { DMError, isDMError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { BINLOG_RECONNECT_BACKOFF, Backoff, sleepAbortable } from '../util/index.js';
import { compareFilePos, parseGtidSet, type Flavor, type StartPoint } from './position.js';
import type { ReaderMetrics } from './reader-metrics.js';
import type { TxnShaper } from './txn-shaper.js';
import { getBinlogFiles, openControlConnection } from './source-info.js';
import { binlogStreamOptions, getMasterStatus, isFatalBinlogReadError, isReconnectableStreamError, type ConnConfig } from '../sql/index.js';
import { findStartByTime } from './start-time.js';
import { enableFastpath } from './zongji-fastpath.js';

export const DEFAULT_MAX_RECONNECTS = 30;

/** Errors after which reconnecting can help (by errno / driver code, never by message). */
/** Whether reconnecting can help after `e` (src/sql's errno table: connection and transient errors). */
export const isRetryableReadError = isReconnectableStreamError;

/** One zongji connection (a session of the dump). */
export interface Session {
  zj: ZongJi;
  ended: boolean;
  /** Resolves when the session ended with a retryable error or by close(); rejects on a fatal error. */
  done: Promise<void>;
  /** Resolves at the first event of the stream; rejects when the session ends before. */
  firstEvent: Promise<void>;
  finish: (err?: unknown) => void;
  started: () => void;
}

/** The reader's options this file uses. */
export interface DumpOptions {
  connection: ConnConfig;
  flavor: Flavor;
  serverId: number;
  start: StartPoint;
  includeTable?: (schema: string, table: string) => boolean;
  maxReconnects?: number;
}

/** What the session manager asks of its owner (the reader). */
export interface DumpHost {
  /** Every event of the current session, in stream order (the hot path). */
  onEvent(ev: AnyBinlogEvent): void;
  /** zongji's table-info fetch for a TABLE_MAP without names; call `next` when the entry is in place. */
  tableInfo(s: Session, ev: TableMapEvent, next: () => void): void;
  /** A new session opens: drop per-connection decode state (after the shaper's reconnecting()). */
  newSession(): void;
  /** The stream cannot go on: end the iteration with `e`. */
  fail(e: unknown): void;
  /** close() was called. */
  readonly closed: boolean;
}

/**
 * What the reader (reader.ts) asks of its transport: this file's DumpSession over a binlog
 * connection, or relay-reader.ts's RelaySession over the local relay files.
 */
export interface BinlogTransport {
  /** The current session (undefined between sessions); its `zj.connection` pauses and resumes the stream. */
  readonly session: Session | undefined;
  readonly connected: boolean;
  readonly reconnects: number;
  /** zongji decodes rows to arrays and caches TableMap metadata (src/binlog/zongji-fastpath.ts). */
  fastpath: boolean;
  /** The control connection to the source for start(); undefined when the transport can do without. */
  openControl(): Promise<Connection | undefined>;
  resolveStart(): Promise<void>;
  /** First session: errors of any kind reject. */
  begin(): Promise<void>;
  stop(): Promise<void>;
  endSession(s: Session, e: unknown): void;
  updateMasterStatus(): Promise<void>;
}

/**
 * A session's promises over `zj` (both transports: this file and relay-reader.ts): `done`
 * resolves on finish() and rejects on finish(err); `firstEvent` resolves on started() and rejects
 * when the session finishes before it, with `endedEarly()` on a clean finish.
 */
export function createSession(zj: ZongJi, endedEarly: () => DMError): Session {
  let doneRes: () => void = () => {};
  let doneRej: (e: unknown) => void = () => {};
  let firstRes: () => void = () => {};
  let firstRej: (e: unknown) => void = () => {};
  const done = new Promise<void>((a, b) => ((doneRes = a), (doneRej = b)));
  const firstEvent = new Promise<void>((a, b) => ((firstRes = a), (firstRej = b)));
  done.catch(() => undefined);
  firstEvent.catch(() => undefined);
  return {
    zj,
    ended: false,
    done,
    firstEvent,
    started: firstRes,
    finish: (err?: unknown) => {
      if (err === undefined) {
        doneRes();
        firstRej(endedEarly());
      } else {
        doneRej(err);
        firstRej(err);
      }
    },
  };
}

/**
 * DM.ts's hooks on a ZongJi instance (both transports): the table filter (answers cached per
 * table) and table-info lookups answered by the reader's schema tracker instead of the source.
 */
export function configureZongji(zj: ZongJi, include: ((schema: string, table: string) => boolean) | undefined, cache: Map<string, Map<string, boolean>>, tableInfo: (ev: TableMapEvent, next: () => void) => void): void {
  const internals = zj as unknown as {
    _skipSchema: (db: string, table: string) => boolean;
    _fetchTableInfo: (ev: TableMapEvent, next: () => void) => void;
  };
  if (include) {
    // asked once per TableMap event (one per statement on MariaDB): cache the answer per table
    // (a map per schema: no key string built per TableMap)
    internals._skipSchema = (db, table) => {
      let m = cache.get(db);
      if (m === undefined) {
        if (cache.size >= 10_000) cache.clear();
        m = new Map();
        cache.set(db, m);
      }
      let inc = m.get(table);
      if (inc === undefined) {
        if (m.size >= 100_000) m.clear();
        inc = include(db, table);
        m.set(table, inc);
      }
      return !inc;
    };
  }
  internals._fetchTableInfo = tableInfo;
}

export class DumpSession implements BinlogTransport {
  /** The current session (undefined between sessions). */
  session: Session | undefined;
  connected = false;
  reconnects = 0;
  /** zongji decodes rows to arrays and caches TableMap metadata (src/binlog/zongji-fastpath.ts). */
  fastpath = false;
  private ctrl: Connection | undefined;
  private connectedOnce = false;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly includeCache = new Map<string, Map<string, boolean>>();
  private readonly o: DumpOptions;
  private readonly log: Logger;
  private readonly shaper: TxnShaper;
  private readonly metrics: ReaderMetrics | undefined;
  private readonly host: DumpHost;
  private readonly closeSignal: AbortSignal;

  constructor(o: DumpOptions, shaper: TxnShaper, host: DumpHost, closeSignal: AbortSignal, log: Logger, metrics: ReaderMetrics | undefined) {
    this.o = o;
    this.shaper = shaper;
    this.host = host;
    this.closeSignal = closeSignal;
    this.log = log;
    this.metrics = metrics;
  }

  /** Opens the control connection for start() (ErrUpstreamUnreachable when refused). */
  async openControl(): Promise<Connection> {
    this.ctrl = await openControlConnection(this.o.connection).catch((e: unknown) => {
      throw new DMError('ErrUpstreamUnreachable', `cannot connect to the source at ${this.o.connection.host}:${this.o.connection.port}`, { cause: e });
    });
    return this.ctrl;
  }

  /** First session: errors of any kind reject; then the reconnect loop owns the stream. */
  async begin(): Promise<void> {
    const first = this.openSession();
    await first.firstEvent;
    this.loopDone = this.runLoop(first);
  }

  /** Ends the current session, awaits the reconnect loop, closes the control connection (idempotent). */
  async stop(): Promise<void> {
    await this.stopSession();
    await this.loopDone;
    const ctrl = this.ctrl;
    this.ctrl = undefined;
    await ctrl?.end().catch(() => ctrl.destroy());
  }

  // ---- start position --------------------------------------------------------------------

  async resolveStart(): Promise<void> {
    const ctrl = this.ctrl!;
    let start = this.o.start;
    if ('time' in start) {
      const p = await findStartByTime(ctrl, this.o, start.time, this.closeSignal);
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
        this.host.fail(e);
        return;
      }
      session = undefined;
      if (this.host.closed) return;
      // retryable error: reconnect from the last boundary
      if (`${this.shaper.boundary.file}:${this.shaper.boundary.offset}` !== boundaryBefore) {
        failures = 0;
        backoff.reset();
      }
      failures++;
      if (failures > (this.o.maxReconnects ?? DEFAULT_MAX_RECONNECTS)) {
        this.host.fail(new DMError('ErrBinlogReadFailed', `binlog reader gave up after ${failures - 1} reconnect attempts`));
        return;
      }
      const delayMs = backoff.next();
      this.log.warn({ delayMs: Math.round(delayMs), attempt: failures, position: this.shaper.boundary }, 'binlog reader reconnecting');
      if (!(await sleepAbortable(delayMs, this.closeSignal))) return;
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
    this.host.newSession();
    const c = this.o.connection;
    const zj = new ZongJi(binlogStreamOptions(c));
    if (this.fastpath) enableFastpath(zj);
    const s = createSession(zj, () =>
      this.host.closed
        ? new DMError('ErrCanceled', 'binlog reader closed during start')
        : new DMError('ErrUpstreamUnreachable', `binlog connection to ${c.host}:${c.port} failed before streaming`),
    );
    this.session = s;
    configureZongji(zj, this.o.includeTable, this.includeCache, (ev, next) => this.host.tableInfo(s, ev, next));

    let streaming = false;
    const host = this.host;
    zj.on('binlog', (ev: AnyBinlogEvent) => {
      if (s.ended || this.session !== s) return;
      if (!streaming) {
        streaming = true;
        s.started();
        this.connected = true;
        this.connectedOnce = true;
      }
      try {
        host.onEvent(ev);
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
  endSession(s: Session, e: unknown): void {
    if (s.ended) return;
    s.ended = true;
    this.connected = false;
    void this.stopZongji(s.zj);
    if (this.session === s) this.session = undefined;
    if (this.host.closed) {
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

  // ---- control connection ------------------------------------------------------------------

  /** The control connection (SHOW MASTER STATUS, SHOW BINARY LOGS), reopened after a failure. */
  private async control(): Promise<Connection> {
    if (this.ctrl) return this.ctrl;
    const c = await openControlConnection(this.o.connection);
    if (this.host.closed) {
      c.destroy();
      throw new DMError('ErrCanceled', 'binlog reader closed');
    }
    this.ctrl = c;
    return c;
  }

  /** The master-side position metrics (SHOW MASTER STATUS); a failure drops the control connection. */
  async updateMasterStatus(): Promise<void> {
    if (!this.metrics || this.host.closed) return;
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
