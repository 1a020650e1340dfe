/**
 * The lock keeper's decisions as pure functions (src/master/shardddl/): joining shard structures,
 * what each optimistic DDL runs on the target, and the pessimistic plan for each phase of a lock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptTable, compareColumnType, decideInfo, emptyShardState, joinColumn, joinStructures, planOptimistic, planPessimisticTask, tableKey, type OptimisticAction, type Rec } from '../../src/master/shardddl/index.js';
import { shardLockId, type SourceTables, type OptimisticInfo, type OptimisticLockState, type OptimisticOperation, type PessimisticInfo, type PessimisticLockState, type PessimisticOperation, type TableStructure } from '../../src/store/index.js';

type Col = TableStructure['columns'][number];

function col(name: string, columnType: string): Col {
  const dataType = columnType.replace(/\(.*$/, '').replace(/ unsigned$/, '');
  return { name, columnType, dataType, unsigned: columnType.endsWith('unsigned'), nullable: true, charset: /char|text|enum|set/.test(dataType) ? 'utf8mb4' : null, generated: false };
}
function tbl(cols: [string, string][], table = 't'): TableStructure {
  return { schema: 'db', table, columns: cols.map(([n, t]) => col(n, t)), keyColumns: ['id'], uniqueKeys: [], charset: 'utf8mb4' };
}

test('joinColumn: widening joins, incompatible types conflict', () => {
  const ok = (a: string, b: string): string => {
    const r = joinColumn(col('c', a), col('c', b));
    assert.ok(r.ok, `${a} + ${b}`);
    return r.value.columnType;
  };
  assert.equal(ok('int(11)', 'bigint(20)'), 'bigint(20)');
  assert.equal(ok('smallint(6)', 'tinyint(4)'), 'smallint(6)');
  assert.equal(ok('varchar(10)', 'varchar(20)'), 'varchar(20)');
  assert.equal(ok('decimal(10,2)', 'decimal(12,2)'), 'decimal(12,2)');
  assert.equal(ok('text', 'mediumtext'), 'mediumtext');
  assert.equal(ok("enum('a','b')", "enum('a','b','c')"), "enum('a','b','c')");
  assert.equal(ok('float', 'double'), 'double');
  for (const [a, b] of [
    ['int(11)', 'varchar(10)'],
    ['int(11)', 'int(10) unsigned'],
    ['decimal(10,2)', 'decimal(12,4)'.replace('12,4', '9,4')],
    ["enum('a','b')", "enum('b','a')"],
    ['char(10)', 'varchar(10)'],
    ['datetime', 'date'],
  ] as const) {
    assert.equal(joinColumn(col('c', a), col('c', b)).ok, false, `${a} + ${b} must conflict`);
  }
  assert.equal(compareColumnType(col('c', 'bigint(20)'), col('c', 'int(11)')), 1);
  assert.equal(compareColumnType(col('c', 'int(11)'), col('c', 'bigint(20)')), -1);
  assert.equal(compareColumnType(col('c', 'int(11)'), col('c', 'int(11)')), 0);
  assert.equal(compareColumnType(col('c', 'int(11)'), col('c', 'varchar(3)')), undefined);
});

test('joinStructures: union of columns in the first shard\'s order, kept columns stay', () => {
  const a = tbl([['id', 'int(11)'], ['a', 'int(11)']]);
  const b = tbl([['id', 'int(11)'], ['b', 'varchar(5)']]);
  const j = joinStructures(a, [a, b]);
  assert.ok(j.ok);
  assert.deepEqual(j.value.columns.map((c) => c.name), ['id', 'a', 'b']);
  const gone = joinStructures(a, [tbl([['id', 'int(11)']])], ['a']);
  assert.ok(gone.ok);
  assert.deepEqual(gone.value.columns.map((c) => c.name), ['id', 'a']);
  assert.equal(joinStructures(a, [a, tbl([['id', 'int(11)'], ['a', 'varchar(3)']])]).ok, false);
});

const LOCK = shardLockId('t', 'shard', 'tbl');
const BASE = tbl([['id', 'int(11)'], ['a', 'int(11)']]);

function oinfo(source: string, table: string, ddls: string[], after: TableStructure[], before = BASE): OptimisticInfo {
  return { task: 't', source, upSchema: 'db', upTable: table, downSchema: 'shard', downTable: 'tbl', ddls, tableInfoBefore: before, tableInfosAfter: after, version: 1 };
}
const TABLES = ['s1/db/t1', 's1/db/t2', 's2/db/t1'];

/** Run infos through decideInfo one after the other, as the keeper does. */
function run(infos: OptimisticInfo[], complete = true): { ddls: string[][]; conflicts: (string | undefined)[]; state: OptimisticLockState | undefined } {
  let state: OptimisticLockState | undefined;
  const ddls: string[][] = [];
  const conflicts: (string | undefined)[] = [];
  for (const i of infos) {
    const r = decideInfo(state, LOCK, i, TABLES, complete);
    ddls.push(r.op.ddls);
    conflicts.push(r.op.conflictStage === 'detected' ? r.op.conflictMsg : undefined);
    state = r.state;
  }
  return { ddls, conflicts, state };
}

