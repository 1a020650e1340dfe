import { MasterPb } from './shared.js';
import { action, collectList } from '../args.js';
import { messageToObject } from '../output.js';
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
          const out = messageToObject(MasterPb.ListMemberResponseSchema, resp);
          // DM prints only the member kinds asked for
          const members: Record<string, unknown>[] = [];
          if (all || o.leader) members.push({ leader: { msg: '', ...(out['leader'] as Record<string, unknown> | undefined) } });
          if (all || o.master) members.push({ master: { msg: '', masters: out['masters'] } });
          if (all || o.worker) members.push({ worker: { msg: '', workers: out['workers'] } });
          ctx.reply({ result: resp.result, msg: resp.msg, members });
        }),
      );
  },
});
