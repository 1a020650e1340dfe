/**
 * MasterService, binlog-schema group: the master side of `dmctl binlog-schema list|update|delete`
 * (OperateBinlogSchema, DM's OperateSchema): check the request, then forward it to the dm-worker
 * bound to each named source and gather the per-source replies. The worker does the work on its subtask (src/worker/subtask.ts
 * checks the stage; src/units/sync/binlog-schema.ts reads and writes the tracked structures).
 * Nothing is written to etcd.
 */
import type { Client } from '@connectrpc/connect';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { DMError } from '../../errors/index.js';
import { SchemaOp } from '../../gen/dm/common/v1/common_pb.js';
import type { OperateBinlogSchemaRequest, OperateBinlogSchemaResponseSchema } from '../../gen/dm/master/v1/master_pb.js';
import type { WorkerService } from '../../gen/dm/worker/v1/worker_pb.js';
import { fromConnectError } from '../../rpc/index.js';
import type { ClusterView } from '../scheduler/index.js';
import type { HandlerEnv, MasterImpl } from './env.js';

export interface BinlogSchemaDeps {
  /** Source ids the task has subtasks on. */
  taskSources: (task: string) => Promise<string[]>;
  clusterView: () => Promise<ClusterView>;
  workerClient: (addr: string) => Client<typeof WorkerService>;
}

type Reply = MessageInitShape<typeof OperateBinlogSchemaResponseSchema>;
type SourceReply = { result: boolean; msg: string; source: string; worker: string };

/** How long one worker may take (an update with --from-source/--from-target opens connections). */
const WORKER_TIMEOUT_MS = 60_000;

/** Throws ErrMasterInvalidRequest for a request DM would refuse before asking any worker. */
export function checkBinlogSchemaRequest(req: OperateBinlogSchemaRequest): void {
  const bad = (msg: string): DMError => new DMError('ErrMasterInvalidRequest', msg);
  if (req.op !== SchemaOp.GET && req.op !== SchemaOp.SET && req.op !== SchemaOp.REMOVE) throw bad('binlog-schema needs an operation: list, update or delete');
  if (!req.task) throw bad('binlog-schema needs a task name');
  if (req.sources.length === 0) throw bad('binlog-schema needs at least one source (`-s` / `--source`)');
  if (!req.database || !req.table) throw bad('binlog-schema needs the upstream database and table');
  if (req.op === SchemaOp.SET) {
    if (req.fromSource && req.fromTarget) throw bad('--from-source and --from-target cannot be used together');
    if ((req.fromSource || req.fromTarget) && req.schema) throw bad('a schema file cannot be given with --from-source or --from-target');
    if (!req.fromSource && !req.fromTarget && req.schema.trim() === '') throw bad('binlog-schema update needs a schema file (a CREATE TABLE statement), --from-source or --from-target');
  } else if (req.schema || req.fromSource || req.fromTarget) {
    throw bad(`binlog-schema ${req.op === SchemaOp.GET ? 'list' : 'delete'} takes no schema file, --from-source or --from-target`);
  }
}

export async function operateBinlogSchema(d: BinlogSchemaDeps, req: OperateBinlogSchemaRequest, signal: AbortSignal): Promise<Reply> {
  checkBinlogSchemaRequest(req);
  const taskSources = await d.taskSources(req.task);
  if (taskSources.length === 0) throw new DMError('ErrMasterTaskNotFound', `task ${req.task} not found`);
  const view = await d.clusterView();
  const sources = [...new Set(req.sources)].sort();
  const out = await Promise.all(
    sources.map(async (source): Promise<SourceReply> => {
      const worker = view.boundBy.get(source) ?? '';
      if (!taskSources.includes(source)) {
        return { result: false, source, worker, msg: new DMError('ErrMasterTaskNotFound', `task ${req.task} has no subtask on source ${source}`).toString() };
      }
      const wv = worker ? view.workers.get(worker) : undefined;
      if (!wv || wv.stage !== 'bound') {
        const e = worker ? new DMError('ErrMasterWorkerUnreachable', `worker ${worker} of source ${source} is offline`) : new DMError('ErrSchedulerSourceNotBound', `source ${source} is not bound to any worker`);
        return { result: false, source, worker, msg: e.toString() };
      }
      try {
        const r = await d.workerClient(wv.addr).operateBinlogSchema(
          {
            op: req.op,
            task: req.task,
            source,
            database: req.database,
            table: req.table,
            schema: req.schema,
            flush: req.flush,
            sync: req.sync,
            fromSource: req.fromSource,
            fromTarget: req.fromTarget,
          },
          { signal, timeoutMs: WORKER_TIMEOUT_MS },
        );
        return { result: r.result, source, worker, msg: r.msg };
      } catch (e) {
        return { result: false, source, worker, msg: fromConnectError(e).toString() };
      }
    }),
  );
  return { result: out.every((r) => r.result), msg: '', sources: out };
}

/** MasterService, binlog-schema group: list is a read any master answers; update/delete run on the leader, as DM. */
export function binlogSchemaHandlers(env: HandlerEnv): MasterImpl {
  const { core, masterClient, workerClient, fwd } = env;
  const deps: BinlogSchemaDeps = { taskSources: (t) => core.taskSources(t), clusterView: () => core.clusterView(), workerClient };
  return {
    async operateBinlogSchema(req, ctx) {
      checkBinlogSchemaRequest(req);
      if (req.op === SchemaOp.GET) return operateBinlogSchema(deps, req, ctx.signal);
      return env.onLeader(ctx, () => operateBinlogSchema(deps, req, ctx.signal), (addr) => masterClient(addr).operateBinlogSchema(req, fwd));
    },
  };
}
