/** Online DDL (gh-ost / pt-osc): task keys, the shadow / trash table rules, the cut-over statement, the precheck item. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DMError } from '../../src/errors/index.js';
import { onlineDDLRulesOf, parseTaskConfig, resolveSubtask, taskConfigToYaml, DEFAULT_SHADOW_TABLE_RULES, DEFAULT_TRASH_TABLE_RULES } from '../../src/config/index.js';
import { compileOnlineDDLRules, onlineDDLRuleProblem } from '../../src/filter/index.js';
import { cutOverDDL } from '../../src/units/sync/online-ddl.js';
import { CHECK_ITEMS, itemsToRun } from '../../src/checker/index.js';
import { resolveIgnoreItems } from '../../src/checker/items.js';

const BASE = 'name: t\ntask-mode: all\ntarget-database: {host: h, user: u}\nmysql-instances: [{source-id: s1}]\n';

function configError(text: string): DMError {
  try {
    parseTaskConfig(text);
  } catch (e) {
    assert.ok(e instanceof DMError, String(e));
    return e;
  }
  assert.fail('expected a config error');
}

void test("online-ddl: DM 2.x's default is on, with DM's default rules; online-ddl-scheme turns it on too", () => {
  const t = parseTaskConfig(BASE);
  assert.equal(t.onlineDDL, true);
  assert.deepEqual(onlineDDLRulesOf(resolveSubtask(t, 's1')), { shadowTableRules: DEFAULT_SHADOW_TABLE_RULES, trashTableRules: DEFAULT_TRASH_TABLE_RULES });
  assert.deepEqual(DEFAULT_SHADOW_TABLE_RULES, ['^_(.+)_(?:new|gho)$']);
  assert.deepEqual(DEFAULT_TRASH_TABLE_RULES, ['^_(.+)_(?:ghc|del|old)$']);
  const off = parseTaskConfig(`${BASE}online-ddl: false\n`);
  assert.equal(off.onlineDDL, false);
  assert.equal(onlineDDLRulesOf(resolveSubtask(off, 's1')), undefined);
  for (const scheme of ['pt', 'gh-ost']) {
    const t1 = parseTaskConfig(`${BASE}online-ddl: false\nonline-ddl-scheme: ${scheme}\n`);
    assert.equal(t1.onlineDDL, true, scheme);
    // written back as given
    assert.match(taskConfigToYaml(t1), new RegExp(`online-ddl-scheme: ${scheme}`));
  }
  const own = parseTaskConfig(`${BASE}shadow-table-rules: ["_(.+)_tmp"]\ntrash-table-rules: ["^(.+)_trash$"]\n`);
  assert.deepEqual(onlineDDLRulesOf(resolveSubtask(own, 's1')), { shadowTableRules: ['_(.+)_tmp'], trashTableRules: ['^(.+)_trash$'] });
});

void test('bad shadow / trash table rules are refused by key with 20003, as DM checks them', () => {
  let e = configError(`${BASE}shadow-table-rules: ["_(.+"]\n`);
  assert.equal(e.code, 20003);
  assert.match(e.message, /shadow-table-rules\[0\]: .*not a valid regular expression/);
  e = configError(`${BASE}trash-table-rules: ["^_.+_del$"]\n`);
  assert.match(e.message, /trash-table-rules\[0\]: .*exactly one capture group.*it has 0/);
  e = configError(`${BASE}trash-table-rules: ["^_(.+)_(del)$"]\n`);
  assert.match(e.message, /it has 2/);
  e = configError(`${BASE}online-ddl: false\nshadow-table-rules: ["^_(.+)_x$"]\n`);
  assert.equal(e.code, 20003);
  assert.match(e.message, /shadow-table-rules: .*no effect with online-ddl: false/);
  assert.equal(onlineDDLRuleProblem('_(.+)_gho'), undefined);
  assert.equal(onlineDDLRuleProblem('(?:a|b)(c)'), undefined);
});

void test("tables: DM's default rules take gh-ost's and pt-osc's names; rules are anchored", () => {
  const r = compileOnlineDDLRules(DEFAULT_SHADOW_TABLE_RULES, DEFAULT_TRASH_TABLE_RULES);
  const cases: [string, string, string][] = [
    ['_orders_gho', 'shadow', 'orders'],
    ['_orders_new', 'shadow', 'orders'],
    ['_orders_ghc', 'trash', 'orders'],
    ['_orders_del', 'trash', 'orders'],
    ['_orders_old', 'trash', 'orders'],
    ['__orders_old', 'trash', '_orders'],
    ['orders', 'real', 'orders'],
    ['orders_new', 'real', 'orders_new'],
    ['_orders_gho_x', 'real', '_orders_gho_x'],
    ['_gho', 'real', '_gho'],
  ];
  for (const [t, type, real] of cases) {
    assert.equal(r.tableType(t), type, t);
    assert.equal(r.realName(t), real, t);
  }
  // anchored like DM: "_(.+)_tmp" does not match inside a longer name
  const own = compileOnlineDDLRules(['_(.+)_tmp'], ['(.+)_trash']);
  assert.equal(own.tableType('_a_tmp'), 'shadow');
  assert.equal(own.tableType('x_a_tmp'), 'real');
  assert.equal(own.tableType('a_trash'), 'trash');
  assert.equal(own.realName('a_trash'), 'a');
  assert.equal(own.tableType('_a_gho'), 'real', 'own rules replace the defaults');
  assert.throws(() => compileOnlineDDLRules(['(a'], []), /not a valid regular expression/);
});

void test('the cut-over statement: the recorded DDL on the real table, several ALTERs joined into one', () => {
  const shadow = { schema: 'db', table: '_t_gho' };
  const real = { schema: 'db', table: 't' };
  assert.equal(cutOverDDL(['ALTER /* gh-ost */ TABLE `db`.`_t_gho` ADD COLUMN c INT DEFAULT 7'], shadow, real), 'ALTER /* gh-ost */ TABLE `db`.`t` ADD COLUMN c INT DEFAULT 7');
  assert.equal(
    cutOverDDL(['ALTER TABLE `db`.`_t_gho` ADD COLUMN c INT', 'ALTER TABLE `db`.`_t_gho` ADD INDEX ic (c), DROP COLUMN d'], shadow, real),
    'ALTER TABLE `db`.`t` ADD COLUMN c INT, ADD INDEX ic (c), DROP COLUMN d',
  );
  assert.equal(cutOverDDL(['CREATE INDEX ic ON `db`.`_t_gho` (c)'], shadow, real), 'CREATE INDEX ic ON `db`.`t` (c)');
  assert.throws(
    () => cutOverDDL(['ALTER TABLE `db`.`_t_gho` ADD COLUMN c INT', 'CREATE INDEX ic ON `db`.`_t_gho` (c)'], shadow, real),
    (e: unknown) => e instanceof DMError && e.code === 36206,
  );
});

void test('the online_ddl precheck runs in task-mode all (as DM) and can be ignored by its DM name', () => {
  assert.deepEqual(CHECK_ITEMS.online_ddl.modes, ['all']);
  assert.ok(itemsToRun('all').includes('online_ddl'));
  assert.ok(!itemsToRun('incremental').includes('online_ddl'));
  assert.ok(!itemsToRun('all', ['online_ddl']).includes('online_ddl'));
  assert.deepEqual(resolveIgnoreItems(['online_ddl']), ['online_ddl']);
});
