import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEventFilter, normalizeEventType, classifyEventType } from '../../src/filter/index.js';
import { DMError } from '../../src/errors/index.js';

const opts = { caseSensitive: false };

void test('DM docs: filter all sharding deletion operations', () => {
  const f = createEventFilter(
    [
      { schemaPattern: 'test_*', tablePattern: 't_*', events: ['truncate table', 'drop table', 'delete'], action: 'Ignore' },
      { schemaPattern: 'test_*', events: ['drop database'], action: 'Ignore' },
    ],
    opts,
  );
  assert.equal(f.filterDML('test_1', 't_1', 'delete'), 'ignore');
  assert.equal(f.filterDML('test_1', 't_1', 'insert'), 'do');
  assert.equal(f.filterDML('test_1', 't_1', 'update'), 'do');
  assert.equal(f.filterDDL('test_1', 't_1', 'truncate table', 'TRUNCATE TABLE t_1'), 'ignore');
  assert.equal(f.filterDDL('test_1', 't_1', 'drop table', 'DROP TABLE t_1'), 'ignore');
  assert.equal(f.filterDDL('test_1', '', 'drop database', 'DROP DATABASE test_1'), 'ignore');
  assert.equal(f.filterDDL('test_1', 't_1', 'alter table', 'ALTER TABLE t_1 ADD c INT'), 'do');
  // tables outside the patterns are untouched
  assert.equal(f.filterDML('other', 't_1', 'delete'), 'do');
  assert.equal(f.filterDML('test_1', 'x', 'delete'), 'do');
});

void test('DM docs: a Do rule migrates only the listed events of matching tables', () => {
  const f = createEventFilter([{ schemaPattern: 'test_*', tablePattern: 't_*', events: ['create table', 'all dml'], action: 'Do' }], opts);
  assert.equal(f.filterDML('test_1', 't_1', 'insert'), 'do');
  assert.equal(f.filterDML('test_1', 't_1', 'delete'), 'do');
  assert.equal(f.filterDDL('test_1', 't_1', 'create table', 'CREATE TABLE t_1 (a int)'), 'do');
  assert.equal(f.filterDDL('test_1', 't_1', 'alter table', 'ALTER TABLE t_1 ADD b int'), 'ignore');
  assert.equal(f.filterDDL('test_1', 't_1', 'drop table', 'DROP TABLE t_1'), 'ignore');
});

void test('DM semantics: schema-level Do rule also applies to the tables of the schema', () => {
  // As in DM's binlog-filter, every matching rule is checked: an insert does not match the
  // schema rule's events, so a Do schema rule ignores it.
  const f = createEventFilter(
    [
      { schemaPattern: 'test_*', tablePattern: 't_*', events: ['create table', 'all dml'], action: 'Do' },
      { schemaPattern: 'test_*', events: ['create database'], action: 'Do' },
    ],
    opts,
  );
  assert.equal(f.filterDDL('test_1', '', 'create database', 'CREATE DATABASE test_1'), 'do');
  assert.equal(f.filterDML('test_1', 't_1', 'insert'), 'ignore');
});

void test('DM docs: filter SQL statements of sharded schemas with sql-pattern', () => {
  const f = createEventFilter(
    [{ schemaPattern: 'test_*', tablePattern: 't_*', sqlPattern: ['^DROP\\s+PROCEDURE', '^CREATE\\s+PROCEDURE'], action: 'Ignore' }],
    opts,
  );
  assert.equal(f.filterQuery('test_1', 't_1', 'create procedure p() begin end'), 'ignore', 'case-insensitive like Go (?i)');
  assert.equal(f.filterQuery('test_1', 't_1', 'DROP  PROCEDURE p'), 'ignore');
  assert.equal(f.filterDDL('test_1', 't_1', 'alter table', 'ALTER TABLE t_1 ADD c int'), 'do');
  assert.equal(f.filterDML('test_1', 't_1', 'insert'), 'do', 'sql-pattern never applies to row events');
});

void test('Error action, none / all ddl / incompatible ddl changes', () => {
  const f = createEventFilter(
    [
      { schemaPattern: 'db', tablePattern: 'err', events: ['truncate table'], action: 'Error' },
      { schemaPattern: 'db', tablePattern: 'noddl', events: ['all ddl'], action: 'Ignore' },
      { schemaPattern: 'db', tablePattern: 'nothing', events: ['none'], action: 'Ignore' },
      { schemaPattern: 'db', tablePattern: 'risky', events: ['incompatible ddl changes'], action: 'Ignore' },
    ],
    opts,
  );
  assert.equal(f.filterDDL('db', 'err', 'truncate table', 'TRUNCATE err'), 'error');
  assert.equal(f.filterDML('db', 'err', 'insert'), 'do');
  assert.equal(f.filterDDL('db', 'noddl', 'create index', 'CREATE INDEX i ON noddl(a)'), 'ignore');
  assert.equal(f.filterDML('db', 'noddl', 'update'), 'do');
  assert.equal(f.filterDDL('db', 'nothing', 'drop table', 'DROP TABLE nothing'), 'do');
  assert.equal(f.filterDDL('db', 'risky', 'drop column', 'ALTER TABLE risky DROP c'), 'ignore');
  assert.equal(f.filterDDL('db', 'risky', 'create index', 'CREATE INDEX i ON risky(a)'), 'do');
});

void test('event names: aliases and unknown names', () => {
  assert.equal(normalizeEventType('Create Schema'), 'create database');
  assert.equal(normalizeEventType('add index'), 'create index');
  assert.equal(classifyEventType('delete'), 'dml');
  assert.equal(classifyEventType('drop table'), 'incompatible ddl');
  assert.equal(normalizeEventType('explode table'), undefined);
  // DM drops a rule naming an unknown event type (logging it) and goes on without it
  const dropped: [number, string][] = [];
  const f = createEventFilter(
    [
      { schemaPattern: 'a', events: ['explode table', 'insert'], action: 'Ignore' },
      { schemaPattern: 'a', tablePattern: 'keep', events: ['delete'], action: 'Ignore' },
    ],
    { ...opts, onDroppedRule: (i, why) => dropped.push([i, why]) },
  );
  assert.deepEqual(dropped, [[0, 'unknown event type "explode table": the rule is dropped, as DM drops it']]);
  assert.equal(f.filterDML('a', 't', 'insert'), 'do', 'the dropped rule ignores nothing');
  assert.equal(f.filterDML('a', 'keep', 'delete'), 'ignore', 'the other rules still apply');
  // DM 2.x's newer DDL kinds are known
  for (const e of ['alter ttl info', 'alter ttl remove', 'multi schema change', 'exchange table partition', 'incompatible ddl changes']) {
    assert.notEqual(normalizeEventType(e), undefined, e);
  }
  assert.throws(
    () => createEventFilter([{ schemaPattern: 'a', events: ['insert'], action: 'Maybe' as 'Do' }], opts),
    (e: unknown) => e instanceof DMError && e.codeName === 'ErrFilterInvalidRule',
  );
});

void test('case-sensitive event filter patterns', () => {
  const f = createEventFilter([{ schemaPattern: 'Shop', tablePattern: 'T', events: ['delete'], action: 'Ignore' }], { caseSensitive: true });
  assert.equal(f.filterDML('Shop', 'T', 'delete'), 'ignore');
  assert.equal(f.filterDML('shop', 't', 'delete'), 'do');
  const ci = createEventFilter([{ schemaPattern: 'Shop', tablePattern: 'T', events: ['delete'], action: 'Ignore' }], opts);
  assert.equal(ci.filterDML('shop', 't', 'delete'), 'ignore');
});
