/**
 * Optimistic shard DDL coordination, the leader's side (DM's dm/master/shardddl/optimist.go with
 * dm/pkg/shardddl/optimism): a pure planner from the etcd state to the operations answering each
 * shard's DDL, and the joined state of each lock (`optimism/lock/<task>/<lockId>`).
 *
 * A lock (one target table) exists from the first DDL of one of its shards until every shard's
 * structure equals the joined one again. For each info (one upstream table's DDLs, with its
 * structure before and after them) the keeper decides, per statement, what the target must run:
 * - ADD COLUMN: run unless the joined structure already has the column (another shard added it);
 *   with another type that does not join → conflict.
 * - DROP COLUMN: run only when no other shard of the lock still has the column; until then the
 *   column stays on the target (`droppedColumns`). Unknown shards (a source without its
 *   source-tables record) count as still having it; a shard table dropped upstream (gone from its
 *   source's source-tables record) no longer counts.
 * - MODIFY/CHANGE (same name): run when the new type is wider than the joined one and holds every
 *   shard's type; nothing when another shard still has a wider type; conflict when the types do
 *   not join (e.g. INT → VARCHAR). Renaming a column is a conflict (as in DM's optimistic mode).
 * - ADD INDEX / CREATE INDEX: once per index name; DROP INDEX: once.
 * - table options (default value, charset, engine, comment): run.
 * - primary keys, foreign keys, partitions, RENAME TABLE: conflict (not coordinated optimistically).
 * - CREATE / DROP / TRUNCATE TABLE of a shard: nothing on the target.
 * A statement whose clauses need different answers (some run, some not) is a conflict: one change
 * per statement. A conflict answers `conflictStage: 'detected'` with a coded message (38104) and
 * leaves the joined state as it was; `shard-ddl-lock unlock -s -d -t --action exec|skip` resolves it.
 */
import { DMError } from '../../errors/index.js';
import { parseDDL, type AlterSpec, type ParsedDDL } from '../../sql/index.js';
import {
  shardLockId,
  type OptimisticInfo,
  type OptimisticLockState,
  type OptimisticOperation,
  type SourceTables,
  type TableStructure,
} from '../../store/index.js';
import { compareColumnType, findColumn, joinColumn, joinStructures, sameColumns } from './join.js';
import type { LockView } from './lock-view.js';
import { tableKey, type Rec, type ShardState } from './state.js';

export type OptimisticAction =
  /** Put the operation (and the new lock state when `state` is set); compared on the info and the lock state. */
  | { kind: 'answer'; task: string; lockId: string; answers: { info: Rec<OptimisticInfo>; op: OptimisticOperation }[]; state?: OptimisticLockState; stateRec?: Rec<OptimisticLockState> }
  /** Operations of tables that have no info (left over from a lock removed by hand): delete. */
  | { kind: 'drop-ops'; task: string; ops: Rec<OptimisticOperation>[] }
  /** The lock is synced: delete its state, infos and operations. */
  | { kind: 'resolve'; task: string; lockId: string; records: Rec<unknown>[] };

export interface OptimisticPlan {
  locks: LockView[];
  actions: OptimisticAction[];
}

type Decision = { run: boolean } | { conflict: string };

/** Answers written in one txn (2 ops each, within etcd's default max-txn-ops of 128). */
const MAX_ANSWERS_PER_TXN = 50;

function lc(s: string): string {
  return s.toLowerCase();
}

/**
 * A table's structure as the lock knows it: the tables of the lock when it was created start with
 * the first info's structure before its DDL (shards are alike before a DDL: the precheck checks
 * it); a table that appeared later (CREATE TABLE of a new shard) has the joined one (DM's
 * `AddTable`).
 */
function structOf(state: OptimisticLockState, tk: string): TableStructure {
  return state.tables?.[tk] ?? state.joined;
}

/** A fresh lock state from the first info of a lock. */
export function newLockState(lockId: string, info: OptimisticInfo, tables: readonly string[] = []): OptimisticLockState {
  return {
    lockId,
    task: info.task,
    downSchema: info.downSchema,
    downTable: info.downTable,
    joined: info.tableInfoBefore,
    droppedColumns: {},
    initial: info.tableInfoBefore,
    tables: Object.fromEntries(tables.map((t) => [t, info.tableInfoBefore])),
    indexes: [],
  };
}

