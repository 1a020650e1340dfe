/**
 * `shard-mode: optimistic`, worker side: DM's optimist (dm/syncer/shardddl/optimist.go,
 * handleQueryEventOptimistic). Rows flow; each shard DDL is reported with the table's structure
 * before and after it, and the lock keeper answers what to run on the merged table (DM's joined
 * schema: ADD COLUMN once, DROP COLUMN when the last shard dropped it, …).
 *
 *   start of a run            → SourceTables (this source's tables by target table)
 *   CREATE / DROP TABLE       → SourceTables again (CREATE applied as usual, DROP not applied);
 *                               a CREATE while its lock waits for a rename → an info with the
 *                               CREATE (the new structure): it may wait like the renamed shards
 *   ALTER / CREATE|DROP INDEX → drain, OptimisticInfo (version n), wait for the operation of
 *                               version n, run its DDLs (possibly none), ledger row, `done`
 *   conflictStage 'detected'  → `dmctl binlog skip|replace` for this DDL if given, else the
 *                               subtask pauses with 36102 (DM's way out: shard-ddl-lock unlock,
 *                               binlog-schema update, binlog skip/replace)
 *   conflictStage 'waiting'   → non-strict mode, a rename every shard must run first (DM's
 *                               ConflictSkipWaitRedirect): the table WAITS. Its later rows and
 *                               DDLs (and every later event of a table one of them touched) are
 *                               held back in binlog order (held-queue.ts: memory, then a spill
 *                               file, 36104 at its limits; with their low-water-
 *                               mark entries pending: the checkpoint stays before the DDL, so a
 *                               restart or a move re-reads them); other tables flow. The operation
 *                               is watched; when the keeper answers 'resolved' (the last shard ran
 *                               the DDL on the merged table), the next event or heartbeat ends the
 *                               wait: the DDL's ledger row, `done`, then the held events in order,
 *                               on the new structure.
 *
 * The structures come from the reader's schema tracker: the snapshot before the event and the
 * one after it (the reader's exportSchemas() is the tracker state as of the last event taken).
 * A replay meets the DDL's id in the target's ledger and skips it (marking an operation left
 * without `done` done): a DDL never runs twice.
 */
import type { QueryEvent } from '../../binlog/events.js';
import { formatFilePos } from '../../binlog/position.js';
import { DMError, toDMError } from '../../errors/index.js';
import type { TableName } from '../../filter/index.js';
import { shardLockId, type OptimisticInfo, type OptimisticOperation } from '../../store/shardddl.js';
import type { HeldQueue } from './held-queue.js';
import {
  classifyShardDDL,
  coordinate,
  ledgerOnly,
  listSourceTables,
  newHeldQueue,
  structureIn,
  tableKey,
  touchedTables,
  tablesByTarget,
  type ShardAttach,
  type ShardDDL,
  type ShardDeps,
  type ShardHandler,
} from './shard-group.js';
import type { TrackEntry } from './tracker.js';
import type { UpstreamTxn } from './txn.js';

interface Q {
  ev: QueryEvent;
  gtid: string;
  id: string;
  firstOfRun: boolean;
  /** Its low-water-mark entry, pushed when the event was consumed (binlog order). */
  track: TrackEntry;
  /** The reader's schemas before and after the event, taken when it was consumed. */
  before: string | undefined;
  after: string | undefined;
}

/** A table whose DDL waits for the other shards (non-strict mode). */
interface Wait {
  table: TableName;
  lockId: string;
  q: Q;
  /** The info this table put (put again with ignoreConflict if the wait ends in a conflict the operator skips). */
  info: Omit<OptimisticInfo, 'version'>;
  ddls: string[];
  version: number;
  /** The operation that ends the wait, once the watcher saw it. */
  op?: OptimisticOperation;
  failed?: unknown;
  watcher: Promise<void>;
}

