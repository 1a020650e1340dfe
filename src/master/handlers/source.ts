/** MasterService, source group: OperateSource (create / update / stop / show) and TransferSource. */
import type { MessageInitShape } from '@bufbuild/protobuf';
import { DMError } from '../../errors/index.js';
import { SourceOp, type OperateSourceResponseSchema, type TransferSourceResponseSchema } from '../../gen/dm/master/v1/master_pb.js';
import type { HandlerEnv, MasterImpl } from './env.js';

export function sourceHandlers(env: HandlerEnv): MasterImpl {
  const { core, d, masterClient, fwd } = env;
  return {
    async operateSource(req, ctx) {
      if (req.op === SourceOp.SHOW) {
        const rs = await core.showSources(req.sourceId);
        return { result: rs.every((r) => r.result), msg: '', sources: rs };
      }
      return env.onLeader<MessageInitShape<typeof OperateSourceResponseSchema>>(
        ctx,
        async () => {
          switch (req.op) {
            case SourceOp.START: {
              const rs = await core.createSources(req.config, req.workerName);
              return { result: true, msg: '', sources: rs };
            }
            case SourceOp.UPDATE: {
              if (req.config.length !== 1) throw new DMError('ErrMasterInvalidRequest', 'operate-source update takes exactly one source config');
              const r = await core.updateSource(req.config[0] ?? '');
              return { result: true, msg: '', sources: [r] };
            }
            case SourceOp.STOP: {
              const ids = [...req.sourceId];
              for (const c of req.config) {
                const m = /^\s*source-id:\s*["']?([^"'\s#]+)/m.exec(c);
                if (m?.[1]) ids.push(m[1]);
              }
              const rs = await core.stopSources(ids);
              return { result: true, msg: '', sources: rs };
            }
            default:
              throw new DMError('ErrMasterInvalidRequest', 'operate-source needs an operation: create, update, stop or show');
          }
        },
        (addr) => masterClient(addr).operateSource(req, fwd),
      );
    },

    async transferSource(req, ctx) {
      return env.onLeader<MessageInitShape<typeof TransferSourceResponseSchema>>(
        ctx,
        async () => {
          const s = d.scheduler();
          if (!s) throw new DMError('ErrMasterNotLeader', 'scheduler not running');
          await s.transferSource(req.source, req.worker);
          return { result: true, msg: '' };
        },
        (addr) => masterClient(addr).transferSource(req, fwd),
      );
    },
  };
}
