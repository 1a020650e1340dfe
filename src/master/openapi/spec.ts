/**
 * The OpenAPI 3 document served at GET /api/v1/dm.json (DM's path): every route of routes.ts,
 * with DM's schema names (Source, Task, SubTaskStatus, ErrorWithMessage, ...) for the fields DM.ts
 * reads and writes. Built from the route table, so an endpoint cannot be served without being
 * listed.
 */
import { VERSION } from '../../util/index.js';
import type { ApiRoute } from './router.js';

const ref = (name: string): { $ref: string } => ({ $ref: `#/components/schemas/${name}` });
const str = { type: 'string' };
const int = { type: 'integer' };
const bool = { type: 'boolean' };
const strList = { type: 'array', items: str };
const listOf = (item: string): object => ({ type: 'object', required: ['total', 'data'], properties: { total: int, data: { type: 'array', items: ref(item) } } });

const SCHEMAS: Record<string, object> = {
  ErrorWithMessage: { type: 'object', required: ['error_code', 'error_msg'], properties: { error_code: { ...int, description: 'DM.ts error code (docs/errors.md)' }, error_msg: str } },
  Security: { type: 'object', nullable: true, description: 'not supported by DM.ts: must be null', properties: { ssl_ca_content: str, ssl_cert_content: str, ssl_key_content: str, cert_allowed_cn: strList } },
  Purge: { type: 'object', properties: { interval: int, expires: int, remain_space: int } },
  RelayConfig: {
    type: 'object',
    properties: {
      enable_relay: bool,
      relay_binlog_name: { ...str, nullable: true },
      relay_binlog_gtid: { ...str, nullable: true },
      relay_dir: { ...str, nullable: true, description: 'not supported by DM.ts: must be null or empty (the relay is kept in relay-dir of dm-worker.yaml)' },
    },
  },
  RelayStatus: {
    type: 'object',
    required: ['master_binlog', 'master_binlog_gtid', 'relay_dir', 'relay_binlog_gtid', 'relay_catch_up_master', 'stage'],
    properties: { master_binlog: str, master_binlog_gtid: str, relay_dir: { ...str, description: 'the relay sub-directory (<server-uuid>.<seq>)' }, relay_binlog_gtid: str, relay_catch_up_master: bool, stage: str },
  },
  SourceStatus: { type: 'object', required: ['source_name', 'worker_name'], properties: { source_name: str, worker_name: str, relay_status: ref('RelayStatus'), error_msg: str } },
  EnableRelayRequest: {
    type: 'object',
    properties: {
      worker_name_list: { ...strList, description: 'only the worker bound to the source (DM.ts runs the relay there)' },
      relay_binlog_name: { ...str, nullable: true, description: "must equal the source config's relay-binlog-name (set it with PUT /sources)" },
      relay_binlog_gtid: { ...str, nullable: true, description: "must equal the source config's relay-binlog-gtid (set it with PUT /sources)" },
      relay_dir: { ...str, nullable: true, description: 'not supported by DM.ts: must be null or empty' },
    },
  },
  DisableRelayRequest: { type: 'object', properties: { worker_name_list: strList } },
  PurgeRelayRequest: {
    type: 'object',
    required: ['relay_binlog_name'],
    properties: { relay_binlog_name: { ...str, description: 'purge the relay files before this one' }, relay_dir: { ...str, nullable: true, description: 'the relay sub-directory of relay_binlog_name; default the latest' } },
  },
  Source: {
    type: 'object',
    required: ['source_name', 'host', 'port', 'user'],
    properties: {
      source_name: str,
      host: str,
      port: int,
      user: str,
      password: str,
      enable_gtid: bool,
      enable: bool,
      flavor: { type: 'string', enum: ['mysql', 'mariadb'] },
      security: ref('Security'),
      purge: ref('Purge'),
      relay_config: ref('RelayConfig'),
      status_list: { type: 'array', items: ref('SourceStatus') },
    },
  },
  CreateSourceRequest: { type: 'object', required: ['source'], properties: { source: ref('Source'), worker_name: str } },
  UpdateSourceRequest: { type: 'object', required: ['source'], properties: { source: ref('Source') } },
  WorkerNameRequest: { type: 'object', required: ['worker_name'], properties: { worker_name: str } },
  GetSourceListResponse: listOf('Source'),
  GetSourceStatusResponse: listOf('SourceStatus'),
  TaskTargetDataBase: { type: 'object', required: ['host', 'port', 'user', 'password'], properties: { host: str, port: int, user: str, password: str, security: ref('Security') } },
  TaskBinLogFilterRule: { type: 'object', properties: { ignore_event: strList, ignore_sql: strList } },
  TaskTableMigrateRule: {
    type: 'object',
    required: ['source'],
    properties: {
      source: { type: 'object', required: ['source_name', 'schema'], properties: { source_name: str, schema: str, table: str } },
      target: { type: 'object', properties: { schema: str, table: str } },
      binlog_filter_rule: strList,
    },
  },
  TaskFullMigrateConf: { type: 'object', properties: { export_threads: int, import_threads: int, data_dir: str, consistency: { type: 'string', enum: ['auto'] }, import_mode: { type: 'string', enum: ['logical'] }, on_duplicate_logical: { type: 'string', enum: ['replace', 'error', 'ignore'] } } },
  TaskIncrMigrateConf: { type: 'object', properties: { repl_threads: int, repl_batch: int } },
  TaskSourceConf: { type: 'object', required: ['source_name'], properties: { source_name: str, binlog_name: str, binlog_pos: int, binlog_gtid: str } },
  TaskSourceConfig: {
    type: 'object',
    required: ['source_conf'],
    properties: { full_migrate_conf: ref('TaskFullMigrateConf'), incr_migrate_conf: ref('TaskIncrMigrateConf'), source_conf: { type: 'array', items: ref('TaskSourceConf') } },
  },
  SubTaskStatus: {
    type: 'object',
    required: ['name', 'source_name', 'worker_name', 'stage', 'unit'],
    properties: {
      name: str,
      source_name: str,
      worker_name: str,
      stage: str,
      unit: str,
      unresolved_ddl_lock_id: str,
      load_status: { type: 'object' },
      sync_status: { type: 'object' },
      dump_status: { type: 'object' },
      error_msg: str,
    },
  },
  Task: {
    type: 'object',
    required: ['name', 'task_mode', 'target_config', 'table_migrate_rule', 'source_config'],
    properties: {
      name: str,
      task_mode: { type: 'string', enum: ['all', 'full', 'incremental'] },
      shard_mode: { type: 'string', enum: ['pessimistic', 'optimistic'] },
      strict_optimistic_shard_mode: bool,
      meta_schema: str,
      enhance_online_schema_change: bool,
      on_duplicate: { type: 'string', enum: ['overwrite', 'error'] },
      ignore_checking_items: strList,
      target_config: ref('TaskTargetDataBase'),
      binlog_filter_rule: { type: 'object', additionalProperties: ref('TaskBinLogFilterRule') },
      table_migrate_rule: { type: 'array', items: ref('TaskTableMigrateRule') },
      source_config: ref('TaskSourceConfig'),
      status_list: { type: 'array', items: ref('SubTaskStatus') },
    },
  },
  CreateTaskRequest: { type: 'object', required: ['task'], properties: { task: ref('Task'), remove_meta: bool, source_name_list: strList, start_time: str } },
  OperateTaskResponse: { type: 'object', required: ['task', 'check_result'], properties: { task: ref('Task'), check_result: str } },
  StartTaskRequest: { type: 'object', properties: { source_name_list: strList, start_time: str, safe_mode_time_duration: str } },
  StopTaskRequest: { type: 'object', properties: { source_name_list: strList } },
  ConverterTaskRequest: { type: 'object', properties: { task: ref('Task'), task_config_file: str } },
  ConverterTaskResponse: { type: 'object', required: ['task', 'task_config_file'], properties: { task: ref('Task'), task_config_file: str } },
  GetTaskListResponse: listOf('Task'),
  GetTaskStatusResponse: listOf('SubTaskStatus'),
  ClusterMaster: { type: 'object', required: ['name', 'alive', 'leader', 'addr'], properties: { name: str, alive: bool, leader: bool, addr: str } },
  ClusterWorker: { type: 'object', required: ['name', 'addr', 'bound_stage', 'bound_source_name'], properties: { name: str, addr: str, bound_stage: str, bound_source_name: str } },
  GetClusterMasterListResponse: listOf('ClusterMaster'),
  GetClusterWorkerListResponse: listOf('ClusterWorker'),
};

