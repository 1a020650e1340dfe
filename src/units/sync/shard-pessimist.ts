/**
 * `shard-mode: pessimistic` (and DM 1.0's `is-sharding: true`), worker side: DM's sharding groups
 * and pessimist (dm/syncer/sharding_group.go, dm/syncer/shardddl/pessimist.go), on DM.ts's
 * exactly-once apply.
 *
 * Per target table, the group of this source's upstream tables routed to it (block-allow list +
 * routes, listed from the source at the start of every run; CREATE TABLE joins, DROP TABLE
 * leaves). When one member reaches a structure DDL (ALTER TABLE, CREATE/DROP INDEX):
 *
 *   1. that member is BLOCKED: every later transaction with rows of it — and every later event
 *      of a table one of those transactions touched — is held back, in binlog order, with its
 *      low-water-mark entry pending; the other tables go on (DM's "re-sync" of the held rows,
 *      kept here instead of re-read: in memory up to `memHoldBytes`, beyond in a spill file
 *      (held-queue.ts) up to `maxHoldBytes` and the free space `minFreeDiskBytes`, else 36104);
 *   2. when every member reached a DDL and the first DDL of each is the same (else 36101), the
 *      appliers are drained (every row written before the DDL is in the target), the
 *      PessimisticInfo is put and the worker waits for its operation (`dm_syncer_shard_lock_resolving`);
 *   3. `exec: true` → the DDL runs on the target (skipped when its effect is already there: a
 *      replay), `exec: false` → not; either way ONE ledger row records the DDL events of every
 *      member (same target connection as the DDL); then the operation is put back `done`;
 *   4. the DDL entries are marked done and the held-back events are fed through again in order
 *      (a held DDL of a member is then "reached" in turn: several DDLs in sequence, shards at
 *      different speeds).
 *
 * Restart, move, pause/resume, stop/start mid-lock: nothing held is lost, because nothing held
 * was applied and the checkpoint never passed it. The replay from the checkpoint rebuilds the
 * groups; a round whose ledger row is in the target is over (its DDL events are skipped, the
 * operation is marked done if it was left undone); an unfinished round puts the same info again
 * and takes the operation that is waiting (an `exec` whose DDL already ran is recognised by its
 * effect). So a DDL never runs twice and a row is applied exactly once.
 *
 * Not coordinated, as DM: CREATE TABLE (applied, skipped when present), DROP TABLE / DROP DATABASE
 * / TRUNCATE TABLE of shard tables (not applied to the merged table), RENAME of a shard table
 * (36103, `dmctl binlog skip|replace`).
 */
import type { QueryEvent } from '../../binlog/events.js';
import { formatFilePos } from '../../binlog/position.js';
import { DMError } from '../../errors/index.js';
import type { TableName } from '../../filter/index.js';
import { shardLockId, type PessimisticOperation } from '../../store/shardddl.js';
import type { HeldQueue } from './held-queue.js';
import {
  classifyShardDDL,
  coordinate,
  ledgerOnly,
  listSourceTables,
  newHeldQueue,
  normalizeForCompare,
  tableKey,
  touchedTables,
  type ShardAttach,
  type ShardDDL,
  type ShardDeps,
  type ShardHandler,
} from './shard-group.js';
import type { TrackEntry } from './tracker.js';
import type { UpstreamTxn } from './txn.js';

interface HeldQuery {
  ev: QueryEvent;
  gtid: string;
  id: string;
  track: TrackEntry;
  firstOfRun: boolean;
  /** Order of arrival (binlog order). */
  seq: number;
}

/** A member's DDL waiting for the rest of its group. */
interface Reached extends HeldQuery {
  member: string;
  up: TableName;
  ddls: string[];
  cmp: string;
}

interface Group {
  down: TableName;
  lockId: string;
  members: Set<string>;
  /** Per member, the DDLs it reached and that are not resolved yet (in order). */
  reached: Map<string, Reached[]>;
}

export class ShardPessimist implements ShardHandler {
  private readonly d: ShardDeps;
  private c: ShardAttach | undefined;
  private readonly groups = new Map<string, Group>();
  private readonly memberOf = new Map<string, Group>();
  /** Members with an unresolved DDL. */
  private readonly blockedMembers = new Set<string>();
  /** Events held back behind a blocked member, in binlog order. */
  private readonly held: HeldQueue<HeldQuery>;
  private seq = 0;
  /** The lock this source waits for (status). */
  private waiting: { lockId: string; ddls: string[] } | undefined;

