import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasGlobal, hasOnTable, parseGrants, itemsToRun, validateIgnoreItems } from '../../src/checker/index.js';

void test('SHOW GRANTS lines of MySQL and MariaDB decide the privileges a check sees', () => {
  const g = parseGrants([
    "GRANT RELOAD, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `dm`@`%` IDENTIFIED BY PASSWORD '*ABC'",
    'GRANT SELECT, INSERT (a, b) ON `shop`.* TO `dm`@`%`',
    'GRANT SELECT ON `stats\\_%`.* TO `dm`@`%`',
    'GRANT UPDATE ON `other`.`t1` TO `dm`@`%`',
    'GRANT `app_role` TO `dm`@`%`',
    "GRANT PROXY ON ''@'%' TO 'dm'@'%' WITH GRANT OPTION",
  ]);
  assert.equal(hasGlobal(g, 'RELOAD'), true);
  assert.equal(hasGlobal(g, 'REPLICATION SLAVE'), true);
  assert.equal(hasGlobal(g, 'REPLICATION CLIENT'), true, 'BINLOG MONITOR is MariaDB 10.5+ REPLICATION CLIENT');
  assert.equal(hasOnTable(g, 'SELECT', 'shop', 'orders'), true);
  assert.equal(hasOnTable(g, 'INSERT', 'shop', 'orders'), true, 'column grants count for the table');
  assert.equal(hasOnTable(g, 'SELECT', 'stats_2024', 'x'), true, 'schema wildcards match');
  assert.equal(hasOnTable(g, 'SELECT', 'statsX2024', 'x'), false, 'an escaped _ matches only _');
  assert.equal(hasOnTable(g, 'UPDATE', 'other', 't1'), true);
  assert.equal(hasOnTable(g, 'UPDATE', 'other', 't2'), false);
  assert.equal(hasOnTable(g, 'SELECT', 'mysql', 'user'), false);
  const root = parseGrants(['GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION']);
  assert.equal(hasGlobal(root, 'REPLICATION CLIENT'), true);
  assert.equal(hasOnTable(root, 'DROP', 'any', 'table'), true);
});

void test('task modes select the check items and ignore-checking-items removes them', () => {
  assert.ok(itemsToRun('incremental').includes('meta_position'));
  assert.ok(!itemsToRun('incremental').includes('dump_privilege'));
  assert.ok(!itemsToRun('full').includes('binlog_format'));
  assert.ok(!itemsToRun('all', ['binlog_format']).includes('binlog_format'));
  assert.deepEqual(itemsToRun('all', ['all']), []);
  assert.throws(() => validateIgnoreItems(['binlog_fromat']), (e: Error & { code?: number }) => e.code === 26004 && /binlog_fromat/.test(e.message));
});