test('optimistic: ADD COLUMN runs once; the same column with another type conflicts (38104)', () => {
  const add = 'ALTER TABLE `shard`.`tbl` ADD COLUMN `c` INT';
  const withC = tbl([['id', 'int(11)'], ['a', 'int(11)'], ['c', 'int(11)']]);
  const r = run([oinfo('s1', 't1', [add], [withC]), oinfo('s2', 't1', [add], [withC]), oinfo('s1', 't2', ['ALTER TABLE `shard`.`tbl` ADD COLUMN `c` VARCHAR(3)'], [tbl([['id', 'int(11)'], ['a', 'int(11)'], ['c', 'varchar(3)']])])]);
  assert.deepEqual(r.ddls, [[add], [], []]);
  assert.equal(r.conflicts[0], undefined);
  assert.equal(r.conflicts[1], undefined);
  assert.match(r.conflicts[2] ?? '', /code=38104.*column c is added with type varchar\(3\)/);
  // the conflict left the joined state as it was
  assert.deepEqual(r.state?.joined.columns.map((c) => c.columnType), ['int(11)', 'int(11)', 'int(11)']);
});

test('optimistic: DROP COLUMN runs only when every shard dropped it (unknown shards count as having it)', () => {
  const drop = 'ALTER TABLE `shard`.`tbl` DROP COLUMN `a`';
  const noA = tbl([['id', 'int(11)']]);
  const infos = [oinfo('s1', 't1', [drop], [noA]), oinfo('s1', 't2', [drop], [noA]), oinfo('s2', 't1', [drop], [noA])];
  const r = run(infos);
  assert.deepEqual(r.ddls, [[], [], [drop]]);
  assert.deepEqual(r.state?.droppedColumns, {});
  assert.deepEqual(r.state?.joined.columns.map((c) => c.name), ['id']);
  const partial = run(infos.slice(0, 2));
  assert.deepEqual(partial.state?.droppedColumns, { a: ['s1/db/t1', 's1/db/t2'] });
  assert.deepEqual(partial.state?.joined.columns.map((c) => c.name), ['id', 'a'], 'the target keeps the column meanwhile');
  const unknown = run(infos, false);
  assert.deepEqual(unknown.ddls, [[], [], []], 'a source without its source-tables record may still have the column');
});

test('optimistic: ADD INDEX / CREATE INDEX once per name, DROP INDEX once', () => {
  const add = 'ALTER TABLE `shard`.`tbl` ADD INDEX `ia` (`a`)';
  const create = 'CREATE INDEX `ia` ON `shard`.`tbl` (`a`)';
  const dropIdx = 'ALTER TABLE `shard`.`tbl` DROP INDEX `ia`';
  const r = run([oinfo('s1', 't1', [add], [BASE]), oinfo('s1', 't2', [create], [BASE]), oinfo('s2', 't1', [dropIdx], [BASE]), oinfo('s1', 't1', [dropIdx], [BASE])]);
  assert.deepEqual(r.ddls, [[add], [], [dropIdx], []]);
});

test('optimistic: MODIFY widens the target once, narrowing runs nothing, INT→VARCHAR and renames conflict', () => {
  const big = tbl([['id', 'int(11)'], ['a', 'bigint(20)']]);
  const widen = 'ALTER TABLE `shard`.`tbl` MODIFY COLUMN `a` BIGINT';
  const r = run([oinfo('s1', 't1', [widen], [big]), oinfo('s2', 't1', [widen], [big])]);
  assert.deepEqual(r.ddls, [[widen], []]);
  assert.equal(r.state?.joined.columns[1]?.columnType, 'bigint(20)');
  // after widening, one shard goes back to INT: the target keeps BIGINT (another shard has it)
  const narrow = run([oinfo('s1', 't1', [widen], [big]), oinfo('s1', 't1', ['ALTER TABLE `shard`.`tbl` MODIFY COLUMN `a` INT'], [BASE], big)]);
  assert.deepEqual(narrow.ddls, [[widen], []]);
  // strict-optimistic-shard-mode: a rename conflicts at once
  const ren = run([{ ...oinfo('s1', 't1', ['ALTER TABLE `shard`.`tbl` CHANGE COLUMN `a` `b` INT'], [tbl([['id', 'int(11)'], ['b', 'int(11)']])]), strict: true }]);
  assert.match(ren.conflicts[0] ?? '', /renaming column a to b/);
  const strictStr = run([{ ...oinfo('s1', 't1', ['ALTER TABLE `shard`.`tbl` MODIFY COLUMN `a` VARCHAR(10)'], [tbl([['id', 'int(11)'], ['a', 'varchar(10)']])]), strict: true }]);
  assert.match(strictStr.conflicts[0] ?? '', /38104/);
});

test('optimistic: a statement mixing a change already made with a new one conflicts; several statements are decided one by one', () => {
  const add = 'ALTER TABLE `shard`.`tbl` ADD COLUMN `c` INT';
  const withC = tbl([['id', 'int(11)'], ['a', 'int(11)'], ['c', 'int(11)']]);
  const withCD = tbl([['id', 'int(11)'], ['a', 'int(11)'], ['c', 'int(11)'], ['d', 'int(11)']]);
  const mixed = run([oinfo('s1', 't1', [add], [withC]), oinfo('s2', 't1', ['ALTER TABLE `shard`.`tbl` ADD COLUMN `c` INT, ADD COLUMN `d` INT'], [withCD])]);
  assert.match(mixed.conflicts[1] ?? '', /split it/);
  const two = run([oinfo('s1', 't1', [add], [withC]), oinfo('s2', 't1', [add, 'ALTER TABLE `shard`.`tbl` ADD COLUMN `d` INT'], [withC, withCD])]);
  assert.deepEqual(two.ddls, [[add], ['ALTER TABLE `shard`.`tbl` ADD COLUMN `d` INT']]);
  assert.deepEqual(two.state?.joined.columns.map((c) => c.name), ['id', 'a', 'c', 'd']);
});

