/**
 * DM's OpenAPI `Task` object ↔ DM's task.yaml, as DM's own converter does it
 * (dm/config/task_converters.go): each `table_migrate_rule` becomes a block-allow-list entry of
 * its source (`do-tables`), a route when it has a `target`, and one binlog filter per
 * `binlog_filter_rule` name it lists; `source_config` becomes the global mydumper / loader /
 * syncer configs and each source's `meta`. The YAML text then goes through the master's one
 * task compiler (start-task), which checks it as it checks a task file. Fields DM.ts does not
 * implement are refused with 38952 (ErrOpenAPIUnsupported); unknown fields with 38951.
 *
 * The way back (GET) reads the stored task.yaml: a task started from a file by dmctl shows the
 * parts the OpenAPI model can express (its tables, routes, filters, threads); the rest of the file
 * stays visible through `dmctl get-config task`.
 */
import { parse, stringify } from 'yaml';
import { field, invalid, isObject, onlyKeys, scalar, unsupported } from './source-json.js';

const TASK_KEYS = new Set([
  'name',
  'task_mode',
  'shard_mode',
  'meta_schema',
  'enhance_online_schema_change',
  'on_duplicate',
  'ignore_checking_items',
  'target_config',
  'binlog_filter_rule',
  'table_migrate_rule',
  'source_config',
  'strict_optimistic_shard_mode',
  'status_list',
]);
const DB_KEYS = new Set(['host', 'port', 'user', 'password', 'security']);
const FULL_KEYS = new Set([
  'export_threads',
  'import_threads',
  'data_dir',
  'consistency',
  'import_mode',
  'sorting_dir',
  'disk_quota',
  'checksum',
  'analyze',
  'range_concurrency',
  'compress_kv_pairs',
  'pd_addr',
  'on_duplicate_logical',
  'on_duplicate_physical',
]);
/** Physical-import (TiDB Lightning) knobs: DM.ts loads logically only. */
const PHYSICAL_KEYS = ['sorting_dir', 'disk_quota', 'checksum', 'analyze', 'range_concurrency', 'compress_kv_pairs', 'pd_addr', 'on_duplicate_physical'];

function list(v: unknown, path: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid(`${path} must be an array`);
  return v;
}

function strings(v: unknown, path: string): string[] {
  return list(v, path).map((x, i) => {
    if (typeof x !== 'string') throw invalid(`${path}[${i}] must be a string`);
    return x;
  });
}

function db(v: unknown, path: string): Record<string, unknown> {
  if (!isObject(v)) throw invalid(`${path} is required and must be an object`);
  onlyKeys(v, DB_KEYS, path);
  if (v['security'] !== undefined && v['security'] !== null) {
    throw unsupported(`${path}.security: TLS certificates given as content are not supported; start the task from a task.yaml with ssl-ca/ssl-cert/ssl-key paths through dmctl`);
  }
  return {
    host: field.str(v, 'host', path, true),
    port: field.num(v, 'port', path, true),
    user: field.str(v, 'user', path, true),
    password: field.str(v, 'password', path) ?? '',
  };
}