function afterOf(info: OptimisticInfo): TableStructure {
  return info.tableInfosAfter[info.tableInfosAfter.length - 1] ?? info.tableInfoBefore;
}

/**
 * The state with this table's structure after its DDLs taken as it is (unlock by hand, or a DDL
 * accepted): the joined structure recomputed; on a type that does not join the joined type stays.
 */
export function acceptTable(prev: OptimisticLockState | undefined, lockId: string, info: OptimisticInfo, tables: readonly string[] = []): OptimisticLockState {
  const state = prev ?? newLockState(lockId, info, tables);
  const tk = tableKey(info.source, info.upSchema, info.upTable);
  const next: OptimisticLockState = { ...state, tables: { ...(state.tables ?? {}), [tk]: afterOf(info) }, droppedColumns: { ...state.droppedColumns } };
  const all = new Set([...tables, ...Object.keys(next.tables ?? {}), tk]);
  const structs = [...all].map((t) => structOf(next, t));
  const keep = Object.keys(next.droppedColumns);
  const j = joinStructures(state.joined, structs, keep);
  if (j.ok) next.joined = j.value;
  else {
    // keep the joined type of the columns that do not join; add new columns
    const cols = [...state.joined.columns];
    for (const c of afterOf(info).columns) if (!findColumn(state.joined, c.name)) cols.push(c);
    next.joined = { ...state.joined, columns: cols };
  }
  return next;
}

/** The upstream tables of a lock known from the sources' source-tables records; `complete` when every task source has one. */
function lockTables(st: ShardState, task: string, downSchema: string, downTable: string): { tables: string[]; complete: boolean } {
  const out: string[] = [];
  const recs = st.optimistic.sourceTables.get(task) ?? new Map<string, Rec<SourceTables>>();
  const sources = st.taskSources.get(task) ?? [];
  let complete = sources.length > 0;
  for (const s of sources) {
    const r = recs.get(s);
    if (!r) {
      complete = false;
      continue;
    }
    const byUp = r.value.tables[downSchema]?.[downTable] ?? {};
    for (const [up, tbls] of Object.entries(byUp)) for (const t of tbls) out.push(tableKey(s, up, t));
  }
  return { tables: out, complete };
}

function specDecision(spec: AlterSpec, ctx: DecideCtx): Decision {
  const { joined, others, after, state } = ctx;
  switch (spec.action) {
    case 'add column': {
      const c = spec.column ?? '';
      const mine = findColumn(after, c);
      const have = findColumn(joined, c);
      if (!have) return { run: true };
      if (!mine) return { run: false };
      const cmp = compareColumnType(have, mine);
      if (cmp === 0 || cmp === 1) return { run: false };
      return { conflict: `column ${c} is added with type ${mine.columnType}, but the merged table already has it as ${have.columnType}` };
    }
    case 'drop column': {
      const c = spec.column ?? '';
      if (!findColumn(joined, c)) return { run: false };
      const stillHave = others.filter((o) => findColumn(o, c) !== undefined).length > 0 || !ctx.complete;
      return { run: !stillHave };
    }
    case 'modify column': {
      const c = spec.column ?? '';
      if (spec.newColumn !== undefined && lc(spec.newColumn) !== lc(c)) {
        return { conflict: `renaming column ${c} to ${spec.newColumn} is not supported in optimistic shard mode` };
      }
      const mine = findColumn(after, c);
      const have = findColumn(joined, c);
      if (!mine) return { conflict: `column ${c} is missing after the DDL` };
      if (!have) return { run: true };
      let j = mine;
      for (const o of others) {
        const oc = findColumn(o, c);
        if (!oc) continue;
        const r = joinColumn(j, oc);
        if (!r.ok) return { conflict: `${r.why} (another shard still has ${oc.columnType})` };
        j = r.value;
      }
      const vsJoined = compareColumnType(j, have);
      if (vsJoined === undefined) return { conflict: `column ${c}: the new type ${mine.columnType} does not join the merged table's ${have.columnType}` };
      if (vsJoined <= 0) return { run: false }; // the target already holds it (or another shard keeps it wider)
      if (compareColumnType(j, mine) === 0) return { run: true };
      return { conflict: `column ${c}: the new type ${mine.columnType} is not the widest of the shards (${j.columnType})` };
    }
    case 'rename column':
      return { conflict: `renaming column ${spec.column ?? ''} to ${spec.newColumn ?? ''} is not supported in optimistic shard mode` };
    case 'add index': {
      if (spec.index === undefined) return { run: true };
      return { run: !(state.indexes ?? []).includes(lc(spec.index)) };
    }
    case 'drop index':
      if (spec.index === undefined) return { run: true };
      return { run: !(state.indexes ?? []).includes(`!${lc(spec.index)}`) };
    case 'modify default value':
    case 'modify charset':
    case 'modify storage engine':
    case 'modify table comment':
    case 'rename index':
      return { run: true };
    default:
      return { conflict: `${spec.action} is not supported in optimistic shard mode` };
  }
}

