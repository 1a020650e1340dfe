/**
 * What the sync unit says about itself: query-status's fields, the `dm_syncer_*` gauges, and the
 * source's master position they are compared with.
 *
 * The stages write plain counters here (SyncProgress.totals and .waits, currentPos, idle) on
 * their hot paths, nothing more; everything derived (rates, lag, `synced`, remaining time) is
 * computed when status() or the unit's timer asks, never per event.
 *
 * Guarantees:
 * - `synced` is true only when the source's master position is at or before the applied
 *   low-water mark, and that master position was read at most MASTER_FRESH_MS ago. query-status
 *   reads it first (refreshForStatus(): one SHOW MASTER STATUS, bounded in time), so a
 *   reply never compares with a position the unit's timer read up to checkpoint-flush-interval
 *   (30 s) earlier; when the source cannot be read, `synced` is false. Every applied transaction
 *   is durable with its ledger row, so the applied mark counts, not the checkpoint flushed up to
 *   checkpoint-flush-interval later.
 * - `lagSeconds` is the age of the oldest upstream transaction not yet in the target (0 when
 *   none is pending).
 * - The master poll never fails the unit: a failed poll drops its connection and the next
 *   tick opens a new one.
 */
import type mysql from 'mysql2/promise';
import type { Position } from '../../binlog/position.js';
import { compareFilePos } from '../../binlog/position.js';
import type { DMErrorJSON } from '../../errors/index.js';
import { connect, getMasterStatus } from '../../sql/index.js';
import type { SyncReader } from './binlog-source.js';
import type { CausalityScheduler } from './causality.js';
import type { SyncConfig } from './config.js';
import { fileIndex, type SyncMetrics } from './metrics.js';
import type { LowWaterMark } from './tracker.js';

/** A master position older than this never makes a subtask `synced`. */
export const MASTER_FRESH_MS = 3_000;
/** A master read for query-status waits at most this long (a dead source must not hang query-status). */
const STATUS_READ_TIMEOUT_MS = 2_000;

export type SyncLabels = { task: string; source_id: string; worker: string };

/** Totals for status(). */
export interface Counters {
  events: number;
  rows: number;
  txns: number;
  skippedTxns: number;
  ddls: number;
}

/**
 * Where the time goes (ms, cumulative): the consumer waiting for the reader / for a free applier
 * (backpressure), appliers building statements and in target round trips (and how many).
 */
export interface StageWaits {
  readerMs: number;
  schedulerMs: number;
  buildMs: number;
  targetMs: number;
  groups: number;
}

/** The current (or last) run's stages, as far as status reads them. */
export interface RunView {
  tracker: LowWaterMark | undefined;
  scheduler: CausalityScheduler | undefined;
  reader: SyncReader | undefined;
}

/** The unit's own part of status(): its stage, last checkpoint, and the error a run ended with. */
export interface UnitView {
  stage: string;
  checkpointPos: Position | undefined;
  lastError: DMErrorJSON | undefined;
  failedEventPos: string | undefined;
}

export class SyncProgress {
  readonly totals: Counters = { events: 0, rows: 0, txns: 0, skippedTxns: 0, ddls: 0 };
  readonly waits: StageWaits = { readerMs: 0, schedulerMs: 0, buildMs: 0, targetMs: 0, groups: 0 };
  /** Position of the last event the consumer took. */
  currentPos: Position | undefined;
  /** The source's master position (last poll). */
  masterPos: Position | undefined;
  /** The reader's last heartbeat found nothing pending (lag is 0, not the age of the last transaction). */
  idle = false;
  private rateSample = { at: Date.now(), events: 0, rows: 0, txns: 0 };
  private rates = { eventsPerSec: 0, rowsPerSec: 0, txnsPerSec: 0 };
  private srcConn: mysql.Connection | undefined;
  /** When the timer's poll last started (it polls at most every 5 s). */
  private masterAt = 0;
  /** When masterPos was last read successfully (0: never, or the last read failed). */
  private masterReadAt = 0;
  /** The read in flight, shared by concurrent callers. */
  private masterRead: Promise<void> | undefined;
  private closed = false;
  private readonly source: SyncConfig['source'];
  private readonly metrics: SyncMetrics;
  private readonly labels: SyncLabels;

  constructor(source: SyncConfig['source'], metrics: SyncMetrics, labels: SyncLabels) {
    this.source = source;
    this.metrics = metrics;
    this.labels = labels;
  }

