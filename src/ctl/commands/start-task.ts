import { MasterPb } from './shared.js';
import { action, addSourceOption, readFileArg } from '../args.js';
import { dmCheckMessage, dmCheckResult, dmReply, parseCheckReport } from '../dm-json.js';
import { registerCommand } from '../registry.js';

registerCommand({
  name: 'start-task',
  summary: 'start a task from its config file (prechecks run first)',
  build(cmd, ctx) {
    cmd
      .argument('<config-file>', 'task config file (task.yaml)')
      .option('--remove-meta', "remove the task's previous checkpoints and metadata first")
      .option('--start-time <time>', 'start the incremental phase from this time ("2006-01-02 15:04:05")');
    addSourceOption(cmd).action(
      action(ctx, async (file: string, o: { removeMeta?: boolean; startTime?: string; source?: string[] }) => {
        const task = readFileArg(file, 'task config file');
        if (o.startTime !== undefined && !/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}((\.\d+)?(Z|[+-]\d{2}:\d{2}))?$/.test(o.startTime)) {
          ctx.reply({ result: false, msg: `--start-time '${o.startTime}' is not a time like "2006-01-02 15:04:05"` });
          return;
        }
        const resp = await ctx.call((c, co) =>
          c.startTask({ task, sources: ctx.sources(o.source), removeMeta: o.removeMeta === true, startTime: o.startTime ?? '' }, co),
        );
        // DM: `checkResult` is the pre-check's text (`pre-check is passed. ` or the warnings
        // text, as check-task's msg); DM.ts adds the report itself as `checkReport`
        const out = dmReply(MasterPb.StartTaskResponseSchema, resp);
        const report = parseCheckReport(resp.checkResult);
        if (report) {
          out['checkResult'] = dmCheckMessage(report);
          out['checkReport'] = dmCheckResult(report);
        }
        ctx.reply(out);
      }),
    );
  },
});