test('optimistic: a shard creating or dropping its table runs nothing on the target; a primary key change conflicts', () => {
  const r = run([oinfo('s1', 't1', ['DROP TABLE `shard`.`tbl`'], [BASE]), oinfo('s1', 't2', ['ALTER TABLE `shard`.`tbl` DROP PRIMARY KEY'], [BASE])]);
  assert.deepEqual(r.ddls[0], []);
  assert.equal(r.conflicts[0], undefined);
  assert.match(r.conflicts[1] ?? '', /drop primary key is not supported/);
});

// ---- pessimistic -------------------------------------------------------------------------------

let rev = 10n;
function rec<T>(key: string, value: T, modRevision = rev++): Rec<T> {
  return { key, value, modRevision, createRevision: modRevision };
}
const PLOCK = shardLockId('t', 'shard', 'tbl');
function pinfo(source: string, ddls = ['ALTER TABLE `shard`.`tbl` ADD COLUMN `c` INT']): PessimisticInfo {
  return { task: 't', source, upSchema: 'db', upTable: 't1', downSchema: 'shard', downTable: 'tbl', ddls, position: 'mysql-bin.000001:4' };
}

test('pessimistic: waits for every source of the task (also those that put nothing), first source owns', () => {
  const infos = new Map([['s2', rec('i/s2', pinfo('s2'))], ['s1', rec('i/s1', pinfo('s1'))]]);
  const p = planPessimisticTask('t', ['s1', 's2', 's3'], infos, new Map(), new Map());
  assert.equal(p.actions.length, 0);
  assert.deepEqual(p.locks.map((l) => [l.owner, l.synced, l.unsynced, l.stage]), [['s2', ['s1', 's2'], ['s3'], 'waiting']]);
  infos.set('s3', rec('i/s3', pinfo('s3')));
  const synced = planPessimisticTask('t', ['s1', 's2', 's3'], infos, new Map(), new Map());
  const sync = synced.actions[0];
  assert.equal(sync?.kind, 'sync');
  if (sync?.kind === 'sync') {
    assert.equal(sync.record.owner, 's2');
    assert.deepEqual(sync.record.sources, ['s1', 's2', 's3']);
    assert.deepEqual(sync.ownerOp, { lockId: PLOCK, task: 't', source: 's2', ddls: pinfo('s2').ddls, exec: true, done: false });
  }
});

test('pessimistic: mismatched DDLs are an error (38103), no operation', () => {
  const infos = new Map([['s1', rec('i/s1', pinfo('s1'))], ['s2', rec('i/s2', pinfo('s2', ['ALTER TABLE `shard`.`tbl` ADD COLUMN `x` INT']))]]);
  const p = planPessimisticTask('t', ['s1', 's2'], infos, new Map(), new Map());
  assert.deepEqual(p.actions.map((a) => a.kind), ['mismatch']);
  assert.equal(p.locks[0]?.stage, 'error');
  assert.match(p.locks[0]?.error ?? '', /code=38103/);
});

test('pessimistic: synced round: skip for the others only after the owner is done; resolved when all are done; a next DDL stays', () => {
  const record: PessimisticLockState = { lockId: PLOCK, task: 't', downSchema: 'shard', downTable: 'tbl', owner: 's1', ddls: pinfo('s1').ddls, sources: ['s1', 's2'] };
  const recs = new Map([[PLOCK, rec('l', record)]]);
  const infos = new Map([['s1', rec('i/s1', pinfo('s1'))], ['s2', rec('i/s2', pinfo('s2'))]]);
  const op = (source: string, exec: boolean, done: boolean): PessimisticOperation => ({ lockId: PLOCK, task: 't', source, ddls: record.ddls, exec, done });
  const ops = new Map<string, Rec<PessimisticOperation>>([['s1', rec('o/s1', op('s1', true, false))]]);
  let p = planPessimisticTask('t', ['s1', 's2'], infos, ops, recs);
  assert.deepEqual(p.actions, []);
  assert.equal(p.locks[0]?.stage, 'executing');
  ops.set('s1', rec('o/s1', op('s1', true, true)));
  p = planPessimisticTask('t', ['s1', 's2'], infos, ops, recs);
  assert.deepEqual(p.actions.map((a) => (a.kind === 'put-ops' ? a.ops.map((o) => [o.source, o.exec]) : a.kind)), [[['s2', false]]]);
  // s1 reached its next DDL already
  infos.set('s1', rec('i/s1', pinfo('s1', ['ALTER TABLE `shard`.`tbl` DROP COLUMN `c`'])));
  ops.set('s2', rec('o/s2', op('s2', false, true)));
  p = planPessimisticTask('t', ['s1', 's2'], infos, ops, recs);
  const resolve = p.actions.find((a) => a.kind === 'resolve');
  assert.ok(resolve && resolve.kind === 'resolve');
  assert.deepEqual(resolve.infos.map((i) => i.key), ['i/s2'], "s1's next info is not deleted");
  assert.deepEqual(resolve.ops.map((o) => o.key).sort(), ['o/s1', 'o/s2']);
  assert.equal(p.actions.some((a) => a.kind === 'sync'), false, 'the next lock waits for this round to be cleared');
});

