/**
 * MasterService, member group: ListMember, OfflineMember, OperateLeader (evict / cancel-evict)
 * and RegisterWorker; plus the member views GetClusterInfo shows too.
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import { DMError } from '../../errors/index.js';
import {
  LeaderOp,
  MemberType,
  WorkerStage,
  type MasterInfoSchema,
  type OfflineMemberResponseSchema,
  type RegisterWorkerResponseSchema,
  type WorkerInfoSchema,
} from '../../gen/dm/master/v1/master_pb.js';
import type { LeaderInfo } from '../../store/index.js';
import type { MasterCore } from '../master-core.js';
import type { WorkerView } from '../scheduler/index.js';
import type { HandlerEnv, MasterImpl } from './env.js';

const WORKER_STAGE = { offline: WorkerStage.OFFLINE, free: WorkerStage.FREE, bound: WorkerStage.BOUND } as const;

type MasterRecord = Awaited<ReturnType<MasterCore['masters']>>[number];

/** A master as ListMember and GetClusterInfo show it. */
export function masterMember(m: MasterRecord, leader: LeaderInfo | undefined): MessageInitShape<typeof MasterInfoSchema> {
  return {
    name: m.info.name,
    memberId: m.memberId,
    alive: m.alive,
    isLeader: leader?.name === m.info.name,
    peerUrls: m.info.peerUrls,
    clientUrls: m.info.clientUrls,
    address: m.info.addr,
    evicted: m.evicted,
  };
}

/** A worker as ListMember and GetClusterInfo show it. */
export function workerMember(w: WorkerView, relaySources?: ReadonlySet<string>): MessageInitShape<typeof WorkerInfoSchema> {
  const relay = w.source && relaySources?.has(w.source) ? [w.source] : [];
  return { name: w.name, address: w.addr, stage: WORKER_STAGE[w.stage], source: w.source, labels: w.labels, relaySources: relay };
}

export function memberHandlers(env: HandlerEnv): MasterImpl {
  const { core, d, masterClient, fwd } = env;
  return {
    async listMember(req) {
      const all = !req.leader && !req.master && !req.worker;
      const names = new Set(req.names);
      const res: { result: boolean; msg: string; leader?: { name: string; address: string }; masters: object[]; workers: object[] } = {
        result: true,
        msg: '',
        masters: [],
        workers: [],
      };
      const leader = await env.currentLeader();
      if (all || req.leader) res.leader = { name: leader?.name ?? '', address: leader?.addr ?? '' };
      if (all || req.master) {
        for (const m of await core.masters()) {
          if (names.size > 0 && !names.has(m.info.name)) continue;
          res.masters.push(masterMember(m, leader));
        }
      }
      if (all || req.worker) {
        const [view, relay] = await Promise.all([core.clusterView(), core.relaySources()]);
        for (const w of [...view.workers.values()].sort((a, b) => a.name.localeCompare(b.name))) {
          if (names.size > 0 && !names.has(w.name)) continue;
          res.workers.push(workerMember(w, relay));
        }
      }
      return res;
    },

    async offlineMember(req, ctx) {
      return env.onLeader<MessageInitShape<typeof OfflineMemberResponseSchema>>(
        ctx,
        async () => {
          if (!req.name) throw new DMError('ErrMasterInvalidRequest', 'offline-member needs a member name');
          if (req.type === MemberType.WORKER) {
            const s = d.scheduler();
            if (!s) throw new DMError('ErrMasterNotLeader', 'scheduler not running');
            await s.offlineWorker(req.name);
          } else if (req.type === MemberType.MASTER) {
            await core.offlineMaster(req.name);
          } else {
            throw new DMError('ErrMasterInvalidRequest', 'offline-member needs --master or --worker');
          }
          return { result: true, msg: '' };
        },
        (addr) => masterClient(addr).offlineMember(req, fwd),
      );
    },

    /** Runs on the named master (default: the leader for evict, this master for cancel-evict), not on the leader. */
    async operateLeader(req, ctx) {
      const target = req.name || (req.op === LeaderOp.EVICT ? (d.election.leader?.name ?? '') : d.name);
      if (target !== d.name) {
        const ms = await core.masters();
        const m = ms.find((x) => x.info.name === target);
        if (!m) throw new DMError('ErrSchedulerMasterNotFound', `master ${target} not found`);
        if (ctx.requestHeader.get('dm-forwarded')) throw new DMError('ErrMasterForward', `master ${target} did not take the request`);
        return masterClient(m.info.addr).operateLeader({ op: req.op, name: target }, fwd);
      }
      if (req.op === LeaderOp.EVICT) {
        await d.setEvicted(true);
        d.election.evict();
      } else if (req.op === LeaderOp.CANCEL_EVICT) {
        await d.setEvicted(false);
        d.election.cancelEvict();
      } else {
        throw new DMError('ErrMasterInvalidRequest', 'operate-leader needs evict or cancel-evict');
      }
      return { result: true, msg: '' };
    },

    async registerWorker(req, ctx) {
      return env.onLeader<MessageInitShape<typeof RegisterWorkerResponseSchema>>(
        ctx,
        async () => {
          await core.registerWorker(req.name, req.address, { ...req.labels });
          const info = await core.registrationInfo();
          return {
            result: true,
            msg: '',
            etcdEndpoints: info.etcdEndpoints,
            clusterPrefix: info.prefix,
            keepaliveTtl: { seconds: BigInt(Math.floor(info.keepaliveTtlSec)), nanos: Math.round((info.keepaliveTtlSec % 1) * 1e9) },
            clusterId: info.prefix,
          };
        },
        (addr) => masterClient(addr).registerWorker(req, fwd),
      );
    },
  };
}