export class ShardOptimist implements ShardHandler {
  private readonly d: ShardDeps;
  private c: ShardAttach | undefined;
  private readonly tables = new Map<string, TableName>();
  /** The reader's schema snapshot as of the last event taken before the current one. */
  private lastSnap: string | undefined;
  private waiting: { lockId: string; table: string; ddls: string[] } | undefined;
  private lastConflict: string | undefined;
  /** Tables (tableKey) whose DDL waits for the other shards of their lock. */
  private readonly waits = new Map<string, Wait>();
  private readonly held: HeldQueue<Q>;
  /** Ends the watchers of waiting tables when the run ends. */
  private readonly watchAc = new AbortController();

  constructor(deps: ShardDeps) {
    this.d = deps;
    this.held = newHeldQueue<Q>(
      deps,
      () =>
        `${[...this.waits.values()].map((w) => `\`${w.table.schema}\`.\`${w.table.table}\``).join(', ')} wait${this.waits.size === 1 ? 's' : ''} for the other shards to run the same DDL (non-strict optimistic mode)`,
    );
  }

  attach(c: ShardAttach): void {
    this.c = c;
  }

  private attached(): ShardAttach {
    if (!this.c) throw new DMError('ErrInternal', 'shard handler used before the consumer attached it');
    return this.c;
  }

  async start(stop: AbortSignal): Promise<void> {
    const tables = await listSourceTables(this.d.sourceConn, this.d.filters);
    for (const t of tables) this.tables.set(tableKey(t.schema, t.table), t);
    this.lastSnap = this.d.reader.exportSchemas?.();
    await this.putSourceTables(stop);
    this.d.log.info({ tables: tables.length }, 'shard source tables put (optimistic)');
  }

  private putSourceTables(stop: AbortSignal): Promise<void> {
    const d = this.d;
    const st = { task: d.task, source: d.source, tables: tablesByTarget(this.tables.values(), d.filters) };
    return coordinate('put the source tables', () => d.cfg.client.putSourceTables(st), stop);
  }

  async txn(t: UpstreamTxn, stop: AbortSignal): Promise<void> {
    await this.settle(stop);
    await this.route(t, stop);
  }

  private async route(t: UpstreamTxn, stop: AbortSignal): Promise<void> {
    if (t.changes.length > 0 && t.upTables && this.blocked(t.upTables)) {
      await this.held.push({ kind: 'txn', txn: t }, t.upTables);
      return;
    }
    await this.attached().dispatch(t, stop);
  }

  async query(ev: QueryEvent, gtid: string, firstOfRun: boolean, stop: AbortSignal): Promise<void> {
    await this.settle(stop);
    const d = this.d;
    const before = this.lastSnap;
    const after = d.reader.exportSchemas?.();
    this.lastSnap = after;
    const id = gtid || formatFilePos(ev.pos);
    const track = d.tracker.push(id, ev.pos, ev.timestamp);
    await this.process({ ev, gtid, id, firstOfRun, track, before, after }, stop);
  }

  /** A heartbeat (an idle source): a wait that ended goes on without waiting for the next event. */
  async tick(stop: AbortSignal): Promise<void> {
    await this.settle(stop);
  }

  async close(): Promise<void> {
    this.watchAc.abort();
    await Promise.all([...this.waits.values()].map((w) => w.watcher));
    this.waits.clear();
    await this.held.close();
  }

  /** Whether an event of these tables must wait behind a waiting table (or behind held events). */
  private blocked(tables: Iterable<string>): boolean {
    for (const t of tables) if (this.waits.has(t) || this.held.has(t)) return true;
    return false;
  }

  private async process(q: Q, stop: AbortSignal): Promise<void> {
    const d = this.d;
    const { ev, gtid, firstOfRun, before, after } = q;
    const c: ShardDDL = classifyShardDDL(ev, d.filters);
    const keys = touchedTables(c, () => [...this.waits.values()].map((w) => w.table)).map((t) => tableKey(t.schema, t.table));
    if (this.blocked(keys)) {
      await this.held.push({ kind: 'query', q }, keys);
      return;
    }
    const { ledger } = this.attached();
    switch (c.kind) {
      case 'other': {
        await d.ddl.handleQuery(ev, gtid, firstOfRun, ledger, stop, q.track);
        // a table routed to itself dropped as usual: no longer one of the source's tables
        const gone = c.ddlType === 'drop table' ? c.tables.filter((t) => this.tables.delete(tableKey(t.schema, t.table))) : [];
        if (gone.length > 0) await this.putSourceTables(stop);
        return;
      }
      case 'create':
        for (const t of c.tables) this.tables.set(tableKey(t.schema, t.table), t);
        await this.putSourceTables(stop);
        if (c.tables.length === 1 && (await this.createWhileWaiting(q, c.tables[0] as TableName, after, stop))) return;
        await d.ddl.handleQuery(ev, gtid, firstOfRun, ledger, stop, q.track);
        return;
      case 'drop':
        for (const t of c.tables) this.tables.delete(tableKey(t.schema, t.table));
        await this.putSourceTables(stop);
        await this.notApplied(q, 'drop table of shard tables is not applied to the merged table', stop);
        return;
      case 'drop database':
        for (const [k, t] of [...this.tables]) if (t.schema === c.schema) this.tables.delete(k);
        await this.putSourceTables(stop);
        await this.notApplied(q, 'drop database of a shard schema is not applied to the merged tables', stop);
        return;
      case 'truncate':
        await this.notApplied(q, 'truncate table of a shard table is not applied to the merged table', stop);
        return;
      case 'rename': {
        const err = new DMError('ErrSyncShardUnsupportedDDL', `RENAME of shard table \`${c.table.schema}\`.\`${c.table.table}\` at ${formatFilePos(ev.pos)} cannot be coordinated in shard mode: ${ev.sql}`);
        await this.operatorDecides(q, err, q.track, stop);
        return;
      }
      case 'alter':
        await this.shardDDL(q, c, before, after, stop);
        return;
    }
  }

  /**
   * CREATE TABLE of a shard table while its lock waits for a rename (non-strict mode): the keeper
   * is told the new table's structure (an info with the CREATE) and answers as DM's lock does for
   * a table joining it: created with the renamed columns it waits like the shards that ran the
   * rename (its rows held back), or runs it as the last one; created with the old columns it has
   * nothing to wait for (the CREATE goes on as usual) and the lock waits for it to rename. False
   * when the lock does not wait (the CREATE goes the usual way) or on a replay.
   */
  private async createWhileWaiting(q: Q, up: TableName, after: string | undefined, stop: AbortSignal): Promise<boolean> {
    const d = this.d;
    if (this.attached().ledger.has(q.id)) {
      // a replay: an answer to this CREATE's info left without `done` (a restart after its ledger row) is marked done
      const [info, left] = await coordinate(
        'read the shard DDL info and operation',
        () => Promise.all([d.cfg.client.optimisticInfo(d.task, d.source, up.schema, up.table), d.cfg.client.optimisticOp(d.task, d.source, up.schema, up.table)]),
        stop,
      );
      const mine = info !== undefined && info.ddls.length === 1 && info.ddls[0] === q.ev.sql && left !== undefined && left.version === info.version;
      if (mine && !left.done && left.conflictStage !== 'detected') await coordinate('mark the shard DDL operation done', () => d.cfg.client.markOptimisticDone(left), stop);
      return false;
    }
    const down = d.filters.route(up.schema, up.table);
    const lockId = shardLockId(d.task, down.schema, down.table);
    if (!(await coordinate('read the shard DDL lock', () => d.cfg.client.optimisticLockWaits(d.task, lockId), stop))) return false;
    await d.scheduler.drain();
    await d.checkpoint.flush(true);
    const struct = structureIn(after, up);
    const info: Omit<OptimisticInfo, 'version'> = {
      task: d.task,
      source: d.source,
      upSchema: up.schema,
      upTable: up.table,
      downSchema: down.schema,
      downTable: down.table,
      ddls: [q.ev.sql],
      tableInfoBefore: struct,
      tableInfosAfter: [struct],
      ...(d.cfg.strictOptimistic === true ? { strict: true } : {}),
    };
    const version = await coordinate('put the shard DDL info', () => d.cfg.client.putOptimisticInfo(info), stop);
    d.log.info({ lock: lockId, table: `${up.schema}.${up.table}`, version }, 'shard table created while its lock waits for a rename: info put');
    const op = await coordinate('wait for the shard DDL operation', () => d.cfg.client.waitOptimisticOp(d.task, d.source, up.schema, up.table, (o) => o.version === version && !o.done, stop), stop);
    if (op.conflictStage === 'waiting') {
      this.startWait(q, up, lockId, info, op);
      return true;
    }
    if (op.conflictStage === 'none' && op.ddls.length === 0) {
      // the old columns: created as usual; the lock waits for this table to rename
      if (op.conflictMsg) d.log.warn({ lock: lockId, table: `${up.schema}.${up.table}` }, op.conflictMsg);
      await d.ddl.handleQuery(q.ev, q.gtid, q.firstOfRun, this.attached().ledger, stop, q.track);
      await coordinate('mark the shard DDL operation done', () => d.cfg.client.markOptimisticDone(op), stop);
      return true;
    }
    // the last shard of the rename (the merged table runs it), or a conflict
    await this.finishDDL(q, info, lockId, op, stop);
    return true;
  }

  private async notApplied(q: Q, why: string, stop: AbortSignal): Promise<void> {
    const d = this.d;
    const track = q.track;
    d.log.info({ sql: q.ev.sql, pos: formatFilePos(q.ev.pos) }, why);
    await d.scheduler.drain();
    if (this.attached().ledger.delete(q.id)) d.totals.skippedTxns++;
    d.tracker.markDone(track, false);
    d.ddl.snapshotAtMark();
    await d.checkpoint.flush(true);
    stop.throwIfAborted();
  }

  /**
   * A DDL the keeper (or shard mode) cannot take: `dmctl binlog skip|replace`, else `err`.
   * `conflict`: the info of a conflict the keeper detected; skipped or replaced, it is put again
   * with `ignoreConflict` before the ledger row, so the keeper takes this table's new structure
   * into the lock (conflictStage 'skipped') and the lock clears once every shard agrees again;
   * the answer is marked done after the ledger row (a replay marks it done too). A replacement
   * goes in that info (`replacedBy`): a restart before its ledger row runs it on replay (the
   * binlog operation was taken already).
   */
  private async operatorDecides(q: Q, err: DMError, track: TrackEntry, stop: AbortSignal, conflict?: Omit<OptimisticInfo, 'version'>): Promise<void> {
    const d = this.d;
    const decision = await d.onFailed({ pos: q.ev.pos, sql: [q.ev.sql], isDDL: true, error: { code: err.code, message: err.message } });
    if (decision.action === 'fail') throw err;
    await d.scheduler.drain();
    await d.checkpoint.flush(true);
    const ignored = conflict ? await this.ignoreConflict(decision.action === 'replace' ? { ...conflict, replacedBy: decision.sql } : conflict, stop) : undefined;
    if (decision.action === 'skip') {
      d.log.warn({ sql: q.ev.sql, pos: formatFilePos(q.ev.pos) }, 'shard ddl skipped by operator');
      await ledgerOnly(d, [{ id: q.id, pos: q.ev.pos }], stop);
    } else {
      await d.ddl.execDDL(decision.sql, undefined, q.id, q.ev, false, stop);
    }
    if (ignored) await coordinate('mark the shard DDL operation done', () => d.cfg.client.markOptimisticDone(ignored), stop);
    d.tracker.markDone(track, true);
    d.ddl.snapshotAtMark();
    await d.checkpoint.flush(true);
  }

  private async shardDDL(q: Q, c: Extract<ShardDDL, { kind: 'alter' }>, before: string | undefined, after: string | undefined, stop: AbortSignal): Promise<void> {
    const d = this.d;
    const { ledger, rowKeys } = this.attached();
    const track = q.track;
    const lockId = shardLockId(d.task, c.down.schema, c.down.table);
    if (ledger.has(q.id)) {
      // a replay: this DDL was resolved before the restart
      ledger.delete(q.id);
      d.totals.skippedTxns++;
      d.tracker.markDone(track, rowKeys.has(q.id));
      const left = await coordinate('read the shard DDL operation', () => d.cfg.client.optimisticOp(d.task, d.source, c.up.schema, c.up.table), stop);
      if (left && !left.done && left.conflictStage !== 'detected') await coordinate('mark the shard DDL operation done', () => d.cfg.client.markOptimisticDone(left), stop);
      return;
    }
    await d.scheduler.drain();
    await d.checkpoint.flush(true);
    if (!this.tables.has(tableKey(c.up.schema, c.up.table))) {
      this.tables.set(tableKey(c.up.schema, c.up.table), c.up);
      await this.putSourceTables(stop);
    }
    const info = {
      task: d.task,
      source: d.source,
      upSchema: c.up.schema,
      upTable: c.up.table,
      downSchema: c.down.schema,
      downTable: c.down.table,
      ddls: c.ddls,
      tableInfoBefore: structureIn(before, c.up),
      tableInfosAfter: [structureIn(after, c.up)],
      ...(d.cfg.strictOptimistic === true ? { strict: true } : {}),
    };
    // a conflict of this very DDL resolved by hand (`shard-ddl-lock unlock --action exec|skip`)
    // while the subtask was paused: take that answer instead of asking again
    const byHand = await this.resolvedByHand(c, stop);
    let op = byHand?.op;
    if (byHand?.info.ignoreConflict === true && byHand.info.replacedBy !== undefined && byHand.op.conflictStage === 'skipped') {
      // `binlog replace` of this conflict, the worker restarted before the replacement ran (its
      // ledger row is missing): run it now, the ledger row with it
      d.log.warn({ lock: lockId, sql: byHand.info.replacedBy, pos: formatFilePos(q.ev.pos) }, 'shard ddl replaced by operator before a restart: running the replacement');
      await d.ddl.execDDL(byHand.info.replacedBy, undefined, q.id, q.ev, true, stop);
      await coordinate('mark the shard DDL operation done', () => d.cfg.client.markOptimisticDone(byHand.op), stop);
      d.tracker.markDone(track, true);
      d.ddl.snapshotAtMark();
      await d.checkpoint.flush(true);
      return;
    }
    if (op) {
      d.log.info({ lock: lockId, stage: op.conflictStage, version: op.version }, 'shard ddl conflict resolved by hand: taking that operation');
    } else {
      this.waiting = { lockId, table: `${c.up.schema}.${c.up.table}`, ddls: c.ddls };
      d.metrics.shardLockResolving.set(d.labels, 1);
      try {
        const version = await coordinate('put the shard DDL info', () => d.cfg.client.putOptimisticInfo(info), stop);
        d.log.info({ lock: lockId, table: this.waiting.table, ddls: c.ddls, version }, 'shard ddl info put, waiting for the operation');
        op = await coordinate('wait for the shard DDL operation', () => d.cfg.client.waitOptimisticOp(d.task, d.source, c.up.schema, c.up.table, (o) => o.version === version && !o.done, stop), stop);
      } finally {
        this.waiting = undefined;
        d.metrics.shardLockResolving.set(d.labels, this.waits.size > 0 ? 1 : 0);
      }
    }
    if (op.conflictStage === 'waiting') {
      this.startWait(q, c.up, lockId, info, op);
      return;
    }
    await this.finishDDL(q, info, lockId, op, stop);
  }

  /**
   * Non-strict mode: this table waits for the other shards of the lock to run the same DDL. Its DDL
   * entry stays pending (the checkpoint stays before it); the operation is watched in the
   * background; settle() ends the wait in the consumer's flow.
   */
  private startWait(q: Q, table: TableName, lockId: string, info: Omit<OptimisticInfo, 'version'>, op: OptimisticOperation): void {
    const ddls = info.ddls;
    const d = this.d;
    const key = tableKey(table.schema, table.table);
    const version = op.version;
    const signal = this.watchAc.signal;
    const w: Wait = { table, lockId, q, info, ddls, version, watcher: Promise.resolve() };
    w.watcher = (async () => {
      try {
        w.op = await d.cfg.client.waitOptimisticOp(d.task, d.source, table.schema, table.table, (o) => o.version === version && o.conflictStage !== 'waiting' && !o.done, signal);
      } catch (e) {
        if (!signal.aborted) w.failed = e;
      }
    })();
    this.waits.set(key, w);
    d.metrics.shardLockResolving.set(d.labels, 1);
    d.log.info({ lock: lockId, table: `${table.schema}.${table.table}`, ddls, version, why: op.conflictMsg }, 'shard ddl waits for the other shards to run it; this table is held back');
  }

  /** Waits that ended (the watcher saw the keeper's answer): finish them, then feed the held events through again. */
  private async settle(stop: AbortSignal): Promise<void> {
    for (const [key, w] of [...this.waits]) {
      if (w.failed !== undefined) {
        throw toDMError(w.failed, 'ErrSyncShardCoordination', `watching the shard DDL operation of \`${w.table.schema}\`.\`${w.table.table}\` failed: ${w.failed instanceof Error ? w.failed.message : JSON.stringify(w.failed)}`);
      }
      if (!w.op) continue;
      this.waits.delete(key);
      this.d.metrics.shardLockResolving.set(this.d.labels, this.waits.size > 0 ? 1 : 0);
      this.d.log.info({ lock: w.lockId, table: `${w.table.schema}.${w.table.table}`, stage: w.op.conflictStage, held: this.held.size }, 'shard ddl wait over: every shard ran it');
      await this.d.scheduler.drain();
      await this.finishDDL(w.q, w.info, w.lockId, w.op, stop);
      for await (const it of this.held.drain()) {
        if (stop.aborted) return;
        if (it.kind === 'txn') await this.route(it.txn, stop);
        else await this.process(it.q, stop);
      }
      // the mark may have caught up with the consumer: the reader's snapshot belongs to the next checkpoint
      await this.d.scheduler.drain();
      this.d.ddl.snapshotAtMark();
      await this.d.checkpoint.flush(true);
    }
  }

  /** The keeper's answer to this table's DDL (not a wait): run it, or the conflict path. */
  private async finishDDL(q: Q, info: Omit<OptimisticInfo, 'version'>, lockId: string, op: OptimisticOperation, stop: AbortSignal): Promise<void> {
    const d = this.d;
    const track = q.track;
    const c = { up: { schema: info.upSchema, table: info.upTable }, ddls: info.ddls };
    if (op.conflictStage === 'detected') {
      this.lastConflict = op.conflictMsg ?? 'conflict';
      const err = new DMError('ErrSyncShardDDLConflict', `shard DDL of \`${c.up.schema}\`.\`${c.up.table}\` at ${formatFilePos(q.ev.pos)} conflicts in lock ${lockId}: ${op.conflictMsg ?? '(no message)'}; DDL: ${c.ddls.join('; ')}`);
      await this.operatorDecides(q, err, track, stop, info);
      this.lastConflict = undefined;
      return;
    }
    this.lastConflict = undefined;
    if (op.ddls.length === 0) {
      // another shard's answer of the same pass may run the DDL on the merged table: this shard's
      // rows wait until it ran (else they may name a column the target does not have yet)
      await coordinate("wait for the lock's DDLs on the target", () => d.cfg.client.waitOptimisticLockDDLs(d.task, lockId, { source: d.source, upSchema: c.up.schema, upTable: c.up.table }, stop), stop);
    }
    d.log.info({ lock: lockId, ddls: op.ddls, stage: op.conflictStage }, op.ddls.length > 0 ? 'shard ddl operation: executing' : 'shard ddl operation: nothing to run on the target');
    // the DDLs (possibly none) and the ledger row of this event, on one connection
    await d.ddl.execDDL(op.ddls, undefined, q.id, q.ev, true, stop);
    if (op.ddls.length > 0) d.totals.ddls++;
    await coordinate('mark the shard DDL operation done', () => d.cfg.client.markOptimisticDone(op), stop);
    d.tracker.markDone(track, true);
    d.ddl.snapshotAtMark();
    await d.checkpoint.flush(true);
  }

  /** Put `info` again with `ignoreConflict` (the operator skipped or replaced it) and wait for its answer. */
  private async ignoreConflict(info: Omit<OptimisticInfo, 'version'>, stop: AbortSignal): Promise<OptimisticOperation> {
    const d = this.d;
    const version = await coordinate('put the skipped shard DDL info', () => d.cfg.client.putOptimisticInfo({ ...info, ignoreConflict: true }), stop);
    d.log.info({ table: `${info.upSchema}.${info.upTable}`, version }, 'shard ddl conflict skipped by operator: info put with ignoreConflict');
    return coordinate('wait for the shard DDL operation', () => d.cfg.client.waitOptimisticOp(d.task, d.source, info.upSchema, info.upTable, (o) => o.version === version && !o.done, stop), stop);
  }

  /** The operation `shard-ddl-lock unlock` wrote for the stored info of this table, when that info is this DDL's. */
  private async resolvedByHand(c: Extract<ShardDDL, { kind: 'alter' }>, stop: AbortSignal): Promise<{ op: OptimisticOperation; info: OptimisticInfo } | undefined> {
    const d = this.d;
    const [info, op] = await coordinate(
      'read the shard DDL info and operation',
      () => Promise.all([d.cfg.client.optimisticInfo(d.task, d.source, c.up.schema, c.up.table), d.cfg.client.optimisticOp(d.task, d.source, c.up.schema, c.up.table)]),
      stop,
    );
    if (!info || !op || op.done || op.version !== info.version) return undefined;
    if (op.conflictStage !== 'resolved' && op.conflictStage !== 'skipped') return undefined;
    const same = info.ddls.length === c.ddls.length && info.ddls.every((x, i) => x === c.ddls[i]);
    return same ? { op, info } : undefined;
  }

  status(): Record<string, unknown> {
    // tables waiting for the other shards to run their DDL (non-strict mode), by target table:
    // synced = this source's tables that ran it, unsynced = this source's others of that target
    const groups = new Map<string, { target: string; DDLs: string[]; firstLocation: string; synced: string[]; unsynced: string[]; lockId: string }>();
    for (const w of this.waits.values()) {
      const down = this.d.filters.route(w.table.schema, w.table.table);
      const target = `\`${down.schema}\`.\`${down.table}\``;
      const g = groups.get(target) ?? { target, DDLs: w.ddls, firstLocation: formatFilePos(w.q.ev.pos), synced: [], unsynced: [], lockId: w.lockId };
      g.synced.push(`\`${w.table.schema}\`.\`${w.table.table}\``);
      groups.set(target, g);
    }
    for (const g of groups.values()) {
      for (const t of this.tables.values()) {
        const r = this.d.filters.route(t.schema, t.table);
        const name = `\`${t.schema}\`.\`${t.table}\``;
        if (`\`${r.schema}\`.\`${r.table}\`` === g.target && !g.synced.includes(name)) g.unsynced.push(name);
      }
    }
    const waiting = [...groups.values()];
    const blocking = this.waiting?.ddls ?? waiting[0]?.DDLs ?? [];
    const lockId = this.waiting?.lockId ?? waiting[0]?.lockId;
    return {
      shardMode: 'optimistic',
      blockingDDLs: blocking,
      ...(lockId !== undefined ? { unresolvedDDLLockID: lockId } : {}),
      unresolvedGroups: waiting.map(({ lockId: _l, ...g }) => g),
      heldEvents: this.held.size,
      heldBytes: this.held.bytes,
      heldOnDiskBytes: this.held.diskBytes,
      ...(this.lastConflict ? { conflictMsg: this.lastConflict } : {}),
    };
  }
}
