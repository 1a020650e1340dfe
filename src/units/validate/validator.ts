/**
 * The continuous validator (DM 2.x's, `validators:` in the task, `dmctl validation ...`): every
 * row change the sync unit applies is read back from the target and compared with its row image
 * from the binlog (mode `full`: every column; `fast`: only that the row exists, or is gone), until
 * it is equal; a row still different after `row-error-delay` is an error (table, key, both images)
 * in `<task>_validator_error`, for `dmctl validation show-error / ignore-error / resolve-error /
 * clear-error`.
 *
 * How it differs from DM's: DM's validator reads the binlog a second time; this one is told by the
 * sync unit (src/units/sync/applied-sink.ts) of each upstream transaction right after its target
 * transaction committed, with the routed changes (target table, key, images). So it compares
 * exactly what was applied, and it knows a position DM does not report:
 *
 *   verified-through: every change the task applied in (verified-from, verified-through] was read
 *   back equal on the target (or belongs to a table that cannot be validated: no key, listed).
 *   It is the sync low-water mark while nothing is pending, else the last transaction before the
 *   oldest one with a row still pending or held by an unprocessed error. It never passes an
 *   error until the error is ignored, resolved or cleared.
 *
 * Restart: the state (pending rows with their images, counters, table stages, positions) is saved
 * in one target transaction before every sync checkpoint that passes changes not yet saved
 * (beforeCheckpoint), and every `meta-flush-interval`; a restarted run replays the transactions
 * above the checkpoint that are already applied (ledgered) to the validator. So nothing applied is
 * lost across a crash, and a replayed older image never replaces a newer one (positions compared).
 * Errors are saved as soon as they are found.
 *
 * While Stopped (`dmctl validation stop`) it records nothing new, but keeps the images of rows
 * already pending up to date; `validation start` again begins a new verified range.
 *
 * Settings (the task's validator config): worker-count (concurrent read-back queries),
 * validate-interval (a row is first read back that long after it was applied, then again every
 * interval while it differs), row-error-delay, meta-flush-interval, batch-query-size (rows per
 * read-back query), check-interval (refresh of the positions, metrics and the pending limits),
 * max-pending-row-count / max-pending-row-size (past them the validator stops with an error, as
 * DM's does).
 *
 * States: Stopped ⇄ Running; close() ends it (idempotent).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'mysql2/promise';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { binlogFileIndex, compareFilePos, formatFilePos, parseGtidSet, type Position } from '../../binlog/position.js';
import { parseByteSize, type ValidatorConfig } from '../../config/index.js';
import { DMError, toDMError, type DMErrorJSON } from '../../errors/index.js';
import { silentLogger } from '../../log/index.js';
import { createRegistry } from '../../metrics/index.js';
import { createPool, type ConnConfig } from '../../sql/index.js';
import type { AppliedSink, AppliedTxn } from '../sync/applied-sink.js';
import type { RowChange } from '../sync/txn.js';
import { forgetValidatorMetrics, validatorMetrics, type ValidatorMetrics } from './validator-metrics.js';
import {
  batchOutcomes,
  batchQuery,
  imageBytes,
  imageObject,
  isAfter,
  pkOf,
  rowKey,
  type PendingRow,
  type RowOutcome,
  type TxnRec,
  type ValidationMode,
} from './validator-rows.js';
import { ValidatorStore, type ErrorStatus, type NewError, type TableStage, type ValidationErrorRow } from './validator-store.js';

export type ValidatorStage = 'Running' | 'Stopped';

/** The validator settings of a subtask, resolved (milliseconds, bytes). */
export interface ValidatorSettings {
  mode: 'none' | ValidationMode;
  workerCount: number;
  validateIntervalMs: number;
  checkIntervalMs: number;
  rowErrorDelayMs: number;
  metaFlushIntervalMs: number;
  batchQuerySize: number;
  maxPendingRowBytes: number;
  maxPendingRowCount: number;
}

export function validatorSettings(v: ValidatorConfig): ValidatorSettings {
  return {
    mode: v.mode,
    workerCount: v.workerCount,
    validateIntervalMs: v.validateInterval,
    checkIntervalMs: v.checkInterval,
    rowErrorDelayMs: v.rowErrorDelay,
    metaFlushIntervalMs: v.metaFlushInterval,
    batchQuerySize: v.batchQuerySize,
    maxPendingRowBytes: parseByteSize(v.maxPendingRowSize) ?? Number.MAX_SAFE_INTEGER,
    maxPendingRowCount: v.maxPendingRowCount,
  };
}