test("pessimistic: a lock on another table syncs only once the owner's operation of the previous lock is cleared", () => {
  const other = shardLockId('t', 'shard', 'other');
  const i2 = (s: string): PessimisticInfo => ({ ...pinfo(s), downTable: 'other' });
  const infos = new Map([['s1', rec('i/s1', i2('s1'))], ['s2', rec('i/s2', i2('s2'))], ['s3', rec('i/s3', i2('s3'))]]);
  const oldOp: PessimisticOperation = { lockId: PLOCK, task: 't', source: 's1', ddls: ['x'], exec: true, done: true };
  // the previous lock's round is not finished (s3 has not skipped yet)
  const prev: PessimisticLockState = { lockId: PLOCK, task: 't', downSchema: 'shard', downTable: 'tbl', owner: 's1', ddls: ['x'], sources: ['s1', 's3'] };
  const s3op: PessimisticOperation = { ...oldOp, source: 's3', exec: false, done: false };
  const busy = planPessimisticTask('t', ['s1', 's2', 's3'], infos, new Map([['s1', rec('o/s1', oldOp)], ['s3', rec('o/s3', s3op)]]), new Map([[PLOCK, rec('l', prev)]]));
  assert.deepEqual(busy.actions, []);
  assert.deepEqual(busy.locks.map((l) => [l.id, l.stage]), [[PLOCK, 'skipping'], [other, 'waiting']]);
  const free = planPessimisticTask('t', ['s1', 's2', 's3'], infos, new Map(), new Map());
  assert.deepEqual(free.actions.map((a) => a.kind), ['sync']);
});

test('pessimistic: a member that left the task is not waited for; unlock --action skip makes the owner skip too', () => {
  const record: PessimisticLockState = { lockId: PLOCK, task: 't', downSchema: 'shard', downTable: 'tbl', owner: 's1', ddls: ['x'], sources: ['s1', 's2'], skipAll: true };
  const infos = new Map([['s1', rec('i/s1', pinfo('s1', ['x']))]]);
  const p = planPessimisticTask('t', ['s1'], infos, new Map(), new Map([[PLOCK, rec('l', record)]]));
  const put = p.actions[0];
  assert.ok(put?.kind === 'put-ops');
  assert.equal(put.ops[0]?.exec, false);
  const done = planPessimisticTask('t', ['s1'], infos, new Map([['s1', rec('o/s1', { lockId: PLOCK, task: 't', source: 's1', ddls: ['x'], exec: false, done: true })]]), new Map([[PLOCK, rec('l', record)]]));
  assert.ok(done.actions.some((a) => a.kind === 'resolve'));
});

test('pessimistic: an operation of no round (a late done after --force-remove) is deleted and does not block the next lock', () => {
  const infos = new Map([['s1', rec('i/s1', pinfo('s1'))], ['s2', rec('i/s2', pinfo('s2'))]]);
  const late: PessimisticOperation = { lockId: PLOCK, task: 't', source: 's1', ddls: ['x'], exec: true, done: true };
  const p = planPessimisticTask('t', ['s1', 's2'], infos, new Map([['s1', rec('o/s1', late)]]), new Map());
  assert.deepEqual(p.actions.map((a) => a.kind), ['drop-ops', 'sync']);
});

test('optimistic planner: a worker that restarts before running its answer reports the DDL again and gets the same answer', () => {
  const st = emptyShardState();
  st.taskSources.set('t', ['s1', 's2']);
  const add = 'ALTER TABLE `shard`.`tbl` ADD COLUMN `c` INT';
  const withC = tbl([['id', 'int(11)'], ['a', 'int(11)'], ['c', 'int(11)']]);
  const info1 = rec('oi/s1/db/t1', oinfo('s1', 't1', [add], [withC]));
  st.optimistic.infos.set('t', new Map([['s1/db/t1', info1]]));
  const first = planOptimistic(st);
  const a1 = first.actions[0];
  assert.ok(a1?.kind === 'answer' && a1.state);
  assert.deepEqual(a1.answers[0]?.op.ddls, [add]);
  // the keeper wrote the answer and the state; the worker restarts and puts version 2 of the same DDL
  st.optimistic.locks.set('t', new Map([[LOCK, rec('ol', a1.state)]]));
  st.optimistic.ops.set('t', new Map([['s1/db/t1', rec('oo/s1/db/t1', a1.answers[0].op)]]));
  assert.deepEqual(planOptimistic(st).actions, [], 'answered: nothing to do');
  st.optimistic.infos.set('t', new Map([['s1/db/t1', rec('oi/s1/db/t1', { ...oinfo('s1', 't1', [add], [withC]), version: 2 })]]));
  const again = planOptimistic(st).actions[0];
  assert.ok(again?.kind === 'answer');
  assert.deepEqual(again.answers[0]?.op.ddls, [add], 'the column is added by this shard, which has not run it yet');
  assert.equal(again.answers[0]?.op.version, 2);
  assert.equal(again.state, undefined, 'the lock state is not changed twice');
});

test('optimistic: several statements with only the final structure are each decided on the lock\'s joined structure', () => {
  const addC = 'ALTER TABLE `shard`.`tbl` ADD COLUMN `c` INT';
  const addD = 'ALTER TABLE `shard`.`tbl` ADD COLUMN `d` INT';
  const withCD = tbl([['id', 'int(11)'], ['a', 'int(11)'], ['c', 'int(11)'], ['d', 'int(11)']]);
  const r = run([oinfo('s1', 't1', [addC, addD], [withCD]), oinfo('s2', 't1', [addC, addD], [withCD])]);
  assert.deepEqual(r.ddls, [[addC, addD], []]);
  assert.deepEqual(r.state?.joined.columns.map((c) => c.name), ['id', 'a', 'c', 'd']);
});

