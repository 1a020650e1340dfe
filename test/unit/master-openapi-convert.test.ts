/**
 * DM's OpenAPI Task / Source JSON → DM's YAML (compiled by the one task compiler) and back;
 * unknown fields and unsupported features refused with DM's codes (38951 / 38952); the spec lists
 * every route.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTask, parseSourceConfig } from '../../src/config/index.js';
import { DMError } from '../../src/errors/index.js';
import { sourceJsonToYaml, sourceYamlToJson, taskJsonToYaml, taskYamlToJson } from '../../src/master/openapi/index.js';

const task = {
  name: 't1',
  task_mode: 'all',
  shard_mode: 'pessimistic',
  meta_schema: 'dm_meta',
  enhance_online_schema_change: false,
  on_duplicate: 'error',
  target_config: { host: '127.0.0.1', port: 4000, user: 'root', password: 'pw' },
  binlog_filter_rule: { noDrop: { ignore_event: ['drop table'], ignore_sql: ['^DROP'] } },
  table_migrate_rule: [
    { source: { source_name: 's1', schema: 'db', table: 't_*' }, target: { schema: 'db', table: 't' }, binlog_filter_rule: ['noDrop'] },
    { source: { source_name: 's2', schema: 'db', table: 't_*' }, target: { schema: 'db', table: 't' } },
  ],
  source_config: {
    full_migrate_conf: { export_threads: 3, import_threads: 5, data_dir: '/tmp/d' },
    incr_migrate_conf: { repl_threads: 7, repl_batch: 90 },
    source_conf: [{ source_name: 's1', binlog_name: 'mysql-bin.000001', binlog_pos: 4 }, { source_name: 's2' }],
  },
};

function code(fn: () => unknown): number {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof DMError, String(e));
    return e.code;
  }
  return 0;
}

void test('a DM OpenAPI Task compiles as a DM task file, with its rules, and reads back', () => {
  const yaml = taskJsonToYaml(task);
  const c = compileTask(yaml);
  assert.equal(c.task.name, 't1');
  assert.deepEqual(c.task.mysqlInstances.map((m) => m.sourceId), ['s1', 's2']);
  const back = taskYamlToJson(yaml);
  assert.equal(back['name'], 't1');
  assert.equal(back['task_mode'], 'all');
  assert.equal(back['shard_mode'], 'pessimistic');
  assert.equal(back['on_duplicate'], 'error');
  assert.equal(back['enhance_online_schema_change'], false);
  assert.equal(c.task.onlineDDL, false, 'enhance_online_schema_change: false is online-ddl: false');
  // enhance_online_schema_change is DM's online-ddl (docs/online-ddl.md)
  const on = compileTask(taskJsonToYaml({ ...task, enhance_online_schema_change: true }));
  assert.equal(on.task.onlineDDL, true);
  assert.equal(taskYamlToJson(taskJsonToYaml({ ...task, enhance_online_schema_change: true }))['enhance_online_schema_change'], true);
  assert.deepEqual(back['table_migrate_rule'], [
    { source: { source_name: 's1', schema: 'db', table: 't_*' }, target: { schema: 'db', table: 't' }, binlog_filter_rule: ['noDrop'] },
    { source: { source_name: 's2', schema: 'db', table: 't_*' }, target: { schema: 'db', table: 't' } },
  ]);
  assert.deepEqual(back['binlog_filter_rule'], { noDrop: { ignore_event: ['drop table'], ignore_sql: ['^DROP'] } });
  const sc = back['source_config'] as { full_migrate_conf: Record<string, unknown>; incr_migrate_conf: Record<string, unknown>; source_conf: unknown[] };
  assert.equal(sc.full_migrate_conf['export_threads'], 3);
  assert.equal(sc.full_migrate_conf['import_threads'], 5);
  assert.deepEqual(sc.incr_migrate_conf, { repl_threads: 7, repl_batch: 90 });
  assert.deepEqual(sc.source_conf, [{ source_name: 's1', binlog_name: 'mysql-bin.000001', binlog_pos: 4 }, { source_name: 's2' }]);
  assert.equal((back['target_config'] as { password: string }).password, '******');
});

void test('Task JSON: unknown fields 38951, unsupported features 38952', () => {
  assert.equal(code(() => taskJsonToYaml({ ...task, nope: 1 })), 38951);
  assert.equal(code(() => taskJsonToYaml({ ...task, task_mode: 'sync' })), 38951);
  assert.equal(code(() => taskJsonToYaml({ ...task, table_migrate_rule: [] })), 38951);
  assert.equal(code(() => taskJsonToYaml({ ...task, table_migrate_rule: [{ source: { source_name: 's9', schema: 'x' } }] })), 38951);
  assert.equal(code(() => taskJsonToYaml({ ...task, target_config: { ...task.target_config, security: { ssl_ca_content: 'x' } } })), 38952);
  assert.equal(code(() => taskJsonToYaml({ ...task, source_config: { ...task.source_config, full_migrate_conf: { import_mode: 'physical' } } })), 38952);
  assert.equal(code(() => taskJsonToYaml({ ...task, source_config: { ...task.source_config, full_migrate_conf: { consistency: 'flush' } } })), 38952);
});

void test('a DM OpenAPI Source loads as a source.yaml and reads back with the password masked', () => {
  const yaml = sourceJsonToYaml({ source_name: 's1', host: 'h', port: 3307, user: 'u', password: 'p', enable_gtid: true, flavor: 'mariadb', purge: { interval: 60, expires: 1, remain_space: 5 }, relay_config: { enable_relay: false }, security: null });
  const cfg = parseSourceConfig(yaml);
  assert.equal(cfg.sourceId, 's1');
  const back = sourceYamlToJson(yaml);
  assert.equal(back.source_name, 's1');
  assert.equal(back.port, 3307);
  assert.equal(back.password, '******');
  assert.equal(back.enable_gtid, true);
  assert.equal(back.flavor, 'mariadb');
  assert.deepEqual(back.purge, { interval: 60, expires: 1, remain_space: 5 });
  assert.equal(code(() => sourceJsonToYaml({ source_name: 's1', host: 'h', port: 1, user: 'u', nope: 1 })), 38951);
  assert.deepEqual(back.relay_config, { enable_relay: false, relay_binlog_name: null, relay_binlog_gtid: null, relay_dir: null });
  // relay_config → the source config's relay keys, and back
  const relayYaml = sourceJsonToYaml({ source_name: 's1', host: 'h', port: 1, user: 'u', enable_gtid: true, relay_config: { enable_relay: true, relay_binlog_name: 'mysql-bin.000003', relay_binlog_gtid: '0-1-5', relay_dir: '' } });
  const relayCfg = parseSourceConfig(relayYaml);
  assert.equal(relayCfg.enableRelay, true);
  assert.equal(relayCfg.relayBinlogName, 'mysql-bin.000003');
  assert.equal(relayCfg.relayBinlogGtid, '0-1-5');
  assert.deepEqual(sourceYamlToJson(relayYaml).relay_config, { enable_relay: true, relay_binlog_name: 'mysql-bin.000003', relay_binlog_gtid: '0-1-5', relay_dir: null });
  assert.equal(code(() => sourceJsonToYaml({ source_name: 's1', host: 'h', port: 1, user: 'u', relay_config: { relay_dir: './relay_log' } })), 38952);
  assert.equal(code(() => sourceJsonToYaml({ source_name: 's1', host: 'h', port: 1, user: 'u', relay_config: { enable_relay: 'yes' } })), 38951);
  assert.equal(code(() => sourceJsonToYaml({ source_name: 's1', host: 'h', port: 1, user: 'u', enable: false })), 38952);
  assert.equal(code(() => sourceJsonToYaml({ host: 'h', port: 1, user: 'u' })), 38951);
});
