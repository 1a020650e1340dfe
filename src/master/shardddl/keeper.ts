/**
 * The shard DDL lock keeper: run by the leader only (started on election, closed on step-down, as
 * the scheduler). Level-triggered: any change under `<prefix>shardddl/` or `task/subtask/` (and
 * every `resyncMs`) re-reads the whole shard DDL state (state.ts), plans both modes
 * (pessimist.ts, optimist.ts) and makes the planned writes, each one fenced txn compared on the
 * records it was planned from; a compare that fails (a worker wrote meanwhile) just re-plans.
 * Nothing lives only in memory, so a new leader finishes every lock its predecessor left.
 *
 * `shard-ddl-lock unlock` (unlockPessimistic / unlockOptimistic) writes the operations by hand
 * through the same fence and waits for the lock to go away.
 *
 * States: New → Running → Stopped (close()).
 */
import type { Etcd3, IOperation } from 'etcd3';
import { DMError } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import { silentLogger } from '../../log/index.js';
import {
  leaderTxn,
  PrefixWatcher,
  shardKeys,
  shardLockId,
  type Fence,
  type Keys,
  type OptimisticLockState,
  type OptimisticOperation,
  type PessimisticInfo,
  type PessimisticLockState,
  type PessimisticOperation,
  type TxnCompare,
} from '../../store/index.js';
import { sleepAbortable, Waker } from '../../util/index.js';
import type { LockView } from './lock-view.js';
import { memberOp, planPessimistic, type PessimisticAction } from './pessimist.js';
import { acceptTable, planOptimistic, type OptimisticAction } from './optimist.js';
import { readShardState, tableKey, type Rec, type ShardState } from './state.js';

/** DM's dm_master_shard_ddl_error `type` labels. */
export const DDL_ERROR_TYPES = {
  infoSyncLock: 'InfoPut - SyncLockError',
  infoHandleLock: 'InfoPut - HandleLockError',
  opRemoveLock: 'OperationPut - RemoveLockError',
  opLockUnsynced: 'OperationPut - LockUnSyncedError',
  opPutNonOwner: 'OperationPut - PutNonOwnerOpError',
} as const;

export interface KeeperMetrics {
  /** Every pass: the locks as planned (dm_master_ddl_state_number). */
  locks(views: LockView[]): void;
  /** dm_master_shard_ddl_error{task,type}. */
  error(task: string, type: string): void;
}

export interface ShardDDLKeeperOptions {
  client: Etcd3;
  keys: Keys;
  fence: () => Fence | undefined;
  onFenceLost: (e: DMError) => void;
  logger?: Logger;
  metrics?: KeeperMetrics;
  /** Safety re-plan period (ms). */
  resyncMs?: number;
}

export interface UnlockOptions {
  /** Replace the owner (pessimistic). */
  owner?: string;
  forceRemove?: boolean;
  action?: 'exec' | 'skip';
  /** Optimistic: the upstream table whose DDL to exec or skip. */
  source?: string;
  database?: string;
  table?: string;
  /** How long to wait for the lock to resolve (default 10 s, DM's 10 × 1 s). */
  waitMs?: number;
}

const cmp = (key: string, target: 'Create' | 'Mod', value: bigint | number): TxnCompare => ({ key, target, cmp: '==', value: String(value) });

export class ShardDDLKeeper {
  private readonly ac = new AbortController();
  private loop: Promise<void> | undefined;
  private watchers: PrefixWatcher[] = [];
  private dirty = true;
  private readonly waker = new Waker();
  private readonly log: Logger;
  /** Errors already counted: `<lockId>|<table or source>|<revision>`. */
  private readonly reported = new Set<string>();
  private passes = 0;
  private readonly passWaiters: (() => void)[] = [];

  constructor(private readonly o: ShardDDLKeeperOptions) {
    this.log = (o.logger ?? silentLogger).child({ component: 'shardddl-keeper' });
  }