test('optimistic: a shard table dropped while the lock is open no longer holds a DROP COLUMN back', () => {
  const drop = 'ALTER TABLE `shard`.`tbl` DROP COLUMN `a`';
  const noA = tbl([['id', 'int(11)']]);
  const addC = 'ALTER TABLE `shard`.`tbl` ADD COLUMN `c` INT';
  // s1.t2 took part in the lock (it added c), then was dropped upstream: its source lists t1 only
  const first = decideInfo(undefined, LOCK, oinfo('s1', 't2', [addC], [tbl([['id', 'int(11)'], ['a', 'int(11)'], ['c', 'int(11)']])]), TABLES, true);
  const left = ['s1/db/t1', 's2/db/t1'];
  const a = decideInfo(first.state, LOCK, oinfo('s1', 't1', [drop], [noA]), left, true);
  assert.deepEqual(a.op.ddls, []);
  const b = decideInfo(a.state, LOCK, oinfo('s2', 't1', [drop], [noA]), left, true);
  assert.deepEqual(b.op.ddls, [drop], 'the dropped table does not count');
  // but with a source whose tables are unknown, its last known structure still counts
  const c = decideInfo(a.state, LOCK, oinfo('s2', 't1', [drop], [noA]), left, false);
  assert.deepEqual(c.op.ddls, []);
});

test('optimistic planner: a shard table created while the lock is open has the joined structure; the lock clears when the others catch up', () => {
  const st = emptyShardState();
  st.taskSources.set('t', ['s1']);
  const srcTables = (tables: string[]): Rec<SourceTables> => rec('st/s1', { task: 't', source: 's1', tables: { shard: { tbl: { db: tables } } } });
  st.optimistic.sourceTables.set('t', new Map([['s1', srcTables(['t1', 't2'])]]));
  const add = 'ALTER TABLE `shard`.`tbl` ADD COLUMN `c` INT';
  const withC = (t: string): TableStructure => tbl([['id', 'int(11)'], ['a', 'int(11)'], ['c', 'int(11)']], t);
  const i1 = rec('oi/s1/db/t1', oinfo('s1', 't1', [add], [withC('t1')]));
  st.optimistic.infos.set('t', new Map([['s1/db/t1', i1]]));
  const a1 = planOptimistic(st).actions[0];
  assert.ok(a1?.kind === 'answer' && a1.state);
  st.optimistic.locks.set('t', new Map([[LOCK, rec('ol', a1.state)]]));
  st.optimistic.ops.set('t', new Map([['s1/db/t1', rec('oo/s1/db/t1', { ...a1.answers[0]!.op, done: true })]]));
  // t3 is created with c; t2 has not added c yet
  st.optimistic.sourceTables.set('t', new Map([['s1', srcTables(['t1', 't2', 't3'])]]));
  let p = planOptimistic(st);
  assert.deepEqual(p.locks[0]?.unsynced, ['s1-`db`.`t2`']);
  assert.deepEqual(p.actions, []);
  // t2 adds c: nothing to run; once done, the lock is cleared
  const i2 = rec('oi/s1/db/t2', oinfo('s1', 't2', [add], [withC('t2')]));
  st.optimistic.infos.get('t')?.set('s1/db/t2', i2);
  const a2 = planOptimistic(st).actions[0];
  assert.ok(a2?.kind === 'answer' && a2.state);
  assert.deepEqual(a2.answers.map((x) => x.op.ddls), [[]]);
  st.optimistic.locks.set('t', new Map([[LOCK, rec('ol', a2.state)]]));
  st.optimistic.ops.get('t')?.set('s1/db/t2', rec('oo/s1/db/t2', { ...a2.answers[0]!.op, done: true }));
  p = planOptimistic(st);
  assert.deepEqual(p.locks[0]?.unsynced, []);
  assert.deepEqual(p.actions.map((a) => a.kind), ['resolve']);
});

test('optimistic planner: infos of several shards pending at once are answered in one pass, each on the state the previous left', () => {
  const st = emptyShardState();
  st.taskSources.set('t', ['s1', 's2']);
  const add = 'ALTER TABLE `shard`.`tbl` ADD COLUMN `c` INT';
  const withC = tbl([['id', 'int(11)'], ['a', 'int(11)'], ['c', 'int(11)']]);
  st.optimistic.infos.set('t', new Map(TABLES.map((tk) => {
    const [s, , t] = tk.split('/') as [string, string, string];
    return [tk, rec(`oi/${tk}`, oinfo(s, t, [add], [withC]))];
  })));
  const p = planOptimistic(st);
  const a = p.actions[0];
  assert.ok(a?.kind === 'answer');
  assert.deepEqual(a.answers.map((x) => x.op.ddls.length), [1, 0, 0], 'the first adds the column, the others run nothing');
  assert.deepEqual(a.state?.joined.columns.map((c) => c.name), ['id', 'a', 'c']);
});

const RENAME = 'ALTER TABLE `shard`.`tbl` RENAME COLUMN `a` TO `b`';
const RENAMED = tbl([['id', 'int(11)'], ['b', 'int(11)']]);

