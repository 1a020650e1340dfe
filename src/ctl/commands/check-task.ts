import { action, nonNegInt, readFileArg } from '../args.js';
import { dmCheckMessage, dmCheckResult, parseCheckReport } from '../dm-json.js';
import { registerCommand } from '../registry.js';

/**
 * `check-task`: DM's reply `{result, msg}` with DM's texts in `msg` (`pre-check is passed. `, the
 * warnings text, or error 26005 with the report after `detail:`, see dmCheckMessage); DM.ts adds
 * the report as a JSON object in `checkResult`.
 */
registerCommand({
  name: 'check-task',
  summary: 'run the prechecks of a task config without starting it',
  build(cmd, ctx) {
    cmd
      .argument('<config-file>', 'task config file (task.yaml)')
      .option('-e, --error <count>', 'max number of failed items to show', nonNegInt, 10)
      .option('-w, --warn <count>', 'max number of warning items to show', nonNegInt, 10)
      .option('--start-time <time>', 'start time of the incremental phase, as in start-task')
      .action(
        action(ctx, async (file: string, o: { error: number; warn: number; startTime?: string }) => {
          const task = readFileArg(file, 'task config file');
          const resp = await ctx.call((c, co) => c.checkTask({ task, errorCnt: o.error, warnCnt: o.warn, startTime: o.startTime ?? '' }, co));
          const report = parseCheckReport(resp.msg);
          if (report) ctx.reply({ result: resp.result, msg: dmCheckMessage(report), checkResult: dmCheckResult(report) });
          else ctx.reply({ result: resp.result, msg: resp.msg });
        }),
      );
  },
});
