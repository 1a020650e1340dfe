/**
 * MasterService, relay group: OperateRelay (`dmctl start-relay|stop-relay|pause-relay|resume-relay`)
 * writes the source's desired relay stage in etcd on the leader (the bound worker's relay holder
 * obeys, src/worker/relay-holder.ts); PurgeRelay (`dmctl purge-relay`) is forwarded to the worker
 * bound to each source, which purges its relay files (never a file a task still needs).
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import { DMError } from '../../errors/index.js';
import { RelayOp, type OperateRelayResponseSchema, type PurgeRelayResponseSchema } from '../../gen/dm/master/v1/master_pb.js';
import { fromConnectError } from '../../rpc/index.js';
import type { HandlerEnv, MasterImpl } from './env.js';

const OPS: Partial<Record<RelayOp, 'start' | 'stop' | 'pause' | 'resume'>> = {
  [RelayOp.START]: 'start',
  [RelayOp.STOP]: 'stop',
  [RelayOp.PAUSE]: 'pause',
  [RelayOp.RESUME]: 'resume',
};
const WORKER_TIMEOUT_MS = 60_000;

export function relayHandlers(env: HandlerEnv): MasterImpl {
  const { core, masterClient, workerClient, fwd } = env;
  return {
    async operateRelay(req, ctx) {
      const op = OPS[req.op];
      if (!op) throw new DMError('ErrMasterInvalidRequest', 'operate-relay needs an operation: start, stop, pause or resume');
      if (!req.source) throw new DMError('ErrMasterInvalidRequest', `${op}-relay needs a source (-s)`);
      return env.onLeader<MessageInitShape<typeof OperateRelayResponseSchema>>(
        ctx,
        async () => {
          const r = await core.operateRelay(op, req.source, [...req.workers]);
          return { result: true, msg: '', sources: [r] };
        },
        (addr) => masterClient(addr).operateRelay(req, fwd),
      );
    },

    async purgeRelay(req, ctx) {
      if (req.sources.length === 0) throw new DMError('ErrMasterInvalidRequest', 'purge-relay needs a source (-s)');
      const kinds = [req.inactive, req.time !== undefined, req.filename !== ''].filter(Boolean).length;
      if (kinds !== 1) throw new DMError('ErrRelayPurgeArgs', 'purge-relay needs exactly one of --filename, --inactive and --time');
      // as DM: a file name belongs to one source's relay
      if (req.filename !== '' && new Set(req.sources).size > 1) throw new DMError('ErrRelayPurgeArgs', 'purge-relay --filename takes one source (-s) at a time');
      if (req.subDir !== '' && req.filename === '') throw new DMError('ErrRelayPurgeArgs', 'purge-relay --sub-dir goes with --filename');
      return env.onLeader<MessageInitShape<typeof PurgeRelayResponseSchema>>(
        ctx,
        async () => {
          const view = await core.clusterView();
          const sources = await Promise.all(
            [...new Set(req.sources)].sort().map(async (source) => {
              const worker = view.boundBy.get(source) ?? '';
              if (!view.sources.has(source)) return { result: false, source, worker, msg: new DMError('ErrMasterSourceNotFound', `source ${source} not found`).toString() };
              const wv = worker ? view.workers.get(worker) : undefined;
              if (!wv || wv.stage !== 'bound') {
                const e = worker ? new DMError('ErrMasterWorkerUnreachable', `worker ${worker} of source ${source} is offline`) : new DMError('ErrSchedulerSourceNotBound', `source ${source} is not bound to any worker`);
                return { result: false, source, worker, msg: e.toString() };
              }
              try {
                const r = await workerClient(wv.addr).purgeRelay(
                  { inactive: req.inactive, ...(req.time ? { time: req.time } : {}), filename: req.filename, subDir: req.subDir },
                  { signal: ctx.signal, timeoutMs: WORKER_TIMEOUT_MS },
                );
                return { result: r.result, source, worker, msg: r.msg };
              } catch (e) {
                return { result: false, source, worker, msg: fromConnectError(e).toString() };
              }
            }),
          );
          return { result: sources.every((s) => s.result), msg: '', sources };
        },
        (addr) => masterClient(addr).purgeRelay(req, fwd),
      );
    },
  };
}
