/**
 * The master side of `dmctl binlog skip|replace|inject|revert|list` (HandleError RPC): store,
 * delete or list the binlog operations of a task in etcd under `binlogOpKey`. The worker side
 * (`etcdBinlogOps` in src/worker/binlog-ops.ts) takes an operation when its sync unit fails on the
 * matching event. Writes go through the caller's fenced txn, so a deposed leader writes nothing.
 */
import type { Etcd3, IOperation } from 'etcd3';
import { DMError } from '../errors/index.js';
import { binlogOpKey, type BinlogOpRecord, type Keys } from '../store/index.js';

export type BinlogOpName = 'skip' | 'replace' | 'inject' | 'revert' | 'list';

export interface BinlogOpRequest {
  op: BinlogOpName;
  task: string;
  sources: readonly string[];
  /**
   * `file:offset` of the event (`-b`, or the position of the event a source is paused on, resolved
   * by the caller); empty/undefined only for `list` (every pending operation).
   */
  binlogPos?: string;
  sqls?: readonly string[];
}

export interface BinlogOpResult {
  source: string;
  result: boolean;
  /** list: the pending operations as JSON; revert of nothing: why. */
  msg: string;
}

/** Runs `ops` as one leader-fenced txn (MasterCore's txn). */
export type FencedTxn = (ops: IOperation[]) => Promise<boolean>;

const POS_RE = /^[^:\s/]+:\d+$/;

/** The normalised `<pos>` part of the key: `file:offset` or `current`. */
export function binlogOpPos(binlogPos: string | undefined): string {
  const pos = binlogPos && binlogPos !== '' ? binlogPos : 'current';
  if (pos !== 'current' && !POS_RE.test(pos)) {
    throw new DMError('ErrBinlogInvalidPosition', `invalid binlog position '${pos}'; use file:offset, e.g. mysql-bin.000001:1234`);
  }
  return pos;
}

/** Refuse a malformed request (SQL where none is taken or missing, a bad `-b`) before anything is looked up. */
export function checkBinlogOpRequest(req: BinlogOpRequest): void {
  binlogOpPos(req.binlogPos);
  const n = req.sqls?.length ?? 0;
  if ((req.op === 'replace' || req.op === 'inject') && n === 0) {
    throw new DMError('ErrMasterInvalidRequest', `binlog ${req.op} needs SQL statements`);
  }
  if ((req.op === 'skip' || req.op === 'revert' || req.op === 'list') && n > 0) {
    throw new DMError('ErrMasterInvalidRequest', `binlog ${req.op} takes no SQL statements`);
  }
}

/**
 * Store (skip/replace/inject), delete (revert) or list the operations of a task on some
 * sources. Every write of one request is ONE fenced txn. The caller resumes the subtasks
 * afterwards (skip/replace/inject), as DM does. An operation is stored under the exact position
 * it is for: the worker applies it only to the failed event ending there.
 */
export async function operateBinlogOps(client: Etcd3, keys: Keys, txn: FencedTxn, req: BinlogOpRequest): Promise<BinlogOpResult[]> {
  checkBinlogOpRequest(req);
  const pos = binlogOpPos(req.binlogPos);
  if (pos === 'current' && req.op !== 'list') {
    throw new DMError('ErrMasterInvalidRequest', `binlog ${req.op} needs the position of the event (-b, or the error the source is paused on)`);
  }
  const sqls = [...(req.sqls ?? [])];
  const out: BinlogOpResult[] = [];
  if (req.op === 'list') {
    for (const source of req.sources) {
      const kvs = await client.getAll().prefix(binlogOpKey(keys, source, req.task)).strings();
      const ops = Object.values(kvs).flatMap((v) => {
        try {
          return [JSON.parse(v) as BinlogOpRecord];
        } catch {
          return [];
        }
      });
      out.push({ source, result: true, msg: JSON.stringify(ops) });
    }
    return out;
  }
  const ops: IOperation[] = [];
  if (req.op === 'revert') {
    for (const source of req.sources) {
      const key = binlogOpKey(keys, source, req.task, pos);
      const had = (await client.get(key).string()) !== null;
      if (had) ops.push(client.delete().key(key));
      out.push({ source, result: had, msg: had ? '' : `no pending operation at ${pos} for task ${req.task}` });
    }
  } else {
    const rec: BinlogOpRecord = { op: req.op, pos, sqls, createdAt: new Date().toISOString() };
    for (const source of req.sources) {
      ops.push(client.put(binlogOpKey(keys, source, req.task, pos)).value(JSON.stringify(rec)));
      out.push({ source, result: true, msg: '' });
    }
  }
  if (ops.length > 0) await txn(ops);
  return out;
}
