import { MasterPb } from './shared.js';
import { action, usageError } from '../args.js';
import { dmReply } from '../dm-json.js';
import { registerCommand } from '../registry.js';

registerCommand({
  name: 'operate-leader',
  summary: 'evict the leader master (it resigns and stays out of elections) or cancel the eviction',
  build(cmd, ctx) {
    cmd
      .argument('<operate-type>', 'evict | cancel-evict')
      .option('-n, --name <master>', 'master to operate on (default: the leader for evict, the master called for cancel-evict)')
      .action(
        action(ctx, async (op: string, o: { name?: string }) => {
          const ops: Record<string, MasterPb.LeaderOp> = { evict: MasterPb.LeaderOp.EVICT, 'cancel-evict': MasterPb.LeaderOp.CANCEL_EVICT };
          const leaderOp = ops[op];
          if (leaderOp === undefined) {
            usageError(ctx, cmd, `invalid operate-type '${op}'; use evict or cancel-evict`);
            return;
          }
          const resp = await ctx.call((c, co) => c.operateLeader({ op: leaderOp, name: o.name ?? '' }, co));
          ctx.reply(dmReply(MasterPb.OperateLeaderResponseSchema, resp));
        }),
      );
  },
});
