/**
 * The consumer: takes the reader's events in binlog order, filters and routes them, and hands
 * whole upstream transactions to the causality scheduler (DML) or to the DDL barrier (DDL).
 *
 *   binlog-source.ts (reader) → consumer.ts → causality.ts → applier.ts      (DML)
 *                                           ↘ ddl-apply.ts                   (DDL)
 *
 * Per event: block-allow list, binlog event filter (Ignore / Error), expression filter, route,
 * then the row changes and their causality keys (txn.ts) are added to the open transaction;
 * at its XID the transaction gets its low-water-mark entry (tracker.ts) and goes to the
 * scheduler, or is skipped when the target's ledger already has it (a replay after a crash),
 * or is marked done at once when no row was kept.
 *
 * Guarantees: an upstream transaction is never split (the scheduler gets it whole, or not at
 * all); every transaction and DDL gets its tracker entry in binlog order, so the checkpoint never
 * passes one that is not in the target; a transaction with a row matching an `Error` event filter
 * ends the run at its XID, before any of it is applied. The hot path allocates nothing beyond the
 * row changes themselves and awaits only the reader (once per batch of events when it has
 * `nextBatch`) and the scheduler's backpressure (once per transaction).
 *
 * Shard mode (`shard`: shard-pessimist.ts / shard-optimist.ts): every transaction (with the
 * upstream tables it touches) and every DDL goes through the shard handler, which may hold it back
 * behind a shard lock and hand it back to `dispatch` later; its tracker entry is pushed here, in
 * binlog order, either way.
 */
import type { Pool } from 'mysql2/promise';
import type { Logger } from 'pino';
import type { BinlogEvent, RowsEvent } from '../../binlog/events.js';
import { formatFilePos } from '../../binlog/position.js';
import { DMError } from '../../errors/index.js';
import type { SyncReader } from './binlog-source.js';
import type { CausalityScheduler } from './causality.js';
import type { DDLApplier } from './ddl-apply.js';
import type { SyncFilters } from './filters.js';
import type { OnlineDDL } from './online-ddl.js';
import { jobLabels, type SyncMetrics } from './metrics.js';
import type { SyncLabels, SyncProgress } from './sync-status.js';
import type { ShardHandler } from './shard-group.js';
import type { LowWaterMark } from './tracker.js';
import type { AppliedSink } from './applied-sink.js';
import { addKeysOf, appendRowChanges, type RowChange, type UpstreamTxn } from './txn.js';

export interface ConsumerDeps {
  filters: SyncFilters;
  caseSensitive: boolean;
  tracker: LowWaterMark;
  scheduler: Pick<CausalityScheduler, 'add' | 'error'>;
  ddl: Pick<DDLApplier, 'handleQuery' | 'structuresFromTarget' | 'passQuery'>;
  /** Online schema changes (task `online-ddl`): translates shadow / trash table DDL first. */
  online?: { plugin: Pick<OnlineDDL, 'translate' | 'settle'>; pool: Pool } | undefined;
  /** Counters and positions for status (written, never read, here). */
  progress: Pick<SyncProgress, 'totals' | 'waits' | 'currentPos' | 'idle'>;
  metrics: Pick<SyncMetrics, 'eventRows' | 'addedJobs'>;
  labels: SyncLabels;
  /** Told of transactions found already applied (ledgered above the checkpoint): applied-sink.ts. */
  sink?: AppliedSink | undefined;
  /** Shard DDL coordination (task `shard-mode`), for this run. */
  shard?: ShardHandler | undefined;
}

/** Events taken from the reader at a time (reader.nextBatch). */
const CONSUMER_BATCH_EVENTS = 512;

interface OpenTxn {
  gtid: string;
  changes: RowChange[];
  keys: Set<string>;
  bytes: number;
  failed?: DMError;
  /** Shard mode: the upstream tables (`schema\u0000table`) whose rows it keeps. */
  upTables?: Set<string>;
}

export class TxnConsumer {
  private readonly d: ConsumerDeps;
  /** Transactions and DDLs taken so far in this run (0: the next one may have been applied just before a crash). */
  private entries = 0;
  private ledger: Set<string> = new Set();
  private rowKeys: Set<string> = new Set();

  constructor(deps: ConsumerDeps) {
    this.d = deps;
  }

