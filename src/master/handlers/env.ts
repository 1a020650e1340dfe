/**
 * What every MasterService handler group gets: the master's deps, the peer clients, and
 * `onLeader`, the leader routing of state-changing calls (run locally on the leader, else forward
 * the same request to it and return its reply or error as is).
 */
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import { Code, ConnectError } from '@connectrpc/connect';
import { DMError } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import { sleepAbortable } from '../../util/index.js';
import type { MasterService } from '../../gen/dm/master/v1/master_pb.js';
import type { LeaderElection, LeaderInfo } from '../../store/index.js';
import type { MasterCore } from '../master-core.js';
import type { Scheduler } from '../scheduler/index.js';
import type { ShardDDLKeeper } from '../shardddl/index.js';
import { createPeerClients, type PeerClients } from '../clients.js';

/** The MasterService methods a handler group implements (the router answers the rest `unimplemented`). */
export type MasterImpl = Partial<ServiceImpl<typeof MasterService>>;

export interface MasterServiceDeps {
  core: MasterCore;
  election: LeaderElection;
  scheduler: () => Scheduler | undefined;
  /** The running shard DDL lock keeper (leader only). */
  keeper?: () => ShardDDLKeeper | undefined;
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

/** Call options of a request forwarded to the leader (marked, so the leader never forwards it again). */
const FORWARDED = { headers: { 'dm-forwarded': '1' }, timeoutMs: 60_000 };

export interface HandlerEnv extends PeerClients {
  d: MasterServiceDeps;
  core: MasterCore;
  /** Call options for forwarding a request to another master. */
  fwd: typeof FORWARDED;
  /**
   * Run on the leader: locally when this master leads, else forward to the leader. While an
   * election is settling (no leader yet, or this master is named leader but has not finished
   * taking over) it waits up to LEADER_WAIT_MS; a local write fenced off mid-way re-resolves the leader once.
   */
  onLeader<R>(ctx: HandlerContext, local: () => Promise<R>, forward: (addr: string) => Promise<R>): Promise<R>;
  /** The leader as etcd has it now (an observer's cached view may lag behind), else the cached one. */
  currentLeader(): Promise<LeaderInfo | undefined>;
}

export function createHandlerEnv(d: MasterServiceDeps): HandlerEnv {
  const { masterClient, workerClient } = d.clients ?? createPeerClients();
  const currentLeader = async (): Promise<LeaderInfo | undefined> => (await d.election.readLeader().catch(() => undefined)) ?? d.election.leader;

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
      const leader = await currentLeader();
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

  return { d, core: d.core, masterClient, workerClient, fwd: FORWARDED, onLeader, currentLeader };
}
