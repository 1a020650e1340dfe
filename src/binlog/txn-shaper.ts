/**
 * Turns the raw binlog event sequence (zongji events of either flavor) into our transaction-
 * shaped stream, tracking positions and the executed GTID set:
 *   gtid (or BEGIN) → rows* → xid (or COMMIT)       one DML transaction
 *   gtid → query                                     one DDL, its own transaction
 * The `pos` of xid/DDL events is the position right after them with the GTID set including
 * them. Pure logic (no I/O), so both flavors are unit-tested without a server.
 *
 * Replay after a reconnect: a transaction cut off mid-way is re-read from its start; the
 * events of it already delivered are suppressed (`replaySkip`), so the consumer sees it once.
 * MySQL file+pos starts without a GTID seed stream the file from offset 4 (for its
 * Previous_gtids) and suppress everything before the requested offset (`skipBefore`).
 */
import type { BinlogEvent, QueryEvent, RowsEvent } from './events.js';
import type { GtidSet } from './gtid-set.js';
import { parseGtidSet, type Flavor, type Position } from './position.js';
import { hasSqlMode, parseQueryStatusVars, type QuerySession } from './query-status.js';
import { standardQuoting } from '../sql/index.js';

/** The fields of a zongji event the shaper reads (structural, so tests can build them). */
export interface RawEvent {
  getEventName(): string;
  /** ms */
  timestamp: number;
  nextPosition: number;
  size?: number;
  serverId?: number;
  binlogName?: string;
  position?: number | string;
  gtid?: string;
  gtidSet?: string;
  gtids?: { domainId: number; serverId: number; seqNo: number | string }[];
  query?: string;
  schema?: string;
  /** Query events: the raw status-variable block (src/binlog/query-status.ts), when captured. */
  statusVarsRaw?: Buffer;
}

export interface ShaperHooks {
  /** Queue an event for the consumer. */
  deliver(ev: BinlogEvent, bytes: number): void;
  /** Decode a rows event (undefined = table filtered out). */
  buildRows(raw: RawEvent, base: { pos: Position; timestamp: number; serverId: number }, name: string): RowsEvent | undefined;
  /** A DDL went by: update schemas; return a schema snapshot to attach when something changed. */
  onDDL?(schema: string, sql: string): string | undefined;
  /** A checkpoint-safe position was reached. */
  onBoundary?(pos: Position): void;
  onWarn?(msg: string, err: unknown): void;
}

export class TxnShaper {
  /** Current binlog file of the stream. */
  curFile = '';
  /** End offset of the last event read (in curFile). */
  lastEnd = 0;
  /** Last transaction boundary (checkpoint-safe position); replaced, never mutated (events share it). */
  boundary: Position = { file: '', offset: 0, gtid: '' };
  /** Executed GTID set at the boundary; undefined when not known (positions then carry gtid ''). */
  executed: GtidSet | undefined;
  /** Until a boundary is seen after a GTID start, resume by GTID (the file offset is not exact yet). */
  resumeByGtid = false;
  /** MySQL file+pos start without GTID seed: suppress events before `offset` of `file`. */
  skipBefore: { file: string; offset: number } | undefined;
  /** True while a transaction is open (a gtid/BEGIN seen, no commit yet). */
  txnOpen = false;
  private txnBegun = false;
  private txnDelivered = 0;
  private pendingGtid: string | undefined;
  /** Events of the interrupted transaction already delivered; suppressed on replay. */
  private replaySkip = 0;
  private lastDeliveredAt = 0;
  /** The `pos` of the last rows event: shared by the following rows events at the same position (read-only). */
  private rowsPos: Position | undefined;

  constructor(
    private readonly flavor: Flavor,
    private readonly hooks: ShaperHooks,
  ) {}

  /** Start of a new connection: replay the open transaction from its start, suppressing what was delivered. */
  reconnecting(): void {
    // a replay that was itself cut off: the events it suppressed are in txnDelivered, the rest still in replaySkip
    if (this.txnOpen) this.replaySkip += this.txnDelivered;
    this.txnOpen = false;
    this.txnBegun = false;
    this.txnDelivered = 0;
    this.pendingGtid = undefined;
  }