test('optimistic, non-strict: a rename waits until every shard ran it, the last one runs it on the merged table', () => {
  let state: OptimisticLockState | undefined;
  const stages: string[] = [];
  const ddls: string[][] = [];
  for (const [s, t] of [['s1', 't1'], ['s1', 't2'], ['s2', 't1']] as const) {
    const r = decideInfo(state, LOCK, oinfo(s, t, [RENAME], [RENAMED]), TABLES, true);
    stages.push(r.op.conflictStage);
    ddls.push(r.op.ddls);
    state = r.state;
    if (s === 's1' && t === 't1') {
      assert.deepEqual(state.joined.columns.map((c) => c.name), ['id', 'a'], 'the merged table keeps a while shards wait');
      assert.deepEqual(Object.keys(state.waiting ?? {}), ['s1/db/t1']);
      assert.match(r.op.conflictMsg ?? '', /waiting for s1-`db`.`t2`, s2-`db`.`t1`/);
    }
  }
  assert.deepEqual(stages, ['waiting', 'waiting', 'none']);
  assert.deepEqual(ddls, [[], [], [RENAME]], 'the rename runs once, by the last shard');
  assert.deepEqual(state?.joined.columns.map((c) => c.name), ['id', 'b'], 'renamed in place');
  assert.deepEqual(Object.keys(state?.waiting ?? {}).sort(), ['s1/db/t1', 's1/db/t2'], 'told to go on once the last shard is done');
  assert.deepEqual(state?.redirectAfter, { table: 's2/db/t1', version: 1 });
  // CHANGE a b with the same type is the same rename; a MODIFY to a type that does not join stays a conflict
  const change = run([oinfo('s1', 't1', [RENAME], [RENAMED]), oinfo('s1', 't2', ['ALTER TABLE `shard`.`tbl` CHANGE `a` `b` INT'], [RENAMED]), oinfo('s2', 't1', [RENAME], [RENAMED])]);
  assert.deepEqual(change.ddls, [[], [], [RENAME]]);
  const m = run([oinfo('s1', 't1', ['ALTER TABLE `shard`.`tbl` MODIFY COLUMN `a` VARCHAR(10)'], [tbl([['id', 'int(11)'], ['a', 'varchar(10)']])])]);
  assert.match(m.conflicts[0] ?? '', /38104/);
  // with a source whose tables are unknown, the last known shard still waits
  const unknown = run(TABLES.map((tk) => oinfo(tk.split('/')[0] as string, tk.split('/')[2] as string, [RENAME], [RENAMED])), false);
  assert.deepEqual(unknown.ddls, [[], [], []]);
});

test('optimistic, non-strict: another DDL of the lock while a shard waits for a rename conflicts; so does a rename the merged table cannot take', () => {
  const add = 'ALTER TABLE `shard`.`tbl` ADD COLUMN `c` INT';
  const r = run([oinfo('s1', 't1', [RENAME], [RENAMED]), oinfo('s2', 't1', [add], [tbl([['id', 'int(11)'], ['a', 'int(11)'], ['c', 'int(11)']])])]);
  assert.equal(r.conflicts[0], undefined);
  assert.match(r.conflicts[1] ?? '', /code=38104.*s1-`db`.`t1` waits for every shard to run .*RENAME COLUMN.*is another change/);
  const other = run([oinfo('s1', 't1', [RENAME], [RENAMED]), oinfo('s1', 't2', ['ALTER TABLE `shard`.`tbl` RENAME COLUMN `a` TO `z`'], [tbl([['id', 'int(11)'], ['z', 'int(11)']])])]);
  assert.match(other.conflicts[1] ?? '', /38104/, 'a rename to another name is another change');
  const mixed = run([oinfo('s1', 't1', ['ALTER TABLE `shard`.`tbl` RENAME COLUMN `a` TO `b`, ADD COLUMN `c` INT'], [tbl([['id', 'int(11)'], ['b', 'int(11)'], ['c', 'int(11)']])])]);
  assert.match(mixed.conflicts[0] ?? '', /statement of its own/);
  const missing = run([oinfo('s1', 't1', ['ALTER TABLE `shard`.`tbl` RENAME COLUMN `x` TO `y`'], [BASE])]);
  assert.match(missing.conflicts[0] ?? '', /has no column x/);
  // resolved by hand (shard-ddl-lock unlock -s s1 -d db -t t1): it no longer waits, other DDLs go on
  const byHand = acceptTable(r.state, LOCK, oinfo('s1', 't1', [RENAME], [RENAMED]), TABLES);
  assert.equal(byHand.waiting, undefined);
  assert.deepEqual(decideInfo(byHand, LOCK, oinfo('s2', 't1', [add], [tbl([['id', 'int(11)'], ['a', 'int(11)'], ['c', 'int(11)']])]), TABLES, true).op.conflictStage, 'none');
});

