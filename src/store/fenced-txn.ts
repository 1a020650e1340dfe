import type { Etcd3, IOperation } from 'etcd3';
import { DMError } from '../errors/index.js';

/**
 * The leader's fencing token: its election key (under its election lease) and that key's create
 * revision. Every leader write compares on it, so once the lease is gone (the key deleted) or a
 * new campaign replaced it, a deposed leader's writes fail instead of overwriting its successor.
 */
export interface Fence {
  key: string;
  createRevision: string;
}

export type CompareTarget = 'Version' | 'Create' | 'Mod' | 'Value' | 'Lease';

export interface TxnCompare {
  key: string;
  target: CompareTarget;
  cmp: '==' | '!=' | '>' | '<';
  value: string | number;
}

/** Fired when a leader write fails because leadership is gone; the election steps down on it. */
export type FenceLostHandler = (err: DMError) => void;

/**
 * Run `ops` as one etcd txn guarded by the fence (and optional extra compares).
 * Returns true when applied, false when an extra compare failed; throws ErrEtcdFenced when the
 * fence no longer holds (this master is no longer the leader).
 */
export async function leaderTxn(
  client: Etcd3,
  fence: Fence | undefined,
  ops: IOperation[],
  compares: TxnCompare[] = [],
  onFenceLost?: FenceLostHandler,
): Promise<boolean> {
  if (!fence) {
    const e = new DMError('ErrEtcdFenced', 'this dm-master is not the leader');
    throw e;
  }
  let b = client.if(fence.key, 'Create', '==', fence.createRevision);
  for (const c of compares) b = b.and(c.key, c.target, c.cmp, c.value);
  const res = await b.then(...ops).commit();
  if (res.succeeded) return true;
  if (compares.length > 0) {
    const cur = await client.get(fence.key).exec();
    const kv = cur.kvs[0];
    if (kv && kv.create_revision === fence.createRevision) return false;
  }
  const e = new DMError('ErrEtcdFenced', `leader fence ${fence.key}@${fence.createRevision} no longer holds`);
  onFenceLost?.(e);
  throw e;
}