  /** ms timestamp of the last delivery (for heartbeats). */
  get lastDelivery(): number {
    return this.lastDeliveredAt;
  }

  /** `name` is `ev.getEventName()` when the caller already has it (it is not free on zongji events). */
  feed(ev: RawEvent, name: string = ev.getEventName()): void {
    const bytes = (ev.size ?? 0) + 19;
    const suppressed = this.skipBefore !== undefined && this.curFile === this.skipBefore.file && this.lastEnd < this.skipBefore.offset && name !== 'rotate';
    if (ev.nextPosition > 0 && name !== 'rotate') this.lastEnd = ev.nextPosition;
    if (this.skipBefore && !suppressed && name !== 'rotate' && name !== 'format' && this.lastEnd >= this.skipBefore.offset) this.skipBefore = undefined;
    const ts = Math.floor(ev.timestamp / 1000);
    const serverId = ev.serverId ?? 0;
    switch (name) {
      case 'rotate': {
        this.curFile = String(ev.binlogName);
        this.lastEnd = Number(ev.position);
        if (!this.txnOpen && !this.resumeByGtid && !this.skipBefore) {
          this.boundary = { file: this.curFile, offset: this.lastEnd, gtid: this.boundary.gtid };
          this.hooks.onBoundary?.(this.boundary);
        }
        return;
      }
      case 'previousgtids':
        if (this.executed === undefined && this.flavor === 'mysql') this.seed(parseGtidSet(String(ev.gtidSet), 'mysql'));
        return;
      case 'mariadbgtidlist':
        if (this.executed === undefined && this.flavor === 'mariadb') {
          const last = new Map<number, string>();
          for (const g of ev.gtids ?? []) last.set(g.domainId, `${g.domainId}-${g.serverId}-${g.seqNo}`);
          this.seed(parseGtidSet([...last.values()].join(','), 'mariadb'));
        }
        return;
      case 'gtid':
      case 'mariadbgtid':
      case 'anonymousgtid': {
        const g = name === 'anonymousgtid' ? '' : String(ev.gtid ?? '');
        this.beginTxn(g === '' ? undefined : g, ts, serverId, bytes, suppressed);
        return;
      }
      case 'query': {
        const sql = String(ev.query ?? '').trim();
        const word = /^\w+/.exec(sql)?.[0]?.toUpperCase() ?? '';
        if (word === 'BEGIN') {
          if (!this.txnOpen) this.beginTxn(undefined, ts, serverId, bytes, suppressed);
          this.txnBegun = true;
          return;
        }
        if (word === 'COMMIT' || (word === 'ROLLBACK' && !/^ROLLBACK\s+TO\b/i.test(sql))) {
          this.commit(ev.nextPosition, ts, serverId, bytes, suppressed);
          return;
        }
        if (this.txnBegun || word === 'SAVEPOINT' || word === 'XA') return; // no changes of their own
        this.ddl(String(ev.schema ?? ''), sql, ev.nextPosition, ts, serverId, bytes, suppressed, ev.statusVarsRaw);
        return;
      }
      case 'xid':
        this.commit(ev.nextPosition, ts, serverId, bytes, suppressed);
        return;
      case 'writerows':
      case 'updaterows':
      case 'deleterows': {
        if (suppressed) return;
        // MariaDB writes end_log_pos 0 inside a transaction: all its rows events share one position object
        const offset = ev.nextPosition > 0 ? ev.nextPosition : this.boundary.offset;
        let pos = this.rowsPos;
        if (pos === undefined || pos.offset !== offset || pos.file !== this.curFile || pos.gtid !== this.boundary.gtid) {
          pos = { file: this.curFile, offset, gtid: this.boundary.gtid };
          this.rowsPos = pos;
        }
        const out = this.hooks.buildRows(ev, { pos, timestamp: ts, serverId }, name);
        if (!out) return;
        if (!this.txnOpen) this.beginTxn(undefined, ts, serverId, 0, false);
        this.deliver(out, bytes);
        return;
      }
      default:
        return;
    }
  }