test('optimistic planner, non-strict: the waiting shards are told to go on once the shard that ran the rename is done; the lock view shows who waits', () => {
  const st = emptyShardState();
  st.taskSources.set('t', ['s1', 's2']);
  st.optimistic.sourceTables.set('t', new Map([
    ['s1', rec('st/s1', { task: 't', source: 's1', tables: { shard: { tbl: { db: ['t1', 't2'] } } } })],
    ['s2', rec('st/s2', { task: 't', source: 's2', tables: { shard: { tbl: { db: ['t1'] } } } })],
  ]));
  const infos = new Map<string, Rec<OptimisticInfo>>();
  st.optimistic.infos.set('t', infos);
  const ops = new Map<string, Rec<OptimisticOperation>>();
  st.optimistic.ops.set('t', ops);
  const apply = (): OptimisticAction[] => {
    const p = planOptimistic(st);
    for (const a of p.actions) {
      if (a.kind !== 'answer') continue;
      for (const { op } of a.answers) ops.set(tableKey(op.source, op.upSchema, op.upTable), rec(`oo/${op.source}/${op.upTable}`, op));
      if (a.state) st.optimistic.locks.set('t', new Map([[LOCK, rec('ol', a.state)]]));
    }
    return p.actions;
  };
  infos.set('s1/db/t1', rec('oi/s1/db/t1', oinfo('s1', 't1', [RENAME], [RENAMED])));
  apply();
  assert.equal(ops.get('s1/db/t1')?.value.conflictStage, 'waiting');
  let view = planOptimistic(st).locks[0];
  assert.deepEqual(view?.ddls, [RENAME]);
  assert.deepEqual(view?.synced, ['s1-`db`.`t1`']);
  assert.deepEqual(view?.unsynced, ['s1-`db`.`t2`', 's2-`db`.`t1`']);
  assert.equal(view?.stage, 'waiting');
  // the worker of s1 restarts while it waits: the same DDL again, the same answer for the new version
  infos.set('s1/db/t1', rec('oi/s1/db/t1', { ...oinfo('s1', 't1', [RENAME], [RENAMED]), version: 2 }));
  apply();
  assert.equal(ops.get('s1/db/t1')?.value.conflictStage, 'waiting');
  assert.equal(ops.get('s1/db/t1')?.value.version, 2);
  infos.set('s1/db/t2', rec('oi/s1/db/t2', oinfo('s1', 't2', [RENAME], [RENAMED])));
  infos.set('s2/db/t1', rec('oi/s2/db/t1', oinfo('s2', 't1', [RENAME], [RENAMED])));
  apply();
  assert.deepEqual(ops.get('s2/db/t1')?.value.ddls, [RENAME]);
  assert.equal(ops.get('s1/db/t1')?.value.conflictStage, 'waiting', 'not before the rename ran on the merged table');
  assert.deepEqual(apply(), [], 'nothing until s2 is done');
  ops.set('s2/db/t1', rec('oo/s2/t1', { ...(ops.get('s2/db/t1')?.value as OptimisticOperation), done: true }));
  apply();
  for (const t of ['s1/db/t1', 's1/db/t2']) {
    assert.equal(ops.get(t)?.value.conflictStage, 'resolved');
    assert.deepEqual(ops.get(t)?.value.ddls, []);
  }
  assert.equal(ops.get('s1/db/t1')?.value.version, 2, 'answers the waiting table\'s latest info');
  const state = st.optimistic.locks.get('t')?.get(LOCK)?.value;
  assert.equal(state?.waiting, undefined);
  view = planOptimistic(st).locks[0];
  assert.deepEqual(view?.ddls, []);
  assert.deepEqual(view?.unsynced, [], 'every shard has the renamed structure');
  for (const t of ['s1/db/t1', 's1/db/t2']) ops.set(t, rec(`oo/${t}`, { ...(ops.get(t)?.value as OptimisticOperation), done: true }));
  assert.deepEqual(planOptimistic(st).actions.map((a) => a.kind), ['resolve']);
});

test('optimistic planner, non-strict: when the shard that had not renamed leaves (DROP TABLE), the first waiting shard runs the rename', () => {
  const st = emptyShardState();
  st.taskSources.set('t', ['s1']);
  const srcTables = (tables: string[]): Rec<SourceTables> => rec('st/s1', { task: 't', source: 's1', tables: { shard: { tbl: { db: tables } } } });
  st.optimistic.sourceTables.set('t', new Map([['s1', srcTables(['t1', 't2'])]]));
  const i1 = rec('oi/s1/db/t1', oinfo('s1', 't1', [RENAME], [RENAMED]));
  st.optimistic.infos.set('t', new Map([['s1/db/t1', i1]]));
  const a1 = planOptimistic(st).actions[0];
  assert.ok(a1?.kind === 'answer' && a1.state);
  assert.equal(a1.answers[0]?.op.conflictStage, 'waiting');
  st.optimistic.locks.set('t', new Map([[LOCK, rec('ol', a1.state)]]));
  st.optimistic.ops.set('t', new Map([['s1/db/t1', rec('oo/s1/db/t1', a1.answers[0].op)]]));
  assert.deepEqual(planOptimistic(st).actions, [], 't2 has not renamed: t1 waits');
  st.optimistic.sourceTables.set('t', new Map([['s1', srcTables(['t1'])]]));
  const a2 = planOptimistic(st).actions[0];
  assert.ok(a2?.kind === 'answer' && a2.state);
  assert.deepEqual(a2.answers.map((x) => [x.op.conflictStage, x.op.ddls]), [['resolved', [RENAME]]]);
  assert.equal(a2.state.waiting, undefined);
  assert.deepEqual(a2.state.joined.columns.map((c) => c.name), ['id', 'b']);
});

