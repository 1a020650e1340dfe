/**
 * The dm-master Connect service: the RPC edge. Methods that change state run on the leader: a
 * follower forwards them (same request, the leader's reply or error returned as is; see
 * handlers/env.ts). Reads are answered locally from etcd. The methods live in handlers/, one file
 * per RPC group; methods of later issues (relay, shard DDL locks, validation) are left out, so the
 * router answers them `unimplemented`.
 */
import {
  binlogHandlers,
  binlogSchemaHandlers,
  checkHandlers,
  clusterHandlers,
  configHandlers,
  createHandlerEnv,
  memberHandlers,
  sourceHandlers,
  taskHandlers,
  type MasterImpl,
  type MasterServiceDeps,
} from './handlers/index.js';

export { LEADER_WAIT_MS, type MasterServiceDeps } from './handlers/index.js';

export function createMasterService(d: MasterServiceDeps): MasterImpl {
  const env = createHandlerEnv(d);
  return {
    ...sourceHandlers(env),
    ...taskHandlers(env),
    ...checkHandlers(env),
    ...binlogHandlers(env),
    ...binlogSchemaHandlers(env),
    ...memberHandlers(env),
    ...configHandlers(env),
    ...clusterHandlers(env),
  };
}
