/**
 * The shard DDL state as the lock keeper sees it: every record under `<prefix>shardddl/` plus the
 * sources of every task (`task/subtask/<source>/<task>`), read from etcd with their revisions.
 * The keeper's decisions (src/master/shardddl/pessimist.ts, optimist.ts) are pure functions of
 * this state, so any master can answer `shard-ddl-lock` and a new leader rebuilds every lock by
 * reading it once.
 */
import type { Etcd3 } from 'etcd3';
import {
  Keys,
  listPrefix,
  parseJSON,
  shardKeys,
  type KV,
  type OptimisticInfo,
  type OptimisticLockState,
  type OptimisticOperation,
  type PessimisticInfo,
  type PessimisticLockState,
  type PessimisticOperation,
  type SourceTables,
} from '../../store/index.js';

/** A record with the etcd revisions the keeper compares on. */
export interface Rec<T> {
  key: string;
  value: T;
  modRevision: bigint;
  createRevision: bigint;
}

export interface ShardState {
  /** task → its sources (sorted). */
  taskSources: Map<string, string[]>;
  pessimistic: {
    /** task → source → info */
    infos: Map<string, Map<string, Rec<PessimisticInfo>>>;
    /** task → source → operation */
    ops: Map<string, Map<string, Rec<PessimisticOperation>>>;
    /** task → lockId → round record */
    locks: Map<string, Map<string, Rec<PessimisticLockState>>>;
  };
  optimistic: {
    /** task → source → source tables */
    sourceTables: Map<string, Map<string, Rec<SourceTables>>>;
    /** task → `source/upSchema/upTable` → info */
    infos: Map<string, Map<string, Rec<OptimisticInfo>>>;
    /** task → `source/upSchema/upTable` → operation */
    ops: Map<string, Map<string, Rec<OptimisticOperation>>>;
    /** task → lockId → joined state */
    locks: Map<string, Map<string, Rec<OptimisticLockState>>>;
  };
  /** etcd revision the shard records were read at. */
  revision: bigint;
}

/** `source/upSchema/upTable`: the key of one upstream table inside a task. */
export function tableKey(source: string, upSchema: string, upTable: string): string {
  return `${source}/${upSchema}/${upTable}`;
}

function rec<T>(kv: KV): Rec<T> {
  return { key: kv.key, value: parseJSON<T>(kv.key, kv.value), modRevision: BigInt(kv.modRevision), createRevision: BigInt(kv.createRevision) };
}

function put<K, K2, V>(m: Map<K, Map<K2, V>>, k: K, k2: K2, v: V): void {
  let inner = m.get(k);
  if (!inner) {
    inner = new Map();
    m.set(k, inner);
  }
  inner.set(k2, v);
}

/** An empty state (tests and a fresh cluster). */
export function emptyShardState(): ShardState {
  return {
    taskSources: new Map(),
    pessimistic: { infos: new Map(), ops: new Map(), locks: new Map() },
    optimistic: { sourceTables: new Map(), infos: new Map(), ops: new Map(), locks: new Map() },
    revision: 0n,
  };
}

/**
 * Read everything. Records that do not parse are skipped (and reported through `onBad`): one bad
 * value must not stop the coordination of every other lock.
 */
export async function readShardState(client: Etcd3, keys: Keys, onBad?: (key: string, err: unknown) => void): Promise<ShardState> {
  const [shard, subtasks] = await Promise.all([listPrefix(client, `${keys.prefix}shardddl/`), listPrefix(client, keys.subtask())]);
  const st = emptyShardState();
  st.revision = BigInt(shard.revision);
  for (const kv of subtasks.kvs) {
    const { source, task } = Keys.sourceAndTask(kv.key);
    st.taskSources.set(task, [...(st.taskSources.get(task) ?? []), source].sort());
  }
  const p = {
    info: shardKeys.pessimisticInfo(keys),
    op: shardKeys.pessimisticOp(keys),
    lock: shardKeys.pessimisticLock(keys),
  };
  const o = {
    st: shardKeys.sourceTables(keys),
    info: shardKeys.optimisticInfo(keys),
    op: shardKeys.optimisticOp(keys),
    lock: shardKeys.optimisticLock(keys),
  };
  for (const kv of shard.kvs) {
    try {
      if (kv.key.startsWith(p.info)) {
        const r = rec<PessimisticInfo>(kv);
        put(st.pessimistic.infos, r.value.task, r.value.source, r);
      } else if (kv.key.startsWith(p.op)) {
        const r = rec<PessimisticOperation>(kv);
        put(st.pessimistic.ops, r.value.task, r.value.source, r);
      } else if (kv.key.startsWith(p.lock)) {
        const r = rec<PessimisticLockState>(kv);
        put(st.pessimistic.locks, r.value.task, r.value.lockId, r);
      } else if (kv.key.startsWith(o.st)) {
        const r = rec<SourceTables>(kv);
        put(st.optimistic.sourceTables, r.value.task, r.value.source, r);
      } else if (kv.key.startsWith(o.info)) {
        const r = rec<OptimisticInfo>(kv);
        put(st.optimistic.infos, r.value.task, tableKey(r.value.source, r.value.upSchema, r.value.upTable), r);
      } else if (kv.key.startsWith(o.op)) {
        const r = rec<OptimisticOperation>(kv);
        put(st.optimistic.ops, r.value.task, tableKey(r.value.source, r.value.upSchema, r.value.upTable), r);
      } else if (kv.key.startsWith(o.lock)) {
        const r = rec<OptimisticLockState>(kv);
        put(st.optimistic.locks, r.value.task, r.value.lockId, r);
      }
    } catch (err) {
      onBad?.(kv.key, err);
    }
  }
  return st;
}

/** Every task named anywhere in the state. */
export function tasksOf(st: ShardState): string[] {
  const all = new Set<string>([
    ...st.pessimistic.infos.keys(),
    ...st.pessimistic.ops.keys(),
    ...st.pessimistic.locks.keys(),
    ...st.optimistic.infos.keys(),
    ...st.optimistic.ops.keys(),
    ...st.optimistic.locks.keys(),
  ]);
  return [...all].sort();
}