  /**
   * Consume until the reader ends or `stop` aborts. `ledger`: the ids the target's ledger holds
   * above the checkpoint (each consumed when met); `rowKeys`: those that are ledger row keys.
   */
  async run(reader: SyncReader, ledger: Set<string>, rowKeys: Set<string>, stop: AbortSignal): Promise<void> {
    const { tracker, scheduler, progress } = this.d;
    const shard = this.d.shard;
    this.ledger = ledger;
    this.rowKeys = rowKeys;
    shard?.attach({
      dispatch: (t, signal) => this.dispatch(t, signal),
      ledger,
      rowKeys,
    });
    const open = (gtid: string): OpenTxn => (shard ? { gtid, changes: [], keys: new Set(), bytes: 0, upTables: new Set() } : { gtid, changes: [], keys: new Set(), bytes: 0 });
    let cur: OpenTxn | undefined;
    // in batches when the reader can (one await and one timing per batch, not per event); a DDL
    // only ever starts a batch, so the reader's exportSchemas() fits every event of the batch
    const nextBatch = reader.nextBatch?.bind(reader);
    const it = nextBatch ? undefined : reader[Symbol.asyncIterator]();
    let batch: BinlogEvent[] = [];
    let at = 0;
    const waits = progress.waits;
    const totals = progress.totals;
    for (;;) {
      let ev: BinlogEvent;
      if (at < batch.length) ev = batch[at++]!;
      else {
        const t0 = performance.now();
        if (nextBatch) {
          batch = await nextBatch(CONSUMER_BATCH_EVENTS);
          at = 0;
          waits.readerMs += performance.now() - t0;
          if (batch.length === 0) break;
          ev = batch[at++]!;
        } else {
          const next = await it!.next();
          waits.readerMs += performance.now() - t0;
          if (next.done) break;
          ev = next.value;
        }
      }
      if (stop.aborted) break;
      if (scheduler.error !== undefined) throw scheduler.error;
      totals.events++;
      this.observe(ev);
      switch (ev.kind) {
        case 'gtid':
          cur = open(ev.gtid);
          break;
        case 'rows':
          cur ??= open('');
          this.addRows(cur, ev);
          break;
        case 'xid': {
          const t = cur ?? open('');
          cur = undefined;
          if (t.failed) throw t.failed;
          const id = t.gtid || formatFilePos(ev.pos);
          const track = tracker.push(id, ev.pos, ev.timestamp);
          this.entries++;
          const txn: UpstreamTxn = {
            id,
            pos: ev.pos,
            timestamp: ev.timestamp,
            changes: t.changes,
            keys: t.keys,
            bytes: t.bytes,
            track,
            ...(t.upTables ? { upTables: t.upTables } : {}),
          };
          if (shard) await shard.txn(txn, stop);
          else await this.dispatch(txn, stop);
          break;
        }
        case 'query': {
          const t = cur;
          cur = undefined;
          const firstOfRun = this.entries === 0;
          this.entries++;
          // online schema changes first (online-ddl.ts): the rest of the DDL path (shard locks
          // included) sees the real table
          const online = this.d.online;
          const o = online ? await online.plugin.translate(ev, online.pool, ledger.has(t?.gtid || formatFilePos(ev.pos))) : undefined;
          if (o?.kind === 'skip') await this.d.ddl.passQuery(ev, t?.gtid ?? '');
          else {
            const q = o?.kind === 'replace' ? o.event : ev;
            if (shard) await shard.query(q, t?.gtid ?? '', firstOfRun, stop);
            else await this.d.ddl.handleQuery(q, t?.gtid ?? '', firstOfRun, ledger, stop);
          }
          await this.d.ddl.structuresFromTarget(ev, stop);
          if (online) await online.plugin.settle(online.pool, tracker.pending);
          break;
        }
        case 'heartbeat':
          if (shard?.tick && cur === undefined) await shard.tick(stop);
          progress.idle = cur === undefined && tracker.pending === 0;
          break;
      }
    }
  }

  /**
   * A whole upstream transaction (its tracker entry pushed) to the target: skipped when the
   * target's ledger has it (a replay), done at once without rows, else scheduled.
   */
  private async dispatch(txn: UpstreamTxn, stop: AbortSignal): Promise<void> {
    const { tracker, scheduler, progress } = this.d;
    const { id, track } = txn;
    if (this.ledger.has(id)) {
      this.ledger.delete(id);
      progress.totals.skippedTxns++;
      tracker.markDone(track, this.rowKeys.has(id));
      // already applied (ledgered above the checkpoint): the validator still verifies it
      if (txn.changes.length > 0) this.d.sink?.applied([{ pos: txn.pos, timestamp: txn.timestamp, changes: txn.changes }]);
    } else if (txn.changes.length === 0) {
      tracker.markDone(track, false);
    } else {
      const t1 = performance.now();
      await scheduler.add(txn, stop);
      progress.waits.schedulerMs += performance.now() - t1;
    }
  }

  private observe(ev: BinlogEvent): void {
    const progress = this.d.progress;
    progress.currentPos = ev.pos;
    if (ev.kind === 'rows') {
      this.d.metrics.eventRows.observe(this.d.labels, ev.rows.length);
      progress.totals.rows += ev.rows.length;
    }
    if (ev.kind !== 'heartbeat') progress.idle = false;
  }

  private addRows(cur: OpenTxn, ev: RowsEvent): void {
    const filters = this.d.filters;
    if (!filters.includeTable(ev.schema, ev.table)) return;
    const action = filters.dmlAction(ev.schema, ev.table, ev.op);
    if (action === 'Ignore') return;
    if (action === 'Error') {
      cur.failed ??= new DMError(
        'ErrSyncEventFilterError',
        `${ev.op} on ${ev.schema}.${ev.table} at ${formatFilePos(ev.pos)} matched an Error filter`,
      );
      return;
    }
    const kept = filters.keepRows(ev); // expression-filter
    if (kept.rows.length === 0) return;
    const route = filters.route(ev.schema, ev.table);
    const changes = cur.changes;
    const from = changes.length;
    cur.bytes += appendRowChanges(kept, route, changes);
    const first = changes[from];
    if (first) this.d.metrics.addedJobs.inc(jobLabels(this.d.labels, first.op, first.schema, first.table), changes.length - from);
    const cs = this.d.caseSensitive;
    for (let i = from; i < changes.length; i++) addKeysOf(changes[i]!, ev.uniqueKeys, ev.keyColumns, cs, cur.keys);
    cur.upTables?.add(`${ev.schema}\u0000${ev.table}`);
  }
}

/**
 * The expression filter's `onMissingColumn`: one warning per column (a rule naming a column the
 * table does not have at this position skips nothing).
 */
export function missingColumnWarner(log: Logger): (schema: string, table: string, column: string) => void {
  const warned = new Set<string>();
  return (schema, table, column) => {
    const k = `${schema}.${table}.${column}`;
    if (warned.has(k)) return;
    warned.add(k);
    log.warn({ schema, table, column }, 'expression-filter names a column the table does not have here: the expression skips nothing');
  };
}