interface DecideCtx {
  joined: TableStructure;
  /** Structures of the lock's other tables. */
  others: TableStructure[];
  /** This table's structure after the statement. */
  after: TableStructure;
  state: OptimisticLockState;
  complete: boolean;
}

function statementDecision(p: ParsedDDL, ctx: DecideCtx): Decision {
  switch (p.type) {
    case 'create table':
    case 'drop table':
    case 'truncate table':
      return { run: false };
    case 'create index':
      return specDecision({ action: 'add index', ...(p.indexName !== undefined ? { index: p.indexName } : {}) }, ctx);
    case 'drop index':
      return specDecision({ action: 'drop index', ...(p.indexName !== undefined ? { index: p.indexName } : {}) }, ctx);
    case 'alter table': {
      const ds = p.alterSpecs.map((s) => specDecision(s, ctx));
      const c = ds.find((d): d is { conflict: string } => 'conflict' in d);
      if (c) return c;
      const runs = ds.map((d) => (d as { run: boolean }).run);
      if (runs.every((r) => r)) return { run: true };
      if (runs.every((r) => !r)) return { run: false };
      return { conflict: 'the statement has clauses the target must run and clauses it must not (already done by another shard): split it into one change per statement' };
    }
    default:
      return { conflict: `${p.type} is not supported in optimistic shard mode` };
  }
}

/** Bookkeeping of the state after a statement ran (or was skipped) on the target. */
function applyToState(state: OptimisticLockState, p: ParsedDDL, run: boolean, tk: string): void {
  const specs: AlterSpec[] =
    p.type === 'alter table'
      ? p.alterSpecs
      : p.type === 'create index' && p.indexName
        ? [{ action: 'add index', index: p.indexName }]
        : p.type === 'drop index' && p.indexName
          ? [{ action: 'drop index', index: p.indexName }]
          : [];
  const idx = new Set(state.indexes ?? []);
  for (const s of specs) {
    if (s.action === 'add index' && s.index) {
      idx.add(lc(s.index));
      idx.delete(`!${lc(s.index)}`);
    } else if (s.action === 'drop index' && s.index) {
      idx.delete(lc(s.index));
      idx.add(`!${lc(s.index)}`);
    } else if (s.action === 'drop column' && s.column) {
      const c = lc(s.column);
      if (run) delete state.droppedColumns[c];
      else state.droppedColumns[c] = [...new Set([...(state.droppedColumns[c] ?? []), tk])].sort();
    } else if (s.action === 'add column' && s.column) {
      // re-added by this shard: it no longer waits for the column to go
      const c = lc(s.column);
      const left = (state.droppedColumns[c] ?? []).filter((t) => t !== tk);
      if (left.length > 0) state.droppedColumns[c] = left;
      else delete state.droppedColumns[c];
    }
  }
  state.indexes = [...idx].sort();
}

