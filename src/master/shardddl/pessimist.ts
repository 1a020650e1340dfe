/**
 * Pessimistic shard DDL coordination, the leader's side (DM's dm/master/shardddl/pessimist.go with
 * dm/pkg/shardddl/pessimism): a pure planner from the etcd state (state.ts) to the locks shard-ddl-lock
 * shows and the writes the keeper makes. The protocol is in src/store/shardddl.ts.
 *
 * A lock is identified by its ID ``<task>-`<db>`.`<table>` `` (the target table). It has two phases:
 * - un-synced (no round record): the infos of the task's sources that name this target table.
 *   The owner is the source whose info is oldest (lowest mod revision); the lock's DDLs are the
 *   owner's. An info with other DDLs is a mismatch: the lock is in error until it is resolved by
 *   hand. When every source of the task has put an info with the same DDLs, the plan is `sync`:
 *   the round record and the owner's `exec` operation in one txn (compared on every info).
 * - synced (round record): the owner's operation (exec, or skip with `--action skip`); when it is
 *   done, `skip` operations for the other members; when every member is done, `resolve`: delete
 *   the record, the members' operations and their infos of this round in one txn.
 *
 * Writes only ever create operations that do not exist (compare `Create == 0`), so replaying a plan
 * after a leader change or a lost reply is harmless; the keeper re-plans after every change.
 */
import type { PessimisticInfo, PessimisticLockState, PessimisticOperation } from '../../store/index.js';
import { shardLockId } from '../../store/index.js';
import type { LockView } from './lock-view.js';
import type { Rec, ShardState } from './state.js';

export type PessimisticAction =
  /** Put the round record and the owner's exec (or skip) operation; infos must be unchanged. */
  | { kind: 'sync'; task: string; lockId: string; record: PessimisticLockState; ownerOp: PessimisticOperation; infoRevisions: Map<string, bigint> }
  /** Put operations for sources that have none (create-only). */
  | { kind: 'put-ops'; task: string; lockId: string; ops: PessimisticOperation[] }
  /** Every member is done: delete the record, the operations and these infos (compared on mod revision). */
  | { kind: 'resolve'; task: string; lockId: string; record: Rec<PessimisticLockState>; ops: Rec<PessimisticOperation>[]; infos: Rec<PessimisticInfo>[] }
  /** Operations of no round (a worker's late `done` after --force-remove): delete (compared on mod revision). */
  | { kind: 'drop-ops'; task: string; ops: Rec<PessimisticOperation>[] }
  /** An info whose DDLs differ from the lock's (reported once per info revision). */
  | { kind: 'mismatch'; task: string; lockId: string; source: string; infoRevision: bigint; msg: string };

export interface PessimisticPlan {
  locks: LockView[];
  actions: PessimisticAction[];
}