export interface ValidatorOptions {
  taskName: string;
  sourceId: string;
  metaSchema: string;
  /** The target connection (the sync unit's session: src/units/sync/target.ts). */
  target: ConnConfig;
  settings: ValidatorSettings;
  logger?: Logger;
  registry?: Registry;
}

/** What the leader asks (`dmctl validation start|stop`), else the task config's mode. */
export interface DesiredValidation {
  stage: ValidatorStage;
  mode?: ValidationMode;
  /** Validate only changes committed upstream at or after this instant (ISO). */
  startTime?: string;
  /** `validation update`: the cut-over position. */
  cutover?: Cutover;
}

export interface Cutover {
  pos?: { file: string; offset: number };
  gtid?: string;
}

/** The validator of one subtask as `dmctl validation status` and `query-status` show it. */
export interface ValidatorStatus {
  task: string;
  source: string;
  mode: string;
  stage: ValidatorStage;
  validatorBinlog: string;
  validatorBinlogGtid: string;
  result: { isCanceled: boolean; errors: DMErrorJSON[] } | null;
  processedRowsStatus: string;
  pendingRowsStatus: string;
  errorRowsStatus: string;
  cutoverBinlogPos: string;
  cutoverBinlogGtid: string;
  /** DM.ts: the range of applied changes verified equal on the target: (verifiedFrom, verifiedThrough]. */
  verifiedFrom: string;
  verifiedThrough: string;
  verifiedThroughGtid: string;
  /** Unprocessed errors hold verifiedThrough. */
  heldByErrors: number;
  /** Rows not validated: their table was dropped or altered before they were read back. */
  skippedRows: number;
  /** verifiedThrough has reached the cut-over position of `validation update`. */
  cutoverReached: boolean;
  notValidatedTables: string[];
}

type Op = 'insert' | 'update' | 'delete';
/** Compact the transaction list once it holds this many entries. */
const COMPACT_RECS_AT = 4096;
const ER_NO_SUCH_TABLE = 1146;
const ER_BAD_FIELD_ERROR = 1054;
/** Retry of a start that failed (target unreachable). */
const START_RETRY_MS = 5_000;
const OPS: readonly Op[] = ['insert', 'update', 'delete'];

const fmt = (p: Position | undefined): string => (p && p.file ? `(${p.file}, ${p.offset})` : '');

export class ContinuousValidator implements AppliedSink {
  private stage: ValidatorStage = 'Stopped';
  private mode: ValidationMode;
  private readonly s: ValidatorSettings;
  private readonly log: Logger;
  private readonly metrics: ValidatorMetrics;
  private readonly labels: { task: string; source_id: string };
  private readonly store: ValidatorStore;
  private pool: Pool | undefined;
  private loaded: Promise<void> | undefined;
  private tablesReady = false;

  private readonly pending = new Map<string, PendingRow>();
  private pendingBytes = 0;
  private pendingOps: Record<Op, number> = { insert: 0, update: 0, delete: 0 };
  /** Transactions with changes not yet verified, in binlog order from `head`. */
  private recs: TxnRec[] = [];
  private head = 0;
  /** Rows held by unprocessed errors: their transactions stay open. */
  private readonly held = new Map<string, TxnRec[]>();
  private lowWater: (() => Position) | undefined;
  private verifiedFrom: Position | undefined;
  private verifiedThrough: Position | undefined;
  /** The last transaction taken off the head of `recs` (all verified up to it). */
  private poppedThrough: Position | undefined;
  /** Unprocessed errors found before this process started (their transactions are not known). */
  private oldErrorsHold = false;
  private startAfterSec = 0;
  private cutover: Cutover | undefined;

  private processed: Record<Op, number> = { insert: 0, update: 0, delete: 0 };
  /** Rows left unverified because their table was dropped or altered before they were read back. */
  private skippedRows = 0;
  private errorCounts: Record<ErrorStatus, number> = { new: 0, ignored: 0, resolved: 0 };
  private readonly tables = new Map<string, TableStage>();
  private dirtyTables = new Set<string>();
  private readonly upserts = new Map<string, PendingRow>();
  private readonly removes = new Map<string, { schema: string; table: string; pk: string }>();
  private savedPos: Position | undefined;
  private saving: Promise<void> = Promise.resolve();
  private lastError: DMErrorJSON | undefined;

