/**
 * The worker's side of the shard DDL records in etcd (src/store/shardddl.ts): what the sync unit's
 * shard handlers (src/units/sync/shard-pessimist.ts, shard-optimist.ts) put and wait for.
 *
 * - every write (infos, SourceTables, `done`) is one etcd txn that also compares the mod revision
 *   of `source/bound/<worker>` with the one the converger started the subtask under
 *   ({@link ShardDDLBinding}). The converger stops its subtasks when the session is fenced, but a
 *   worker can be slower than that (a stall longer than its lease, a kill -9 and a restart, a
 *   transfer-source while its subtask is between two etcd calls): once the scheduler has moved the
 *   source, or bound it again (a new binding, a new revision), such a write fails with
 *   ErrWorkerSourceNotBound (40007) and changes nothing, so it never moves a lock;
 * - operations: read and watched; the worker writes only `done: true` back, in a txn that compares
 *   the key's mod revision, so an operation the leader replaced meanwhile (`shard-ddl-lock unlock`)
 *   is never overwritten;
 * - optimistic info versions: one more than the version of the info already stored for that
 *   upstream table (so a restarted worker's info is never taken for the one before).
 */
import type { Etcd3, IOperation } from 'etcd3';
import { DMError } from '../errors/index.js';
import { shardKeys, type Keys, type TxnCompare, type OptimisticInfo, type OptimisticOperation, type OptimisticLockState, type PessimisticInfo, type PessimisticOperation, type SourceTables } from '../store/index.js';
import type { ShardDDLClient } from '../units/sync/index.js';
import { sleepAbortable } from '../util/index.js';

/** How often a wait re-reads the key besides the watch (a watch event lost to a reconnect is then only late). */
const RECHECK_MS = 2000;

async function getWithRev<T>(client: Etcd3, key: string): Promise<{ value: T; rev: string } | undefined> {
  const res = await client.get(key).exec();
  const kv = res.kvs[0];
  if (!kv) return undefined;
  try {
    return { value: JSON.parse(kv.value.toString()) as T, rev: kv.mod_revision };
  } catch (e) {
    throw new DMError('ErrSyncShardCoordination', `cannot read ${key}`, { cause: e });
  }
}

/** Wait until the record at `key` satisfies `accept`: watch the key, re-read on every change (and every RECHECK_MS). */
async function waitFor<T>(client: Etcd3, key: string, accept: (v: T) => boolean, signal: AbortSignal): Promise<T> {
  let wake: () => void = () => undefined;
  const watcher = await client.watch().key(key).create();
  watcher.on('put', () => wake());
  watcher.on('error', () => undefined);
  try {
    for (;;) {
      signal.throwIfAborted();
      const cur = await getWithRev<T>(client, key);
      if (cur && accept(cur.value)) return cur.value;
      await new Promise<void>((resolve) => {
        wake = resolve;
        void sleepAbortable(RECHECK_MS, signal).then(() => resolve(), () => resolve());
      });
    }
  } finally {
    void watcher.cancel().catch(() => undefined);
  }
}

/**
 * The binding a subtask runs under: `source/bound/<worker>` held `source` at mod revision
 * `boundRevision` when the converger started it. Every shard DDL write of that subtask compares it.
 */
export interface ShardDDLBinding {
  worker: string;
  source: string;
  boundRevision: string;
}

/** Runs guarded writes: `ops` only while the binding holds (and `compares` hold); which of the two failed. */
class Writer {
  constructor(
    private readonly client: Etcd3,
    private readonly keys: Keys,
    private readonly binding: ShardDDLBinding | undefined,
  ) {}

