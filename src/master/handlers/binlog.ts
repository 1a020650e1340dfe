/** MasterService, binlog group: HandleError (`dmctl binlog skip|replace|revert|inject|list`). */
import type { MessageInitShape } from '@bufbuild/protobuf';
import { DMError } from '../../errors/index.js';
import type { HandleErrorResponseSchema } from '../../gen/dm/master/v1/master_pb.js';
import { ErrorOp, Stage } from '../../gen/dm/common/v1/common_pb.js';
import type { BinlogOpName } from '../binlog-ops.js';
import type { HandlerEnv, MasterImpl } from './env.js';

const ERROR_OP: Partial<Record<ErrorOp, BinlogOpName>> = {
  [ErrorOp.SKIP]: 'skip',
  [ErrorOp.REPLACE]: 'replace',
  [ErrorOp.REVERT]: 'revert',
  [ErrorOp.INJECT]: 'inject',
  [ErrorOp.LIST]: 'list',
};

export function binlogHandlers(env: HandlerEnv): MasterImpl {
  const { core, masterClient, workerClient, fwd } = env;

  /**
   * The position (`file:offset`) of the event the task's subtask on `source` is paused on, from
   * its worker's sync unit status (`failedEventPos`); undefined when it has no such error.
   */
  async function errorPosOf(task: string, source: string, signal: AbortSignal): Promise<string | undefined> {
    const view = await core.clusterView();
    const w = view.boundBy.get(source);
    const wv = w !== undefined ? view.workers.get(w) : undefined;
    if (!wv || wv.stage !== 'bound') throw new DMError('ErrMasterWorkerUnreachable', w ? `worker ${w} of source ${source} is offline` : `source ${source} is not bound to any worker`);
    const r = await workerClient(wv.addr).queryStatus({ name: task }, { signal, timeoutMs: 10_000 });
    const sub = r.subTaskStatus.find((x) => x.name === task && x.source === source);
    if (!sub || sub.stage !== Stage.PAUSED) return undefined;
    const units = (sub.detail as { units?: { type?: string; status?: { failedEventPos?: unknown } }[] } | undefined)?.units ?? [];
    const pos = units.find((u) => u.type === 'Sync')?.status?.failedEventPos;
    return typeof pos === 'string' && pos !== '' ? pos : undefined;
  }

  return {
    async handleError(req, ctx) {
      const op = ERROR_OP[req.op];
      if (!op) throw new DMError('ErrMasterInvalidRequest', 'binlog needs an operation: skip, replace, revert, inject or list');
      const reply = async (): Promise<MessageInitShape<typeof HandleErrorResponseSchema>> => {
        const rs = await core.handleError(op, req.task, [...req.sources], req.binlogPos, [...req.sqls], (source) => errorPosOf(req.task, source, ctx.signal));
        const view = await core.clusterView();
        return {
          result: rs.every((r) => r.result),
          msg: '',
          sources: rs.map((r) => ({ result: r.result, msg: r.msg, source: r.source, worker: view.boundBy.get(r.source) ?? '' })),
        };
      };
      // list is a read: any master answers it.
      if (op === 'list') return reply();
      return env.onLeader(ctx, reply, (addr) => masterClient(addr).handleError(req, fwd));
    },
  };
}