  private ac: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private closed = false;
  private wantRunning = false;
  private starting = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: ValidatorOptions) {
    this.s = o.settings;
    this.mode = o.settings.mode === 'fast' ? 'fast' : 'full';
    this.log = (o.logger ?? silentLogger).child({ component: 'validator', task: o.taskName, source: o.sourceId });
    this.labels = { task: o.taskName, source_id: o.sourceId };
    this.metrics = validatorMetrics(o.registry ?? createRegistry());
    this.store = new ValidatorStore(o.metaSchema, o.taskName, o.sourceId);
  }

  /** The stage the task config asks for when the leader has said nothing. */
  configured(): DesiredValidation {
    return this.s.mode === 'none' ? { stage: 'Stopped' } : { stage: 'Running', mode: this.s.mode };
  }

  get currentStage(): ValidatorStage {
    return this.stage;
  }

  private requirePool(): Pool {
    if (!this.pool) this.pool = createPool(this.o.target, { connectionLimit: this.s.workerCount + 2, connectTimeoutMs: 5000 });
    return this.pool;
  }

  /** Read the saved state once (before the first save; changes told meanwhile win over older saved images). */
  private load(): Promise<void> {
    this.loaded ??= (async () => {
      const pool = this.requirePool();
      const { cp, pending, tables } = await this.store.load(pool);
      for (const t of tables) this.tables.set(`${t.srcSchema}.${t.srcTable}`, t);
      for (const r of pending) {
        const cur = this.pending.get(r.key);
        if (cur && !isAfter(r.pos, cur.pos)) continue;
        if (cur) this.dropPending(cur);
        r.dueAt = Date.now();
        r.recs = [this.addRec(r.pos)];
        this.putPending(r);
      }
      if (cp) {
        this.tablesReady = true; // they exist: a stopped validator keeps its pending rows' images saved too
        this.savedPos = cp.pos;
        for (const op of OPS) this.processed[op] += Number(cp.counters[op] ?? 0);
        if (cp.verifiedFrom) {
          this.verifiedFrom ??= parseFmt(cp.verifiedFrom, '');
          this.verifiedThrough ??= parseFmt(cp.verifiedThrough, cp.verifiedGtid);
        }
      }
      this.errorCounts = await this.store.errorCounts(pool);
      this.oldErrorsHold = this.errorCounts.new > 0;
      this.metrics.errorCount.set(this.labels, this.errorCounts.new);
    })().catch((e: unknown) => {
      this.loaded = undefined;
      throw toDMError(e, 'ErrValidatorLoadPersistedData', 'cannot read the validator state from the target');
    });
    return this.loaded;
  }

  // ---------------------------------------------------------------- AppliedSink

  bind(lowWater: () => Position): void {
    this.lowWater = lowWater;
    if (this.stage === 'Running' && !this.verifiedFrom) this.beginRange();
  }

  applied(txns: readonly AppliedTxn[]): void {
    if (this.closed) return;
    const now = Date.now();
    // while starting (reading the saved state), changes are recorded as when running: a restarted
    // sync unit replays the already-applied transactions right away
    const recording = this.stage === 'Running' || this.starting;
    for (const t of txns) {
      if (!recording) {
        // keep images of rows already pending current (a later start compares the right image)
        if (this.pending.size > 0) for (const ch of t.changes) this.record(ch, t, undefined, now, true);
        continue;
      }
      if (this.startAfterSec > 0 && t.timestamp > 0 && t.timestamp < this.startAfterSec) continue;
      const rec: TxnRec = { pos: t.pos, open: 0 };
      for (const ch of t.changes) this.record(ch, t, rec, now, false);
      if (rec.open > 0) this.insertRec(rec);
    }
  }

  async beforeCheckpoint(pos: Position): Promise<void> {
    if (!this.loaded || this.closed) return;
    await this.loaded.catch(() => undefined);
    if (this.upserts.size === 0 && this.removes.size === 0 && this.dirtyTables.size === 0) return;
    await this.save(pos);
  }

  // ---------------------------------------------------------------- recording

  private record(ch: RowChange, t: AppliedTxn, rec: TxnRec | undefined, now: number, onlyPending: boolean): void {
    const srcSchema = ch.srcSchema ?? ch.schema;
    const srcTable = ch.srcTable ?? ch.table;
    if (!onlyPending) this.noteTable(srcSchema, srcTable, ch);
    if (ch.keyIdx.length === 0) return;
    const add = (expect: 'present' | 'absent', image: unknown[]): void => {
      const pk = pkOf(image, ch.keyIdx);
      const key = rowKey(ch.schema, ch.table, pk);
      const cur = this.pending.get(key);
      if (onlyPending && !cur) return;
      if (cur && isAfter(cur.pos, t.pos)) return; // a replayed older change
      if (cur) {
        this.pendingOps[cur.op]--;
        this.pendingBytes -= cur.bytes;
        cur.expect = expect;
        cur.image = image;
        cur.columns = ch.columns;
        cur.keyIdx = ch.keyIdx;
        cur.op = ch.op;
        cur.pos = t.pos;
        cur.dueAt = now + this.s.validateIntervalMs;
        cur.firstFailAt = 0;
        cur.version++;
        cur.bytes = imageBytes(image);
        this.pendingOps[cur.op]++;
        this.pendingBytes += cur.bytes;
        if (rec) {
          cur.recs.push(rec);
          rec.open++;
        }
        this.markUpsert(cur);
        return;
      }
      const row: PendingRow = {
        key,
        pk,
        schema: ch.schema,
        table: ch.table,
        srcSchema,
        srcTable,
        columns: ch.columns,
        keyIdx: ch.keyIdx,
        expect,
        image,
        op: ch.op,
        pos: t.pos,
        dueAt: now + this.s.validateIntervalMs,
        firstFailAt: 0,
        version: 0,
        recs: rec ? [rec] : [],
        bytes: imageBytes(image),
      };
      if (rec) rec.open++;
      this.putPending(row);
      this.markUpsert(row);
    };
    if (ch.op === 'insert' && ch.after) add('present', ch.after);
    else if (ch.op === 'delete' && ch.before) add('absent', ch.before);
    else if (ch.op === 'update' && ch.after) {
      if (ch.before && pkOf(ch.before, ch.keyIdx) !== pkOf(ch.after, ch.keyIdx)) add('absent', ch.before);
      add('present', ch.after);
    }
  }

  private noteTable(srcSchema: string, srcTable: string, ch: RowChange): void {
    const k = `${srcSchema}.${srcTable}`;
    const cur = this.tables.get(k);
    const stage = ch.keyIdx.length === 0 ? 'Stopped' : 'Running';
    if (cur && cur.stage === stage && cur.tgtSchema === ch.schema && cur.tgtTable === ch.table) return;
    this.tables.set(k, { srcSchema, srcTable, tgtSchema: ch.schema, tgtTable: ch.table, stage, message: stage === 'Stopped' ? 'no primary key' : '' });
    this.dirtyTables.add(k);
  }

  private putPending(r: PendingRow): void {
    this.pending.set(r.key, r);
    this.pendingOps[r.op]++;
    this.pendingBytes += r.bytes;
  }

  private dropPending(r: PendingRow): void {
    this.pending.delete(r.key);
    this.pendingOps[r.op]--;
    this.pendingBytes -= r.bytes;
  }

  private markUpsert(r: PendingRow): void {
    this.upserts.set(r.key, r);
    this.removes.delete(r.key);
  }

  private markRemoved(r: PendingRow): void {
    this.upserts.delete(r.key);
    this.removes.set(r.key, { schema: r.schema, table: r.table, pk: r.pk });
  }

  private addRec(pos: Position): TxnRec {
    const rec: TxnRec = { pos, open: 1 };
    this.insertRec(rec);
    return rec;
  }

  /** Insert in binlog order (commits arrive nearly in order: search from the tail). */
  private insertRec(rec: TxnRec): void {
    let i = this.recs.length;
    while (i > this.head && isAfter((this.recs[i - 1] as TxnRec).pos, rec.pos)) i--;
    this.recs.splice(i, 0, rec);
  }

  private release(recs: readonly TxnRec[]): void {
    for (const r of recs) r.open--;
  }

  // ---------------------------------------------------------------- verified-through

  private beginRange(): void {
    const lw = this.lowWater?.();
    if (lw && lw.file) {
      this.verifiedFrom = lw;
      this.verifiedThrough = lw;
    }
  }

  /** Move verified-through over the transactions whose rows are all verified and all applied. */
  private advance(): void {
    const lw = this.lowWater?.();
    if (!lw || !lw.file || this.stage !== 'Running') return;
    if (!this.verifiedFrom) this.beginRange();
    let last: Position | undefined;
    while (this.head < this.recs.length) {
      const r = this.recs[this.head] as TxnRec;
      if (r.open > 0 || isAfter(r.pos, lw)) break;
      last = r.pos;
      this.head++;
    }
    if (last) this.poppedThrough = last;
    this.compactRecs();
    // errors found before a restart hold the position (their transactions are not known here)
    if (this.oldErrorsHold) return;
    const next = this.head >= this.recs.length ? lw : this.poppedThrough;
    if (next && (!this.verifiedThrough || isAfter(next, this.verifiedThrough))) this.verifiedThrough = next;
  }

  /**
   * Behind a transaction that stays open (a row pending or held by an error) only the open ones
   * and the last of each run of closed ones matter: the rest are dropped, so an error left
   * unprocessed for long does not make the list grow with every transaction applied after it.
   */
  private compactRecs(): void {
    if (this.head > 0 && (this.head > 4096 || this.head * 2 > this.recs.length)) {
      this.recs = this.recs.slice(this.head);
      this.head = 0;
    }
    if (this.recs.length < COMPACT_RECS_AT) return;
    const out: TxnRec[] = [];
    for (let i = 0; i < this.recs.length; i++) {
      const r = this.recs[i] as TxnRec;
      const next = this.recs[i + 1];
      if (r.open > 0 || !next || next.open > 0) out.push(r);
    }
    this.recs = out;
  }

  // ---------------------------------------------------------------- control

  /** Converge to what the leader (or the task config) asks. */
  async setDesired(d: DesiredValidation): Promise<void> {
    if (this.closed) return;
    if (d.cutover) this.cutover = d.cutover;
    this.wantRunning = d.stage === 'Running';
    if (d.stage === 'Running') {
      const mode = d.mode ?? (this.s.mode === 'fast' ? 'fast' : 'full');
      const startAfter = d.startTime ? Math.floor(new Date(d.startTime).getTime() / 1000) : 0;
      if (this.stage === 'Running' && mode === this.mode && startAfter === this.startAfterSec) return;
      this.mode = mode;
      this.startAfterSec = startAfter;
      await this.start();
    } else if (this.stage === 'Running') {
      await this.stop();
    } else {
      // stopped from the start: still read the saved state (the images of pending rows are kept current)
      await this.load().catch((e: unknown) => this.log.warn({ err: e }, 'validator state not read'));
      if (this.savedPos === undefined && this.pending.size === 0 && !this.wantRunning && this.pool) {
        // nothing saved (never validated): hold no target connection
        const p = this.pool;
        this.pool = undefined;
        await p.end().catch(() => undefined);
      }
    }
  }

  private async start(): Promise<void> {
    if (this.stage === 'Running' || this.starting) return;
    this.lastError = undefined;
    this.starting = true;
    try {
      const pool = this.requirePool();
      if (!this.tablesReady) {
        await this.store.ensureTables(pool);
        this.tablesReady = true;
      }
      await this.load();
    } catch (e) {
      this.starting = false;
      const err = toDMError(e, 'ErrValidatorLoadPersistedData', 'cannot prepare the validator tables in the target');
      this.lastError = err.toJSON();
      this.log.error({ err }, 'validator cannot start; retrying');
      // the target may be back later: try again while the validator is still wanted
      if (!this.retryTimer) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          if (this.wantRunning && !this.closed) void this.start();
        }, START_RETRY_MS);
        this.retryTimer.unref();
      }
      return;
    }
    this.starting = false;
    if (this.closed) return;
    this.stage = 'Running';
    if (!this.verifiedFrom) this.beginRange();
    this.log.info({ mode: this.mode, verifiedFrom: this.verifiedFrom }, 'validator started');
    const ac = new AbortController();
    this.ac = ac;
    this.loop = this.run(ac.signal);
  }

  private async stop(reason?: DMError): Promise<void> {
    if (this.stage !== 'Running') return;
    this.stage = 'Stopped';
    this.ac?.abort();
    if (this.loop) await this.loop.catch(() => undefined);
    this.loop = undefined;
    if (reason) this.lastError = reason.toJSON();
    // a later start begins a new verified range: changes applied while stopped are not verified
    this.verifiedFrom = undefined;
    this.verifiedThrough = undefined;
    this.recs = [];
    this.head = 0;
    this.poppedThrough = undefined;
    for (const r of this.pending.values()) r.recs = [];
    this.held.clear();
    await this.save(this.lowWater?.() ?? this.savedPos).catch(() => undefined);
    this.log.info({ reason: reason?.message }, 'validator stopped');
  }

  /** Stop for good (the subtask stops): save what is pending. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.stage === 'Running') {
      this.ac?.abort();
      if (this.loop) await this.loop.catch(() => undefined);
      if (this.loaded) await this.save(this.lowWater?.() ?? this.savedPos).catch(() => undefined);
    }
    this.closed = true;
    this.stage = 'Stopped';
    await this.saving;
    forgetValidatorMetrics(this.metrics, this.o.taskName, this.o.sourceId);
    const p = this.pool;
    this.pool = undefined;
    if (p) await p.end().catch(() => undefined);
  }

  /** `dmctl validation update`: the cut-over position shown in the status (reached once verified-through passes it). */
  update(c: Cutover): void {
    this.cutover = c;
  }

  // ---------------------------------------------------------------- the loop

  private async run(signal: AbortSignal): Promise<void> {
    const tick = Math.max(20, Math.min(500, Math.floor(this.s.validateIntervalMs / 4)));
    let lastCheck = 0;
    let lastFlush = Date.now();
    while (!signal.aborted) {
      // timers/promises removes its abort listener when the timer fires (one added per tick would pile up on the signal)
      await sleep(tick, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) break;
      try {
        await this.round(signal);
        const now = Date.now();
        if (now - lastCheck >= this.s.checkIntervalMs) {
          lastCheck = now;
          this.advance();
          this.refreshMetrics();
          if (this.pending.size > this.s.maxPendingRowCount || this.pendingBytes > this.s.maxPendingRowBytes) {
            const err = new DMError('ErrValidatorTooMuchPending', `${this.pending.size} rows (${this.pendingBytes} bytes) pending, limits max-pending-row-count ${this.s.maxPendingRowCount} / max-pending-row-size ${this.s.maxPendingRowBytes} bytes`);
            void this.stop(err);
            return;
          }
        }
        if (now - lastFlush >= this.s.metaFlushIntervalMs) {
          lastFlush = now;
          await this.save(this.lowWater?.() ?? this.savedPos);
        }
      } catch (e) {
        const err = toDMError(e, 'ErrValidatorQuery', 'validation round failed');
        this.lastError = err.toJSON();
        this.log.warn({ err }, 'validation round failed; retrying');
      }
    }
  }

  /** Compare every due row: batches of batch-query-size rows of one table, worker-count at a time. */
  private async round(signal: AbortSignal): Promise<void> {
    const now = Date.now();
    const groups = new Map<string, PendingRow[]>();
    for (const r of this.pending.values()) {
      if (r.dueAt > now) continue;
      const g = `${r.schema}\u0000${r.table}\u0000${r.columns.join('\u0001')}`;
      let list = groups.get(g);
      if (!list) groups.set(g, (list = []));
      list.push(r);
    }
    if (groups.size === 0) return;
    const batches: PendingRow[][] = [];
    for (const list of groups.values()) for (let i = 0; i < list.length; i += this.s.batchQuerySize) batches.push(list.slice(i, i + this.s.batchQuerySize));
    const queues: PendingRow[][][] = Array.from({ length: Math.min(this.s.workerCount, batches.length) }, () => []);
    batches.forEach((b, i) => queues[i % queues.length]?.push(b));
    const newErrors: NewError[] = [];
    let failure: unknown;
    await Promise.all(
      queues.map(async (q) => {
        for (const b of q) {
          if (signal.aborted || failure !== undefined) return;
          try {
            await this.compareBatch(b, newErrors);
          } catch (e) {
            if (!this.dropUnreadable(b, e)) failure = e;
          }
        }
      }),
    );
    if (newErrors.length > 0) await this.reportErrors(newErrors);
    if (failure !== undefined) throw failure;
  }

  private async compareBatch(rows: PendingRow[], newErrors: NewError[]): Promise<void> {
    const versions = rows.map((r) => r.version);
    const sql = batchQuery(rows, this.mode);
    const [res] = await this.requirePool().query(sql);
    const outcomes = batchOutcomes(rows, res as Record<string, unknown>[]);
    const now = Date.now();
    rows.forEach((row, i) => {
      if (this.pending.get(row.key) !== row || row.version !== versions[i]) return; // changed meanwhile
      const out = outcomes[i] as RowOutcome;
      if (out.equal) {
        this.dropPending(row);
        this.markRemoved(row);
        this.release(row.recs);
        this.processed[row.op]++;
        return;
      }
      if (row.firstFailAt === 0) row.firstFailAt = now;
      if (now - row.firstFailAt < this.s.rowErrorDelayMs) {
        row.dueAt = now + this.s.validateIntervalMs;
        return;
      }
      // different for longer than row-error-delay: an error; its transactions stay open until it is processed
      this.dropPending(row);
      this.markRemoved(row);
      const held = this.held.get(row.key) ?? [];
      held.push(...row.recs);
      this.held.set(row.key, held);
      this.processed[row.op]++;
      newErrors.push({
        srcSchema: row.srcSchema,
        srcTable: row.srcTable,
        tgtSchema: row.schema,
        tgtTable: row.table,
        pk: row.pk,
        data: row.expect === 'present' ? imageObject(row.columns, row.image) : imageObject(row.keyIdx.map((k) => row.columns[k] ?? ''), row.keyIdx.map((k) => row.image[k])),
        dstData: out.target,
        type: out.type,
        message: `${row.op} at ${formatFilePos(row.pos)}; different since ${new Date(row.firstFailAt).toISOString()}`,
      });
    });
  }

  /**
   * A batch the target cannot answer because its table was dropped or its columns changed (a DDL
   * applied after these rows): they cannot be read back as they were written, so they leave the
   * pending set unverified (counted in `skippedRows`, table message set). Other errors: retried.
   */
  private dropUnreadable(rows: readonly PendingRow[], e: unknown): boolean {
    const errno = (e as { errno?: number }).errno;
    if (errno !== ER_NO_SUCH_TABLE && errno !== ER_BAD_FIELD_ERROR) return false;
    const first = rows[0];
    this.log.warn({ err: e, table: first ? `${first.schema}.${first.table}` : '', rows: rows.length }, 'rows cannot be read back (table dropped or altered after they were applied): not validated');
    for (const r of rows) {
      if (this.pending.get(r.key) !== r) continue;
      this.dropPending(r);
      this.markRemoved(r);
      this.release(r.recs);
      this.skippedRows++;
    }
    if (first) {
      const k = `${first.srcSchema}.${first.srcTable}`;
      const t = this.tables.get(k);
      if (t) {
        t.message = `${rows.length} rows not validated: the table was dropped or altered after they were applied`;
        this.dirtyTables.add(k);
      }
    }
    return true;
  }

  private async reportErrors(errs: NewError[]): Promise<void> {
    const pool = this.requirePool();
    for (const e of errs) this.log.warn({ table: `${e.tgtSchema}.${e.tgtTable}`, key: e.pk, type: e.type, expected: e.data, target: e.dstData }, 'validation error: target row differs');
    try {
      await this.store.addErrors(pool, errs);
      this.errorCounts = await this.store.errorCounts(pool);
      this.metrics.errorCount.set(this.labels, this.errorCounts.new);
    } catch (e) {
      throw toDMError(e, 'ErrValidatorPersistData', 'cannot record validation errors');
    }
  }

  // ---------------------------------------------------------------- save

  private save(pos: Position | undefined): Promise<void> {
    const next = this.saving.then(async () => {
      if (!this.pool || !this.tablesReady) return;
      const at = pos && pos.file ? pos : this.savedPos;
      if (!at) return;
      const upsert = [...this.upserts.values()];
      const remove = [...this.removes.values()];
      const tables = [...this.dirtyTables].map((k) => this.tables.get(k)).filter((t): t is TableStage => t !== undefined);
      this.upserts.clear();
      this.removes.clear();
      this.dirtyTables.clear();
      try {
        await this.store.save(this.pool, {
          pos: at,
          verifiedFrom: this.verifiedFrom ? formatFilePos(this.verifiedFrom) : '',
          verifiedThrough: this.verifiedThrough ? formatFilePos(this.verifiedThrough) : '',
          verifiedGtid: this.verifiedThrough?.gtid ?? '',
          counters: { ...this.processed },
          upsert,
          remove,
          tables,
        });
        this.savedPos = at;
      } catch (e) {
        // keep them for the next save (a newer change of the same row wins)
        for (const r of upsert) if (!this.removes.has(r.key) && !this.upserts.has(r.key) && this.pending.get(r.key) === r) this.upserts.set(r.key, r);
        for (const [k, r] of remove.map((x) => [rowKey(x.schema, x.table, x.pk), x] as const)) if (!this.upserts.has(k)) this.removes.set(k, r);
        for (const t of tables) this.dirtyTables.add(`${t.srcSchema}.${t.srcTable}`);
        const err = toDMError(e, 'ErrValidatorPersistData', 'cannot save the validator state');
        this.lastError = err.toJSON();
        this.log.warn({ err }, 'validator state not saved');
        throw err;
      }
    });
    this.saving = next.catch(() => undefined);
    return next;
  }

  // ---------------------------------------------------------------- errors (show / operate)

  async errors(status?: ErrorStatus): Promise<ValidationErrorRow[]> {
    return this.store.errors(this.requirePool(), status);
  }

  async operateError(op: 'ignore' | 'resolve' | 'clear', id: number | 'all'): Promise<void> {
    const pool = this.requirePool();
    const rows = await this.store.operate(pool, op, id);
    for (const r of rows) {
      const k = rowKey(r.tgtSchema, r.tgtTable, r.pk);
      const held = this.held.get(k);
      if (held) this.release(held);
      this.held.delete(k);
    }
    this.errorCounts = await this.store.errorCounts(pool);
    if (this.errorCounts.new === 0) this.oldErrorsHold = false;
    this.metrics.errorCount.set(this.labels, this.errorCounts.new);
    this.advance();
  }

  // ---------------------------------------------------------------- status

  private refreshMetrics(): void {
    const m = this.metrics;
    const l = this.labels;
    m.pendingRows.set(l, this.pending.size);
    const lw = this.lowWater?.();
    const v = this.verifiedThrough;
    if (lw && lw.file) {
      m.binlogPos.set(l, lw.offset);
      m.binlogFile.set(l, Number.isFinite(binlogFileIndex(lw.file)) ? binlogFileIndex(lw.file) : 0);
    }
    if (v && v.file) m.verifiedPos.set(l, v.offset);
    if (lw && v && lw.file && v.file) {
      const fl = binlogFileIndex(lw.file) - binlogFileIndex(v.file);
      m.logFileLatency.set(l, Number.isFinite(fl) ? fl : 0);
      m.logPosLatency.set(l, fl === 0 ? Math.max(0, lw.offset - v.offset) : lw.offset);
    }
  }

  status(): ValidatorStatus {
    if (this.stage === 'Running') this.advance();
    const lw = this.lowWater?.();
    const triple = (r: Record<string, number>, keys: readonly string[]): string => keys.map((k) => r[k] ?? 0).join('/');
    const cut = this.cutover;
    return {
      task: this.o.taskName,
      source: this.o.sourceId,
      mode: this.stage === 'Running' ? this.mode : this.s.mode === 'none' ? 'none' : this.mode,
      stage: this.stage,
      validatorBinlog: fmt(lw),
      validatorBinlogGtid: lw?.gtid ?? '',
      result: this.lastError ? { isCanceled: false, errors: [this.lastError] } : null,
      processedRowsStatus: `insert/update/delete: ${triple(this.processed, OPS)}`,
      pendingRowsStatus: `insert/update/delete: ${triple(this.pendingOps, OPS)}`,
      errorRowsStatus: `new/ignored/resolved: ${triple(this.errorCounts, ['new', 'ignored', 'resolved'])}`,
      cutoverBinlogPos: cut?.pos ? `(${cut.pos.file}, ${cut.pos.offset})` : '',
      cutoverBinlogGtid: cut?.gtid ?? '',
      verifiedFrom: fmt(this.verifiedFrom),
      verifiedThrough: fmt(this.verifiedThrough),
      verifiedThroughGtid: this.verifiedThrough?.gtid ?? '',
      heldByErrors: this.oldErrorsHold ? this.errorCounts.new : this.held.size,
      skippedRows: this.skippedRows,
      cutoverReached: this.cutoverReached(),
      notValidatedTables: [...this.tables.values()].filter((t) => t.stage === 'Stopped').map((t) => `${t.srcSchema}.${t.srcTable} (${t.message})`),
    };
  }

  /** Whether it has anything to show: asked to run (now or by the task config), or it has saved state. */
  active(): boolean {
    return this.stage === 'Running' || this.s.mode !== 'none' || this.savedPos !== undefined || this.pending.size > 0 || this.lastError !== undefined;
  }

  /** Per upstream table: its target table and stage (`--table-stage`). */
  tableStatus(stage?: ValidatorStage): TableStage[] {
    return [...this.tables.values()].filter((t) => !stage || t.stage === stage);
  }

  /** Whether verified-through has reached the cut-over position (`validation update`). */
  cutoverReached(): boolean {
    const c = this.cutover;
    const v = this.verifiedThrough;
    if (!c || !v) return false;
    if (c.pos) return !!v.file && compareFilePos(v, c.pos) >= 0;
    if (!c.gtid || !v.gtid) return false;
    // a cut-over GTID set: reached once the verified set contains it (MySQL sets have `uuid:`, MariaDB lists not)
    const flavor = c.gtid.includes(':') ? 'mysql' : 'mariadb';
    try {
      return parseGtidSet(v.gtid, flavor).contains(parseGtidSet(c.gtid, flavor));
    } catch {
      return false;
    }
  }
}

function parseFmt(text: string, gtid: string): Position | undefined {
  const i = text.lastIndexOf(':');
  if (i <= 0) return undefined;
  return { file: text.slice(0, i), offset: Number(text.slice(i + 1)), gtid };
}
