/**
 * DM 2.x's OpenAPI endpoints (dm/openapi/spec/dm.yaml) on DM.ts's master: sources, tasks,
 * cluster members, relay and the spec itself. Every handler goes through the MasterService
 * implementation (rpc-call.ts), never around it: the relay endpoints call OperateRelay and
 * PurgeRelay, as dmctl start-relay / stop-relay / purge-relay do.
 *
 * Task life cycle, as DM >= 6's: `POST /tasks` creates the task without running it (its subtasks
 * are created paused, after the prechecks); `/start` runs it (resume; with `start_time`, again
 * from that time: StartTask `restart`); `/stop` pauses it (the config and checkpoints stay, as
 * DM's stopped task keeps them); `DELETE /tasks/{name}` removes it (dmctl stop-task). The
 * stage DM shows as `Stopped` is DM.ts's `Paused`.
 */
import { parse } from 'yaml';
import { codeByNumber, DMError } from '../../errors/index.js';
import { MemberType, RelayOp, SourceOp, TaskOp } from '../../gen/dm/master/v1/master_pb.js';
import { Stage, UnitType, type RelayStatus, type SubTaskStatus } from '../../gen/dm/common/v1/common_pb.js';
import type { MasterCore } from '../master-core.js';
import type { RpcCaller } from './rpc-call.js';
import type { ApiReply, ApiRequest, ApiRoute } from './router.js';
import { invalid, isObject, onlyKeys, scalar, sourceJsonToYaml, sourceYamlToJson, unsupported } from './source-json.js';
import { taskJsonToYaml, taskYamlToJson } from './task-json.js';
import { dmCheckMessage, parseCheckReport } from '../../checker/dm-report.js';

export interface OpenApiDeps {
  rpc: RpcCaller;
  core: MasterCore;
  /** The spec document (spec.ts), built from these routes. */
  spec: () => unknown;
}

const ok = (json?: unknown, status = 200): ApiReply => (json === undefined ? { status: status === 200 ? 200 : status } : { status, json });
const listOf = <T>(data: T[]): { total: number; data: T[] } => ({ total: data.length, data });

function bodyObject(r: ApiRequest, what: string, keys: readonly string[], required = true): Record<string, unknown> {
  if (r.body === undefined) {
    if (required) throw invalid(`the request needs a JSON body (${what})`);
    return {};
  }
  if (!isObject(r.body)) throw invalid(`the request body must be a JSON object (${what})`);
  onlyKeys(r.body, new Set(keys), 'body');
  return r.body;
}

function nameList(v: unknown, path: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalid(`${path} must be an array of strings`);
  return v as string[];
}

/** `source_name_list` as DM's query parameter: repeated or comma-separated. */
function queryList(q: URLSearchParams, key: string): string[] {
  return q.getAll(key).flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '');
}

const STAGE: Record<number, string> = {
  [Stage.UNSPECIFIED]: 'InvalidStage',
  [Stage.NEW]: 'New',
  [Stage.RUNNING]: 'Running',
  [Stage.PAUSED]: 'Paused',
  [Stage.STOPPED]: 'Stopped',
  [Stage.FINISHED]: 'Finished',
};
const UNIT: Record<number, string> = {
  [UnitType.UNSPECIFIED]: 'InvalidUnit',
  [UnitType.CHECK]: 'Check',
  [UnitType.DUMP]: 'Dump',
  [UnitType.LOAD]: 'Load',
  [UnitType.SYNC]: 'Sync',
};

function binlogText(b: { name: string; pos: number } | undefined): string {
  return b && b.name ? `(${b.name}, ${b.pos})` : '';
}

/** DM's `RelayStatus` (dm.yaml) from a worker's relay status. */
function relayStatusJson(r: RelayStatus): Record<string, unknown> {
  return {
    master_binlog: binlogText(r.masterBinlog),
    master_binlog_gtid: r.masterBinlog?.gtidSet ?? '',
    relay_dir: r.relaySubDir,
    relay_binlog_gtid: r.relayBinlog?.gtidSet ?? '',
    relay_catch_up_master: r.relayCatchUpMaster,
    stage: STAGE[r.stage] ?? 'InvalidStage',
  };
}

/**
 * A per-source result that failed (`result: false`, the coded error rendered in `msg` as the
 * master's replies carry it) → the DMError it was, for DM's error body.
 */
