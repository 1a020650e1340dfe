import { parseTaskConfig } from '../../config/index.js';
import { isDMError } from '../../errors/index.js';
import { checkTaskYaml, limitReport } from '../../checker/index.js';
import { MasterPb } from './shared.js';
import { action, nonNegInt, readFileArg } from '../args.js';
import type { CtlContext } from '../context.js';
import { registerCommand } from '../registry.js';

/**
 * When the master does not serve CheckTask, run the prechecks here: the source configs come
 * from the master (`config source <id>`, passwords encrypted with the built-in key).
 */
async function localCheck(ctx: CtlContext, task: string, errorCnt: number, warnCnt: number): Promise<{ result: boolean; msg: string }> {
  const cfg = parseTaskConfig(task);
  const yamls = new Map<string, string>();
  for (const inst of cfg.mysqlInstances) {
    const r = await ctx.call((c, co) => c.getConfig({ type: MasterPb.ConfigType.SOURCE, name: inst.sourceId }, co));
    if (!r.result) return { result: false, msg: `source ${inst.sourceId}: ${r.msg}` };
    yamls.set(inst.sourceId, r.cfg);
  }
  const report = await checkTaskYaml(task, yamls, { signal: ctx.signal });
  return { result: report.summary.passed, msg: JSON.stringify(limitReport(report, errorCnt, warnCnt)) };
}

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
          let resp: { result: boolean; msg: string };
          try {
            resp = await ctx.call((c, co) => c.checkTask({ task, errorCnt: o.error, warnCnt: o.warn, startTime: o.startTime ?? '' }, co));
          } catch (e) {
            if (!isDMError(e) || e.codeName !== 'ErrNotImplemented') throw e;
            resp = await localCheck(ctx, task, o.error, o.warn);
          }
          let report: unknown;
          try {
            report = JSON.parse(resp.msg) as unknown;
          } catch {
            report = undefined;
          }
          if (report !== undefined && report !== null && typeof report === 'object') {
            ctx.reply({ result: resp.result, msg: resp.result ? 'pre-check is passed. ' : 'pre-check failed', checkResult: report });
          } else {
            ctx.reply({ result: resp.result, msg: resp.msg });
          }
        }),
      );
  },
});