  constructor(deps: ShardDeps) {
    this.d = deps;
    this.held = newHeldQueue<HeldQuery>(deps, () => `${[...this.blockedMembers].map((m) => m.replace('\u0000', '.')).join(', ')} reached a DDL the rest of their groups have not`);
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
    stop.throwIfAborted();
    for (const t of tables) this.join(t);
    this.d.log.info({ groups: this.groups.size, tables: tables.length }, 'shard groups (pessimistic)');
  }

  private groupFor(t: TableName): Group {
    const r = this.d.filters.route(t.schema, t.table);
    const k = tableKey(r.schema, r.table);
    let g = this.groups.get(k);
    if (!g) {
      g = { down: { schema: r.schema, table: r.table }, lockId: shardLockId(this.d.task, r.schema, r.table), members: new Set(), reached: new Map() };
      this.groups.set(k, g);
    }
    return g;
  }

  private join(t: TableName): Group {
    const k = tableKey(t.schema, t.table);
    const cur = this.memberOf.get(k);
    if (cur) return cur;
    const g = this.groupFor(t);
    g.members.add(k);
    this.memberOf.set(k, g);
    return g;
  }

  private leave(t: TableName): Group | undefined {
    const k = tableKey(t.schema, t.table);
    const g = this.memberOf.get(k);
    if (!g) return undefined;
    g.members.delete(k);
    const left = g.reached.get(k) ?? [];
    g.reached.delete(k);
    this.memberOf.delete(k);
    this.blockedMembers.delete(k);
    // the DDLs it reached are no longer waited for: not applied for it
    for (const r of left) this.d.tracker.markDone(r.track, false);
    return g;
  }

  private blocked(tables: Iterable<string>): boolean {
    for (const t of tables) if (this.blockedMembers.has(t) || this.held.has(t)) return true;
    return false;
  }

  /** The shard tables of every group. */
  private members(): TableName[] {
    return [...this.memberOf.keys()].map((k) => ({ schema: k.slice(0, k.indexOf('\u0000')), table: k.slice(k.indexOf('\u0000') + 1) }));
  }

  async txn(t: UpstreamTxn, stop: AbortSignal): Promise<void> {
    if (t.changes.length > 0 && t.upTables && this.blocked(t.upTables)) {
      await this.held.push({ kind: 'txn', txn: t }, t.upTables);
      return;
    }
    await this.attached().dispatch(t, stop);
  }

  async query(ev: QueryEvent, gtid: string, firstOfRun: boolean, stop: AbortSignal): Promise<void> {
    const id = gtid || formatFilePos(ev.pos);
    const track = this.d.tracker.push(id, ev.pos, ev.timestamp);
    await this.process({ ev, gtid, id, track, firstOfRun, seq: this.seq++ }, stop);
  }

  private async process(q: HeldQuery, stop: AbortSignal): Promise<void> {
    const d = this.d;
    const c = classifyShardDDL(q.ev, d.filters);
    const keys = touchedTables(c, () => this.members()).map((t) => tableKey(t.schema, t.table));
    if (this.blocked(keys)) {
      await this.held.push({ kind: 'query', q }, keys);
      return;
    }
    const { ledger } = this.attached();
    switch (c.kind) {
      case 'other': {
        await d.ddl.handleQuery(q.ev, q.gtid, q.firstOfRun, ledger, stop, q.track);
        // a table routed to itself dropped as usual leaves its group too
        if (c.ddlType === 'drop table') {
          const gs = new Set(c.tables.map((t) => this.leave(t)));
          for (const g of gs) if (g) await this.check(g, stop);
        }
        return;
      }
      case 'create':
        for (const t of c.tables) this.join(t);
        await d.ddl.handleQuery(q.ev, q.gtid, q.firstOfRun, ledger, stop, q.track);
        return;
      case 'drop': {
        const gs = new Set(c.tables.map((t) => this.leave(t)));
        await this.notApplied(q, `drop table of shard tables is not applied to the merged table`, stop);
        for (const g of gs) if (g) await this.check(g, stop);
        await this.release(stop); // rows of a dropped member held back are no longer waiting for it
        return;
      }
      case 'drop database': {
        const gs = new Set(touchedTables(c, () => this.members()).map((t) => this.leave(t)));
        await this.notApplied(q, 'drop database of a shard schema is not applied to the merged tables', stop);
        for (const g of gs) if (g) await this.check(g, stop);
        await this.release(stop);
        return;
      }
      case 'truncate':
        await this.notApplied(q, 'truncate table of a shard table is not applied to the merged table', stop);
        return;
      case 'rename':
        await this.unsupported(q, c.table, stop);
        return;
      case 'alter':
        await this.reach(q, c, stop);
        return;
    }
  }

