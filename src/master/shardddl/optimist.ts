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
 *   not join (e.g. INT → VARCHAR) → conflict (in both modes).
 * - RENAME COLUMN / CHANGE a b: strict mode (`strict-optimistic-shard-mode: true`): conflict.
 *   Otherwise (DM's default, ConflictSkipWaitRedirect) the shard WAITS: answered `waiting` with
 *   no DDLs (its worker holds that table back), recorded in the lock's `waiting`; the last shard of
 *   the lock to put the same DDL (same renames, same resulting types) runs it on the merged table
 *   (`redirectAfter`), and once its operation is done every waiting shard is answered `resolved`
 *   (nothing to run: go on). While a shard waits, any other DDL of the lock is a conflict. When
 *   the shards that had not run it leave the lock (DROP TABLE upstream), the first waiting shard
 *   is answered `resolved` with the DDL to run. A shard table CREATEd while shards wait (its worker
 *   puts an info with the CREATE): with the renamed columns it waits too (or runs it, the last);
 *   with the old ones the lock waits for it to rename upstream (the lock view's `message` says so).
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
import type { OptimisticWait } from '../../store/index.js';
import type { LockView } from './lock-view.js';
import { tableKey, type Rec, type ShardState } from './state.js';

export type OptimisticAction =
  /**
   * Put the operations (and the new lock state when `state` is set); compared on the infos and the
   * lock state. Also the end of a wait: the waiting tables' `resolved` operations, state cleared.
   */
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
  // a table resolved by hand no longer waits (non-strict rename)
  if (next.waiting?.[tk]) {
    const waiting = { ...next.waiting };
    delete waiting[tk];
    if (Object.keys(waiting).length > 0) next.waiting = waiting;
    else {
      delete next.waiting;
      delete next.redirectAfter;
    }
  }
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

/** A DDL that waits for every shard in non-strict mode (a column rename): what it does, and the renames it makes. */
interface WaitDDL {
  signature: string;
  /** old name (lower case) → new name */
  renames: Map<string, string>;
}

/**
 * Non-strict mode: whether the info is a DDL every shard must run before the merged table can (a
 * column rename: `RENAME COLUMN a TO b`, `CHANGE a b …`); undefined when it is not one; a conflict
 * when it is one mixed with other changes or impossible on the merged table. (A MODIFY to a type
 * that does not join stays a conflict in both modes.)
 */
function waitDDL(info: OptimisticInfo, joined: TableStructure): WaitDDL | { conflict: string } | undefined {
  const after = afterOf(info);
  const parts: string[] = [];
  const renames = new Map<string, string>();
  let others = 0;
  for (const sql of info.ddls) {
    let p: ParsedDDL;
    try {
      p = parseDDL(sql, info.downSchema);
    } catch {
      return undefined; // decided (as a conflict) by the usual path
    }
    if (p.type !== 'alter table') {
      others++;
      continue;
    }
    for (const spec of p.alterSpecs) {
      const c = spec.column ?? '';
      const to = spec.newColumn;
      const isRename = (spec.action === 'rename column' || spec.action === 'modify column') && to !== undefined && lc(to) !== lc(c);
      if (isRename) {
        const nc = findColumn(after, to);
        if (!findColumn(joined, c)) return { conflict: `column ${c} is renamed to ${to}, but the merged table has no column ${c}` };
        if (findColumn(joined, to)) return { conflict: `column ${c} is renamed to ${to}, but the merged table already has a column ${to}` };
        renames.set(lc(c), to);
        parts.push(`rename ${lc(c)}>${lc(to)} ${nc ? nc.columnType.toLowerCase() : '?'}`);
        continue;
      }
      others++;
    }
  }
  if (parts.length === 0) return undefined;
  if (others > 0 || info.ddls.length !== 1) {
    return { conflict: 'a column rename waits for every shard, so it must be a statement of its own: split it into one change per statement' };
  }
  return { signature: parts.join(', '), renames };
}

/** The structure with columns renamed (key names too). */
function renamed(t: TableStructure, renames: Map<string, string>): TableStructure {
  const r = (n: string): string => renames.get(lc(n)) ?? n;
  return { ...t, columns: t.columns.map((c) => ({ ...c, name: r(c.name) })), keyColumns: t.keyColumns.map(r), uniqueKeys: t.uniqueKeys.map((k) => k.map(r)) };
}

/**
 * Non-strict mode, a DDL that waits: this table waits (answered `waiting`) until every other table
 * of the lock waits with the same DDL; the last one runs it on the merged table.
 */
function waitOrRun(
  base: OptimisticLockState,
  op: OptimisticOperation,
  info: OptimisticInfo,
  tk: string,
  w: WaitDDL,
  otherKeys: readonly string[],
  complete: boolean,
): { op: OptimisticOperation; state: OptimisticLockState } {
  const waits: Record<string, OptimisticWait> = { ...(base.waiting ?? {}) };
  delete waits[tk];
  const missing = otherKeys.filter((t) => waits[t]?.signature !== w.signature);
  if (!complete || missing.length > 0) {
    waits[tk] = { ddls: info.ddls, signature: w.signature, after: afterOf(info) };
    const why = !complete ? 'not every source of the task has published its shard tables yet' : `waiting for ${missing.map(tableLabel).join(', ')}`;
    return { op: { ...op, conflictStage: 'waiting', conflictMsg: `lock ${op.lockId}: ${info.ddls.join('; ')} runs on the merged table once every shard ran it; ${why}` }, state: { ...base, waiting: waits } };
  }
  // the last shard: run it; every waiting table takes its structure after the DDL
  const tables: Record<string, TableStructure> = { ...(base.tables ?? {}) };
  for (const [t, x] of Object.entries(waits)) tables[t] = x.after;
  tables[tk] = afterOf(info);
  const baseJoined = renamed(base.joined, w.renames);
  const keep = Object.keys(base.droppedColumns);
  const j = joinStructures(baseJoined, [...otherKeys, tk].map((t) => tables[t] ?? baseJoined), keep);
  if (!j.ok) return conflictOf(op, base, `${j.why} (DDL ${JSON.stringify(info.ddls.join('; '))} of ${info.source} \`${info.upSchema}\`.\`${info.upTable}\`)`);
  const state: OptimisticLockState = { ...base, tables, joined: j.value };
  if (Object.keys(waits).length > 0) {
    state.waiting = waits;
    state.redirectAfter = { table: tk, version: info.version };
  } else {
    delete state.waiting;
    delete state.redirectAfter;
  }
  return { op: { ...op, ddls: info.ddls }, state };
}

/** An info a worker puts for the CREATE TABLE of a shard table while its lock waits for a rename. */
function isCreateInfo(info: OptimisticInfo): boolean {
  if (info.ddls.length !== 1) return false;
  try {
    return parseDDL(info.ddls[0] as string, info.downSchema).type === 'create table';
  } catch {
    return false;
  }
}

/**
 * Non-strict mode, a shard table CREATEd while the lock waits for a rename (DM adds a new table to
 * a lock with the structure it has): created with the renamed columns (none of the old names, every
 * new one) it counts as a shard that ran the rename: it waits too (its rows are held back until the
 * rename ran on the merged table), or, the last one, runs it. Created with the old columns it is a
 * shard that has not renamed yet: answered with nothing to run (its CREATE goes on as usual), and
 * the lock keeps waiting for it (the lock view says to run the rename on it upstream). Anything
 * else is a conflict.
 */
function joinWhileWaiting(
  base: OptimisticLockState,
  op: OptimisticOperation,
  info: OptimisticInfo,
  tk: string,
  first: OptimisticWait,
  otherKeys: readonly string[],
  complete: boolean,
): { op: OptimisticOperation; state: OptimisticLockState } {
  const created = afterOf(info);
  const asRename: OptimisticInfo = { ...info, ddls: first.ddls, tableInfoBefore: base.joined, tableInfosAfter: [created] };
  const w = waitDDL({ ...asRename, tableInfosAfter: [first.after] }, base.joined);
  if (!w || 'conflict' in w) return conflictOf(op, base, `cannot tell whether ${info.source} \`${info.upSchema}\`.\`${info.upTable}\`, created while shards wait for ${JSON.stringify(first.ddls.join('; '))}, has the renamed columns`);
  const olds = [...w.renames.keys()];
  const news = [...w.renames.values()];
  const has = (n: string): boolean => findColumn(created, n) !== undefined;
  if (olds.every((n) => !has(n)) && news.every(has)) {
    // the renamed structure: one more shard that ran the rename (same signature by construction)
    return waitOrRun(base, op, asRename, tk, w, otherKeys, complete);
  }
  if (olds.every(has) && news.every((n) => !has(n))) {
    const msg = `lock ${op.lockId}: ${info.source} \`${info.upSchema}\`.\`${info.upTable}\` was created with the columns before ${JSON.stringify(first.ddls.join('; '))}: the lock waits until it runs that rename upstream too`;
    return { op: { ...op, conflictMsg: msg }, state: { ...base, tables: { ...(base.tables ?? {}), [tk]: created } } };
  }
  return conflictOf(
    op,
    base,
    `${info.source} \`${info.upSchema}\`.\`${info.upTable}\` was created while shards wait for ${JSON.stringify(first.ddls.join('; '))} with neither the columns before it nor after it (${created.columns.map((c) => c.name).join(', ')})`,
  );
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
  if (info.strict !== true) {
    const w = waitDDL(info, base.joined);
    if (w && 'conflict' in w) return conflictOf(op, base, `${w.conflict} (DDL ${JSON.stringify(info.ddls.join('; '))} of ${info.source} \`${info.upSchema}\`.\`${info.upTable}\`)`);
    const waiting = Object.entries(base.waiting ?? {}).filter(([t]) => t !== tk);
    const first = waiting[0];
    if (first && !isCreateInfo(info) && (!w || w.signature !== first[1].signature)) {
      return conflictOf(
        op,
        base,
        `${waiting.map(([t]) => tableLabel(t)).join(', ')} wait${waiting.length === 1 ? 's' : ''} for every shard to run ${JSON.stringify(first[1].ddls.join('; '))}; the DDL ${JSON.stringify(info.ddls.join('; '))} of ${info.source} \`${info.upSchema}\`.\`${info.upTable}\` is another change`,
      );
    }
    if (w) return waitOrRun(base, op, info, tk, w, otherKeys, complete);
    if (first && isCreateInfo(info)) return joinWhileWaiting(base, op, info, tk, first[1], otherKeys, complete);
  }
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

/**
 * What a lock waiting for a rename needs: each unsynced shard table (one created upstream with the
 * old columns after the rename started does not rename by itself) must run it upstream (or leave
 * the lock: DROP TABLE upstream).
 */
function waitMessage(ddls: string[], unsynced: string[]): string {
  return (
    `the merged table runs ${JSON.stringify(ddls.join('; '))} once every shard ran it; ${unsynced.map(tableLabel).join(', ')} ha${unsynced.length === 1 ? 's' : 've'} not: ` +
    'run the same rename on each of them upstream (a shard table created with the old columns after the rename started does not rename by itself), or drop it upstream'
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
      // non-strict: every shard left waits for the same DDL but none will put it again (the shard
      // that had not run it left the lock: DROP TABLE upstream): the first waiting one runs it
      const ws = stateRec?.value.waiting ?? {};
      const wkeys = Object.keys(ws).sort();
      // the first waiting table whose info is the rename (not one created with the renamed columns)
      const w0 = wkeys.find((k) => { const i = infos.get(k); return i !== undefined && !isCreateInfo(i.value); }) ?? wkeys[0];
      if (answers.length === 0 && stateRec && !stateRec.value.redirectAfter && complete && w0 !== undefined && tables.every((t) => ws[t]?.signature === ws[w0]?.signature)) {
        const i = infos.get(w0);
        const w = i ? waitDDL(i.value, stateRec.value.joined) : undefined;
        if (i && w && !('conflict' in w)) {
          const op: OptimisticOperation = { lockId, task, source: i.value.source, upSchema: i.value.upSchema, upTable: i.value.upTable, version: i.value.version, ddls: [], conflictStage: 'none', done: false };
          const d = waitOrRun(stateRec.value, op, i.value, w0, w, tables.filter((t) => t !== w0), complete);
          if (d.op.conflictStage === 'none') {
            out.actions.push({ kind: 'answer', task, lockId, answers: [{ info: i, op: { ...d.op, conflictStage: 'resolved' } }], state: d.state, stateRec });
          }
        }
      }
      // non-strict wait over: the shard that ran the DDL on the merged table is done, every waiting
      // shard is told to go on (DM's redirect)
      const ra = stateRec?.value.redirectAfter;
      if (answers.length === 0 && stateRec && ra) {
        const raOp = ops.get(ra.table);
        if (raOp?.value.done === true && raOp.value.version >= ra.version) {
          const go: { info: Rec<OptimisticInfo>; op: OptimisticOperation }[] = [];
          for (const t of Object.keys(stateRec.value.waiting ?? {}).sort()) {
            const i = infos.get(t);
            if (!i) continue; // its source left the task
            const v = i.value;
            go.push({ info: i, op: { lockId, task, source: v.source, upSchema: v.upSchema, upTable: v.upTable, version: v.version, ddls: [], conflictStage: 'resolved', done: false } });
          }
          const next: OptimisticLockState = { ...stateRec.value };
          delete next.waiting;
          delete next.redirectAfter;
          out.actions.push({ kind: 'answer', task, lockId, answers: go, state: next, stateRec });
        }
      }
      // the view
      const state = stateRec?.value ?? (first ? newLockState(lockId, first, tables) : undefined);
      if (!state) continue;
      const all = [...new Set([...tables, ...(complete ? [] : Object.keys(state.tables ?? {})), ...mine.map((i) => tableKey(i.value.source, i.value.upSchema, i.value.upTable))])].sort();
      // while shards wait for a rename: synced = the shards that ran it, unsynced = the others
      const waiting = Object.entries(state.waiting ?? {});
      const ranIt = new Set([...waiting.map(([t]) => t), ...(state.redirectAfter ? [state.redirectAfter.table] : [])]);
      const synced =
        waiting.length > 0 ? all.filter((t) => ranIt.has(t)) : all.filter((t) => sameColumns(structOf(state, t), state.joined) && Object.keys(state.droppedColumns).length === 0);
      const unsynced = all.filter((t) => !synced.includes(t));
      const lockOps = mine.map((i) => ops.get(tableKey(i.value.source, i.value.upSchema, i.value.upTable))).filter((o): o is Rec<OptimisticOperation> => o !== undefined);
      const conflicts = lockOps.filter((o) => o.value.conflictStage === 'detected' && !o.value.done);
      out.locks.push({
        id: lockId,
        task,
        mode: 'optimistic',
        owner: '',
        ddls: waiting[0]?.[1].ddls ?? [],
        synced: synced.map(tableLabel),
        unsynced: unsynced.map(tableLabel),
        stage: conflicts.length > 0 ? 'error' : 'waiting',
        error: conflicts.map((o) => o.value.conflictMsg ?? '').join('; '),
        ...(waiting.length > 0 && unsynced.length > 0 ? { message: waitMessage(waiting[0]?.[1].ddls ?? [], unsynced) } : {}),
      });
      // resolved: nothing pending, every operation done, every shard has the joined structure (and
      // every shard is known: a source without its source-tables record may still differ)
      if (stateRec && complete && waiting.length === 0 && pending.length === 0 && unsynced.length === 0 && lockOps.every((o) => o.value.done) && lockOps.length === mine.length) {
        out.actions.push({ kind: 'resolve', task, lockId, records: [stateRec, ...mine, ...lockOps] as Rec<unknown>[] });
      }
    }
  }
  return out;
}