  /** true: written; false: one of `compares` failed (binding intact); throws ErrWorkerSourceNotBound. */
  async txn(what: string, ops: IOperation[], compares: TxnCompare[] = []): Promise<boolean> {
    const all = [...(this.binding ? [{ key: this.keys.sourceBound(this.binding.worker), target: 'Mod', cmp: '==', value: this.binding.boundRevision } satisfies TxnCompare] : []), ...compares];
    const [first, ...rest] = all;
    if (!first) {
      // unguarded (no binding, no compare): a txn whose one compare always holds (a version is ≥ 0)
      await this.client.if(this.keys.prefix, 'Version', '>', -1).then(...ops).commit();
      return true;
    }
    let b = this.client.if(first.key, first.target, first.cmp, first.value);
    for (const c of rest) b = b.and(c.key, c.target, c.cmp, c.value);
    const res = await b.then(...ops).commit();
    if (res.succeeded) return true;
    await this.checkBound(what);
    return false;
  }

  /** Throws ErrWorkerSourceNotBound when the binding no longer holds. */
  async checkBound(what: string): Promise<void> {
    const b = this.binding;
    if (!b) return;
    const res = await this.client.get(this.keys.sourceBound(b.worker)).exec();
    const kv = res.kvs[0];
    if (kv && kv.mod_revision === b.boundRevision) return;
    let now = 'no source';
    if (kv) {
      try {
        now = `source ${(JSON.parse(kv.value.toString()) as { source?: string }).source ?? '?'} (bound again at revision ${kv.mod_revision})`;
      } catch {
        now = `a binding at revision ${kv.mod_revision}`;
      }
    }
    throw new DMError('ErrWorkerSourceNotBound', `dm-worker ${b.worker} is no longer bound to source ${b.source} as of revision ${b.boundRevision} (it now has ${now}): ${what} not written`);
  }

  /** The record is for the bound source (a client of one subtask writes only its own source's keys). */
  own(source: string, what: string): void {
    if (this.binding && source !== this.binding.source) {
      throw new DMError('ErrWorkerSourceNotBound', `dm-worker ${this.binding.worker} is bound to source ${this.binding.source}, not ${source}: ${what} not written`);
    }
  }
}

/** Put `done: true` into the operation at `key` while it is still the one given (same lock, version and DDLs). */
async function markDone<T extends { done: boolean }>(client: Etcd3, w: Writer, key: string, op: T, same: (a: T, b: T) => boolean): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const cur = await getWithRev<T>(client, key);
    if (!cur || cur.value.done || !same(cur.value, op)) {
      // nothing to write, but a stale worker must not go on as if its `done` counted
      await w.checkBound(`done of ${key}`);
      return;
    }
    if (await w.txn(`done of ${key}`, [client.put(key).value(JSON.stringify({ ...cur.value, done: true }))], [{ key, target: 'Mod', cmp: '==', value: cur.rev }])) return;
  }
  throw new DMError('ErrSyncShardCoordination', `cannot mark the shard DDL operation ${key} done: it keeps changing`);
}

