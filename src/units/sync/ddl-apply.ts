/**
 * The DDL barrier: a DDL (a binlog QUERY event) is filtered, routed and run ALONE on the target.
 *
 *   consumer.ts → ddl-apply.ts: drain the appliers → checkpoint → DDL + its ledger row → checkpoint
 *
 * Guarantees:
 * - Every DML before the DDL is in the target, and the checkpoint is right before it, before the
 *   DDL runs; the checkpoint right after it is written before any later event is applied. The
 *   schema snapshot stored with that checkpoint is the reader's as of exactly this DDL.
 * - Exactly-once: the DDL's ledger row is written on the connection that ran it; a DDL replayed
 *   after a crash (the first event of a run), before the full phase's last snapshot, or of a routed
 *   table (possibly one shard of a merged table) is skipped when its effect is already present.
 * - The event's own statements run under its upstream session (ddl-session.ts); a connection still
 *   in that session never goes back to the pool.
 * - A DDL the target rejects, or one that cannot be parsed, goes to the operator hook
 *   (`dmctl binlog skip|replace`), else the run ends with its code (36001 / 10112 / 36401).
 * - After a DDL the reader's schema tracker could not follow (no FULL row metadata), the reader
 *   gets the table's structure from the target (structuresFromTarget).
 *
 * Not here: parsing and routing the statement (ddl.ts), the shard-DDL coordination (none yet),
 * online schema changes (online-ddl.ts: the consumer hands on the cut-over's ALTER on the real
 * table, and passes the shadow / trash tables' DDL to passQuery).
 */
import type { Pool, PoolConnection } from 'mysql2/promise';
import type { Logger } from 'pino';
import type { QueryEvent } from '../../binlog/events.js';
import { compareFilePos, formatFilePos, type Position } from '../../binlog/position.js';
import { DMError, toDMError } from '../../errors/index.js';
import { ddlEffectState, initSqlFor, isAlreadyAppliedError, isRetryable, parseDDL, quoteId } from '../../sql/index.js';
import type { FailedEventHook } from './applier.js';
import type { SyncReader } from './binlog-source.js';
import type { CausalityScheduler } from './causality.js';
import type { CheckpointStore } from './checkpoint.js';
import type { CheckpointFlusher } from './checkpoint-flush.js';
import type { ConnConfig } from '../../sql/index.js';
import { parseSyncDDL, routedDDL, schemaToEnsure, type ParsedDDL } from './ddl.js';
import { ddlSessionSQL, sessionResetSQL } from './ddl-session.js';
import type { SyncFilters } from './filters.js';
import type { Counters, SyncLabels } from './sync-status.js';
import { jobLabels, type SyncMetrics } from './metrics.js';
import { retryExhausted, targetConnConfig, type TargetRetry } from './target.js';
import type { LowWaterMark } from './tracker.js';

export interface DDLApplyDeps {
  pool: Pool;
  /** The task's target (its `session`, restored after a DDL ran under the upstream one). */
  target: ConnConfig;
  store: Pick<CheckpointStore, 'ledgerInsertSQL'>;
  retry: TargetRetry;
  onFailed: FailedEventHook;
  filters: SyncFilters;
  reader: SyncReader;
  tracker: LowWaterMark;
  scheduler: Pick<CausalityScheduler, 'drain'>;
  checkpoint: Pick<CheckpointFlusher, 'flush' | 'schemasToSave'>;
  /** The full phase's highest snapshot position (SyncConfig.safeModeUntil). */
  snapshotEnd: Position | undefined;
  totals: Pick<Counters, 'skippedTxns' | 'ddls'>;
  log: Logger;
  metrics: Pick<SyncMetrics, 'queryDuration' | 'addedJobs' | 'finishedJobs'>;
  labels: SyncLabels;
}

export class DDLApplier {
  private readonly d: DDLApplyDeps;

  constructor(deps: DDLApplyDeps) {
    this.d = deps;
  }

  /** Whether `pos` lies at or before the full phase's highest snapshot position. */
  private beforeSnapshotEnd(pos: Position): boolean {
    const until = this.d.snapshotEnd;
    return !!(until && until.file && pos.file && compareFilePos(pos, until) <= 0);
  }

