/**
 * Shard DDL coordination: the etcd records workers and the leader exchange (issue 13).
 * DM 2.x's pessimist/optimist protocol (dm/pkg/shardddl/{pessimism,optimism}), with DM.ts's key
 * prefix. Writers and readers are named on each key; the lock keeper lives in
 * src/master/shardddl/, the worker side in src/worker/shardddl-client.ts and the sync unit.
 *
 * Lock ID (both modes): `<task>-`<downSchema>`.`<downTable>`` exactly as DM prints it, e.g.
 * ``t1-`db`.`tbl` ``: {@link shardLockId}.
 *
 * Pessimistic flow (DM's):
 * 1. A worker's sync unit keeps, per target table, the source's own sharding group (every upstream
 *    table of that source routed to it). When one of them reaches a DDL, that table's later DML is
 *    held back; when every table of the group has reached the same DDL, the worker puts a
 *    {@link PessimisticInfo} (`info/<task>/<source>`) and waits.
 * 2. The leader's keeper keeps one lock per lock ID, over EVERY source of the task (the sources
 *    the task has subtasks on, as DM's pessimist does with `taskSources(task)`): a source that has
 *    no table routed to that target is waited for too, so in pessimistic mode every source of a
 *    task must have the sharded table (or the lock is resolved by hand with `shard-ddl-lock
 *    unlock`). The first source to put an info (lowest etcd mod revision) is the owner. When every
 *    source has put an info with the same DDLs, the leader puts, in one txn, the lock's round
 *    record ({@link PessimisticLockState}, `lock/<task>/<lockId>`: owner, DDLs, member sources)
 *    and `operation/<task>/<owner>` with `exec: true`.
 * 3. The owner's worker runs the DDLs on the target, then puts the same operation back with
 *    `done: true` (a worker writes only `done` of its own operation).
 * 4. The leader then puts `exec: false` operations for the other members; each skips the DDL and
 *    marks its operation done; held-back DML is applied (re-sync) and the group moves on.
 * 5. When every operation is done the leader deletes the round record, the members' operations
 *    and their infos of this round in one txn. A member that already put its NEXT info (after its
 *    operation was done: the info's mod revision is above the operation's) keeps it: that info
 *    starts the next lock. A source has one info and one operation key per task, so it is in at
 *    most one lock at a time.
 * Mismatched DDLs from two sources put the lock in error (`dm_master_shard_ddl_error`); the way
 * out is `shard-ddl-lock unlock` (the leader writes the operations by hand: `--action exec|skip`,
 * `--owner` replaces the owner, `--force-remove` drops the lock's keys when it cannot finish).
 *
 * Optimistic flow (DM's):
 * 1. At start and on CREATE/DROP TABLE the worker puts {@link SourceTables} for its source.
 * 2. On a DDL of an upstream table the worker puts an {@link OptimisticInfo}
 *    (`info/<task>/<source>/<upSchema>/<upTable>`, table structure before and after) and waits
 *    for the operation with the same `version`.
 * 3. The keeper joins the structures of every upstream table of the lock and answers with an
 *    {@link OptimisticOperation}: the DDLs this table's worker must run on the target (possibly
 *    none: another shard already added the column; a DROP COLUMN waits until every shard dropped
 *    it), or `conflictStage: 'detected'` with a message when the DDL is incompatible.
 * 4. The worker runs the DDLs (or none), puts the operation back with `done: true`, goes on.
 * Non-strict mode (`strict-optimistic-shard-mode: false`, DM's default; the info's `strict` unset),
 * DM's ConflictSkipWaitRedirect: a DDL every shard must run before the merged table can (a column
 * rename: `RENAME COLUMN a TO b`, `CHANGE a b …`) is answered
 * `conflictStage: 'waiting'` with no DDLs: the worker holds that table's later rows and DDLs back
 * (its checkpoint stays before the DDL) and watches the operation. The lock state records the
 * table under `waiting`. When the last shard of the lock puts the same DDL, its answer runs it
 * (`redirectAfter` names it); once that answer is done, the leader puts `conflictStage:
 * 'resolved'` (no DDLs) for every waiting table, whose worker then applies what it held back.
 * Any other DDL of the lock while a table waits is a conflict. In strict mode these DDLs are
 * conflicts at once.
 *
 * Every leader write is fenced (src/store/fenced-txn.ts); every worker write compares the mod
 * revision of the worker's binding `source/bound/<worker>` its subtask started under, so a worker
 * that lost the source writes nothing (ErrWorkerSourceNotBound, src/worker/shardddl-client.ts). `start-task --remove-meta` and
 * `stop-task` delete `*\/<task>/...` of both modes; the keeper rebuilds its locks from these keys
 * after a leader change.
 */