/** Request and 2xx response schema names per `METHOD path`. */
const BODIES: Record<string, { request?: string; response?: string; status?: number }> = {
  'POST /sources': { request: 'CreateSourceRequest', response: 'Source', status: 201 },
  'GET /sources': { response: 'GetSourceListResponse' },
  'GET /sources/{source-name}': { response: 'Source' },
  'PUT /sources/{source-name}': { request: 'UpdateSourceRequest', response: 'Source' },
  'DELETE /sources/{source-name}': { status: 204 },
  'GET /sources/{source-name}/status': { response: 'GetSourceStatusResponse' },
  'POST /sources/{source-name}/transfer': { request: 'WorkerNameRequest' },
  'POST /sources/{source-name}/relay/enable': { request: 'EnableRelayRequest' },
  'POST /sources/{source-name}/relay/disable': { request: 'DisableRelayRequest' },
  'POST /sources/{source-name}/relay/purge': { request: 'PurgeRelayRequest' },
  'POST /tasks': { request: 'CreateTaskRequest', response: 'OperateTaskResponse', status: 201 },
  'GET /tasks': { response: 'GetTaskListResponse' },
  'POST /tasks/converters': { request: 'ConverterTaskRequest', response: 'ConverterTaskResponse' },
  'GET /tasks/{task-name}': { response: 'Task' },
  'DELETE /tasks/{task-name}': { status: 204 },
  'POST /tasks/{task-name}/start': { request: 'StartTaskRequest' },
  'POST /tasks/{task-name}/stop': { request: 'StopTaskRequest' },
  'GET /tasks/{task-name}/status': { response: 'GetTaskStatusResponse' },
  'GET /cluster/masters': { response: 'GetClusterMasterListResponse' },
  'DELETE /cluster/masters/{master-name}': { status: 204 },
  'GET /cluster/workers': { response: 'GetClusterWorkerListResponse' },
  'DELETE /cluster/workers/{worker-name}': { status: 204 },
};