function resultError(msg: string): DMError {
  const m = /^\[code=(\d+)[^\]]*\], Message: ([\s\S]*?)(?:, Workaround: [\s\S]*)?$/.exec(msg);
  const known = m ? codeByNumber(Number(m[1])) : undefined;
  return known && m ? new DMError(known[0], m[2] ?? msg) : new DMError('ErrInternal', msg);
}

/** DM's `SubTaskStatus` from a worker's subtask status. */
function subTaskStatus(s: SubTaskStatus, sourceName: string, workerName: string): Record<string, unknown> {
  const err = s.result?.errors.map((e) => `[code=${e.code}] ${e.message}`).join('; ') ?? '';
  const out: Record<string, unknown> = {
    name: s.name,
    source_name: s.source || sourceName,
    worker_name: s.worker || workerName,
    stage: STAGE[s.stage] ?? 'InvalidStage',
    unit: UNIT[s.unit] ?? 'InvalidUnit',
    unresolved_ddl_lock_id: s.unresolvedDdlLockId,
  };
  if (s.unit === UnitType.DUMP) {
    out['dump_status'] = { total_tables: 0, completed_tables: 0, finished_bytes: Number(s.bytesDone), finished_rows: Number(s.rowsDone), estimate_total_rows: Number(s.rowsTotal) };
  }
  if (s.unit === UnitType.LOAD) {
    out['load_status'] = { finished_bytes: Number(s.bytesDone), total_bytes: Number(s.bytesTotal), progress: `${(s.progress * 100).toFixed(2)} %`, meta_binlog: '', meta_binlog_gtid: '' };
  }
  if (s.unit === UnitType.SYNC) {
    out['sync_status'] = {
      total_events: 0,
      total_tps: 0,
      recent_tps: 0,
      master_binlog: binlogText(s.masterBinlog),
      master_binlog_gtid: s.masterBinlog?.gtidSet ?? '',
      syncer_binlog: binlogText(s.syncedBinlog),
      syncer_binlog_gtid: s.syncedBinlog?.gtidSet ?? '',
      blocking_ddls: [],
      unresolved_groups: [],
      synced: s.synced,
      binlog_type: 'remote',
      seconds_behind_master: Math.round(s.lagSeconds),
    };
  }
  if (err) out['error_msg'] = err;
  return out;
}

