/**
 * MasterService, shard DDL group: ShowDDLLocks (`dmctl shard-ddl-lock [task]`, DM 1.0's
 * `show-ddl-locks`) and UnlockDDLLock (`shard-ddl-lock unlock`, `unlock-ddl-lock`).
 * Showing is a read: any master plans the locks from etcd (src/master/shardddl/). Unlocking runs
 * on the leader's keeper (forwarded by a follower) and waits for the lock to go.
 */
import { DMError } from '../../errors/index.js';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { UnlockDDLLockOp, type UnlockDDLLockResponseSchema } from '../../gen/dm/master/v1/master_pb.js';
import { showLocks } from '../shardddl/index.js';
import type { HandlerEnv, MasterImpl } from './env.js';

export function shardDDLHandlers(env: HandlerEnv): MasterImpl {
  const { core, masterClient, fwd } = env;
  return {
    async showDDLLocks(req) {
      const locks = await showLocks(core.etcd, core.keys, req.task, [...req.sources]);
      return {
        result: true,
        msg: locks.length === 0 ? 'no DDL lock exists' : '',
        locks: locks.map((l) => ({ id: l.id, task: l.task, mode: l.mode, owner: l.owner, ddls: l.ddls, synced: l.synced, unsynced: l.unsynced, error: l.error, ...(l.message ? { message: l.message } : {}) })),
      };
    },

    async unlockDDLLock(req, ctx) {
      return env.onLeader<MessageInitShape<typeof UnlockDDLLockResponseSchema>>(
        ctx,
        async () => {
          if (!req.id) throw new DMError('ErrMasterInvalidRequest', 'shard-ddl-lock unlock needs a lock ID');
          if (req.sources.length > 1) throw new DMError('ErrMasterUnlockInvalid', 'optimistic locks should have only one source');
          const keeper = env.d.keeper?.();
          if (!keeper) throw new DMError('ErrMasterKeeperNotStarted', 'the shard DDL lock keeper is not running on the leader yet');
          const action = req.op === UnlockDDLLockOp.UNLOCK_DDL_LOCK_OP_SKIP ? 'skip' : req.op === UnlockDDLLockOp.UNLOCK_DDL_LOCK_OP_EXEC ? 'exec' : undefined;
          const msg = await keeper.unlock(
            req.id,
            {
              ...(req.replaceOwner ? { owner: req.replaceOwner } : {}),
              forceRemove: req.forceRemove,
              ...(action ? { action } : {}),
              ...(req.sources[0] ? { source: req.sources[0] } : {}),
              ...(req.database ? { database: req.database } : {}),
              ...(req.table ? { table: req.table } : {}),
            },
            ctx.signal,
          );
          return { result: true, msg, sources: [] };
        },
        (addr) => masterClient(addr).unlockDDLLock(req, fwd),
      );
    },
  };
}