const sameDDLs = (a: string[], b: string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The shard DDL client of one subtask. `binding`: the worker's binding to the source the subtask
 * runs under (the converger always gives it); without it (sync-unit tests with no dm-worker) writes
 * are not guarded.
 */
export function etcdShardDDLClient(client: Etcd3, keys: Keys, binding?: ShardDDLBinding): ShardDDLClient {
  const w = new Writer(client, keys, binding);
  return {
    async putPessimisticInfo(info: PessimisticInfo): Promise<void> {
      const key = shardKeys.pessimisticInfo(keys, info.task, info.source);
      w.own(info.source, `the shard DDL info ${key}`);
      await w.txn(`the shard DDL info ${key}`, [client.put(key).value(JSON.stringify(info))]);
    },
    async pessimisticOp(task, source) {
      return (await getWithRev<PessimisticOperation>(client, shardKeys.pessimisticOp(keys, task, source)))?.value;
    },
    waitPessimisticOp(task, source, accept, signal) {
      return waitFor(client, shardKeys.pessimisticOp(keys, task, source), accept, signal);
    },
    markPessimisticDone(op) {
      w.own(op.source, 'done of a shard DDL operation');
      return markDone(client, w, shardKeys.pessimisticOp(keys, op.task, op.source), op, (a, b) => a.lockId === b.lockId && a.exec === b.exec && sameDDLs(a.ddls, b.ddls));
    },
    async putSourceTables(st: SourceTables): Promise<void> {
      const key = shardKeys.sourceTables(keys, st.task, st.source);
      w.own(st.source, `the shard source tables ${key}`);
      await w.txn(`the shard source tables ${key}`, [client.put(key).value(JSON.stringify(st))]);
    },
    async putOptimisticInfo(info: Omit<OptimisticInfo, 'version'>): Promise<number> {
      const key = shardKeys.optimisticInfo(keys, info.task, info.source, info.upSchema, info.upTable);
      const opKey = shardKeys.optimisticOp(keys, info.task, info.source, info.upSchema, info.upTable);
      w.own(info.source, `the shard DDL info ${key}`);
      for (let i = 0; i < 5; i++) {
        const [cur, op] = await Promise.all([getWithRev<OptimisticInfo>(client, key), getWithRev<OptimisticOperation>(client, opKey)]);
        // above both the stored info's version and the last operation's (the keeper may have deleted the info)
        const version = Math.max(cur?.value.version ?? 0, op?.value.version ?? 0) + 1;
        const value = JSON.stringify({ ...info, version } satisfies OptimisticInfo);
        const same: TxnCompare = cur ? { key, target: 'Mod', cmp: '==', value: cur.rev } : { key, target: 'Create', cmp: '==', value: 0 };
        if (await w.txn(`the shard DDL info ${key}`, [client.put(key).value(value)], [same])) return version;
      }
      throw new DMError('ErrSyncShardCoordination', `cannot put the shard DDL info ${key}: it keeps changing`);
    },
    async optimisticInfo(task, source, upSchema, upTable) {
      return (await getWithRev<OptimisticInfo>(client, shardKeys.optimisticInfo(keys, task, source, upSchema, upTable)))?.value;
    },
    async optimisticOp(task, source, upSchema, upTable) {
      return (await getWithRev<OptimisticOperation>(client, shardKeys.optimisticOp(keys, task, source, upSchema, upTable)))?.value;
    },
    waitOptimisticOp(task, source, upSchema, upTable, accept, signal) {
      return waitFor(client, shardKeys.optimisticOp(keys, task, source, upSchema, upTable), accept, signal);
    },
    async optimisticLockWaits(task, lockId) {
      const st = await getWithRev<OptimisticLockState>(client, shardKeys.optimisticLock(keys, task, lockId));
      return Object.keys(st?.value.waiting ?? {}).length > 0;
    },
    async waitOptimisticLockDDLs(task, lockId, self, signal) {
      const prefix = shardKeys.optimisticOp(keys, task);
      const others = async (): Promise<OptimisticOperation[]> => {
        const res = await client.getAll().prefix(prefix).strings();
        const out: OptimisticOperation[] = [];
        for (const [k, v] of Object.entries(res)) {
          let op: OptimisticOperation;
          try {
            op = JSON.parse(v) as OptimisticOperation;
          } catch (e) {
            throw new DMError('ErrSyncShardCoordination', `cannot read ${k}`, { cause: e });
          }
          const mine = op.source === self.source && op.upSchema === self.upSchema && op.upTable === self.upTable;
          if (!mine && op.lockId === lockId && !op.done && op.ddls.length > 0 && op.conflictStage !== 'detected') out.push(op);
        }
        return out;
      };
      let wake: () => void = () => undefined;
      const watcher = await client.watch().prefix(prefix).create();
      watcher.on('put', () => wake());
      watcher.on('delete', () => wake());
      watcher.on('error', () => undefined);
      try {
        for (;;) {
          signal.throwIfAborted();
          if ((await others()).length === 0) return;
          await new Promise<void>((resolve) => {
            wake = resolve;
            void sleepAbortable(RECHECK_MS, signal).then(() => resolve(), () => resolve());
          });
        }
      } finally {
        void watcher.cancel().catch(() => undefined);
      }
    },
    markOptimisticDone(op) {
      w.own(op.source, 'done of a shard DDL operation');
      return markDone(client, w, shardKeys.optimisticOp(keys, op.task, op.source, op.upSchema, op.upTable), op, (a, b) => a.lockId === b.lockId && a.version === b.version);
    },
  };
}
