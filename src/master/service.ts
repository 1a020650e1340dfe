/**
 * The dm-master Connect service: the RPC edge. Methods that change state run on the leader: a
 * follower forwards them (same request, the leader's reply or error returned as is; see
 * handlers/env.ts). Reads are answered locally from etcd. The methods live in handlers/, one file
 * per RPC group; methods of later issues (relay, validation) are left out, so the
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
  validationHandlers,
  type MasterImpl,
  type MasterServiceDeps,
} from './handlers/index.js';

import { create } from '@bufbuild/protobuf';
import { ListMemberRequestSchema, QueryStatusRequestSchema } from '../gen/dm/master/v1/master_pb.js';
import { checkDataHandler } from './handlers/check-data.js';
import { watchClusterHandler } from './handlers/watch-cluster.js';
import { shardDDLHandlers } from './handlers/shard-ddl.js';

export { LEADER_WAIT_MS, type MasterServiceDeps } from './handlers/index.js';

export function createMasterService(d: MasterServiceDeps): MasterImpl {
  const env = createHandlerEnv(d);
  const impl: MasterImpl = {
    ...sourceHandlers(env),
    ...taskHandlers(env),
    ...checkHandlers(env),
    ...binlogHandlers(env),
    ...binlogSchemaHandlers(env),
    ...memberHandlers(env),
    ...configHandlers(env),
    ...clusterHandlers(env),
    ...shardDDLHandlers(env),
    ...validationHandlers(env),
    checkData: (req, ctx) => checkDataHandler(env.core.dataCheckDeps(), req, ctx),
    // the dashboard's stream: this service's own ListMember and QueryStatus, every interval
    watchCluster: (req, ctx) =>
      watchClusterHandler(
        {
          members: async (c) => impl.listMember!(create(ListMemberRequestSchema, {}), c),
          status: async (name, c) => impl.queryStatus!(create(QueryStatusRequestSchema, { name }), c),
          tasks: async () => [...new Set((await env.core.allSubtasks()).map((p) => p.task))].sort(),
        },
        req,
        ctx,
      ),
  };
  return impl;
}