/** Decide one info: the operation and the new lock state (unchanged on a conflict). */
export function decideInfo(
  prev: OptimisticLockState | undefined,
  lockId: string,
  info: OptimisticInfo,
  tables: readonly string[],
  complete: boolean,
): { op: OptimisticOperation; state: OptimisticLockState } {
  const base = prev ?? newLockState(lockId, info, tables);
  const tk = tableKey(info.source, info.upSchema, info.upTable);
  const op: OptimisticOperation = {
    lockId,
    task: info.task,
    source: info.source,
    upSchema: info.upSchema,
    upTable: info.upTable,
    version: info.version,
    ddls: [],
    conflictStage: 'none',
    done: false,
  };
  if (info.ignoreConflict) return { op: { ...op, conflictStage: 'skipped' }, state: acceptTable(base, lockId, info, tables) };
  // with every source's tables known, a table that left (DROP TABLE of a shard) no longer counts
  const otherKeys = [...new Set([...tables, ...(complete ? [] : Object.keys(base.tables ?? {}))])].filter((t) => t !== tk);
  const others = otherKeys.map((t) => structOf(base, t));
  const work: OptimisticLockState = { ...base, droppedColumns: { ...base.droppedColumns }, indexes: [...(base.indexes ?? [])] };
  let joined = base.joined;
  const run: string[] = [];
  for (let i = 0; i < info.ddls.length; i++) {
    const sql = info.ddls[i] as string;
    // with one structure per statement, each statement is decided on the joined structure the
    // previous ones left; with only the final structure, every statement on the lock's joined one
    const perStatement = info.tableInfosAfter.length === info.ddls.length;
    const after = perStatement ? (info.tableInfosAfter[i] as TableStructure) : afterOf(info);
    let p: ParsedDDL;
    try {
      p = parseDDL(sql, info.downSchema);
    } catch (e) {
      return conflictOf(op, base, `cannot parse ${sql}: ${(e as Error).message}`);
    }
    const d = statementDecision(p, { joined, others, after, state: work, complete });
    if ('conflict' in d) return conflictOf(op, base, `${d.conflict} (DDL ${JSON.stringify(sql)} of ${info.source} \`${info.upSchema}\`.\`${info.upTable}\`)`);
    if (d.run) run.push(sql);
    applyToState(work, p, d.run, tk);
    if (!perStatement && i < info.ddls.length - 1) continue;
    // the joined structure after this statement (columns still on the target are kept)
    const j = joinStructures(joined, [...others, after], Object.keys(work.droppedColumns));
    if (!j.ok) return conflictOf(op, base, `${j.why} (DDL ${JSON.stringify(sql)} of ${info.source} \`${info.upSchema}\`.\`${info.upTable}\`)`);
    joined = j.value;
  }
  work.tables = { ...(work.tables ?? {}), [tk]: afterOf(info) };
  work.joined = joined;
  return { op: { ...op, ddls: run }, state: work };
}

function conflictOf(op: OptimisticOperation, state: OptimisticLockState, why: string): { op: OptimisticOperation; state: OptimisticLockState } {
  const msg = new DMError('ErrMasterShardDDLConflict', `lock ${op.lockId}: ${why}`).toString();
  return { op: { ...op, conflictStage: 'detected', conflictMsg: msg }, state };
}

/** Whether the operation already answers this info (a worker's re-put of the same version waits for it). */
function answered(info: Rec<OptimisticInfo>, op: Rec<OptimisticOperation> | undefined): boolean {
  if (!op || op.value.lockId !== shardLockId(info.value.task, info.value.downSchema, info.value.downTable)) return false;
  if (op.value.version > info.value.version) return true;
  if (op.value.version < info.value.version) return false;
  if (op.value.conflictStage === 'detected') return op.modRevision > info.modRevision && info.value.ignoreConflict !== true;
  return true;
}

/**
 * A newer info of a table whose last answer was never done (and was no conflict): the worker
 * restarted from its checkpoint before the DDL and reports the same DDL again.
 */
function reput(info: Rec<OptimisticInfo>, op: Rec<OptimisticOperation>): boolean {
  return (
    op.value.lockId === shardLockId(info.value.task, info.value.downSchema, info.value.downTable) &&
    !op.value.done &&
    op.value.conflictStage !== 'detected' &&
    op.value.version < info.value.version
  );
}

function tableLabel(tk: string): string {
  const [source, schema, table] = tk.split('/');
  return `${source ?? ''}-\`${schema ?? ''}\`.\`${table ?? ''}\``;
}