  start(): void {
    if (this.loop) return;
    const trigger = { reset: () => this.kick(), put: () => this.kick(), del: () => this.kick() };
    this.watchers = [
      new PrefixWatcher(this.o.client, `${this.o.keys.prefix}shardddl/`, trigger, this.log),
      new PrefixWatcher(this.o.client, this.o.keys.subtask(), trigger, this.log),
    ];
    for (const w of this.watchers) w.start();
    this.loop = this.run(this.ac.signal);
    this.log.info('shard DDL lock keeper started');
  }

  kick(): void {
    this.dirty = true;
    this.waker.wake();
  }

  get running(): boolean {
    return this.loop !== undefined && !this.ac.signal.aborted;
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (!this.dirty) await this.waker.sleep(this.o.resyncMs ?? 5000, signal);
      if (signal.aborted) return;
      this.dirty = false;
      try {
        await this.reconcile();
      } catch (err) {
        if (err instanceof DMError && err.codeName === 'ErrEtcdFenced') {
          this.log.warn('shard DDL keeper write fenced off: not the leader any more');
          return;
        }
        this.o.metrics?.error('', DDL_ERROR_TYPES.infoHandleLock);
        this.log.warn({ err }, 'shard DDL reconcile failed, retrying');
        this.dirty = true;
        await sleepAbortable(500, signal);
      }
      this.passes++;
      for (const w of this.passWaiters.splice(0)) w();
    }
  }

  private async txn(ops: IOperation[], compares: TxnCompare[]): Promise<boolean> {
    return leaderTxn(this.o.client, this.o.fence(), ops, compares, this.o.onFenceLost);
  }

  private async state(): Promise<ShardState> {
    return readShardState(this.o.client, this.o.keys, (key, err) => this.log.warn({ key, err }, 'unreadable shard DDL record skipped'));
  }

  /** One pass: read, plan, write. */
  async reconcile(): Promise<void> {
    const st = await this.state();
    const p = planPessimistic(st);
    const o = planOptimistic(st);
    this.o.metrics?.locks([...p.locks, ...o.locks]);
    let retry = false;
    for (const a of p.actions) if (!(await this.doPessimistic(a))) retry = true;
    for (const a of o.actions) if (!(await this.doOptimistic(a))) retry = true;
    if (retry) {
      // a worker wrote between our read and our txn: plan again from the new state
      this.dirty = true;
      await sleepAbortable(50, this.ac.signal);
    }
  }

  private reportOnce(task: string, id: string, type: string, msg: string): void {
    if (this.reported.has(id)) return;
    this.reported.add(id);
    if (this.reported.size > 10_000) this.reported.clear();
    this.o.metrics?.error(task, type);
    this.log.warn({ task, msg }, 'shard DDL lock error');
  }

  private async doPessimistic(a: PessimisticAction): Promise<boolean> {
    const { client, keys } = this.o;
    switch (a.kind) {
      case 'mismatch':
        this.reportOnce(a.task, `${a.lockId}|${a.source}|${a.infoRevision}`, DDL_ERROR_TYPES.infoSyncLock, a.msg);
        return true;
      case 'sync': {
        const recKey = shardKeys.pessimisticLock(keys, a.task, a.lockId);
        const opKey = shardKeys.pessimisticOp(keys, a.task, a.ownerOp.source);
        const compares = [cmp(recKey, 'Create', 0), cmp(opKey, 'Create', 0)];
        for (const [s, rev] of a.infoRevisions) compares.push(cmp(shardKeys.pessimisticInfo(keys, a.task, s), 'Mod', rev));
        const ok = await this.txn([client.put(recKey).value(JSON.stringify(a.record)), client.put(opKey).value(JSON.stringify(a.ownerOp))], compares);
        // a failed compare is a worker's write in between (e.g. its info put again): planned again
        if (ok) this.log.info({ lock: a.lockId, owner: a.record.owner, sources: a.record.sources }, 'shard DDL lock synced: owner operation put');
        return ok;
      }
      case 'put-ops': {
        const ops = a.ops.map((op) => client.put(shardKeys.pessimisticOp(keys, a.task, op.source)).value(JSON.stringify(op)));
        const ok = await this.txn(
          ops,
          a.ops.map((op) => cmp(shardKeys.pessimisticOp(keys, a.task, op.source), 'Create', 0)),
        );
        if (ok) this.log.info({ lock: a.lockId, sources: a.ops.map((x) => x.source), exec: a.ops.map((x) => x.exec) }, 'shard DDL lock operations put');
        return ok;
      }
      case 'drop-ops': {
        const ok = await this.txn(
          a.ops.map((o) => client.delete().key(o.key)),
          a.ops.map((o) => cmp(o.key, 'Mod', o.modRevision)),
        );
        if (ok) this.log.info({ task: a.task, sources: a.ops.map((o) => o.value.source) }, 'left-over shard DDL operations deleted');
        return ok;
      }
      case 'resolve': {
        const ops: IOperation[] = [client.delete().key(a.record.key)];
        const compares = [cmp(a.record.key, 'Mod', a.record.modRevision)];
        for (const r of [...a.ops, ...a.infos]) {
          ops.push(client.delete().key(r.key));
          compares.push(cmp(r.key, 'Mod', r.modRevision));
        }
        const ok = await this.txn(ops, compares);
        if (ok) this.log.info({ lock: a.lockId }, 'shard DDL lock resolved');
        return ok;
      }
    }
  }

  private async doOptimistic(a: OptimisticAction): Promise<boolean> {
    const { client, keys } = this.o;
    switch (a.kind) {
      case 'answer': {
        const lockKey = shardKeys.optimisticLock(keys, a.task, a.lockId);
        const compares = [a.stateRec ? cmp(lockKey, 'Mod', a.stateRec.modRevision) : cmp(lockKey, 'Create', 0)];
        const ops: IOperation[] = [];
        for (const { info, op } of a.answers) {
          compares.push(cmp(info.key, 'Mod', info.modRevision));
          ops.push(client.put(shardKeys.optimisticOp(keys, a.task, op.source, op.upSchema, op.upTable)).value(JSON.stringify(op)));
        }
        if (a.state) ops.push(client.put(lockKey).value(JSON.stringify(a.state)));
        const ok = await this.txn(ops, compares);
        if (!ok) return false;
        for (const { info, op } of a.answers) {
          if (op.conflictStage === 'detected') this.reportOnce(a.task, `${a.lockId}|${info.key}|${info.modRevision}`, DDL_ERROR_TYPES.infoSyncLock, op.conflictMsg ?? '');
          else this.log.info({ lock: a.lockId, table: tableKey(op.source, op.upSchema, op.upTable), version: op.version, ddls: op.ddls }, 'optimistic shard DDL answered');
        }
        return true;
      }
      case 'drop-ops': {
        const ok = await this.txn(
          a.ops.map((o) => client.delete().key(o.key)),
          a.ops.map((o) => cmp(o.key, 'Mod', o.modRevision)),
        );
        if (ok) this.log.info({ task: a.task, tables: a.ops.map((o) => tableKey(o.value.source, o.value.upSchema, o.value.upTable)) }, 'left-over optimistic shard DDL operations deleted');
        return ok;
      }
      case 'resolve': {
        const ops: IOperation[] = [];
        const compares: TxnCompare[] = [];
        for (const r of a.records) {
          ops.push(client.delete().key(r.key));
          compares.push(cmp(r.key, 'Mod', r.modRevision));
        }
        const ok = await this.txn(ops, compares);
        if (ok) this.log.info({ lock: a.lockId }, 'optimistic shard DDL lock resolved');
        return ok;
      }
    }
  }

  /** Resolves after the next complete pass (or at once when closed). */
  private async nextPass(signal: AbortSignal): Promise<void> {
    const want = this.passes + 1;
    this.kick();
    while (this.passes < want && !signal.aborted && !this.ac.signal.aborted) {
      await new Promise<void>((res) => {
        this.passWaiters.push(res);
        setTimeout(res, 1000).unref();
      });
    }
  }

  private async findLock(id: string): Promise<{ st: ShardState; view: LockView }> {
    const st = await this.state();
    const view = [...planPessimistic(st).locks, ...planOptimistic(st).locks].find((l) => l.id === id);
    if (!view) throw new DMError('ErrMasterLockNotFound', `lock ${id} not found`);
    return { st, view };
  }

  /**
   * `shard-ddl-lock unlock` (DM's Pessimist.UnlockLock / Optimist.UnlockLock). Resolves with a
   * message ('' when the lock resolved by itself after the operations were written).
   */
  async unlock(id: string, opts: UnlockOptions, signal: AbortSignal): Promise<string> {
    if (!this.running) throw new DMError('ErrMasterKeeperNotStarted', 'the shard DDL lock keeper is not running on this master');
    const { st, view } = await this.findLock(id);
    const taskGone = (st.taskSources.get(view.task) ?? []).length === 0;
    const forceRemove = opts.forceRemove === true || taskGone;
    // nobody will answer (the task is stopped) or nothing to hand out (optimistic, no table given): remove now
    if (taskGone || (view.mode === 'optimistic' && forceRemove && !opts.source)) {
      await this.forceRemove(st, view);
      return `lock ${id} removed${taskGone ? ` (task ${view.task} has no subtasks)` : ' by --force-remove'}`;
    }
    if (view.mode === 'pessimistic') await this.startPessimisticUnlock(st, view, opts);
    else await this.startOptimisticUnlock(st, view, opts);
    // wait for the lock to go (the keeper's passes finish it as the workers report done)
    const deadline = Date.now() + (opts.waitMs ?? 10_000);
    for (;;) {
      await this.nextPass(signal);
      const cur = await this.state();
      const still = [...planPessimistic(cur).locks, ...planOptimistic(cur).locks].find((l) => l.id === id);
      if (!still || (view.mode === 'optimistic' && !forceRemove)) return '';
      if (signal.aborted || Date.now() > deadline) break;
      await sleepAbortable(300, signal);
    }
    const cur = await this.state();
    if (!forceRemove) {
      const rec = cur.pessimistic.locks.get(view.task)?.get(id)?.value;
      const ops = cur.pessimistic.ops.get(view.task) ?? new Map<string, Rec<PessimisticOperation>>();
      const pending = (rec?.sources ?? []).filter((s) => ops.get(s)?.value.done !== true);
      throw new DMError('ErrMasterOwnerExecDDL', `lock ${id}: sources ${pending.join(', ') || '(none)'} have not done their operation yet (owner ${rec?.owner ?? view.owner})`);
    }
    await this.forceRemove(cur, view);
    return `lock ${id} removed by --force-remove`;
  }

  private async startPessimisticUnlock(st: ShardState, view: LockView, opts: UnlockOptions): Promise<void> {
    const { client, keys } = this.o;
    if (opts.source || opts.database || opts.table) throw new DMError('ErrMasterUnlockInvalid', `lock ${view.id} is pessimistic: -s/-d/-t are for optimistic locks`);
    const task = view.task;
    const infos = st.pessimistic.infos.get(task) ?? new Map<string, Rec<PessimisticInfo>>();
    const ops = st.pessimistic.ops.get(task) ?? new Map<string, Rec<PessimisticOperation>>();
    const recRec = st.pessimistic.locks.get(task)?.get(view.id);
    const skipAll = opts.action === 'skip';
    if (!recRec) {
      // un-synced: every source that reached a DDL of this lock takes part; the rest are left out
      const members = [...infos.values()].filter((i) => shardLockIdOfInfo(i.value) === view.id);
      const owner = opts.owner || view.owner;
      const ownerInfo = members.find((m) => m.value.source === owner);
      if (!ownerInfo) throw new DMError('ErrMasterOwnerNotWaiting', `owner ${owner} has not reached a DDL of lock ${view.id}; sources ${view.synced.join(', ')} have`);
      const rec: PessimisticLockState = {
        lockId: view.id,
        task,
        downSchema: ownerInfo.value.downSchema,
        downTable: ownerInfo.value.downTable,
        owner,
        ddls: ownerInfo.value.ddls,
        sources: members.map((m) => m.value.source).sort(),
        ...(skipAll ? { skipAll } : {}),
      };
      const recKey = shardKeys.pessimisticLock(keys, task, view.id);
      const opKey = shardKeys.pessimisticOp(keys, task, owner);
      const ok = await this.txn(
        [client.put(recKey).value(JSON.stringify(rec)), client.put(opKey).value(JSON.stringify(memberOp(rec, owner)))],
        [cmp(recKey, 'Create', 0), cmp(opKey, 'Create', 0), ...members.map((m) => cmp(m.key, 'Mod', m.modRevision))],
      );
      if (!ok) throw new DMError('ErrEtcdTxnConflict', `lock ${view.id} changed while it was being unlocked; run the unlock again`);
      this.log.warn({ lock: view.id, owner, sources: rec.sources, unsynced: view.unsynced, skipAll }, 'shard DDL lock unlocked by hand');
      return;
    }
    // synced: replace the owner (its operation not done yet) and/or turn exec into skip
    const rec = recRec.value;
    const owner = opts.owner || rec.owner;
    if (!rec.sources.includes(owner)) throw new DMError('ErrMasterOwnerNotWaiting', `owner ${owner} is not a member of lock ${view.id} (${rec.sources.join(', ')})`);
    const oldOp = ops.get(rec.owner);
    if (oldOp?.value.lockId === view.id && oldOp.value.done) {
      if (owner !== rec.owner || skipAll) throw new DMError('ErrMasterUnlockInvalid', `the owner ${rec.owner} of lock ${view.id} already ran its operation; the lock finishes by itself`);
      return;
    }
    if (owner === rec.owner && skipAll === (rec.skipAll === true)) return; // nothing to change: just wait
    const next: PessimisticLockState = { ...rec, owner, ...(skipAll ? { skipAll } : {}) };
    const recKey = recRec.key;
    const txOps: IOperation[] = [client.put(recKey).value(JSON.stringify(next))];
    const compares = [cmp(recKey, 'Mod', recRec.modRevision)];
    if (oldOp?.value.lockId === view.id) {
      txOps.push(client.delete().key(oldOp.key));
      compares.push(cmp(oldOp.key, 'Mod', oldOp.modRevision));
    }
    const newKey = shardKeys.pessimisticOp(keys, task, owner);
    const cur = ops.get(owner);
    if (cur && cur.key !== oldOp?.key) compares.push(cmp(newKey, 'Mod', cur.modRevision));
    txOps.push(client.put(newKey).value(JSON.stringify(memberOp(next, owner))));
    const ok = await this.txn(txOps, compares);
    if (!ok) throw new DMError('ErrEtcdTxnConflict', `lock ${view.id} changed while it was being unlocked; run the unlock again`);
    this.log.warn({ lock: view.id, from: rec.owner, to: owner, skipAll }, 'shard DDL lock owner replaced by hand');
  }

  private async startOptimisticUnlock(st: ShardState, view: LockView, opts: UnlockOptions): Promise<void> {
    const { client, keys } = this.o;
    if (opts.owner) throw new DMError('ErrMasterUnlockInvalid', `lock ${view.id} is optimistic: it has no owner to replace`);
    if (!opts.source) {
      throw new DMError('ErrMasterUnlockInvalid', `lock ${view.id} is optimistic: give -s <source> -d <db> -t <table> of the table whose DDL to exec or skip, or --force-remove`);
    }
    const task = view.task;
    const infos = [...(st.optimistic.infos.get(task)?.values() ?? [])].filter(
      (i) => i.value.source === opts.source && (!opts.database || i.value.upSchema === opts.database) && (!opts.table || i.value.upTable === opts.table),
    );
    if (infos.length !== 1) {
      throw new DMError('ErrMasterUnlockInvalid', `lock ${view.id}: ${infos.length === 0 ? 'no pending DDL' : 'several pending DDLs'} of source ${opts.source}${opts.database ? ` db ${opts.database}` : ''}${opts.table ? ` table ${opts.table}` : ''}; give -d and -t of one upstream table`);
    }
    const info = infos[0] as (typeof infos)[number];
    const stateRec = st.optimistic.locks.get(task)?.get(view.id);
    const exec = (opts.action ?? 'skip') === 'exec';
    const state: OptimisticLockState = acceptTable(stateRec?.value, view.id, info.value);
    const op: OptimisticOperation = {
      lockId: view.id,
      task,
      source: info.value.source,
      upSchema: info.value.upSchema,
      upTable: info.value.upTable,
      version: info.value.version,
      ddls: exec ? info.value.ddls : [],
      conflictStage: exec ? 'resolved' : 'skipped',
      done: false,
    };
    const lockKey = shardKeys.optimisticLock(keys, task, view.id);
    const ok = await this.txn(
      [client.put(shardKeys.optimisticOp(keys, task, op.source, op.upSchema, op.upTable)).value(JSON.stringify(op)), client.put(lockKey).value(JSON.stringify(state))],
      [cmp(info.key, 'Mod', info.modRevision), stateRec ? cmp(lockKey, 'Mod', stateRec.modRevision) : cmp(lockKey, 'Create', 0)],
    );
    if (!ok) throw new DMError('ErrEtcdTxnConflict', `lock ${view.id} changed while it was being unlocked; run the unlock again`);
    this.log.warn({ lock: view.id, table: tableKey(op.source, op.upSchema, op.upTable), action: exec ? 'exec' : 'skip' }, 'optimistic shard DDL resolved by hand');
  }

  /** --force-remove: delete the lock's records (the members' infos and operations of this lock). */
  private async forceRemove(st: ShardState, view: LockView): Promise<void> {
    const { client } = this.o;
    const task = view.task;
    const keysToDelete: string[] = [];
    if (view.mode === 'pessimistic') {
      const rec = st.pessimistic.locks.get(task)?.get(view.id);
      if (rec) keysToDelete.push(rec.key);
      for (const op of st.pessimistic.ops.get(task)?.values() ?? []) if (op.value.lockId === view.id) keysToDelete.push(op.key);
      for (const info of st.pessimistic.infos.get(task)?.values() ?? []) if (shardLockIdOfInfo(info.value) === view.id) keysToDelete.push(info.key);
    } else {
      const rec = st.optimistic.locks.get(task)?.get(view.id);
      if (rec) keysToDelete.push(rec.key);
      for (const op of st.optimistic.ops.get(task)?.values() ?? []) if (op.value.lockId === view.id) keysToDelete.push(op.key);
      for (const info of st.optimistic.infos.get(task)?.values() ?? []) if (shardLockIdOfInfo(info.value) === view.id) keysToDelete.push(info.key);
    }
    await this.txn(
      keysToDelete.map((k) => client.delete().key(k)),
      [],
    );
    this.log.warn({ lock: view.id, keys: keysToDelete.length }, 'shard DDL lock force-removed');
    this.kick();
  }

  /** Stop. Idempotent. */
  async close(): Promise<void> {
    this.ac.abort();
    this.waker.wake();
    for (const w of this.passWaiters.splice(0)) w();
    await Promise.all(this.watchers.map((w) => w.close()));
    this.watchers = [];
    await this.loop;
  }
}

function shardLockIdOfInfo(i: { task: string; downSchema: string; downTable: string }): string {
  return shardLockId(i.task, i.downSchema, i.downTable);
}

/** Every lock of the cluster as planned from etcd now (any master may call it: it only reads). */
export async function showLocks(client: Etcd3, keys: Keys, task = '', sources: readonly string[] = []): Promise<LockView[]> {
  const st = await readShardState(client, keys);
  const all = [...planPessimistic(st).locks, ...planOptimistic(st).locks];
  return all
    .filter((l) => task === '' || l.task === task)
    .filter((l) => sources.length === 0 || [...l.synced, ...l.unsynced, l.owner].some((s) => sources.some((x) => s === x || s.startsWith(`${x}-`))))
    .sort((a, b) => a.id.localeCompare(b.id));
}
