import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dumpArgsKeepTable, parseExtraArgs, splitArgs } from '../../src/config/extra-args.js';
import { parseTaskConfig, resolveSubtask } from '../../src/config/index.js';
import { dumperSettings } from '../../src/worker/pipeline.js';
import { DMError } from '../../src/errors/index.js';

const BASE = 'name: t\ntask-mode: all\ntarget-database: {host: 127.0.0.1, port: 3307, user: root}\n';

void test('extra-args: shell-style words with quotes', () => {
  assert.deepEqual(splitArgs(`--where "id > 3 AND s = 'a b'" -r 100`), ['--where', "id > 3 AND s = 'a b'", '-r', '100']);
  assert.deepEqual(splitArgs(`--where='x = "y"'  --consistency\tnone`), ['--where=x = "y"', '--consistency', 'none']);
  assert.deepEqual(splitArgs(''), []);
  assert.throws(() => splitArgs('--where "open'), /unterminated/);
});

void test('extra-args: the flags DM.ts understands become dump settings; others are problems', () => {
  assert.deepEqual(parseExtraArgs('--consistency none --where "id < 10" -t 2 --rows=500'), { args: { consistency: 'none', where: 'id < 10', threads: 2, rows: 500 }, problems: [] });
  const bad = parseExtraArgs('--no-schemas -S x --consistency bogus -t 0 --where');
  assert.deepEqual(bad.args, {});
  assert.equal(bad.problems.length, 5, bad.problems.join('\n'));
  assert.match(bad.problems[0]!, /"--no-schemas" \(DM.ts understands --where/);
  assert.match(bad.problems[1]!, /"-S"/);
  assert.match(bad.problems[2]!, /--consistency "bogus" \(one of auto, flush, lock, snapshot, none\)/);
  assert.match(bad.problems[3]!, /-t "0" \(a whole number ≥ 1\)/);
  assert.match(bad.problems[4]!, /--where needs a value/);
});

void test('extra-args -B / -T narrow the dump: unqualified -T names are looked up in the -B databases', () => {
  const legacy = parseExtraArgs('-B test -T t1,t2 --consistency none');
  assert.deepEqual(legacy, { args: { databases: ['test'], tables: [{ table: 't1' }, { table: 't2' }], consistency: 'none' }, problems: [] });
  assert.equal(dumpArgsKeepTable(legacy.args, 'test', 'T1'), true);
  assert.equal(dumpArgsKeepTable(legacy.args, 'test', 't3'), false);
  assert.equal(dumpArgsKeepTable(legacy.args, 'other', 't1'), false);
  const q = parseExtraArgs('--tables-list=a.x,b.y').args;
  assert.equal(dumpArgsKeepTable(q, 'a', 'x'), true);
  assert.equal(dumpArgsKeepTable(q, 'a', 'y'), false);
  const dbs = parseExtraArgs('--database a,b').args;
  assert.equal(dumpArgsKeepTable(dbs, 'b', 'anything'), true);
  assert.equal(dumpArgsKeepTable(dbs, 'c', 'anything'), false);
  assert.equal(dumpArgsKeepTable({}, 'c', 'anything'), true);
});

void test('extra-args in a task: understood flags reach the dump settings and win over the keys; unknown flags are refused with 20601', () => {
  const task = parseTaskConfig(`${BASE}mydumpers: {d: {threads: 8, rows: 100, where: "a = 1", extra-args: "--consistency none --where 'id < 10'"}}\nmysql-instances: [{source-id: s1, mydumper-config-name: d}]\n`);
  const settings = dumperSettings(resolveSubtask(task, 's1').mydumper);
  assert.equal(settings.consistency, 'none');
  assert.equal(settings.where, 'id < 10');
  assert.equal(settings.threads, 8);
  assert.equal(settings.rows, 100);
  const plain = dumperSettings(resolveSubtask(parseTaskConfig(`${BASE}mysql-instances: [{source-id: s1}]\n`), 's1').mydumper);
  assert.equal(plain.consistency, 'auto');
  assert.equal(plain.where, '');
  let err: unknown;
  try {
    parseTaskConfig(`${BASE}mydumpers: {d: {extra-args: "--no-locks"}}\nmysql-instances: [{source-id: s1, mydumper-config-name: d}]\n`);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof DMError, String(err));
  assert.equal(err.code, 20601);
  assert.match(err.message, /mydumpers\.d\.extra-args/);
  assert.match(err.message, /"--no-locks"/);
});
