import { MasterPb } from './shared.js';
import { action } from '../args.js';
import { dmReply } from '../dm-json.js';
import { registerCommand } from '../registry.js';

registerCommand({
  name: 'transfer-source',
  summary: 'move a source to another (free) worker',
  build(cmd, ctx) {
    cmd
      .argument('<source-id>', 'source to move')
      .argument('<worker-name>', 'free worker to bind it to')
      .action(
        action(ctx, async (source: string, worker: string) => {
          const resp = await ctx.call((c, co) => c.transferSource({ source, worker }, co));
          ctx.reply(dmReply(MasterPb.TransferSourceResponseSchema, resp));
        }),
      );
  },
});
