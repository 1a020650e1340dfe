/**
 * The applier: one group of upstream transactions (chosen by the causality scheduler,
 * causality.ts) → one target transaction, with its ledger row, retried while the target fails
 * retryably; then the low-water mark learns that the group is in.
 *
 *   consumer.ts → causality.ts (worker-count of these, in parallel) → applier.ts → tracker.ts → checkpoint-flush.ts
 *
 * Guarantees:
 * - Exactly-once: the group's rows and its ledger row (checkpoint.ts's ledgerInsertSQL) commit in
 *   one target transaction; a retry after an error first asks the ledger whether the commit
 *   happened before the connection broke.
 * - Never half an upstream transaction: a huge one may span several queries, but all inside one
 *   START TRANSACTION … COMMIT; a failed one is rolled back (or its connection destroyed).
 * - A group the target REJECTS (non-retryable) is re-applied one upstream transaction per target
 *   transaction, so the error, its position and the operator's `dmctl binlog skip|replace`
 *   concern exactly the failing transaction; then every one of them has its own ledger row.
 * - Safe mode (REPLACE / DELETE+REPLACE, dml-builder.ts) when the task asks for it, for
 *   safe-mode-duration after an unclean exit, and for any group touching the full phase's
 *   overlap (at or before its last snapshot position).
 *
 * Not here: which transactions may run together (causality.ts), when the mark is written
 * (checkpoint-flush.ts), DDL (ddl-apply.ts).
 */
import type { Pool, PoolConnection } from 'mysql2/promise';
import { compareFilePos, formatFilePos, type Position } from '../../binlog/position.js';
import { DMError } from '../../errors/index.js';
import { classifyCode, isRetryable } from '../../sql/index.js';
import type { Group } from './causality.js';
import type { CheckpointStore } from './checkpoint.js';
import type { FailedEventDecision, FailedEventInfo } from './config.js';
import { buildStatements } from './dml-builder.js';
import { jobLabels, type SyncMetrics } from './metrics.js';
import type { Counters, StageWaits, SyncLabels } from './sync-status.js';
import { retryExhausted, type TargetRetry } from './target.js';
import type { LowWaterMark } from './tracker.js';
import type { RowChange, UpstreamTxn } from './txn.js';

/** Upper bound of one multi-statement query (max_allowed_packet is 16 MiB by default). */
const MAX_QUERY_BYTES = 4 * 1024 * 1024;

/** When a group is applied in safe mode (fixed for a run). */
export interface SafeModePolicy {
  /** `safe-mode: true`. */
  always: boolean;
  /** Automatic safe mode (after an unclean exit) until this time (ms; 0 = off). */
  autoUntil: number;
  /** The full phase's highest snapshot position (SyncConfig.safeModeUntil). */
  snapshotEnd: Position | undefined;
}

/** Whether group `g` is applied in safe mode. */
export function safeModeFor(p: SafeModePolicy, g: { txns: readonly { pos: Position }[] }): boolean {
  if (p.always) return true;
  if (p.autoUntil > 0 && Date.now() < p.autoUntil) return true;
  const until = p.snapshotEnd;
  // the full phase's overlap: safe as soon as ANY of the group's transactions lies in it (a group
  // that merges transactions across the upper bound must not apply the earlier ones non-idempotently)
  if (until && until.file) return g.txns.some((t) => t.pos.file !== '' && compareFilePos(t.pos, until) <= 0);
  return false;
}

/** The operator's decision on a failed event (`dmctl binlog`), shared by the applier and the DDL barrier. */
export type FailedEventHook = (info: FailedEventInfo) => Promise<FailedEventDecision>;

export interface ApplierDeps {
  pool: Pool;
  store: Pick<CheckpointStore, 'ledgerInsertSQL' | 'hasTxn'>;
  retry: TargetRetry;
  onFailed: FailedEventHook;
  safeMode: SafeModePolicy;
  /** Marked done as groups commit. */
  tracker: LowWaterMark;
  totals: Pick<Counters, 'txns'>;
  waits: StageWaits;
  metrics: Pick<SyncMetrics, 'txnDuration' | 'finishedTxn' | 'finishedJobs'>;
  labels: SyncLabels;
}

