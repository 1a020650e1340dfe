/**
 * The lock keeper's part of the shard DDL protocol (src/store/shardddl.ts), played by a test, so
 * that the worker side (src/units/sync/shard-*.ts, src/worker/shardddl-client.ts) is tested
 * against real etcd before (and independently of) the master's keeper. It follows the header of
 * src/store/shardddl.ts literally and records what it did, for the tests to assert on.
 */
import type { Etcd3 } from 'etcd3';
import { listPrefix, shardKeys, shardLockId, type Keys, type OptimisticInfo, type OptimisticOperation, type PessimisticInfo, type PessimisticOperation } from '../../src/store/index.js';
import { sleepAbortable } from '../../src/util/index.js';

export interface PessimisticRound {
  lockId: string;
  ddls: string[];
  owner: string;
  infos: PessimisticInfo[];
}

/**
 * Pessimistic keeper for one task over `sources`: when every source put an info with the same DDLs,
 * the first one (lowest create revision) gets `exec: true`; once it is done the others get
 * `exec: false`; once all are done, infos and operations are deleted (one round = one lock).
 */
export function fakePessimisticLeader(client: Etcd3, keys: Keys, task: string, sources: string[], signal: AbortSignal): { rounds: PessimisticRound[]; done: Promise<void> } {
  const rounds: PessimisticRound[] = [];
  const done = (async () => {
    while (!signal.aborted) {
      await sleepAbortable(100, signal);
      if (signal.aborted) return;
      const { kvs } = await listPrefix(client, shardKeys.pessimisticInfo(keys, task));
      const infos = kvs.map((kv) => ({ info: JSON.parse(kv.value) as PessimisticInfo, rev: BigInt(kv.createRevision) }));
      if (infos.length < sources.length) continue;
      const want = JSON.stringify(infos[0]!.info.ddls);
      if (!infos.every((i) => JSON.stringify(i.info.ddls) === want)) throw new Error(`fake leader: sources put different DDLs: ${JSON.stringify(infos.map((i) => i.info))}`);
      infos.sort((a, b) => (a.rev < b.rev ? -1 : 1));
      const owner = infos[0]!.info;
      const lockId = shardLockId(task, owner.downSchema, owner.downTable);
      const round: PessimisticRound = { lockId, ddls: owner.ddls, owner: owner.source, infos: infos.map((i) => i.info) };
      const put = async (source: string, exec: boolean): Promise<void> => {
        await
        client.put(shardKeys.pessimisticOp(keys, task, source)).value(JSON.stringify({ lockId, task, source, ddls: owner.ddls, exec, done: false } satisfies PessimisticOperation));
      };
      const waitDone = async (source: string): Promise<void> => {
        for (;;) {
          const v = await client.get(shardKeys.pessimisticOp(keys, task, source)).string();
          if (v && (JSON.parse(v) as PessimisticOperation).done) return;
          if (!(await sleepAbortable(100, signal)) && signal.aborted) return;
          if (signal.aborted) return;
        }
      };
      await put(owner.source, true);
      await waitDone(owner.source);
      for (const i of infos.slice(1)) await put(i.info.source, false);
      for (const i of infos.slice(1)) await waitDone(i.info.source);
      if (signal.aborted) return;
      rounds.push(round);
      await client.delete().prefix(shardKeys.pessimisticInfo(keys, task));
      await client.delete().prefix(shardKeys.pessimisticOp(keys, task));
    }
  })();
  return { rounds, done: done.catch((e: unknown) => {
    if (!signal.aborted) throw e;
  }) };
}

/**
 * Optimistic keeper, reduced to what the worker must obey: `answer` decides each info's operation
 * (DDLs to run, or a conflict); every info gets exactly one operation for its version.
 */
export function fakeOptimisticLeader(
  client: Etcd3,
  keys: Keys,
  task: string,
  answer: (info: OptimisticInfo) => Pick<OptimisticOperation, 'ddls' | 'conflictStage' | 'conflictMsg'>,
  signal: AbortSignal,
): { infos: OptimisticInfo[]; done: Promise<void> } {
  const infos: OptimisticInfo[] = [];
  const answered = new Set<string>();
  const done = (async () => {
    while (!signal.aborted) {
      await sleepAbortable(100, signal);
      if (signal.aborted) return;
      const { kvs } = await listPrefix(client, shardKeys.optimisticInfo(keys, task));
      for (const kv of kvs) {
        const info = JSON.parse(kv.value) as OptimisticInfo;
        const k = `${kv.key}#${info.version}`;
        if (answered.has(k)) continue;
        answered.add(k);
        infos.push(info);
        // the real keeper's answer to an info put again after `binlog skip|replace` of a conflict
        const a: Pick<OptimisticOperation, 'ddls' | 'conflictStage' | 'conflictMsg'> = info.ignoreConflict ? { ddls: [], conflictStage: 'skipped' } : answer(info);
        const op: OptimisticOperation = {
          lockId: shardLockId(task, info.downSchema, info.downTable),
          task,
          source: info.source,
          upSchema: info.upSchema,
          upTable: info.upTable,
          version: info.version,
          ddls: a.ddls,
          conflictStage: a.conflictStage,
          ...(a.conflictMsg ? { conflictMsg: a.conflictMsg } : {}),
          done: false,
        };
        await client.put(shardKeys.optimisticOp(keys, task, info.source, info.upSchema, info.upTable)).value(JSON.stringify(op));
      }
    }
  })();
  return { infos, done: done.catch((e: unknown) => {
    if (!signal.aborted) throw e;
  }) };
}