/** A DM `Task` object → task.yaml text (DM's keys). */
export function taskJsonToYaml(v: unknown, path = 'task'): string {
  if (!isObject(v)) throw invalid(`${path} must be an object`);
  onlyKeys(v, TASK_KEYS, path);
  const name = field.str(v, 'name', path, true) ?? '';
  const mode = field.str(v, 'task_mode', path, true);
  if (mode !== 'all' && mode !== 'full' && mode !== 'incremental') throw invalid(`${path}.task_mode must be all, full or incremental`);
  const doc: Record<string, unknown> = { name, 'task-mode': mode };
  const shard = field.str(v, 'shard_mode', path);
  if (shard) {
    if (shard !== 'pessimistic' && shard !== 'optimistic') throw invalid(`${path}.shard_mode must be pessimistic or optimistic`);
    doc['shard-mode'] = shard;
  }
  if (field.bool(v, 'strict_optimistic_shard_mode', path)) doc['strict-optimistic-shard-mode'] = true;
  const meta = field.str(v, 'meta_schema', path);
  if (meta) doc['meta-schema'] = meta;
  // DM: OnlineDDL = EnhanceOnlineSchemaChange (written either way: the task file's default is true)
  doc['online-ddl'] = field.bool(v, 'enhance_online_schema_change', path);
  const ignoreItems = strings(v['ignore_checking_items'], `${path}.ignore_checking_items`);
  if (ignoreItems.length > 0) doc['ignore-checking-items'] = ignoreItems;
  doc['target-database'] = db(v['target_config'], `${path}.target_config`);

  // global binlog filter rules, by name
  const filterDefs = new Map<string, { events: string[]; sql: string[] }>();
  const bfr = v['binlog_filter_rule'];
  if (bfr !== undefined && bfr !== null) {
    if (!isObject(bfr)) throw invalid(`${path}.binlog_filter_rule must be an object (rule name → rule)`);
    for (const [n, r] of Object.entries(bfr)) {
      const p = `${path}.binlog_filter_rule.${n}`;
      if (!isObject(r)) throw invalid(`${p} must be an object`);
      onlyKeys(r, new Set(['ignore_event', 'ignore_sql']), p);
      filterDefs.set(n, { events: strings(r['ignore_event'], `${p}.ignore_event`), sql: strings(r['ignore_sql'], `${p}.ignore_sql`) });
    }
  }

  // source_config
  const sc = v['source_config'];
  if (!isObject(sc)) throw invalid(`${path}.source_config is required and must be an object`);
  onlyKeys(sc, new Set(['full_migrate_conf', 'incr_migrate_conf', 'source_conf']), `${path}.source_config`);
  const mydumper: Record<string, unknown> = {};
  const loader: Record<string, unknown> = {};
  const syncer: Record<string, unknown> = {};
  const full = sc['full_migrate_conf'];
  if (full !== undefined && full !== null) {
    const p = `${path}.source_config.full_migrate_conf`;
    if (!isObject(full)) throw invalid(`${p} must be an object`);
    onlyKeys(full, FULL_KEYS, p);
    for (const k of PHYSICAL_KEYS) {
      const x = full[k];
      if (x !== undefined && x !== null && x !== '' && x !== 'none' && x !== false) throw unsupported(`${p}.${k}: the physical import mode is not supported; DM.ts loads logically`);
    }
    const et = field.num(full, 'export_threads', p);
    if (et) mydumper['threads'] = et;
    const it = field.num(full, 'import_threads', p);
    if (it) loader['pool-size'] = it;
    const dir = field.str(full, 'data_dir', p);
    if (dir) loader['dir'] = dir;
    const consistency = field.str(full, 'consistency', p);
    if (consistency && consistency !== 'auto') throw unsupported(`${p}.consistency: only "auto" is supported (DM.ts takes a consistent snapshot its own way)`);
    const im = field.str(full, 'import_mode', p);
    if (im && im !== 'logical') throw unsupported(`${p}.import_mode: only "logical" is supported`);
    const odl = field.str(full, 'on_duplicate_logical', p);
    if (odl) loader['on-duplicate-logical'] = odl;
  }
  const incr = sc['incr_migrate_conf'];
  if (incr !== undefined && incr !== null) {
    const p = `${path}.source_config.incr_migrate_conf`;
    if (!isObject(incr)) throw invalid(`${p} must be an object`);
    onlyKeys(incr, new Set(['repl_threads', 'repl_batch']), p);
    const rt = field.num(incr, 'repl_threads', p);
    if (rt) syncer['worker-count'] = rt;
    const rb = field.num(incr, 'repl_batch', p);
    if (rb) syncer['batch'] = rb;
  }
  const od = field.str(v, 'on_duplicate', path);
  if (od && od !== 'overwrite' && od !== 'error') throw invalid(`${path}.on_duplicate must be overwrite or error`);
  if (od && loader['on-duplicate-logical'] === undefined) loader['on-duplicate-logical'] = od === 'error' ? 'error' : 'replace';

  // table rules, per source
  const rules = list(v['table_migrate_rule'], `${path}.table_migrate_rule`);
  if (rules.length === 0) throw invalid(`${path}.table_migrate_rule needs at least one rule`);
  const perSource = new Map<string, { schema: string; table: string; target?: { schema?: string; table?: string }; filters: string[] }[]>();
  rules.forEach((r, i) => {
    const p = `${path}.table_migrate_rule[${i}]`;
    if (!isObject(r)) throw invalid(`${p} must be an object`);
    onlyKeys(r, new Set(['source', 'target', 'binlog_filter_rule']), p);
    const s = r['source'];
    if (!isObject(s)) throw invalid(`${p}.source is required`);
    onlyKeys(s, new Set(['source_name', 'schema', 'table']), `${p}.source`);
    const src = field.str(s, 'source_name', `${p}.source`, true) ?? '';
    const schema = field.str(s, 'schema', `${p}.source`, true) ?? '';
    const table = field.str(s, 'table', `${p}.source`) ?? '*';
    const entry: { schema: string; table: string; target?: { schema?: string; table?: string }; filters: string[] } = { schema, table, filters: [] };
    const t = r['target'];
    if (t !== undefined && t !== null) {
      if (!isObject(t)) throw invalid(`${p}.target must be an object`);
      onlyKeys(t, new Set(['schema', 'table']), `${p}.target`);
      const ts = field.str(t, 'schema', `${p}.target`);
      const tt = field.str(t, 'table', `${p}.target`);
      entry.target = { ...(ts ? { schema: ts } : {}), ...(tt ? { table: tt } : {}) };
    }
    entry.filters = strings(r['binlog_filter_rule'], `${p}.binlog_filter_rule`);
    for (const f of entry.filters) if (!filterDefs.has(f)) throw invalid(`${p}.binlog_filter_rule: rule ${f} is not in ${path}.binlog_filter_rule`);
    perSource.set(src, [...(perSource.get(src) ?? []), entry]);
  });

  const confs = list(sc['source_conf'], `${path}.source_config.source_conf`);
  if (confs.length === 0) throw invalid(`${path}.source_config.source_conf needs at least one source`);
  const bal: Record<string, unknown> = {};
  const routes: Record<string, unknown> = {};
  const filters: Record<string, unknown> = {};
  const instances = confs.map((c, i) => {
    const p = `${path}.source_config.source_conf[${i}]`;
    if (!isObject(c)) throw invalid(`${p} must be an object`);
    onlyKeys(c, new Set(['source_name', 'binlog_name', 'binlog_pos', 'binlog_gtid']), p);
    const src = field.str(c, 'source_name', p, true) ?? '';
    const inst: Record<string, unknown> = { 'source-id': src };
    const bn = field.str(c, 'binlog_name', p);
    const bp = field.num(c, 'binlog_pos', p);
    const bg = field.str(c, 'binlog_gtid', p);
    if (bn || bg) inst['meta'] = { ...(bn ? { 'binlog-name': bn } : {}), ...(bp !== undefined ? { 'binlog-pos': bp } : {}), ...(bg ? { 'binlog-gtid': bg } : {}) };
    const tables = perSource.get(src) ?? [];
    if (tables.length === 0) throw invalid(`${p}: source ${src} has no table_migrate_rule`);
    const balName = `${src}.ba`;
    bal[balName] = {
      'do-dbs': [...new Set(tables.map((t) => t.schema))],
      'do-tables': tables.map((t) => ({ 'db-name': t.schema, 'tbl-name': t.table })),
    };
    inst['block-allow-list'] = balName;
    const routeNames: string[] = [];
    const filterNames: string[] = [];
    tables.forEach((t, j) => {
      if (t.target && (t.target.schema || t.target.table)) {
        const rn = `${src}.route.${j}`;
        routes[rn] = {
          'schema-pattern': t.schema,
          ...(t.table !== '*' || t.target.table ? { 'table-pattern': t.table } : {}),
          'target-schema': t.target.schema ?? t.schema,
          ...(t.target.table ? { 'target-table': t.target.table } : {}),
        };
        routeNames.push(rn);
      }
      for (const f of t.filters) {
        const def = filterDefs.get(f)!;
        const fn = `${src}.filter.${j}.${f}`;
        filters[fn] = {
          'schema-pattern': t.schema,
          'table-pattern': t.table,
          ...(def.events.length ? { events: def.events } : {}),
          ...(def.sql.length ? { 'sql-pattern': def.sql } : {}),
          action: 'Ignore',
        };
        filterNames.push(fn);
      }
    });
    if (routeNames.length) inst['route-rules'] = routeNames;
    if (filterNames.length) inst['filter-rules'] = filterNames;
    if (Object.keys(mydumper).length) inst['mydumper-config-name'] = 'global';
    if (Object.keys(loader).length) inst['loader-config-name'] = 'global';
    if (Object.keys(syncer).length) inst['syncer-config-name'] = 'global';
    return inst;
  });
  for (const src of perSource.keys()) {
    if (!confs.some((c) => isObject(c) && c['source_name'] === src)) throw invalid(`${path}.table_migrate_rule names source ${src}, which is not in source_config.source_conf`);
  }
  doc['mysql-instances'] = instances;
  doc['block-allow-list'] = bal;
  if (Object.keys(routes).length) doc['routes'] = routes;
  if (Object.keys(filters).length) doc['filters'] = filters;
  if (Object.keys(mydumper).length) doc['mydumpers'] = { global: mydumper };
  if (Object.keys(loader).length) doc['loaders'] = { global: loader };
  if (Object.keys(syncer).length) doc['syncers'] = { global: syncer };
  return stringify(doc);
}