/** Plan every optimistic lock of the state. */
export function planOptimistic(st: ShardState): OptimisticPlan {
  const out: OptimisticPlan = { locks: [], actions: [] };
  const tasks = new Set([...st.optimistic.infos.keys(), ...st.optimistic.locks.keys()]);
  for (const task of [...tasks].sort()) {
    const infos = st.optimistic.infos.get(task) ?? new Map<string, Rec<OptimisticInfo>>();
    const ops = st.optimistic.ops.get(task) ?? new Map<string, Rec<OptimisticOperation>>();
    const states = st.optimistic.locks.get(task) ?? new Map<string, Rec<OptimisticLockState>>();
    const lockIds = new Set<string>(states.keys());
    for (const i of infos.values()) lockIds.add(shardLockId(task, i.value.downSchema, i.value.downTable));
    // an operation answers an info of the same table; one without (a late `done` after
    // --force-remove) would answer the table's next info by its version
    const orphans = [...ops].filter(([tk]) => !infos.has(tk)).map(([, o]) => o);
    if (orphans.length > 0) out.actions.push({ kind: 'drop-ops', task, ops: orphans });
    for (const lockId of [...lockIds].sort()) {
      const stateRec = states.get(lockId);
      const mine = [...infos.values()].filter((i) => shardLockId(task, i.value.downSchema, i.value.downTable) === lockId).sort((a, b) => (a.modRevision < b.modRevision ? -1 : 1));
      const first = mine[0]?.value;
      const downSchema = stateRec?.value.downSchema ?? first?.downSchema ?? '';
      const downTable = stateRec?.value.downTable ?? first?.downTable ?? '';
      const { tables, complete } = lockTables(st, task, downSchema, downTable);
      const pending = mine.filter((i) => !answered(i, ops.get(tableKey(i.value.source, i.value.upSchema, i.value.upTable))));
      // every pending info of the lock, oldest first, each decided on the state the previous left:
      // one txn (answers + state) per lock and pass
      let cur = stateRec?.value;
      const answers: { info: Rec<OptimisticInfo>; op: OptimisticOperation }[] = [];
      for (const next of pending.slice(0, MAX_ANSWERS_PER_TXN)) {
        const prevOp = ops.get(tableKey(next.value.source, next.value.upSchema, next.value.upTable));
        if (prevOp && reput(next, prevOp)) {
          // the worker put its DDL again (restarted before it ran the answer): same answer, new
          // version; the lock state already has this table's change
          answers.push({ info: next, op: { ...prevOp.value, version: next.value.version, done: false } });
          continue;
        }
        const d = decideInfo(cur, lockId, next.value, tables, complete);
        answers.push({ info: next, op: d.op });
        cur = d.state;
      }
      if (answers.length > 0) {
        const changed = cur !== undefined && (!stateRec || JSON.stringify(cur) !== JSON.stringify(stateRec.value));
        out.actions.push({ kind: 'answer', task, lockId, answers, ...(changed && cur ? { state: cur } : {}), ...(stateRec ? { stateRec } : {}) });
      }
      // the view
      const state = stateRec?.value ?? (first ? newLockState(lockId, first, tables) : undefined);
      if (!state) continue;
      const all = [...new Set([...tables, ...(complete ? [] : Object.keys(state.tables ?? {})), ...mine.map((i) => tableKey(i.value.source, i.value.upSchema, i.value.upTable))])].sort();
      const synced = all.filter((t) => sameColumns(structOf(state, t), state.joined) && Object.keys(state.droppedColumns).length === 0);
      const unsynced = all.filter((t) => !synced.includes(t));
      const lockOps = mine.map((i) => ops.get(tableKey(i.value.source, i.value.upSchema, i.value.upTable))).filter((o): o is Rec<OptimisticOperation> => o !== undefined);
      const conflicts = lockOps.filter((o) => o.value.conflictStage === 'detected' && !o.value.done);
      out.locks.push({
        id: lockId,
        task,
        mode: 'optimistic',
        owner: '',
        ddls: [],
        synced: synced.map(tableLabel),
        unsynced: unsynced.map(tableLabel),
        stage: conflicts.length > 0 ? 'error' : 'waiting',
        error: conflicts.map((o) => o.value.conflictMsg ?? '').join('; '),
      });
      // resolved: nothing pending, every operation done, every shard has the joined structure (and
      // every shard is known: a source without its source-tables record may still differ)
      if (stateRec && complete && pending.length === 0 && unsynced.length === 0 && lockOps.every((o) => o.value.done) && lockOps.length === mine.length) {
        out.actions.push({ kind: 'resolve', task, lockId, records: [stateRec, ...mine, ...lockOps] as Rec<unknown>[] });
      }
    }
  }
  return out;
}
