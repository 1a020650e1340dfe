import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RelayNeeds } from '../../src/units/relay/index.js';

const SUBS = ['aaa.000001', 'bbb.000002'];

void test('relay needs: the earliest need over readers decides what may be purged', () => {
  const n = new RelayNeeds();
  assert.equal(n.mayPurge('aaa.000001', 'mysql-bin.000001', SUBS), true, 'nothing registered: anything may go');
  n.set('t1', { subDir: 'bbb.000002', file: 'mysql-bin.000002', offset: 500 });
  n.set('t2', { subDir: 'aaa.000001', file: 'mysql-bin.000010', offset: 4 });
  assert.deepEqual(n.earliest(SUBS), { subDir: 'aaa.000001', file: 'mysql-bin.000010', offset: 4 });
  // binlog order, not string order: 000009 < 000010
  assert.equal(n.mayPurge('aaa.000001', 'mysql-bin.000009', SUBS), true);
  assert.equal(n.mayPurge('aaa.000001', 'mysql-bin.000010', SUBS), false, 'the file holding a need is kept');
  assert.equal(n.mayPurge('bbb.000002', 'mysql-bin.000001', SUBS), false, 'a later sub-directory is after every need in an earlier one');
  n.set('t2', undefined);
  assert.equal(n.mayPurge('aaa.000001', 'mysql-bin.000010', SUBS), true);
  assert.equal(n.mayPurge('bbb.000002', 'mysql-bin.000001', SUBS), true);
  assert.equal(n.mayPurge('bbb.000002', 'mysql-bin.000002', SUBS), false);
});