import type { Keys } from './keys.js';
import type { TrackedTable } from '../binlog/schema-tracker.js';

export type ShardMode = 'pessimism' | 'optimism';

/** DM's lock ID: ``<task>-`<schema>`.`<table>` `` (backticks doubled inside names). */
export function shardLockId(task: string, downSchema: string, downTable: string): string {
  const q = (s: string): string => '`' + s.replace(/`/g, '``') + '`';
  return `${task}-${q(downSchema)}.${q(downTable)}`;
}

/**
 * A key under `<prefix>shardddl/<mode>/<kind>/`: with every part given, the record's key; with
 * fewer, the prefix of the keys below them (ending in `/`), for listing and watching.
 */
function shardKey(k: Keys, mode: ShardMode, kind: string, full: number, parts: (string | undefined)[]): string {
  const given = parts.filter((p): p is string => p !== undefined && p !== '');
  const base = `${k.shardDDL(mode)}${kind}/${given.join('/')}`;
  return given.length === full || given.length === 0 ? base : `${base}/`;
}

/** Key builders (every path under `<prefix>shardddl/<mode>/`). */
export const shardKeys = {
  /** `shardddl/pessimism/info/<task>/<source>`: writer: worker; reader: leader keeper. Value: {@link PessimisticInfo}. */
  pessimisticInfo: (k: Keys, task?: string, source?: string): string => shardKey(k, 'pessimism', 'info', 2, [task, source]),
  /** `shardddl/pessimism/operation/<task>/<source>`: writer: leader (exec/skip), worker (done only); readers: both. Value: {@link PessimisticOperation}. */
  pessimisticOp: (k: Keys, task?: string, source?: string): string => shardKey(k, 'pessimism', 'operation', 2, [task, source]),
  /** `shardddl/optimism/source-tables/<task>/<source>`: writer: worker; reader: keeper. Value: {@link SourceTables}. */
  sourceTables: (k: Keys, task?: string, source?: string): string => shardKey(k, 'optimism', 'source-tables', 2, [task, source]),
  /** `shardddl/optimism/info/<task>/<source>/<upSchema>/<upTable>`: writer: worker; reader: keeper. Value: {@link OptimisticInfo}. */
  optimisticInfo: (k: Keys, task?: string, source?: string, upSchema?: string, upTable?: string): string =>
    shardKey(k, 'optimism', 'info', 4, [task, source, upSchema, upTable]),
  /** `shardddl/optimism/operation/<task>/<source>/<upSchema>/<upTable>`: writer: leader, worker (done only). Value: {@link OptimisticOperation}. */
  optimisticOp: (k: Keys, task?: string, source?: string, upSchema?: string, upTable?: string): string =>
    shardKey(k, 'optimism', 'operation', 4, [task, source, upSchema, upTable]),
  /** `shardddl/pessimism/lock/<task>/<lockId, URI-encoded>`: writer: leader keeper (when the lock is synced, with the owner's exec operation); readers: keeper, shard-ddl-lock. Value: {@link PessimisticLockState}. */
  pessimisticLock: (k: Keys, task?: string, lockId?: string): string =>
    shardKey(k, 'pessimism', 'lock', 2, [task, lockId === undefined ? undefined : encodeURIComponent(lockId)]),
  /** `shardddl/optimism/lock/<task>/<lockId, URI-encoded>`: writer: leader keeper; reader: keeper after a leader change. Value: {@link OptimisticLockState}. */
  optimisticLock: (k: Keys, task?: string, lockId?: string): string =>
    shardKey(k, 'optimism', 'lock', 2, [task, lockId === undefined ? undefined : encodeURIComponent(lockId)]),
};

/** A worker's report that every shard table of its source in one group reached the same DDLs. */
export interface PessimisticInfo {
  task: string;
  source: string;
  /** The first upstream table (of this source's group) that reached the DDLs. */
  upSchema: string;
  upTable: string;
  downSchema: string;
  downTable: string;
  /** The DDLs as they will run on the target (routed). */
  ddls: string[];
  /** `file:offset` of the DDL event in this source's binlog (for shard-ddl-lock and errors). */
  position: string;
}

/** The leader's decision for one source of a pessimistic lock. */
export interface PessimisticOperation {
  lockId: string;
  task: string;
  source: string;
  ddls: string[];
  /** true: this source's worker runs the DDLs on the target (the owner); false: skip them. */
  exec: boolean;
  /** Set by the worker once it ran (or skipped) the DDLs and wrote its checkpoint past the DDL. */
  done: boolean;
}

/**
 * The round of a pessimistic lock once every source reached the DDLs (or `shard-ddl-lock unlock`
 * forced it): who executes, what, and which sources take part (they get operations).
 */
export interface PessimisticLockState {
  lockId: string;
  task: string;
  downSchema: string;
  downTable: string;
  owner: string;
  ddls: string[];
  /** The sources of this round (each gets an operation); sorted. */
  sources: string[];
  /** Set by `shard-ddl-lock unlock --action skip`: the owner skips the DDLs too. */
  skipAll?: boolean;
}

/** The upstream tables of one source, by target table: `tables[downSchema][downTable][upSchema] = [upTable...]`. */
export interface SourceTables {
  task: string;
  source: string;
  tables: Record<string, Record<string, Record<string, string[]>>>;
}

/** A serialisable table structure: the schema tracker's view. */
export type TableStructure = TrackedTable;

export interface OptimisticInfo {
  task: string;
  source: string;
  upSchema: string;
  upTable: string;
  downSchema: string;
  downTable: string;
  /** The DDLs as they would run on the target (routed), one change per statement. */
  ddls: string[];
  /** The upstream table's structure before the DDLs and after each of them. */
  tableInfoBefore: TableStructure;
  tableInfosAfter: TableStructure[];
  /** Increases with every info this upstream table puts; the operation answers the same version. */
  version: number;
  /** Set by the worker when the operator skipped or replaced this conflicting DDL (`dmctl binlog skip|replace`): the keeper takes the table's structure as it is (conflictStage `skipped`). */
  ignoreConflict?: boolean;
  /**
   * With `ignoreConflict`, when the operator replaced the DDL (`dmctl binlog replace`): the
   * replacement statements. The binlog operation is taken (deleted) when the worker meets the
   * conflict; kept here, a worker that restarts before the replacement's ledger row was written
   * runs the replacement on replay (the keeper's 'skipped' answer alone would lose it).
   */
  replacedBy?: string[];
  /**
   * The task's `strict-optimistic-shard-mode`: true → a DDL the keeper cannot join is a conflict at
   * once; unset/false → a column rename waits for every shard to run it (`conflictStage: 'waiting'`).
   */
  strict?: boolean;
}

/**
 * `detected`: a conflict (the worker pauses); `waiting`: non-strict mode, the DDL waits until every
 * shard of the lock ran it (DM's ConflictSkipWaitRedirect: the table's later rows and DDLs are held
 * back); `resolved`: by hand (`shard-ddl-lock unlock --action exec`), or the end of a wait (the
 * DDL ran on the merged table, the table goes on: DM's redirect); `skipped`: by hand.
 */
export type ConflictStage = 'none' | 'detected' | 'waiting' | 'resolved' | 'skipped';

export interface OptimisticOperation {
  lockId: string;
  task: string;
  source: string;
  upSchema: string;
  upTable: string;
  /** The info version this answers. */
  version: number;
  /** The DDLs to run on the target (empty: nothing to run for this shard). */
  ddls: string[];
  conflictStage: ConflictStage;
  /** Why the DDL conflicts (with DM's code), when conflictStage is 'detected'. */
  conflictMsg?: string;
  done: boolean;
}

/** The keeper's persisted view of an optimistic lock (joined structure, dropped columns). */
export interface OptimisticLockState {
  lockId: string;
  task: string;
  downSchema: string;
  downTable: string;
  joined: TableStructure;
  /** Columns dropped by some shards but not all: kept on the target until every shard dropped them. Column → tables (`source/upSchema/upTable`) that dropped it. */
  droppedColumns: Record<string, string[]>;
  /** The structure before the first DDL of the lock (every table of the lock had it then). */
  initial?: TableStructure;
  /**
   * Each upstream table's structure as the lock knows it, by `source/upSchema/upTable`: the tables
   * of the lock at its creation start with `initial`, then take the structure after each accepted
   * DDL; a table not listed (created later) has the joined structure.
   */
  tables?: Record<string, TableStructure>;
  /** Index names added through this lock (ADD INDEX runs once). */
  indexes?: string[];
  /**
   * Non-strict mode: tables (`source/upSchema/upTable`) whose DDL waits for every shard of the lock
   * to run the same one (a rename). Their entry in `tables` stays the structure before the DDL
   * until the wait ends.
   */
  waiting?: Record<string, OptimisticWait>;
  /**
   * The table whose answer runs the waited-for DDL on the merged table (the last shard to put it),
   * with that info's version: when its operation is done, every waiting table is told to go on.
   */
  redirectAfter?: { table: string; version: number };
}

/** One table's waiting DDL (non-strict optimistic mode). */
export interface OptimisticWait {
  ddls: string[];
  /** What the DDL does, compared across shards (e.g. `rename a>b int(11)`). */
  signature: string;
  /** The table's structure after the DDL. */
  after: TableStructure;
}
