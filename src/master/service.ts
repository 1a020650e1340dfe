import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import { Code, ConnectError } from '@connectrpc/connect';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { DMError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { sleepAbortable, VERSION } from '../util/index.js';
import {
  MasterService,
  SourceOp,
  TaskOp,
  LeaderOp,
  MemberType,
  ConfigType,
  WorkerStage,
  ListMemberRequestSchema,
  QueryStatusRequestSchema,
  type OperateSourceResponseSchema,
  type StartTaskResponseSchema,
  type OperateTaskResponseSchema,
  type OfflineMemberResponseSchema,
  type TransferSourceResponseSchema,
  type RegisterWorkerResponseSchema,
  type HandleErrorResponseSchema,
} from '../gen/dm/master/v1/master_pb.js';
import { ErrorOp, SchemaOp, SourceQueryStatusSchema, Stage, type SourceQueryStatus } from '../gen/dm/common/v1/common_pb.js';
import type { BinlogOpName } from './binlog-ops.js';
import type { LeaderElection } from '../store/index.js';
import type { MasterCore } from './master-core.js';
import type { Scheduler } from './scheduler/index.js';
import { createPeerClients, type PeerClients } from './clients.js';
import { maskSourcePassword, maskTaskPassword } from './config-adapter.js';
import { checkBinlogSchemaRequest, operateBinlogSchema } from './binlog-schema.js';
import { checkDataHandler } from './handlers/check-data.js';
import { watchClusterHandler } from './handlers/watch-cluster.js';

type MasterImpl = Partial<ServiceImpl<typeof MasterService>>;

export interface MasterServiceDeps {
  core: MasterCore;
  election: LeaderElection;
  scheduler: () => Scheduler | undefined;
  name: string;
  /** Persist/clear this master's eviction flag (operate-leader). */
  setEvicted: (evicted: boolean) => Promise<void>;
  /** This master's config as YAML (GetConfig master). */
  configYaml: () => string;
  logger: Logger;
  /** Clients of peer masters/workers (forwarding, status); TLS when the master has ssl-* set. Default cleartext. */
  clients?: PeerClients;
}

/** How long a state-changing request waits for an election to settle. */
export const LEADER_WAIT_MS = 15_000;

const ERROR_OP: Partial<Record<ErrorOp, BinlogOpName>> = {
  [ErrorOp.SKIP]: 'skip',
  [ErrorOp.REPLACE]: 'replace',
  [ErrorOp.REVERT]: 'revert',
  [ErrorOp.INJECT]: 'inject',
  [ErrorOp.LIST]: 'list',
};

const WORKER_STAGE = { offline: WorkerStage.OFFLINE, free: WorkerStage.FREE, bound: WorkerStage.BOUND } as const;

function stageEnum(s: string): Stage {
  return s === 'Running' ? Stage.RUNNING : s === 'Paused' ? Stage.PAUSED : Stage.UNSPECIFIED;
}

/**
 * The dm-master Connect service. Methods that change state run on the leader: a follower
 * forwards them (same request, the leader's reply or error returned as is). Reads are answered
 * locally from etcd. Methods of later issues (relay, shard DDL locks, validation) are left
 * out, so the router answers them `unimplemented`.
 */
export function createMasterService(d: MasterServiceDeps): MasterImpl {
  const { core } = d;
  const { masterClient, workerClient } = d.clients ?? createPeerClients();

  /**
   * Run on the leader: locally when this master leads, else forward to the leader. While an
   * election is settling (no leader yet, or this master is named leader but has not finished
   * taking over) it waits up to LEADER_WAIT_MS; a local write fenced off mid-way re-resolves the leader once.
   */
  async function onLeader<R>(ctx: HandlerContext, local: () => Promise<R>, forward: (addr: string) => Promise<R>): Promise<R> {
    const deadline = Date.now() + LEADER_WAIT_MS;
    let fencedRetries = 1;
    for (;;) {
      if (d.election.isLeader) {
        try {
          return await local();
        } catch (e) {
          if (e instanceof DMError && e.codeName === 'ErrEtcdFenced' && fencedRetries-- > 0) continue;
          throw e;
        }
      }
      // Fresh from etcd: an observer's cached view may lag behind.
      const leader = (await d.election.readLeader().catch(() => undefined)) ?? d.election.leader;
      if (leader && leader.name !== d.name) {
        if (ctx.requestHeader.get('dm-forwarded')) throw new DMError('ErrMasterNotLeader', `${d.name} is not the leader (request already forwarded once)`);
        try {
          return await forward(leader.addr);
        } catch (e) {
          if (e instanceof ConnectError && (e.code === Code.Unavailable || e.code === Code.DeadlineExceeded) && !e.metadata.get('dm-error-code')) {
            throw new DMError('ErrMasterForward', `forwarding to leader ${leader.name} at ${leader.addr} failed`, { cause: e });
          }
          throw e;
        }
      }
      if (Date.now() > deadline) {
        if (leader) throw new DMError('ErrMasterNotLeader', `${d.name} is named leader but has not taken over yet`);
        throw new DMError('ErrMasterNoLeader', 'no dm-master leader is elected yet');
      }
      if (!(await sleepAbortable(100, ctx.signal))) throw new DMError('ErrCanceled', 'request canceled');
    }
  }
  const fwd = { headers: { 'dm-forwarded': '1' }, timeoutMs: 60_000 };

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

  const impl: MasterImpl = {
    async operateSource(req, ctx) {
      if (req.op === SourceOp.SHOW) {
        const rs = await core.showSources(req.sourceId);
        return { result: rs.every((r) => r.result), msg: '', sources: rs };
      }
      return onLeader<MessageInitShape<typeof OperateSourceResponseSchema>>(
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

    async startTask(req, ctx) {
      return onLeader<MessageInitShape<typeof StartTaskResponseSchema>>(
        ctx,
        async () => {
          const { results, checkResult } = await core.startTask(req.task, req.sources, ctx.signal, {
            removeMeta: req.removeMeta,
            ...(req.startTime ? { startTime: req.startTime } : {}),
          });
          return { result: true, msg: '', sources: results, checkResult };
        },
        (addr) => masterClient(addr).startTask(req, fwd),
      );
    },

    async operateTask(req, ctx) {
      return onLeader<MessageInitShape<typeof OperateTaskResponseSchema>>(
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
      return onLeader(ctx, reply, (addr) => masterClient(addr).handleError(req, fwd));
    },

    async operateBinlogSchema(req, ctx) {
      checkBinlogSchemaRequest(req);
      const deps = { taskSources: (t: string) => core.taskSources(t), clusterView: () => core.clusterView(), workerClient };
      // list is a read: any master answers it; update/delete run on the leader, as DM
      if (req.op === SchemaOp.GET) return operateBinlogSchema(deps, req, ctx.signal);
      return onLeader(ctx, () => operateBinlogSchema(deps, req, ctx.signal), (addr) => masterClient(addr).operateBinlogSchema(req, fwd));
    },

    checkData: (req, ctx) => checkDataHandler(core.dataCheckDeps(), req, ctx),

    watchCluster: (req, ctx) =>
      watchClusterHandler(
        {
          members: async (c) => impl.listMember!(create(ListMemberRequestSchema, {}), c),
          status: async (name, c) => impl.queryStatus!(create(QueryStatusRequestSchema, { name }), c),
          tasks: async () => [...new Set((await core.allSubtasks()).map((p) => p.task))].sort(),
        },
        req,
        ctx,
      ),

    async checkTask(req, ctx) {
      return core.checkTask(req.task, req.errorCnt, req.warnCnt, ctx.signal);
    },

    async listMember(req) {
      const all = !req.leader && !req.master && !req.worker;
      const names = new Set(req.names);
      const res: { result: boolean; msg: string; leader?: { name: string; address: string }; masters: object[]; workers: object[] } = {
        result: true,
        msg: '',
        masters: [],
        workers: [],
      };
      const leader = (await d.election.readLeader().catch(() => undefined)) ?? d.election.leader;
      if (all || req.leader) res.leader = { name: leader?.name ?? '', address: leader?.addr ?? '' };
      if (all || req.master) {
        for (const m of await core.masters()) {
          if (names.size > 0 && !names.has(m.info.name)) continue;
          res.masters.push({
            name: m.info.name,
            memberId: m.memberId,
            alive: m.alive,
            isLeader: leader?.name === m.info.name,
            peerUrls: m.info.peerUrls,
            clientUrls: m.info.clientUrls,
            address: m.info.addr,
            evicted: m.evicted,
          });
        }
      }
      if (all || req.worker) {
        const view = await core.clusterView();
        for (const w of [...view.workers.values()].sort((a, b) => a.name.localeCompare(b.name))) {
          if (names.size > 0 && !names.has(w.name)) continue;
          res.workers.push({ name: w.name, address: w.addr, stage: WORKER_STAGE[w.stage], source: w.source, labels: w.labels });
        }
      }
      return res;
    },

    async offlineMember(req, ctx) {
      return onLeader<MessageInitShape<typeof OfflineMemberResponseSchema>>(
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

    async transferSource(req, ctx) {
      return onLeader<MessageInitShape<typeof TransferSourceResponseSchema>>(
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

    async registerWorker(req, ctx) {
      return onLeader<MessageInitShape<typeof RegisterWorkerResponseSchema>>(
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

    async getConfig(req) {
      switch (req.type) {
        case ConfigType.TASK:
          return { result: true, msg: '', cfg: maskTaskPassword(await core.taskConfig(req.name)) };
        case ConfigType.SOURCE:
          return { result: true, msg: '', cfg: maskSourcePassword(await core.sourceConfig(req.name)) };
        case ConfigType.MASTER: {
          if (req.name && req.name !== d.name) {
            const m = (await core.masters()).find((x) => x.info.name === req.name);
            if (!m) throw new DMError('ErrSchedulerMasterNotFound', `master ${req.name} not found`);
            return masterClient(m.info.addr).getConfig(req);
          }
          return { result: true, msg: '', cfg: d.configYaml() };
        }
        case ConfigType.WORKER: {
          const w = (await core.clusterView()).workers.get(req.name);
          if (!w || w.stage === 'offline') throw new DMError('ErrMasterWorkerNotFound', `worker ${req.name} not found or offline`);
          const r = await workerClient(w.addr).getWorkerCfg({});
          return { result: r.result, msg: r.msg, cfg: r.cfg };
        }
        default:
          throw new DMError('ErrMasterInvalidRequest', 'get-config needs a type: task, source, master or worker');
      }
    },

    async encrypt(req) {
      return { result: true, msg: '', ciphertext: core.encrypt(req.plaintext) };
    },

    async getClusterInfo() {
      const view = await core.clusterView();
      const leader = (await d.election.readLeader().catch(() => undefined)) ?? d.election.leader;
      const stages = await core.taskStages();
      const masters = await core.masters();
      const sources = [];
      for (const s of [...view.sources].sort()) {
        let address = '';
        let flavor = '';
        let enableRelay = false;
        let enableGtid = false;
        try {
          const text = await core.sourceConfig(s);
          const host = /^\s*host:\s*["']?([^"'\s#]+)/m.exec(text)?.[1] ?? '';
          const port = /^\s*port:\s*(\d+)/m.exec(text)?.[1] ?? '';
          address = host ? `${host}:${port}` : '';
          flavor = /^\s*flavor:\s*["']?(\w+)/m.exec(text)?.[1] ?? '';
          enableRelay = /^\s*enable-relay:\s*true/m.test(text);
          enableGtid = /^\s*enable-gtid:\s*true/m.test(text);
        } catch {
          /* removed meanwhile */
        }
        sources.push({ source: s, worker: view.boundBy.get(s) ?? '', enableRelay, enableGtid, flavor, address });
      }
      const tasks = [...stages.entries()].map(([name, m]) => ({
        name,
        sources: [...m.keys()].sort(),
        stages: Object.fromEntries([...m.entries()].map(([s, r]) => [s, stageEnum(r.stage)])),
      }));
      return {
        result: true,
        msg: '',
        clusterId: core.keys.prefix,
        version: VERSION,
        leader: { name: leader?.name ?? '', address: leader?.addr ?? '' },
        masters: masters.map((m) => ({
          name: m.info.name,
          memberId: m.memberId,
          alive: m.alive,
          isLeader: leader?.name === m.info.name,
          peerUrls: m.info.peerUrls,
          clientUrls: m.info.clientUrls,
          address: m.info.addr,
          evicted: m.evicted,
        })),
        workers: [...view.workers.values()].map((w) => ({ name: w.name, address: w.addr, stage: WORKER_STAGE[w.stage], source: w.source, labels: w.labels })),
        sources,
        tasks,
      };
    },
  };
  return impl;
}
