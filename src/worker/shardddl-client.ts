/**
 * The worker's side of the shard DDL records in etcd (src/store/shardddl.ts): what the sync unit's
 * shard handlers (src/units/sync/shard-pessimist.ts, shard-optimist.ts) put and wait for.
 *
 * - infos and SourceTables: plain puts by the worker bound to the source (the converger stops every
 *   subtask when the worker's session is fenced, so a worker that lost its source writes nothing);
 * - operations: read and watched; the worker writes only `done: true` back, in a txn that compares
 *   the key's mod revision, so an operation the leader replaced meanwhile (`shard-ddl-lock unlock`)
 *   is never overwritten;
 * - optimistic info versions: one more than the version of the info already stored for that
 *   upstream table (so a restarted worker's info is never taken for the one before).
 */
import type { Etcd3 } from 'etcd3';
import { DMError } from '../errors/index.js';
import { shardKeys, type Keys, type OptimisticInfo, type OptimisticOperation, type PessimisticInfo, type PessimisticOperation, type SourceTables } from '../store/index.js';
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

/** Put `done: true` into the operation at `key` while it is still the one given (same lock, version and DDLs). */
async function markDone<T extends { done: boolean }>(client: Etcd3, key: string, op: T, same: (a: T, b: T) => boolean): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const cur = await getWithRev<T>(client, key);
    if (!cur || cur.value.done || !same(cur.value, op)) return;
    const res = await client
      .if(key, 'Mod', '==', cur.rev)
      .then(client.put(key).value(JSON.stringify({ ...cur.value, done: true })))
      .commit();
    if (res.succeeded) return;
  }
  throw new DMError('ErrSyncShardCoordination', `cannot mark the shard DDL operation ${key} done: it keeps changing`);
}

const sameDDLs = (a: string[], b: string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export function etcdShardDDLClient(client: Etcd3, keys: Keys): ShardDDLClient {
  return {
    async putPessimisticInfo(info: PessimisticInfo): Promise<void> {
      await client.put(shardKeys.pessimisticInfo(keys, info.task, info.source)).value(JSON.stringify(info));
    },
    async pessimisticOp(task, source) {
      return (await getWithRev<PessimisticOperation>(client, shardKeys.pessimisticOp(keys, task, source)))?.value;
    },
    waitPessimisticOp(task, source, accept, signal) {
      return waitFor(client, shardKeys.pessimisticOp(keys, task, source), accept, signal);
    },
    markPessimisticDone(op) {
      return markDone(client, shardKeys.pessimisticOp(keys, op.task, op.source), op, (a, b) => a.lockId === b.lockId && a.exec === b.exec && sameDDLs(a.ddls, b.ddls));
    },
    async putSourceTables(st: SourceTables): Promise<void> {
      await client.put(shardKeys.sourceTables(keys, st.task, st.source)).value(JSON.stringify(st));
    },
    async putOptimisticInfo(info: Omit<OptimisticInfo, 'version'>): Promise<number> {
      const key = shardKeys.optimisticInfo(keys, info.task, info.source, info.upSchema, info.upTable);
      const opKey = shardKeys.optimisticOp(keys, info.task, info.source, info.upSchema, info.upTable);
      for (let i = 0; i < 5; i++) {
        const [cur, op] = await Promise.all([getWithRev<OptimisticInfo>(client, key), getWithRev<OptimisticOperation>(client, opKey)]);
        // above both the stored info's version and the last operation's (the keeper may have deleted the info)
        const version = Math.max(cur?.value.version ?? 0, op?.value.version ?? 0) + 1;
        const value = JSON.stringify({ ...info, version } satisfies OptimisticInfo);
        const res = cur
          ? await client.if(key, 'Mod', '==', cur.rev).then(client.put(key).value(value)).commit()
          : await client.if(key, 'Create', '==', 0).then(client.put(key).value(value)).commit();
        if (res.succeeded) return version;
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
    markOptimisticDone(op) {
      return markDone(client, shardKeys.optimisticOp(keys, op.task, op.source, op.upSchema, op.upTable), op, (a, b) => a.lockId === b.lockId && a.version === b.version);
    },
  };
}