/** A merged group the target rejected (non-retryable): its transactions are applied again one by one. */
class RejectedGroup extends Error {
  constructor(cause: unknown) {
    super('target rejected a merged group', { cause });
  }
}

export class TxnApplier {
  private readonly d: ApplierDeps;

  constructor(deps: ApplierDeps) {
    this.d = deps;
  }

  /** The scheduler's onCommitted: the group is in the target; the low-water mark may pass it. */
  committed(g: Group): void {
    const tracker = this.d.tracker;
    // one ledger row per target transaction, keyed by its last upstream transaction
    const last = g.txns.length - 1;
    for (let i = 0; i <= last; i++) tracker.markDone((g.txns[i] as UpstreamTxn).track, i === last || g.ledgerEach === true);
    this.d.totals.txns += g.txns.length;
    this.d.metrics.finishedTxn.inc(this.d.labels, g.txns.length);
  }

  /**
   * Apply one group (one target transaction). When the target rejects a group of several upstream
   * transactions, they are applied again one per target transaction, so the error, its position
   * and an operator (`dmctl binlog skip|replace`) concern exactly the failing upstream transaction.
   */
  async applyGroup(g: Group, stop: AbortSignal): Promise<void> {
    const safeMode = safeModeFor(this.d.safeMode, g);
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
    const { pool, store, waits } = this.d;
    const t0 = performance.now();
    const changes = txns.length === 1 ? (txns[0]?.changes ?? []) : txns.flatMap((t) => t.changes);
    let stmts = buildStatements(changes, { safeMode });
    const ledgerSQL = store.ledgerInsertSQL(txns);
    const t1 = performance.now();
    waits.buildMs += t1 - t0;
    const rowKey = txns[txns.length - 1]?.id ?? '';
    const lastPos = txns[txns.length - 1]?.pos;
    let attempts = 0;
    for (;;) {
      try {
        await this.d.retry(async () => {
          if (attempts++ > 0 && (await store.hasTxn(pool, rowKey))) return; // committed before the error
          const conn = await pool.getConnection();
          await execTxn(conn, [...stmts, ledgerSQL]);
        }, stop);
        break;
      } catch (e) {
        if (isRetryable(e) || stop.aborted)
          throw retryExhausted(e, `transaction ending at ${lastPos ? formatFilePos(lastPos) : '?'}`);
        if (!single) throw new RejectedGroup(e);
        const at = `${txns.map((t) => t.id).join(', ')} ending at ${lastPos ? formatFilePos(lastPos) : '?'}`;
        const err =
          classifyCode(e) === 'ErrDBDuplicateEntry'
            ? new DMError('ErrSyncDMLDuplicateEntry', `the target already has a row with the key written by upstream transaction ${at} (safe mode ${safeMode ? 'on' : 'off'}): ${stmts.join('; ').slice(0, 300)}`, { cause: e })
            : new DMError('ErrSyncDMLExecFailed', `target rejected the DML of ${at}`, { cause: e });
        const decision = lastPos
          ? await this.d.onFailed({ pos: lastPos, sql: stmts, isDDL: false, error: { code: err.code, message: err.message } })
          : { action: 'fail' as const };
        if (decision.action === 'skip') stmts = [];
        else if (decision.action === 'replace') stmts = decision.sql;
        else throw err;
        attempts = 0;
      }
    }
    const t2 = performance.now();
    waits.targetMs += t2 - t1;
    waits.groups++;
    this.d.metrics.txnDuration.observe(this.d.labels, (t2 - t0) / 1000);
    if (stmts.length > 0) countJobs(changes, (c, n) => this.d.metrics.finishedJobs.inc(jobLabels(this.d.labels, c.op, c.schema, c.table), n));
  }
}

/** Runs of row changes of one kind on one target table: `fn(first of the run, length)`. */
function countJobs(changes: readonly RowChange[], fn: (c: RowChange, n: number) => void): void {
  let run: RowChange | undefined;
  let n = 0;
  for (const c of changes) {
    if (run && c.op === run.op && c.table === run.table && c.schema === run.schema) {
      n++;
      continue;
    }
    if (run) fn(run, n);
    run = c;
    n = 1;
  }
  if (run) fn(run, n);
}

/** One target transaction in one round trip; rolled back on any error. */
async function execTxn(conn: PoolConnection, stmts: string[]): Promise<void> {
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
