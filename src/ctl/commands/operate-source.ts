import { existsSync } from 'node:fs';
import { MasterPb, SAMPLE_SOURCE_CONFIG } from './shared.js';
import { action, addSourceOption, readFileArg, usageError } from '../args.js';
import { dmReply } from '../dm-json.js';
import { registerCommand } from '../registry.js';

const OPS = { create: MasterPb.SourceOp.START, update: MasterPb.SourceOp.UPDATE, stop: MasterPb.SourceOp.STOP, show: MasterPb.SourceOp.SHOW } as const;

registerCommand({
  name: 'operate-source',
  summary: 'create/update/stop/show upstream MySQL/MariaDB sources',
  build(cmd, ctx) {
    cmd
      .argument('<operate-type>', 'create | update | stop | show')
      .argument('[config-file-or-source-id...]', 'source config file(s) (create/update/stop), or source id(s) (stop/show)')
      .option('-p, --print-sample-config', 'print a sample source config file')
      .option('-w, --worker <name>', 'bind the created source to this worker');
    addSourceOption(cmd).action(
      action(ctx, async (op: string, args: string[], o: { printSampleConfig?: boolean; worker?: string; source?: string[] }) => {
        if (o.printSampleConfig) {
          ctx.io.out(SAMPLE_SOURCE_CONFIG);
          ctx.result = true;
          return;
        }
        if (!Object.prototype.hasOwnProperty.call(OPS, op)) {
          usageError(ctx, cmd, `invalid operate-type '${op}'; use create, update, stop or show`);
          return;
        }
        const sourceOp = OPS[op as keyof typeof OPS];
        const config: string[] = [];
        const sourceId: string[] = [...ctx.sources(o.source)];
        if (op === 'create' || op === 'update') {
          if (args.length === 0) {
            usageError(ctx, cmd, `operate-source ${op} needs at least one source config file`);
            return;
          }
          if (op === 'update' && args.length > 1) {
            usageError(ctx, cmd, 'operate-source update takes exactly one source config file');
            return;
          }
          for (const f of args) config.push(readFileArg(f, 'source config file'));
        } else {
          for (const a of args) {
            if (op === 'stop' && existsSync(a)) config.push(readFileArg(a, 'source config file'));
            else sourceId.push(a);
          }
          if (op === 'stop' && config.length === 0 && sourceId.length === 0) {
            usageError(ctx, cmd, 'operate-source stop needs source config file(s) or source id(s)');
            return;
          }
        }
        const resp = await ctx.call((c, co) =>
          c.operateSource({ op: sourceOp, config, sourceId, workerName: o.worker ?? '' }, co),
        );
        ctx.reply(dmReply(MasterPb.OperateSourceResponseSchema, resp));
      }),
    );
  },
});
