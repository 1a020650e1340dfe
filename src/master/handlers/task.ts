/** MasterService, task group: StartTask, OperateTask (stop / pause / resume) and QueryStatus. */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { DMError } from '../../errors/index.js';
import { TaskOp, type OperateTaskResponseSchema, type StartTaskResponseSchema } from '../../gen/dm/master/v1/master_pb.js';
import { SourceQueryStatusSchema, type SourceQueryStatus } from '../../gen/dm/common/v1/common_pb.js';
import type { HandlerEnv, MasterImpl } from './env.js';

export function taskHandlers(env: HandlerEnv): MasterImpl {
  const { core, masterClient, workerClient, fwd } = env;
  return {
    async startTask(req, ctx) {
      return env.onLeader<MessageInitShape<typeof StartTaskResponseSchema>>(
        ctx,
        async () => {
          const { results, checkResult } = await core.startTask(req.task, req.sources, ctx.signal, {
            removeMeta: req.removeMeta,
            ...(req.startTime ? { startTime: req.startTime } : {}),
            createStopped: req.createStopped,
            restart: req.restart,
            ...(req.safeModeDuration ? { safeModeDuration: req.safeModeDuration } : {}),
          });
          return { result: true, msg: '', sources: results, checkResult };
        },
        (addr) => masterClient(addr).startTask(req, fwd),
      );
    },

    async operateTask(req, ctx) {
      return env.onLeader<MessageInitShape<typeof OperateTaskResponseSchema>>(
        ctx,
        async () => {
          const op = req.op === TaskOp.STOP ? 'stop' : req.op === TaskOp.PAUSE ? 'pause' : req.op === TaskOp.RESUME ? 'resume' : undefined;
          if (!op) throw new DMError('ErrMasterInvalidRequest', 'operate-task needs an operation: stop, pause or resume');
          const rs = await core.operateTask(op, req.name, req.sources);
          return { result: true, msg: '', op: req.op, sources: rs };
        },
        (addr) => masterClient(addr).operateTask(req, fwd),
      );
    },

    /** A read: any master asks the workers bound to the sources. */
    async queryStatus(req, ctx) {
      let pairs = await core.allSubtasks();
      if (req.name) {
        pairs = pairs.filter((p) => p.task === req.name);
        if (pairs.length === 0) throw new DMError('ErrMasterTaskNotFound', `task ${req.name} not found`);
      }
      const view = await core.clusterView();
      let sources = req.sources.length > 0 ? req.sources : req.name ? [...new Set(pairs.map((p) => p.source))] : [...view.sources];
      sources = [...new Set(sources)].sort();
      const out: SourceQueryStatus[] = [];
      let allOk = true;
      await Promise.all(
        sources.map(async (s) => {
          const w = view.boundBy.get(s);
          const wv = w !== undefined ? view.workers.get(w) : undefined;
          if (!wv || wv.stage !== 'bound') {
            allOk = false;
            out.push(
              create(SourceQueryStatusSchema, {
                result: false,
                msg: w ? `worker ${w} of source ${s} is offline` : `source ${s} is not bound to any worker`,
                sourceStatus: { source: s, worker: w ?? '' },
              }),
            );
            return;
          }
          try {
            const r = await workerClient(wv.addr).queryStatus({ name: req.name }, { signal: ctx.signal, timeoutMs: 10_000 });
            out.push(
              create(SourceQueryStatusSchema, {
                result: r.result,
                msg: r.msg,
                sourceStatus: r.sourceStatus ?? { source: s, worker: wv.name },
                subTaskStatus: r.subTaskStatus,
              }),
            );
            if (!r.result) allOk = false;
          } catch (e) {
            allOk = false;
            const err = new DMError('ErrMasterWorkerUnreachable', `worker ${wv.name} at ${wv.addr}`, { cause: e });
            out.push(create(SourceQueryStatusSchema, { result: false, msg: err.toString(), sourceStatus: { source: s, worker: wv.name } }));
          }
        }),
      );
      out.sort((a, b) => (a.sourceStatus?.source ?? '').localeCompare(b.sourceStatus?.source ?? ''));
      return { result: allOk, msg: '', sources: out };
    },
  };
}