export function openApiRoutes(d: OpenApiDeps): ApiRoute[] {
  const { rpc, core } = d;

  const sourceExists = async (name: string, signal: AbortSignal): Promise<void> => {
    const r = await rpc('operateSource', { op: SourceOp.SHOW, sourceId: [name] }, signal);
    if (!r.sources.some((s) => s.source === name && s.result)) throw new DMError('ErrMasterSourceNotFound', `source ${name} not found`);
  };
  const sourceStatus = async (names: string[], signal: AbortSignal): Promise<Record<string, unknown>[]> => {
    const r = await rpc('operateSource', { op: SourceOp.SHOW, sourceId: names }, signal);
    const shown = r.sources.filter((s) => s.result);
    // the relay part: the bound workers' status (query-status without a task), as DM's SourceStatus
    // (DM's RelayStatus has no error field: the relay's errors go to the source's error_msg)
    const relays = new Map<string, { status: Record<string, unknown>; errors: string }>();
    const bound = shown.filter((s) => s.worker && s.msg === 'bound').map((s) => s.source);
    if (bound.length > 0) {
      const q = await rpc('queryStatus', { name: '', sources: bound }, signal);
      for (const s of q.sources) {
        const rs = s.sourceStatus?.relayStatus;
        const errors = rs?.result?.errors.map((e) => `[code=${e.code}] ${e.message}`).join('; ') ?? '';
        if (s.sourceStatus && rs) relays.set(s.sourceStatus.source, { status: relayStatusJson(rs), errors });
      }
    }
    return shown.map((s) => {
      const relay = relays.get(s.source);
      const err = s.worker && s.msg !== 'bound' ? s.msg : relay?.errors;
      return { source_name: s.source, worker_name: s.worker, ...(relay ? { relay_status: relay.status } : {}), ...(err ? { error_msg: err } : {}) };
    });
  };
  const taskNames = async (): Promise<string[]> => [...new Set((await core.allSubtasks()).map((p) => p.task))].sort();
  const taskStatus = async (name: string, only: string[], signal: AbortSignal): Promise<Record<string, unknown>[]> => {
    const r = await rpc('queryStatus', { name, sources: only }, signal);
    const out: Record<string, unknown>[] = [];
    for (const s of r.sources) {
      const src = s.sourceStatus?.source ?? '';
      const worker = s.sourceStatus?.worker ?? '';
      if (s.subTaskStatus.length === 0) {
        out.push({ name, source_name: src, worker_name: worker, stage: 'InvalidStage', unit: 'InvalidUnit', unresolved_ddl_lock_id: '', ...(s.msg ? { error_msg: s.msg } : {}) });
      }
      for (const st of s.subTaskStatus) if (st.name === name) out.push(subTaskStatus(st, src, worker));
    }
    return out;
  };
  const taskObject = async (name: string, withStatus: boolean, signal: AbortSignal): Promise<Record<string, unknown>> => {
    const t = taskYamlToJson(await core.taskConfig(name));
    return withStatus ? { ...t, status_list: await taskStatus(name, [], signal) } : t;
  };
  /** OperateRelay (dmctl start-relay / stop-relay) on one source; a failed result is its error. */
  const operateRelay = async (op: RelayOp, source: string, workers: string[], signal: AbortSignal): Promise<ApiReply> => {
    const r = await rpc('operateRelay', { op, source, workers }, signal);
    const failed = r.sources.find((s) => !s.result);
    if (failed || !r.result) throw resultError(failed?.msg || r.msg);
    return ok();
  };
  /** DM's EnableRelayRequest: the start position and the relay directory belong in DM.ts's configs. */
  const enableRelay = async (r: ApiRequest): Promise<ApiReply> => {
    const name = r.params['source-name'] ?? '';
    const b = bodyObject(r, 'EnableRelayRequest', ['worker_name_list', 'relay_binlog_name', 'relay_binlog_gtid', 'relay_dir'], false);
    const workers = nameList(b['worker_name_list'], 'body.worker_name_list');
    const dir = b['relay_dir'];
    if (dir !== undefined && dir !== null) {
      if (typeof dir !== 'string') throw invalid('body.relay_dir must be a string');
      if (dir !== '') throw unsupported('body.relay_dir: a relay directory per source is not supported; the relay is written under relay-dir of dm-worker.yaml (docs/relay.md)');
    }
    // DM writes relay_binlog_name / relay_binlog_gtid into the source config; DM.ts reads them from
    // the source config only, so a value other than the configured one is refused, not ignored
    const cfg = parse(await core.sourceConfig(name)) as Record<string, unknown> | null;
    for (const [k, key] of [['relay_binlog_name', 'relay-binlog-name'], ['relay_binlog_gtid', 'relay-binlog-gtid']] as const) {
      const v = b[k];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'string') throw invalid(`body.${k} must be a string`);
      const cur = scalar(cfg?.[key], '');
      if (v !== '' && v !== cur) {
        throw unsupported(`body.${k}: the relay's start position is read from the source config only (${key}: ${JSON.stringify(cur)}); set it there (PUT /api/v1/sources/${name} relay_config.${k}, or dmctl operate-source update) before enabling the relay`);
      }
    }
    return operateRelay(RelayOp.START, name, workers, r.signal);
  };

  return [
    // ---- spec --------------------------------------------------------------------------------
    { method: 'GET', path: '/dm.json', summary: 'the OpenAPI spec of this API (JSON)', handler: async () => ok(d.spec()) },
    {
      method: 'GET',
      path: '/docs',
      summary: 'a page that lists the endpoints and links the spec',
      handler: async () => ({ status: 200, contentType: 'text/html; charset=utf-8', text: docsPage(d.spec()) }),
    },

    // ---- sources -----------------------------------------------------------------------------
    {
      method: 'POST',
      path: '/sources',
      summary: 'create a source (DM CreateSourceRequest: {source, worker_name})',
      handler: async (r) => {
        const b = bodyObject(r, 'CreateSourceRequest', ['source', 'worker_name']);
        const worker = b['worker_name'];
        if (worker !== undefined && worker !== null && typeof worker !== 'string') throw invalid('body.worker_name must be a string');
        const yaml = sourceJsonToYaml(b['source'], 'source');
        await rpc('operateSource', { op: SourceOp.START, config: [yaml], workerName: typeof worker === 'string' ? worker : '' }, r.signal);
        const name = (b['source'] as { source_name: string }).source_name;
        return ok(sourceYamlToJson(await core.sourceConfig(name)), 201);
      },
    },
    {
      method: 'GET',
      path: '/sources',
      summary: 'list the sources (?with_status=true adds status_list)',
      handler: async (r) => {
        const shown = await rpc('operateSource', { op: SourceOp.SHOW }, r.signal);
        const withStatus = r.query.get('with_status') === 'true';
        const data = await Promise.all(
          shown.sources
            .filter((s) => s.result)
            .map(async (s) => {
              const src: Record<string, unknown> = sourceYamlToJson(await core.sourceConfig(s.source));
              if (withStatus) src['status_list'] = await sourceStatus([s.source], r.signal);
              return src;
            }),
        );
        return ok(listOf(data));
      },
    },
    {
      method: 'GET',
      path: '/sources/{source-name}',
      summary: 'one source (?with_status=true adds status_list)',
      handler: async (r) => {
        const name = r.params['source-name'] ?? '';
        const src: Record<string, unknown> = sourceYamlToJson(await core.sourceConfig(name));
        if (r.query.get('with_status') === 'true') src['status_list'] = await sourceStatus([name], r.signal);
        return ok(src);
      },
    },
    {
      method: 'PUT',
      path: '/sources/{source-name}',
      summary: 'update a source (DM UpdateSourceRequest: {source})',
      handler: async (r) => {
        const name = r.params['source-name'] ?? '';
        const b = bodyObject(r, 'UpdateSourceRequest', ['source']);
        const yaml = sourceJsonToYaml(b['source'], 'source');
        if ((b['source'] as { source_name: string }).source_name !== name) throw invalid(`source.source_name must be ${name}, the source in the path`);
        await rpc('operateSource', { op: SourceOp.UPDATE, config: [yaml] }, r.signal);
        return ok(sourceYamlToJson(await core.sourceConfig(name)));
      },
    },
    {
      method: 'DELETE',
      path: '/sources/{source-name}',
      summary: 'delete a source (?force=true is not supported: stop its tasks first)',
      handler: async (r) => {
        const name = r.params['source-name'] ?? '';
        if (r.query.get('force') === 'true') throw unsupported('force: delete the tasks of the source first (DELETE /api/v1/tasks/{task-name}), then the source');
        await sourceExists(name, r.signal);
        await rpc('operateSource', { op: SourceOp.STOP, sourceId: [name] }, r.signal);
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      path: '/sources/{source-name}/status',
      summary: 'the status of a source (its worker)',
      handler: async (r) => {
        const name = r.params['source-name'] ?? '';
        await sourceExists(name, r.signal);
        return ok(listOf(await sourceStatus([name], r.signal)));
      },
    },
    {
      method: 'POST',
      path: '/sources/{source-name}/enable',
      summary: 'enable a source (DM.ts sources are always enabled: a no-op for an existing source)',
      handler: async (r) => {
        await sourceExists(r.params['source-name'] ?? '', r.signal);
        return ok();
      },
    },
    {
      method: 'POST',
      path: '/sources/{source-name}/disable',
      summary: 'disable a source: not supported (38952)',
      handler: async (r) => {
        await sourceExists(r.params['source-name'] ?? '', r.signal);
        throw unsupported('disabling a source is not supported; pause its tasks (POST /api/v1/tasks/{task-name}/stop) or delete the source');
      },
    },
    {
      method: 'POST',
      path: '/sources/{source-name}/transfer',
      summary: 'bind the source to another worker (DM WorkerNameRequest: {worker_name})',
      handler: async (r) => {
        const b = bodyObject(r, 'WorkerNameRequest', ['worker_name']);
        const w = b['worker_name'];
        if (typeof w !== 'string' || w === '') throw invalid('body.worker_name is required');
        await rpc('transferSource', { source: r.params['source-name'] ?? '', worker: w }, r.signal);
        return ok();
      },
    },
    {
      method: 'POST',
      path: '/sources/{source-name}/relay/enable',
      summary: 'start the relay of the source on its bound worker (DM EnableRelayRequest: {worker_name_list, relay_binlog_name, relay_binlog_gtid}; relay_dir is refused)',
      handler: enableRelay,
    },
    {
      method: 'POST',
      path: '/sources/{source-name}/relay/disable',
      summary: 'stop the relay of the source (DM DisableRelayRequest: {worker_name_list})',
      handler: async (r) => {
        const b = bodyObject(r, 'DisableRelayRequest', ['worker_name_list'], false);
        return operateRelay(RelayOp.STOP, r.params['source-name'] ?? '', nameList(b['worker_name_list'], 'body.worker_name_list'), r.signal);
      },
    },
    {
      method: 'POST',
      path: '/sources/{source-name}/relay/purge',
      summary: 'purge the relay files before relay_binlog_name (DM PurgeRelayRequest: {relay_binlog_name, relay_dir = the relay sub-directory})',
      handler: async (r) => {
        const name = r.params['source-name'] ?? '';
        const b = bodyObject(r, 'PurgeRelayRequest', ['relay_binlog_name', 'relay_dir']);
        const file = b['relay_binlog_name'];
        if (typeof file !== 'string' || file === '') throw invalid('body.relay_binlog_name is required');
        const sub = b['relay_dir'];
        if (sub !== undefined && sub !== null && typeof sub !== 'string') throw invalid('body.relay_dir must be a string');
        const res = await rpc('purgeRelay', { sources: [name], filename: file, subDir: typeof sub === 'string' ? sub : '' }, r.signal);
        const failed = res.sources.find((s) => !s.result);
        if (failed || !res.result) throw resultError(failed?.msg || res.msg);
        return ok();
      },
    },
    {
      method: 'POST',
      path: '/sources/{source-name}/start-relay',
      summary: 'relay (DM 5.x path): use /relay/enable (38952)',
      handler: () => Promise.reject(unsupported('DM 5.x\'s start-relay path is not served; use POST /api/v1/sources/{source-name}/relay/enable')),
    },
    {
      method: 'POST',
      path: '/sources/{source-name}/stop-relay',
      summary: 'relay (DM 5.x path): use /relay/disable (38952)',
      handler: () => Promise.reject(unsupported('DM 5.x\'s stop-relay path is not served; use POST /api/v1/sources/{source-name}/relay/disable')),
    },

    // ---- tasks -------------------------------------------------------------------------------
    {
      method: 'POST',
      path: '/tasks',
      summary: 'create a task without running it (DM CreateTaskRequest: {task}); answers {task, check_result}; POST .../start runs it',
      handler: async (r) => {
        const b = bodyObject(r, 'CreateTaskRequest', ['task', 'remove_meta', 'source_name_list', 'start_time']);
        const yaml = taskJsonToYaml(b['task'], 'task');
        const rm = b['remove_meta'];
        if (rm !== undefined && typeof rm !== 'boolean') throw invalid('body.remove_meta must be true or false');
        const st = b['start_time'];
        if (st !== undefined && typeof st !== 'string') throw invalid('body.start_time must be a string');
        const res = await rpc(
          'startTask',
          { task: yaml, sources: nameList(b['source_name_list'], 'body.source_name_list'), removeMeta: rm === true, ...(st ? { startTime: st } : {}), createStopped: true },
          r.signal,
        );
        const name = (b['task'] as { name: string }).name;
        // DM's check_result text (`pre-check is passed. ` or the warnings); DM.ts's JSON report when it is not one
        const report = parseCheckReport(res.checkResult);
        return ok({ task: taskYamlToJson(await core.taskConfig(name)), check_result: report ? dmCheckMessage(report) : res.checkResult }, 201);
      },
    },
    {
      method: 'GET',
      path: '/tasks',
      summary: 'list the tasks (?with_status=true adds status_list)',
      handler: async (r) => {
        const withStatus = r.query.get('with_status') === 'true';
        const data = await Promise.all((await taskNames()).map((n) => taskObject(n, withStatus, r.signal)));
        return ok(listOf(data));
      },
    },
    {
      method: 'POST',
      path: '/tasks/converters',
      summary: 'convert between the Task JSON and a task.yaml (DM ConverterTaskRequest: {task} or {task_config_file})',
      handler: async (r) => {
        const b = bodyObject(r, 'ConverterTaskRequest', ['task', 'task_config_file']);
        if (b['task'] !== undefined && b['task'] !== null) {
          const yaml = taskJsonToYaml(b['task'], 'task');
          return ok({ task: taskYamlToJson(yaml), task_config_file: yaml });
        }
        const file = b['task_config_file'];
        if (typeof file !== 'string' || file.trim() === '') throw invalid('give body.task or body.task_config_file');
        const { compileTask } = await import('../../config/index.js');
        compileTask(file); // checked as start-task checks it
        return ok({ task: taskYamlToJson(file), task_config_file: file });
      },
    },
    // ---- task templates (before /tasks/{task-name}, which would match /tasks/templates) -------
    {
      method: 'POST',
      path: '/tasks/templates',
      summary: 'create a task template (body: Task); `config task-template <name>` shows it as task.yaml',
      handler: async (r) => {
        const name = await core.templates.put(taskJsonToYaml(r.body, 'task'), 'create');
        return ok(taskYamlToJson(await core.templates.get(name)), 201);
      },
    },
    {
      method: 'GET',
      path: '/tasks/templates',
      summary: 'list the task templates',
      handler: async () => ok(listOf([...(await core.templates.list()).entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, text]) => taskYamlToJson(text)))),
    },
    {
      method: 'POST',
      path: '/tasks/templates/import',
      summary: 'make a template of every task (DM TaskTemplateRequest: {overwrite}); answers 202 {success_task_list, failed_task_list}',
      handler: async (r) => {
        const b = bodyObject(r, 'TaskTemplateRequest', ['overwrite'], false);
        const ow = b['overwrite'];
        if (ow !== undefined && typeof ow !== 'boolean') throw invalid('body.overwrite must be true or false');
        const success: string[] = [];
        const failed: { task_name: string; error_msg: string }[] = [];
        for (const name of await taskNames()) {
          try {
            await core.templates.put(await core.taskConfig(name), ow === true ? 'put' : 'create');
            success.push(name);
          } catch (e) {
            failed.push({ task_name: name, error_msg: e instanceof DMError ? e.toString() : String(e) });
          }
        }
        return ok({ success_task_list: success, failed_task_list: failed }, 202);
      },
    },
    {
      method: 'GET',
      path: '/tasks/templates/{task-name}',
      summary: 'one task template',
      handler: async (r) => ok(taskYamlToJson(await core.templates.get(r.params['task-name'] ?? ''))),
    },
    {
      method: 'PUT',
      path: '/tasks/templates/{task-name}',
      summary: 'replace a task template (body: Task, same name)',
      handler: async (r) => {
        const name = r.params['task-name'] ?? '';
        const yaml = taskJsonToYaml(r.body, 'task');
        if (isObject(r.body) && r.body['name'] !== name) throw invalid(`task.name must be ${name}, the template of the path`);
        await core.templates.put(yaml, 'update');
        return ok(taskYamlToJson(await core.templates.get(name)));
      },
    },
    {
      method: 'DELETE',
      path: '/tasks/templates/{task-name}',
      summary: 'delete a task template',
      handler: async (r) => {
        await core.templates.delete(r.params['task-name'] ?? '');
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      path: '/tasks/{task-name}',
      summary: 'one task (?with_status=true adds status_list)',
      handler: async (r) => ok(await taskObject(r.params['task-name'] ?? '', r.query.get('with_status') === 'true', r.signal)),
    },
    {
      method: 'DELETE',
      path: '/tasks/{task-name}',
      summary: 'delete (stop-task) a task',
      handler: async (r) => {
        const only = queryList(r.query, 'source_name_list');
        await rpc('operateTask', { op: TaskOp.STOP, name: r.params['task-name'] ?? '', sources: only }, r.signal);
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      path: '/tasks/{task-name}/start',
      summary: 'run a created or stopped task (DM StartTaskRequest: {source_name_list, start_time}); with start_time it runs again from that time',
      handler: async (r) => {
        const b = bodyObject(r, 'StartTaskRequest', ['source_name_list', 'remove_meta', 'start_time', 'safe_mode_time_duration'], false);
        const rm = b['remove_meta'];
        if (rm !== undefined && typeof rm !== 'boolean') throw invalid('body.remove_meta must be true or false');
        if (rm === true) throw unsupported('remove_meta on start is not supported: give it when the task is created (POST /api/v1/tasks), or use dmctl stop-task then start-task --remove-meta');
        const st = b['start_time'];
        if (st !== undefined && st !== null && typeof st !== 'string') throw invalid('body.start_time must be a string');
        const sm = b['safe_mode_time_duration'];
        if (sm !== undefined && sm !== null && typeof sm !== 'string') throw invalid('body.safe_mode_time_duration must be a string like "60s"');
        const name = r.params['task-name'] ?? '';
        const sources = nameList(b['source_name_list'], 'body.source_name_list');
        // an empty value is the same as none
        if (st || sm) await rpc('startTask', { task: name, sources, restart: true, ...(st ? { startTime: st } : {}), ...(sm ? { safeModeDuration: sm } : {}) }, r.signal);
        else await rpc('operateTask', { op: TaskOp.RESUME, name, sources }, r.signal);
        return ok();
      },
    },
    {
      method: 'POST',
      path: '/tasks/{task-name}/stop',
      summary: 'stop (pause) a task; its config and checkpoints stay (DM StopTaskRequest: {source_name_list})',
      handler: async (r) => {
        const b = bodyObject(r, 'StopTaskRequest', ['source_name_list', 'timeout_duration'], false);
        if (b['timeout_duration'] !== undefined) throw unsupported('timeout_duration is not supported: a stop pauses the task at once, keeping its checkpoints');
        await rpc('operateTask', { op: TaskOp.PAUSE, name: r.params['task-name'] ?? '', sources: nameList(b['source_name_list'], 'body.source_name_list') }, r.signal);
        return ok();
      },
    },
    {
      method: 'GET',
      path: '/tasks/{task-name}/status',
      summary: 'the subtask status of a task (?source_name_list=a,b)',
      handler: async (r) => ok(listOf(await taskStatus(r.params['task-name'] ?? '', queryList(r.query, 'source_name_list'), r.signal))),
    },

    // ---- cluster -----------------------------------------------------------------------------
    {
      method: 'GET',
      path: '/cluster/masters',
      summary: 'the dm-masters',
      handler: async (r) => {
        const m = await rpc('listMember', { master: true, leader: true }, r.signal);
        const leader = m.leader?.name ?? '';
        return ok(listOf(m.masters.map((x) => ({ name: x.name, alive: x.alive, leader: x.name === leader, addr: x.address }))));
      },
    },
    {
      method: 'DELETE',
      path: '/cluster/masters/{master-name}',
      summary: 'offline a dm-master',
      handler: async (r) => {
        await rpc('offlineMember', { type: MemberType.MASTER, name: r.params['master-name'] ?? '' }, r.signal);
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      path: '/cluster/workers',
      summary: 'the dm-workers',
      handler: async (r) => {
        const m = await rpc('listMember', { worker: true }, r.signal);
        const STAGES = ['offline', 'offline', 'free', 'bound'];
        return ok(listOf(m.workers.map((w) => ({ name: w.name, addr: w.address, bound_stage: STAGES[w.stage] ?? 'offline', bound_source_name: w.source }))));
      },
    },
    {
      method: 'DELETE',
      path: '/cluster/workers/{worker-name}',
      summary: 'offline a dm-worker',
      handler: async (r) => {
        await rpc('offlineMember', { type: MemberType.WORKER, name: r.params['worker-name'] ?? '' }, r.signal);
        return { status: 204 };
      },
    },
  ];
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);
}

/** /api/v1/docs: the endpoints as a plain page (no external assets), linking the JSON spec. */
function docsPage(spec: unknown): string {
  const paths = isObject(spec) && isObject(spec['paths']) ? spec['paths'] : {};
  const rows: string[] = [];
  for (const [p, ops] of Object.entries(paths)) {
    if (!isObject(ops)) continue;
    for (const [m, op] of Object.entries(ops)) {
      const summary = isObject(op) && typeof op['summary'] === 'string' ? op['summary'] : '';
      rows.push(`<tr><td><code>${m.toUpperCase()}</code></td><td><code>${escapeHtml(p)}</code></td><td>${escapeHtml(summary)}</td></tr>`);
    }
  }
  return `<!doctype html><html><head><meta charset="utf-8"><title>DM.ts OpenAPI</title></head><body><h1>DM.ts OpenAPI</h1><p>Spec: <a href="/api/v1/dm.json">/api/v1/dm.json</a> (load it into any Swagger UI).</p><table>${rows.join('')}</table></body></html>\n`;
}