type Doc = Record<string, unknown>;
const obj = (v: unknown): Doc => (isObject(v) ? v : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** A stored task.yaml → DM's `Task` object (passwords masked). */
export function taskYamlToJson(text: string): Record<string, unknown> {
  const doc = obj(parse(text));
  const target = obj(doc['target-database']);
  const insts = arr(doc['mysql-instances']).map(obj);
  const bal = obj(doc['block-allow-list'] ?? doc['black-white-list']);
  const routes = obj(doc['routes']);
  const filters = obj(doc['filters']);
  const firstOf = (key: string, nameKey: string): Doc => {
    const n = insts.find((m) => typeof m[nameKey] === 'string')?.[nameKey];
    return typeof n === 'string' ? obj(obj(doc[key])[n]) : obj(insts.find((m) => isObject(m[key.replace(/s$/, '')]))?.[key.replace(/s$/, '')]);
  };
  const mydumper = firstOf('mydumpers', 'mydumper-config-name');
  const loader = firstOf('loaders', 'loader-config-name');
  const syncer = firstOf('syncers', 'syncer-config-name');
  const binlogFilterRule: Record<string, { ignore_event: string[]; ignore_sql: string[] }> = {};
  const tableRules: unknown[] = [];
  for (const m of insts) {
    const src = scalar(m['source-id'], '');
    const list = obj(bal[scalar(m['block-allow-list'] ?? m['black-white-list'], '')]);
    const tables = arr(list['do-tables']).map(obj);
    const mRoutes = arr(m['route-rules']).map((r) => obj(routes[String(r)]));
    const mFilters = arr(m['filter-rules']).map((f) => [String(f), obj(filters[String(f)])] as const);
    const pairs = tables.length > 0 ? tables.map((t) => ({ schema: scalar(t['db-name'], ''), table: scalar(t['tbl-name'], '*') })) : arr(list['do-dbs']).map((d) => ({ schema: String(d), table: '*' }));
    for (const t of pairs) {
      const route = mRoutes.find((r) => r['schema-pattern'] === t.schema && (r['table-pattern'] ?? '*') === t.table) ?? mRoutes.find((r) => r['schema-pattern'] === t.schema && r['table-pattern'] === undefined);
      const fs = mFilters.filter(([, f]) => f['schema-pattern'] === t.schema && (f['table-pattern'] ?? '*') === t.table);
      const names = fs.map(([n, f]) => {
        const short = n.split('.').pop() ?? n;
        binlogFilterRule[short] = { ignore_event: arr(f['events']).map(String), ignore_sql: arr(f['sql-pattern']).map(String) };
        return short;
      });
      tableRules.push({
        source: { source_name: src, schema: t.schema, table: t.table },
        ...(route ? { target: { schema: scalar(route['target-schema'], ''), ...(route['target-table'] ? { table: scalar(route['target-table']) } : {}) } } : {}),
        ...(names.length ? { binlog_filter_rule: names } : {}),
      });
    }
  }
  const onDup = loader['on-duplicate-logical'] ?? loader['on-duplicate'];
  return {
    name: scalar(doc['name'], ''),
    task_mode: scalar(doc['task-mode'], 'all'),
    ...(doc['shard-mode'] ? { shard_mode: scalar(doc['shard-mode']) } : {}),
    meta_schema: scalar(doc['meta-schema'], 'dm_meta'),
    enhance_online_schema_change: doc['online-ddl'] !== false || (doc['online-ddl-scheme'] !== undefined && doc['online-ddl-scheme'] !== ''),
    on_duplicate: onDup === 'error' ? 'error' : 'overwrite',
    ...(arr(doc['ignore-checking-items']).length ? { ignore_checking_items: arr(doc['ignore-checking-items']).map(String) } : {}),
    target_config: { host: scalar(target['host'], ''), port: Number(target['port'] ?? 3306), user: scalar(target['user'], ''), password: '******', security: null },
    ...(Object.keys(binlogFilterRule).length ? { binlog_filter_rule: binlogFilterRule } : {}),
    table_migrate_rule: tableRules,
    source_config: {
      full_migrate_conf: {
        export_threads: Number(mydumper['threads'] ?? 4),
        import_threads: Number(loader['pool-size'] ?? 16),
        data_dir: scalar(loader['dir'], './dumped_data'),
        consistency: 'auto',
        import_mode: 'logical',
        ...(typeof onDup === 'string' ? { on_duplicate_logical: onDup } : {}),
      },
      incr_migrate_conf: { repl_threads: Number(syncer['worker-count'] ?? 16), repl_batch: Number(syncer['batch'] ?? 100) },
      source_conf: insts.map((m) => {
        const meta = obj(m['meta']);
        return {
          source_name: scalar(m['source-id'], ''),
          ...(meta['binlog-name'] ? { binlog_name: scalar(meta['binlog-name']) } : {}),
          ...(meta['binlog-pos'] !== undefined ? { binlog_pos: Number(meta['binlog-pos']) } : {}),
          ...(meta['binlog-gtid'] ? { binlog_gtid: scalar(meta['binlog-gtid']) } : {}),
        };
      }),
    },
  };
}