test('optimistic planner, non-strict: a shard table created while shards wait for a rename joins the lock with the structure it has', () => {
  const st = emptyShardState();
  st.taskSources.set('t', ['s1', 's2']);
  const srcTables = (s: string, tables: string[]): Rec<SourceTables> => rec(`st/${s}`, { task: 't', source: s, tables: { shard: { tbl: { db: tables } } } });
  st.optimistic.sourceTables.set('t', new Map([['s1', srcTables('s1', ['t1', 't2'])], ['s2', srcTables('s2', ['t1'])]]));
  const infos = new Map<string, Rec<OptimisticInfo>>();
  st.optimistic.infos.set('t', infos);
  const ops = new Map<string, Rec<OptimisticOperation>>();
  st.optimistic.ops.set('t', ops);
  const apply = (): OptimisticAction[] => {
    const p = planOptimistic(st);
    for (const a of p.actions) {
      if (a.kind !== 'answer') continue;
      for (const { op } of a.answers) ops.set(tableKey(op.source, op.upSchema, op.upTable), rec(`oo/${op.source}/${op.upTable}`, op));
      if (a.state) st.optimistic.locks.set('t', new Map([[LOCK, rec('ol', a.state)]]));
    }
    return p.actions;
  };
  const create = (t: string, s: TableStructure): OptimisticInfo => oinfo('s2', t, [`CREATE TABLE \`${t}\` (id INT PRIMARY KEY, x INT)`], [s], s);
  const done = (tk: string): void => void ops.set(tk, rec(`oo/${tk}`, { ...(ops.get(tk)?.value as OptimisticOperation), done: true }));
  for (const tk of ['s1/db/t1', 's1/db/t2']) {
    const [s, , t] = tk.split('/') as [string, string, string];
    infos.set(tk, rec(`oi/${tk}`, oinfo(s, t, [RENAME], [RENAMED])));
    apply();
    assert.equal(ops.get(tk)?.value.conflictStage, 'waiting');
  }
  // s2 creates t3 with the renamed columns: it counts as a shard that ran the rename (and waits too)
  st.optimistic.sourceTables.set('t', new Map([['s1', srcTables('s1', ['t1', 't2'])], ['s2', srcTables('s2', ['t1', 't3'])]]));
  infos.set('s2/db/t3', rec('oi/s2/db/t3', create('t3', RENAMED)));
  apply();
  assert.equal(ops.get('s2/db/t3')?.value.conflictStage, 'waiting');
  assert.deepEqual(ops.get('s2/db/t3')?.value.ddls, []);
  let view = planOptimistic(st).locks[0];
  assert.deepEqual(view?.synced, ['s1-`db`.`t1`', 's1-`db`.`t2`', 's2-`db`.`t3`']);
  assert.deepEqual(view?.unsynced, ['s2-`db`.`t1`']);
  // s2 creates t4 with the old columns: nothing to wait for (its CREATE goes on), but the lock waits for it
  st.optimistic.sourceTables.set('t', new Map([['s1', srcTables('s1', ['t1', 't2'])], ['s2', srcTables('s2', ['t1', 't3', 't4'])]]));
  infos.set('s2/db/t4', rec('oi/s2/db/t4', create('t4', BASE)));
  apply();
  assert.equal(ops.get('s2/db/t4')?.value.conflictStage, 'none');
  assert.deepEqual(ops.get('s2/db/t4')?.value.ddls, []);
  assert.match(ops.get('s2/db/t4')?.value.conflictMsg ?? '', /created with the columns before .*RENAME COLUMN/);
  done('s2/db/t4');
  view = planOptimistic(st).locks[0];
  assert.deepEqual(view?.unsynced, ['s2-`db`.`t1`', 's2-`db`.`t4`']);
  assert.equal(view?.stage, 'waiting');
  assert.match(view?.message ?? '', /s2-`db`.`t1`, s2-`db`.`t4` have not: run the same rename on each of them upstream \(a shard table created with the old columns/);
  // a table created with neither structure is a conflict
  const odd = decideInfo(st.optimistic.locks.get('t')?.get(LOCK)?.value, LOCK, create('t5', tbl([['id', 'int(11)'], ['a', 'int(11)'], ['b', 'int(11)']])), [...TABLES, 's2/db/t5'], true);
  assert.equal(odd.op.conflictStage, 'detected');
  assert.match(odd.op.conflictMsg ?? '', /38104.*neither the columns before it nor after it/);
  // s2/t1 renames: t4 still has not
  infos.set('s2/db/t1', rec('oi/s2/db/t1', oinfo('s2', 't1', [RENAME], [RENAMED])));
  apply();
  assert.equal(ops.get('s2/db/t1')?.value.conflictStage, 'waiting');
  assert.match(ops.get('s2/db/t1')?.value.conflictMsg ?? '', /waiting for s2-`db`.`t4`/);
  // t4 renames upstream: the last shard, it runs the rename on the merged table
  infos.set('s2/db/t4', rec('oi/s2/db/t4', { ...oinfo('s2', 't4', [RENAME], [RENAMED]), version: 2 }));
  apply();
  assert.deepEqual(ops.get('s2/db/t4')?.value.ddls, [RENAME]);
  done('s2/db/t4');
  apply();
  for (const tk of ['s1/db/t1', 's1/db/t2', 's2/db/t1', 's2/db/t3']) assert.equal(ops.get(tk)?.value.conflictStage, 'resolved', tk);
  for (const tk of ['s1/db/t1', 's1/db/t2', 's2/db/t1', 's2/db/t3']) done(tk);
  view = planOptimistic(st).locks[0];
  assert.deepEqual(view?.unsynced, []);
  assert.equal(view?.message, undefined);
  assert.deepEqual(planOptimistic(st).actions.map((a) => a.kind), ['resolve']);
});