function sameDDLs(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function lockIdOf(info: PessimisticInfo): string {
  return shardLockId(info.task, info.downSchema, info.downTable);
}

/** The operation for one member of a round. */
export function memberOp(rec: PessimisticLockState, source: string): PessimisticOperation {
  return { lockId: rec.lockId, task: rec.task, source, ddls: rec.ddls, exec: source === rec.owner && rec.skipAll !== true, done: false };
}

/**
 * The info of `source` belongs to the round of `lockId` unless the source's operation of that round
 * is done and the info was put after it (then it is the source's next DDL).
 */
function infoInRound(info: Rec<PessimisticInfo> | undefined, op: Rec<PessimisticOperation> | undefined, lockId: string): boolean {
  if (!info || lockIdOf(info.value) !== lockId) return false;
  if (op && op.value.lockId === lockId && op.value.done && info.modRevision > op.modRevision) return false;
  return true;
}

/** Plan one task. `sources`: the task's sources (its subtasks); none left = the task is gone. */
export function planPessimisticTask(
  task: string,
  sources: readonly string[],
  infos: ReadonlyMap<string, Rec<PessimisticInfo>>,
  ops: ReadonlyMap<string, Rec<PessimisticOperation>>,
  records: ReadonlyMap<string, Rec<PessimisticLockState>>,
): PessimisticPlan {
  const locks: LockView[] = [];
  const actions: PessimisticAction[] = [];
  const taskSources = new Set(sources);
  /** sources taking part in a round (their info is that round's, not a new lock's) */
  const inRound = new Set<string>();

  // synced locks: rounds in progress
  for (const [lockId, r] of [...records].sort((a, b) => a[0].localeCompare(b[0]))) {
    const rec = r.value;
    const opOf = (s: string): Rec<PessimisticOperation> | undefined => {
      const op = ops.get(s);
      return op && op.value.lockId === lockId ? op : undefined;
    };
    for (const s of rec.sources) if (infoInRound(infos.get(s), opOf(s), lockId)) inRound.add(s);
    const ownerOp = opOf(rec.owner);
    const ownerDone = ownerOp?.value.done === true;
    // a member that left the task (stop-task -s) is not waited for; an owner that left is (unlock --owner)
    const waitFor = rec.sources.filter((s) => s === rec.owner || taskSources.has(s));
    const missing = waitFor.filter((s) => !opOf(s) && !ops.has(s));
    if (!ownerOp) {
      if (!ops.has(rec.owner)) actions.push({ kind: 'put-ops', task, lockId, ops: [memberOp(rec, rec.owner)] });
    } else if (ownerDone && missing.length > 0) {
      actions.push({ kind: 'put-ops', task, lockId, ops: missing.map((s) => memberOp(rec, s)) });
    }
    const allDone = waitFor.every((s) => opOf(s)?.value.done === true);
    if (allDone) {
      actions.push({
        kind: 'resolve',
        task,
        lockId,
        record: r,
        ops: rec.sources.map(opOf).filter((x): x is Rec<PessimisticOperation> => x !== undefined),
        infos: rec.sources.filter((s) => infoInRound(infos.get(s), opOf(s), lockId)).map((s) => infos.get(s) as Rec<PessimisticInfo>),
      });
    }
    locks.push({
      id: lockId,
      task,
      mode: 'pessimistic',
      owner: rec.owner,
      ddls: rec.ddls,
      synced: [...rec.sources].sort(),
      unsynced: [],
      stage: ownerDone ? 'skipping' : 'executing',
      error: '',
    });
  }

  // every operation belongs to a round (the record is written with the first one): others are
  // left over from a lock removed by hand, and would keep their source out of every next lock
  const orphans = [...ops.values()].filter((o) => !records.has(o.value.lockId));
  if (orphans.length > 0) actions.push({ kind: 'drop-ops', task, ops: orphans });

  // un-synced locks: infos not in a round, grouped by target table
  const groups = new Map<string, Rec<PessimisticInfo>[]>();
  for (const [source, info] of infos) {
    if (inRound.has(source) || !taskSources.has(source)) continue;
    const id = lockIdOf(info.value);
    groups.set(id, [...(groups.get(id) ?? []), info]);
  }
  for (const [lockId, group] of [...groups].sort((a, b) => a[0].localeCompare(b[0]))) {
    if (records.has(lockId)) {
      // the previous round of this lock is still being finished: these infos wait for it
      continue;
    }
    group.sort((a, b) => (a.modRevision < b.modRevision ? -1 : a.modRevision > b.modRevision ? 1 : 0));
    const first = group[0] as Rec<PessimisticInfo>;
    const owner = first.value.source;
    const ddls = first.value.ddls;
    const synced: string[] = [];
    const errors: string[] = [];
    for (const g of group) {
      if (sameDDLs(g.value.ddls, ddls)) {
        synced.push(g.value.source);
        continue;
      }
      const msg =
        `[code=38103:class=dm-master:scope=internal:level=high] the DDLs of source ${g.value.source} at ${g.value.position} ` +
        `(${JSON.stringify(g.value.ddls)}) differ from the DDLs of lock ${lockId} (${JSON.stringify(ddls)}, owner ${owner})`;
      errors.push(msg);
      actions.push({ kind: 'mismatch', task, lockId, source: g.value.source, infoRevision: g.modRevision, msg });
    }
    const unsynced = sources.filter((s) => !synced.includes(s));
    locks.push({
      id: lockId,
      task,
      mode: 'pessimistic',
      owner,
      ddls,
      synced: [...synced].sort(),
      unsynced,
      stage: errors.length > 0 ? 'error' : 'waiting',
      error: errors.join('; '),
    });
    // the owner's operation key still holds its operation of another lock (done, not yet cleared):
    // this lock syncs once that one is cleared (planning it now would only fail its compare)
    const ownerBusy = ops.has(owner) && !orphans.some((o) => o.value.source === owner);
    if (errors.length === 0 && unsynced.length === 0 && !ownerBusy) {
      const rec: PessimisticLockState = {
        lockId,
        task,
        downSchema: first.value.downSchema,
        downTable: first.value.downTable,
        owner,
        ddls,
        sources: [...synced].sort(),
      };
      actions.push({ kind: 'sync', task, lockId, record: rec, ownerOp: memberOp(rec, owner), infoRevisions: new Map(group.map((g) => [g.value.source, g.modRevision])) });
    }
  }
  return { locks, actions };
}

/** Plan every task of the state. */
export function planPessimistic(st: ShardState): PessimisticPlan {
  const tasks = new Set([...st.pessimistic.infos.keys(), ...st.pessimistic.ops.keys(), ...st.pessimistic.locks.keys()]);
  const out: PessimisticPlan = { locks: [], actions: [] };
  for (const task of [...tasks].sort()) {
    const p = planPessimisticTask(
      task,
      st.taskSources.get(task) ?? [],
      st.pessimistic.infos.get(task) ?? new Map(),
      st.pessimistic.ops.get(task) ?? new Map(),
      st.pessimistic.locks.get(task) ?? new Map(),
    );
    out.locks.push(...p.locks);
    out.actions.push(...p.actions);
  }
  return out;
}
