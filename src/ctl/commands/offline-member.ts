import { MasterPb } from './shared.js';
import { action, usageError } from '../args.js';
import { dmReply } from '../dm-json.js';
import { registerCommand } from '../registry.js';

registerCommand({
  name: 'offline-member',
  summary: 'remove a stopped master or worker from the cluster',
  build(cmd, ctx) {
    cmd
      .option('--master', 'the member is a dm-master')
      .option('--worker', 'the member is a dm-worker')
      .option('-n, --name <name>', 'member name')
      .action(
        action(ctx, async (o: { master?: boolean; worker?: boolean; name?: string }) => {
          if (o.master === o.worker) {
            usageError(ctx, cmd, 'give exactly one of --master or --worker');
            return;
          }
          if (!o.name) {
            usageError(ctx, cmd, 'give the member name with -n');
            return;
          }
          const type = o.master ? MasterPb.MemberType.MASTER : MasterPb.MemberType.WORKER;
          const name = o.name;
          const resp = await ctx.call((c, co) => c.offlineMember({ type, name }, co));
          ctx.reply(dmReply(MasterPb.OfflineMemberResponseSchema, resp));
        }),
      );
  },
});
