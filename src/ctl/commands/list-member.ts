import { action, collectList } from '../args.js';
import { dmListMember } from '../dm-json.js';
import { registerCommand } from '../registry.js';

registerCommand({
  name: 'list-member',
  summary: 'list the masters, workers and the leader of the cluster',
  build(cmd, ctx) {
    cmd
      .option('--leader', 'only the leader')
      .option('--master', 'only masters')
      .option('--worker', 'only workers')
      .option('-n, --name <name>', 'only these member names (repeat or comma separate)', collectList)
      .action(
        action(ctx, async (o: { leader?: boolean; master?: boolean; worker?: boolean; name?: string[] }) => {
          const all = !o.leader && !o.master && !o.worker;
          const resp = await ctx.call((c, co) =>
            c.listMember({ leader: all || o.leader === true, master: all || o.master === true, worker: all || o.worker === true, names: o.name ?? [] }, co),
          );
          // DM prints only the member kinds asked for
          ctx.reply(dmListMember(resp, { leader: all || o.leader === true, master: all || o.master === true, worker: all || o.worker === true }));
        }),
      );
  },
});
