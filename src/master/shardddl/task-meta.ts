/**
 * The shard DDL keys of a task, for stop-task and `start-task --remove-meta` (DM's
 * `pessimist.RemoveMetaData` / `optimist.RemoveMetaData`): the per-source records of the given
 * sources in both modes, and, when the whole task goes, the lock records too. Returned as etcd
 * operations so the caller deletes them in the same fenced txn as its own keys.
 */
import type { Etcd3, IOperation } from 'etcd3';
import { shardKeys, type Keys } from '../../store/index.js';

export function shardMetaDeletes(client: Etcd3, keys: Keys, task: string, sources: readonly string[], wholeTask: boolean): IOperation[] {
  if (task === '') return [];
  if (wholeTask) {
    return [
      shardKeys.pessimisticInfo(keys, task),
      shardKeys.pessimisticOp(keys, task),
      shardKeys.pessimisticLock(keys, task),
      shardKeys.sourceTables(keys, task),
      shardKeys.optimisticInfo(keys, task),
      shardKeys.optimisticOp(keys, task),
      shardKeys.optimisticLock(keys, task),
    ].map((p) => client.delete().prefix(p));
  }
  const ops: IOperation[] = [];
  for (const s of sources) {
    if (s === '') continue;
    ops.push(client.delete().key(shardKeys.pessimisticInfo(keys, task, s)));
    ops.push(client.delete().key(shardKeys.pessimisticOp(keys, task, s)));
    ops.push(client.delete().key(shardKeys.sourceTables(keys, task, s)));
    ops.push(client.delete().prefix(shardKeys.optimisticInfo(keys, task, s)));
    ops.push(client.delete().prefix(shardKeys.optimisticOp(keys, task, s)));
  }
  return ops;
}