  /** query-status's record. */
  status(unit: UnitView, run: RunView): Record<string, unknown> {
    this.refreshRates();
    // Every applied transaction is already durable with its ledger row, so "synced" is judged on the
    // applied low-water mark, not on the periodically flushed checkpoint (up to checkpoint-flush-interval old).
    const lwm = run.tracker?.position;
    const appliedPos = lwm && lwm.file !== '' ? lwm : unit.checkpointPos;
    return {
      stage: unit.stage,
      currentPos: this.currentPos,
      appliedPos,
      checkpointPos: unit.checkpointPos,
      masterPos: this.masterPos,
      synced:
        this.masterPos !== undefined &&
        appliedPos !== undefined &&
        Date.now() - this.masterReadAt <= MASTER_FRESH_MS &&
        compareFilePos(this.masterPos, appliedPos) <= 0,
      lagSeconds: this.lagSeconds(run.tracker),
      ...this.rates,
      totalEvents: this.totals.events,
      totalRows: this.totals.rows,
      totalTransactions: this.totals.txns,
      skippedTransactions: this.totals.skippedTxns,
      totalDDLs: this.totals.ddls,
      pendingTransactions: run.tracker?.pending ?? 0,
      inflightGroups: run.scheduler?.inflightGroups ?? 0,
      readerQueue: run.reader?.status().queueEvents ?? 0,
      // while a reader runs: whether it reads the worker's relay (query-status binlogType)
      ...(run.reader ? { readsRelay: run.reader.status().relay === true } : {}),
      targetTransactions: this.waits.groups,
      waitMs: {
        reader: Math.round(this.waits.readerMs),
        scheduler: Math.round(this.waits.schedulerMs),
        dependency: Math.round(run.scheduler?.dependencyWaitMs ?? 0),
        build: Math.round(this.waits.buildMs),
        target: Math.round(this.waits.targetMs),
      },
      ...(unit.lastError ? { error: unit.lastError } : {}),
      ...(unit.lastError && unit.failedEventPos ? { failedEventPos: unit.failedEventPos } : {}),
    };
  }

  private refreshRates(): void {
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
  }

  lagSeconds(tracker: LowWaterMark | undefined): number {
    const ts = tracker?.oldestPendingTimestamp;
    if (ts === undefined || ts === 0) return 0;
    return Math.max(0, Date.now() / 1000 - ts);
  }

  /** The unit's timer (every checkpoint-flush-interval, after the checkpoint flush): master poll and gauges. */
  tick(stop: AbortSignal, run: RunView): void {
    void this.refreshMaster(stop).catch(() => undefined);
    const lag = this.idle ? 0 : this.lagSeconds(run.tracker);
    this.metrics.lag.set(this.labels, lag);
    this.metrics.queueSize.set(this.labels, run.scheduler?.pendingRows ?? 0);
    if (this.currentPos) {
      this.metrics.binlogFile.set({ ...this.labels, node: 'syncer' }, fileIndex(this.currentPos.file));
      this.metrics.binlogPos.set({ ...this.labels, node: 'syncer' }, this.currentPos.offset);
    }
    this.refreshRates();
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

  /** The end of a run: no lag while nothing runs. */
  stopped(): void {
    this.metrics.lag.set(this.labels, 0);
  }

  /** The timer's poll: at most every 5 s. */
  private async refreshMaster(stop: AbortSignal): Promise<void> {
    if (Date.now() - this.masterAt < 5000 || stop.aborted) return;
    this.masterAt = Date.now();
    await this.readMaster();
  }

  /**
   * Before query-status: read the master position again, with a read sent after this call
   * (concurrent callers share it).
   * Waits at most STATUS_READ_TIMEOUT_MS; a read that fails leaves `synced` false, never an
   * error of the reply.
   */
  async refreshForStatus(): Promise<void> {
    this.masterReadAt = 0; // a read that does not finish in time leaves synced false
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, STATUS_READ_TIMEOUT_MS)));
    try {
      // a read already in flight may have been sent before this call: wait for it, then read anew
      const read = (this.masterRead ?? Promise.resolve()).then(() => this.readMaster());
      await Promise.race([read, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private readMaster(): Promise<void> {
    this.masterRead ??= this.doReadMaster().finally(() => (this.masterRead = undefined));
    return this.masterRead;
  }

  private async doReadMaster(): Promise<void> {
    const src = this.source;
    if (this.closed) return;
    try {
      // the source's TLS and `from.session` applied
      if (!this.srcConn) {
        const c = await connect(src, { connectTimeoutMs: 3000 });
        if (this.closed) return void c.destroy();
        this.srcConn = c;
      }
      const r = await getMasterStatus(this.srcConn, { gtid: false });
      this.masterPos = { file: r.file, offset: r.offset, gtid: '' };
      this.masterReadAt = Date.now();
      this.metrics.binlogFile.set({ ...this.labels, node: 'master' }, fileIndex(r.file));
      this.metrics.binlogPos.set({ ...this.labels, node: 'master' }, this.masterPos.offset);
    } catch {
      this.masterReadAt = 0;
      const c = this.srcConn;
      this.srcConn = undefined;
      c?.destroy();
    }
  }

  /** Ends the master-poll connection (the unit's close()). */
  async close(): Promise<void> {
    this.closed = true;
    await this.masterRead?.catch(() => undefined);
    const s = this.srcConn;
    this.srcConn = undefined;
    if (s) await s.end().catch(() => undefined);
  }
}