const QUERY: Record<string, string[]> = {
  'GET /sources': ['with_status'],
  'GET /sources/{source-name}': ['with_status'],
  'DELETE /sources/{source-name}': ['force'],
  'GET /tasks': ['with_status'],
  'GET /tasks/{task-name}': ['with_status'],
  'DELETE /tasks/{task-name}': ['source_name_list'],
  'GET /tasks/{task-name}/status': ['source_name_list'],
};

/** POST endpoints whose body may be left out (as in DM's spec). */
const OPTIONAL_BODY = /\/(start|stop|relay\/enable|relay\/disable)$/;

/** The OpenAPI 3.0 document of `routes`. */
export function openApiSpec(routes: readonly ApiRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const key = `${r.method} ${r.path}`;
    const b = BODIES[key] ?? {};
    const params = [
      ...[...r.path.matchAll(/\{([^}]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: str })),
      ...(QUERY[key] ?? []).map((name) => ({ name, in: 'query', required: false, schema: name === 'source_name_list' ? strList : name === 'with_status' || name === 'force' ? bool : str })),
    ];
    const status = String(b.status ?? 200);
    const error = { description: 'failed', content: { 'application/json': { schema: ref('ErrorWithMessage') } } };
    const op: Record<string, unknown> = {
      summary: r.summary,
      operationId: `DMAPI${r.method[0]}${r.method.slice(1).toLowerCase()}${r.path.replace(/\{[^}]+\}/g, 'X').replace(/[^A-Za-z]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      ...(params.length ? { parameters: params } : {}),
      ...(b.request ? { requestBody: { required: r.method === 'POST' && !OPTIONAL_BODY.test(r.path), content: { 'application/json': { schema: ref(b.request) } } } } : {}),
      responses: {
        [status]: b.response ? { description: 'success', content: { 'application/json': { schema: ref(b.response) } } } : { description: 'success' },
        '400': error,
        '401': error,
        '403': error,
      },
    };
    const p = `/api/v1${r.path}`;
    paths[p] = { ...(paths[p] ?? {}), [r.method.toLowerCase()]: op };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'DM.ts OpenAPI', version: VERSION, description: "DM 2.x's OpenAPI as DM.ts serves it (docs/openapi.md)" },
    servers: [{ url: '/' }],
    components: {
      schemas: SCHEMAS,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'needed when the master has auth-token-file / cluster-token-file set: role read for GET, admin for the rest' } },
    },
    security: [{}, { bearer: [] }],
    paths,
  };
}