  /** A shard DDL DM does not replicate in shard mode: done, not applied. */
  private async notApplied(q: HeldQuery, why: string, stop: AbortSignal): Promise<void> {
    const d = this.d;
    d.log.info({ sql: q.ev.sql, pos: formatFilePos(q.ev.pos) }, why);
    await d.scheduler.drain();
    const { ledger } = this.attached();
    if (ledger.delete(q.id)) d.totals.skippedTxns++;
    d.tracker.markDone(q.track, false);
    d.ddl.snapshotAtMark();
    await d.checkpoint.flush(true);
    stop.throwIfAborted();
  }

  /** RENAME of a shard table: the operator decides (`binlog skip|replace`), else 36103. */
  private async unsupported(q: HeldQuery, t: TableName, stop: AbortSignal): Promise<void> {
    const d = this.d;
    const err = new DMError('ErrSyncShardUnsupportedDDL', `RENAME of shard table \`${t.schema}\`.\`${t.table}\` at ${formatFilePos(q.ev.pos)} cannot be coordinated in shard mode: ${q.ev.sql}`);
    const decision = await d.onFailed({ pos: q.ev.pos, sql: [q.ev.sql], isDDL: true, error: { code: err.code, message: err.message } });
    if (decision.action === 'fail') throw err;
    if (decision.action === 'skip') {
      await this.notApplied(q, 'shard ddl skipped by operator', stop);
      return;
    }
    await d.scheduler.drain();
    await d.checkpoint.flush(true);
    await d.ddl.execDDL(decision.sql, undefined, q.id, q.ev, false, stop);
    d.tracker.markDone(q.track, true);
    d.ddl.snapshotAtMark();
    await d.checkpoint.flush(true);
  }

  private async reach(q: HeldQuery, c: Extract<ShardDDL, { kind: 'alter' }>, stop: AbortSignal): Promise<void> {
    const d = this.d;
    const { ledger, rowKeys } = this.attached();
    const member = tableKey(c.up.schema, c.up.table);
    const g = this.join(c.up);
    if (ledger.has(q.id)) {
      // a replay: the round this DDL belongs to was resolved (its ledger row is in the target)
      ledger.delete(q.id);
      d.totals.skippedTxns++;
      const key = rowKeys.has(q.id);
      d.tracker.markDone(q.track, key);
      if (key) await this.finishLeftOp(g, stop);
      d.log.info({ sql: q.ev.sql, pos: formatFilePos(q.ev.pos), lock: g.lockId }, 'shard ddl resolved before the restart, skipping');
      return;
    }
    const list = g.reached.get(member) ?? [];
    list.push({ ...q, member, up: c.up, ddls: c.ddls, cmp: c.ddls.map(normalizeForCompare).join(';\n') });
    g.reached.set(member, list);
    this.blockedMembers.add(member);
    d.log.info({ table: `${c.up.schema}.${c.up.table}`, lock: g.lockId, ddls: c.ddls, synced: [...g.reached.keys()].length, members: g.members.size }, 'shard table reached a ddl');
    await this.check(g, stop);
  }

  /** The operation of a round resolved before a restart that was left without `done`. */
  private async finishLeftOp(g: Group, stop: AbortSignal): Promise<void> {
    const d = this.d;
    const op = await coordinate('read the shard DDL operation', () => d.cfg.client.pessimisticOp(d.task, d.source), stop);
    if (op && op.lockId === g.lockId && !op.done) await coordinate('mark the shard DDL operation done', () => d.cfg.client.markPessimisticDone(op), stop);
  }

  /** When every member reached a DDL: the same one (else 36101) → resolve the round. */
  private async check(g: Group, stop: AbortSignal): Promise<void> {
    if (g.members.size === 0) return;
    const firsts: Reached[] = [];
    for (const m of g.members) {
      const r = g.reached.get(m)?.[0];
      if (!r) return;
      firsts.push(r);
    }
    const want = firsts[0]!.cmp;
    const odd = firsts.find((r) => r.cmp !== want);
    if (odd) {
      const list = firsts.map((r) => `${r.up.schema}.${r.up.table}: ${r.ddls.join('; ')}`).join(' | ');
      throw new DMError('ErrSyncShardDDLWrongSequence', `shard tables of ${g.lockId} reached different DDLs: ${list}`);
    }
    await this.resolve(g, firsts.sort((a, b) => a.seq - b.seq), stop);
  }