  /** The GTID set before the first event of the current file (Previous_gtids / Gtid_list). */
  private seed(set: GtidSet): void {
    this.executed = set;
    if (!this.txnOpen && (this.boundary.file === this.curFile || this.boundary.file === '')) this.boundary = { ...this.boundary, gtid: set.toString() };
  }

  private beginTxn(gtid: string | undefined, ts: number, serverId: number, bytes: number, suppressed: boolean): void {
    this.txnOpen = true;
    this.txnBegun = false;
    this.txnDelivered = 0;
    this.pendingGtid = gtid;
    if (suppressed) return;
    this.deliver({ kind: 'gtid', gtid: gtid ?? '', pos: this.boundary, timestamp: ts, serverId }, bytes);
  }

  private boundaryAfter(nextPosition: number): Position {
    if (this.pendingGtid !== undefined && this.executed !== undefined) {
      try {
        this.executed = this.executed.add(this.pendingGtid);
      } catch (e) {
        this.hooks.onWarn?.('cannot add gtid to the executed set', e);
      }
    }
    this.pendingGtid = undefined;
    this.txnOpen = false;
    this.txnBegun = false;
    this.resumeByGtid = false;
    // boundary objects are replaced, never mutated: the consumer's events may share them
    this.boundary = { file: this.curFile, offset: nextPosition > 0 ? nextPosition : this.boundary.offset, gtid: this.executed?.toString() ?? '' };
    this.hooks.onBoundary?.(this.boundary);
    return this.boundary;
  }

  private commit(nextPosition: number, ts: number, serverId: number, bytes: number, suppressed: boolean): void {
    const wasOpen = this.txnOpen;
    const pos = this.boundaryAfter(nextPosition);
    // a commit without a start (stream began mid-transaction): nothing of it was delivered
    if (!suppressed && wasOpen) this.deliver({ kind: 'xid', pos, timestamp: ts, serverId }, bytes);
    this.txnDelivered = 0;
  }

  private ddl(schema: string, original: string, nextPosition: number, ts: number, serverId: number, bytes: number, suppressed: boolean, statusVars?: Buffer): void {
    if (!this.txnOpen && !suppressed) this.beginTxn(undefined, ts, serverId, 0, false);
    // the upstream session of the statement; its text in standard quoting for every reader after us
    const session: QuerySession = statusVars ? parseQueryStatusVars(statusVars, this.flavor) : {};
    const lex = { ansiQuotes: hasSqlMode(session.sqlMode, 'ANSI_QUOTES'), noBackslashEscapes: hasSqlMode(session.sqlMode, 'NO_BACKSLASH_ESCAPES') };
    let sql = original;
    try {
      sql = standardQuoting(original, lex);
    } catch (e) {
      this.hooks.onWarn?.('cannot rewrite ddl to standard quoting', e); // the DDL parser reports it
    }
    const snapshot = this.hooks.onDDL?.(schema, sql);
    const pos = this.boundaryAfter(nextPosition);
    const ev: QueryEvent = { kind: 'query', schema, sql, pos, timestamp: ts, serverId, ...session };
    if (sql !== original) ev.originalSql = original;
    if (snapshot !== undefined) schemaSnapshots.set(ev, snapshot);
    if (!suppressed) this.deliver(ev, bytes);
    this.txnDelivered = 0;
  }

  private deliver(ev: BinlogEvent, bytes: number): void {
    if (this.replaySkip > 0) {
      this.replaySkip--;
      this.txnDelivered++;
      return;
    }
    if (this.txnOpen) this.txnDelivered++;
    this.lastDeliveredAt = Date.now();
    this.hooks.deliver(ev, bytes);
  }
}

/** The schema-tracker snapshot valid after a DDL event (for exportSchemas at the consumer's position). */
export const schemaSnapshots = new WeakMap<QueryEvent, string>();
