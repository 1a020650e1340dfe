/**
 * The worker side of the etcd-backed binlog operations (`dmctl binlog skip|replace|inject|...`;
 * the master stores them, src/master/binlog-ops.ts): the sync unit consults them through its
 * `onFailedEvent` hook when the target rejects an event.
 */
import type { Etcd3, Namespace } from 'etcd3';
import type { Logger } from '../log/index.js';
import { formatFilePos } from '../binlog/position.js';
import type { FailedEventDecision, FailedEventInfo } from '../units/sync/index.js';
import { binlogOpKey, type BinlogOpRecord, type Keys } from '../store/index.js';

/** What the sync unit asks when the target rejects an event. */
export interface BinlogOpStore {
  /**
   * The pending operation for the failed event that ends at `pos` (`file:offset`), stored under
   * exactly that position (given with `-b`, or resolved by the master from the error the subtask
   * was paused on). The operation is removed once returned (it applies once); an operation for any
   * other position is left alone, so it never applies to an unrelated error.
   */
  take(pos: string): Promise<BinlogOpRecord | undefined>;
}

type KV = Etcd3 | Namespace;

/** The worker side: binlog operations of one subtask, kept in etcd under binlogOpKey. */
export function etcdBinlogOps(client: KV, keys: Keys, sourceId: string, taskName: string): BinlogOpStore {
  return {
    async take(pos: string): Promise<BinlogOpRecord | undefined> {
      const key = binlogOpKey(keys, sourceId, taskName, pos);
      const text = await client.get(key).string();
      if (text === null) return undefined;
      await client.delete().key(key);
      try {
        return JSON.parse(text) as BinlogOpRecord;
      } catch {
        return undefined;
      }
    },
  };
}

/** The sync unit's onFailedEvent, answering from the operation store. */
export function failedEventHandler(ops: BinlogOpStore, log?: Logger): (info: FailedEventInfo) => Promise<FailedEventDecision> {
  return async (info) => {
    const op = await ops.take(formatFilePos(info.pos));
    if (!op) return { action: 'fail' };
    log?.info({ op: op.op, pos: formatFilePos(info.pos), sql: info.sql }, 'applying binlog operation');
    if (op.op === 'skip') return { action: 'skip' };
    if (op.op === 'replace') return { action: 'replace', sql: op.sqls };
    return { action: 'replace', sql: [...op.sqls, ...info.sql] };
  };
}