  private async resolve(g: Group, round: Reached[], stop: AbortSignal): Promise<void> {
    const d = this.d;
    const first = round[0]!;
    const last = round[round.length - 1]!;
    // every row written before the DDL (the other members' included) is in the target
    await d.scheduler.drain();
    await d.checkpoint.flush(true);
    const info = {
      task: d.task,
      source: d.source,
      upSchema: first.up.schema,
      upTable: first.up.table,
      downSchema: g.down.schema,
      downTable: g.down.table,
      ddls: first.ddls,
      position: formatFilePos(first.ev.pos),
    };
    let op: PessimisticOperation;
    this.waiting = { lockId: g.lockId, ddls: first.ddls };
    d.metrics.shardLockResolving.set(d.labels, 1);
    try {
      await coordinate('put the shard DDL info', () => d.cfg.client.putPessimisticInfo(info), stop);
      d.log.info({ lock: g.lockId, ddls: first.ddls, position: info.position }, 'shard ddl info put, waiting for the lock');
      op = await coordinate('wait for the shard DDL operation', () => d.cfg.client.waitPessimisticOp(d.task, d.source, (o) => o.lockId === g.lockId && !o.done, stop), stop);
    } finally {
      this.waiting = undefined;
      d.metrics.shardLockResolving.set(d.labels, 0);
    }
    const ledgerTxns = round.map((r) => ({ id: r.id, pos: r.ev.pos }));
    if (op.exec) {
      d.log.info({ lock: g.lockId, ddls: op.ddls }, 'shard ddl lock owner: executing');
      await d.ddl.execDDL(op.ddls, undefined, last.id, last.ev, true, stop, ledgerTxns);
      d.totals.ddls++;
    } else {
      d.log.info({ lock: g.lockId, ddls: op.ddls }, 'shard ddl executed by the lock owner: skipping');
      await ledgerOnly(d, ledgerTxns, stop);
    }
    await coordinate('mark the shard DDL operation done', () => d.cfg.client.markPessimisticDone(op), stop);
    for (const r of round) {
      const list = g.reached.get(r.member);
      list?.shift();
      if (!list?.length) {
        g.reached.delete(r.member);
        this.blockedMembers.delete(r.member);
      }
      d.tracker.markDone(r.track, r === last);
    }
    await this.release(stop);
    // the mark caught up with the consumer: the reader's snapshot belongs to the next checkpoint
    await d.scheduler.drain();
    d.ddl.snapshotAtMark();
    await d.checkpoint.flush(true);
  }

  /** Feed the held-back events through again, in order (some may be held again). */
  private async release(stop: AbortSignal): Promise<void> {
    for await (const it of this.held.drain()) {
      if (stop.aborted) return;
      if (it.kind === 'txn') await this.txn(it.txn, stop);
      else await this.process(it.q, stop);
    }
  }

  /** The run ends: what is held was not applied (the checkpoint is behind it), a restart reads it again. */
  async close(): Promise<void> {
    await this.held.close();
  }

  status(): Record<string, unknown> {
    const unresolved = [];
    for (const g of this.groups.values()) {
      if (g.reached.size === 0) continue;
      const synced: string[] = [];
      const unsynced: string[] = [];
      for (const m of g.members) (g.reached.has(m) ? synced : unsynced).push(`\`${m.replace('\u0000', '`.`')}\``);
      const firstDDL = [...g.reached.values()][0]?.[0];
      unresolved.push({ target: `\`${g.down.schema}\`.\`${g.down.table}\``, DDLs: firstDDL?.ddls ?? [], firstLocation: firstDDL ? formatFilePos(firstDDL.ev.pos) : '', synced, unsynced });
    }
    return {
      shardMode: 'pessimistic',
      blockingDDLs: this.waiting ? this.waiting.ddls : [],
      ...(this.waiting ? { unresolvedDDLLockID: this.waiting.lockId } : {}),
      unresolvedGroups: unresolved,
      heldEvents: this.held.size,
      heldBytes: this.held.bytes,
      heldOnDiskBytes: this.held.diskBytes,
    };
  }
}