  /**
   * The consumer reached a QUERY event (`gtid`: its GTID, '' without). `firstOfRun`: nothing was
   * taken before it in this run (it may have been applied just before a crash). `ledger`: the ids
   * the target's ledger holds above the checkpoint (consumed here when this one is among them).
   */
  async handleQuery(
    ev: QueryEvent,
    gtid: string,
    firstOfRun: boolean,
    ledger: Set<string>,
    stop: AbortSignal,
  ): Promise<void> {
    const { tracker, filters, checkpoint } = this.d;
    const id = gtid || formatFilePos(ev.pos);
    // also replayed: DDL before the full phase's last snapshot (a table re-copied under it has it)
    const replayed = firstOfRun || this.beforeSnapshotEnd(ev.pos);
    const track = tracker.push(id, ev.pos, ev.timestamp);
    let p: ParsedDDL | undefined;
    try {
      p = parseSyncDDL(ev.sql, ev.schema);
    } catch (e) {
      // table DDL that cannot be read: the operator decides (dmctl binlog skip|replace), else pause
      const err = e instanceof DMError ? e : toDMError(e, 'ErrSQLParseDDL', 'cannot parse DDL');
      const decision = await this.d.onFailed({
        pos: ev.pos,
        sql: [ev.sql],
        isDDL: true,
        error: { code: err.code, message: err.message },
      });
      if (decision.action === 'fail') throw err;
      await this.d.scheduler.drain();
      await checkpoint.flush(true);
      if (decision.action === 'replace') await this.execDDL(decision.sql, undefined, id, ev, false, stop);
      tracker.markDone(track, decision.action === 'replace');
      await checkpoint.flush(true);
      return;
    }
    if (!p || p.temporary) {
      tracker.markDone(track, false);
      return;
    }
    let apply: boolean;
    if (p.database !== undefined) apply = filters.includeSchema(p.database);
    else apply = p.tables.some((t) => filters.includeTable(t.schema, t.table));
    const first = p.tables[0];
    const action = filters.ddlAction(
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
    await this.d.scheduler.drain();
    await checkpoint.flush(true);
    if (!apply) {
      // not applied here, but the reader's schemas changed: keep the snapshot in step
      checkpoint.schemasToSave = this.d.reader.exportSchemas?.() ?? checkpoint.schemasToSave;
      tracker.markDone(track, false);
      await checkpoint.flush(true);
      return;
    }
    if (ledger.has(id)) {
      ledger.delete(id);
      this.d.totals.skippedTxns++;
      tracker.markDone(track, true);
      await checkpoint.flush(true);
      return;
    }
    const route = (s: string, t: string): { schema: string; table: string } => filters.route(s, t);
    const sql = routedDDL(p, route, (s) => filters.routeSchema(s));
    // A routed table may be one shard of a merged target table (no shard-mode yet): the first
    // shard's DDL changes the merged table and the others' same DDL is then already there.
    const routed =
      (p.database !== undefined && filters.routeSchema(p.database) !== p.database) ||
      p.tables.some((t) => {
        const r = route(t.schema, t.table);
        return r.schema !== t.schema || r.table !== t.table;
      });
    await this.execDDL([sql], schemaToEnsure(p, route), id, ev, replayed || routed, stop);
    this.d.totals.ddls++;
    // the consumer is exactly at this DDL: the snapshot matches the checkpoint written next
    checkpoint.schemasToSave = this.d.reader.exportSchemas?.() ?? checkpoint.schemasToSave;
    tracker.markDone(track, true);
    await checkpoint.flush(true);
  }

  /**
   * A QUERY event nothing of which reaches the target (online-ddl.ts: DDL of a shadow or trash
   * table): kept in binlog order at a barrier like a filtered-out DDL, so the reader's schemas
   * (which did follow it) are saved with the checkpoint right after it.
   */
  async passQuery(ev: QueryEvent, gtid: string): Promise<void> {
    const { tracker, checkpoint } = this.d;
    const track = tracker.push(gtid || formatFilePos(ev.pos), ev.pos, ev.timestamp);
    await this.d.scheduler.drain();
    await checkpoint.flush(true);
    checkpoint.schemasToSave = this.d.reader.exportSchemas?.() ?? checkpoint.schemasToSave;
    tracker.markDone(track, false);
    await checkpoint.flush(true);
  }

  /**
   * After a DDL the reader's schema tracker could not follow (source without FULL row metadata):
   * hand the reader the structure its tables now have in the target, so the rows after the DDL
   * are decoded with it (src/binlog/reader.ts, "structure from the target"). The reader waits
   * for this before decoding those rows.
   */
  async structuresFromTarget(ev: QueryEvent, stop: AbortSignal): Promise<void> {
    const reader = this.d.reader;
    const need = reader.structuresNeeded?.(ev) ?? [];
    if (!reader.structureFromTarget || need.length === 0) return;
    for (const t of need) {
      const target = this.d.filters.route(t.schema, t.table);
      await this.d.retry(() => reader.structureFromTarget!(ev, t, this.d.pool, target), stop);
    }
    this.d.checkpoint.schemasToSave = reader.exportSchemas?.() ?? this.d.checkpoint.schemasToSave;
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
    const { pool, log } = this.d;
    let stmts = initial;
    const job = jobLabels(this.d.labels, 'ddl', ensureSchema ?? ev.schema, '');
    this.d.metrics.addedJobs.inc(job);
    for (;;) {
      const t0 = performance.now();
      try {
        await this.d.retry(async () => {
          const conn = await pool.getConnection();
          // the event's own statements run under its upstream session (ddl-session.ts); a
          // connection still in that session is never given back to the pool
          const upstream = stmts === initial ? ddlSessionSQL(ev) : undefined;
          let inUpstreamSession = false;
          try {
            if (ensureSchema) await conn.query(`CREATE DATABASE IF NOT EXISTS ${quoteId(ensureSchema)}`);
            for (const s of stmts) {
              if (skipIfPresent && (await ddlAlreadyApplied(conn, s))) {
                log.info({ sql: s }, 'ddl effect already present, skipping');
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
                  log.info(
                    { sql: s, errno: (e as { errno?: number }).errno },
                    'ddl effect already present, skipping',
                  );
                  continue;
                }
                throw e;
              }
            }
            if (inUpstreamSession) {
              await conn.query(sessionResetSQL(initSqlFor(targetConnConfig(this.d.target))));
              inUpstreamSession = false;
            }
            await conn.query(
              `${this.d.store.ledgerInsertSQL([{ id, pos: ev.pos }], true)} ON DUPLICATE KEY UPDATE is_ddl = 1`,
            );
          } finally {
            if (inUpstreamSession) conn.destroy();
            else conn.release();
          }
        }, stop);
        this.d.metrics.queryDuration.observe(this.d.labels, (performance.now() - t0) / 1000);
        this.d.metrics.finishedJobs.inc(job);
        return;
      } catch (e) {
        if (isRetryable(e) || stop.aborted) throw retryExhausted(e, `DDL at ${formatFilePos(ev.pos)}`);
        const shown = stmts.join('; ');
        const err =
          e instanceof DMError && e.codeName === 'ErrSyncDDLSession'
            ? e
            : new DMError('ErrSyncDDLExecFailed', `target rejected DDL at ${formatFilePos(ev.pos)} (${id}): ${shown}`, { cause: e });
        const decision = await this.d.onFailed({
          pos: ev.pos,
          sql: stmts,
          isDDL: true,
          error: { code: err.code, message: err.message },
        });
        if (decision.action === 'skip') {
          log.warn({ sql: shown, pos: ev.pos }, 'failed ddl skipped by operator');
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
}

/** Whether a (routed, fully qualified) DDL's effect is visibly in the target already. */
async function ddlAlreadyApplied(conn: PoolConnection, sql: string): Promise<boolean> {
  let p: ParsedDDL;
  try {
    p = parseDDL(sql, '');
  } catch {
    return false; // e.g. an operator's replacement statement: just run it
  }
  return (await ddlEffectState(conn, p)) === 'present';
}
