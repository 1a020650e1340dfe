import { MasterPb, CommonPb } from './shared.js';
import { action, addSourceOption, taskNameOf } from '../args.js';
import { messageToObject } from '../output.js';
import { registerCommand } from '../registry.js';

/** DM's overall task status from its subtasks: Error when any is paused with errors, else the "worst" stage. */
export function taskStatusOf(subs: readonly { stage: CommonPb.Stage; result?: { errors: readonly unknown[] } | undefined }[]): string {
  const S = CommonPb.Stage;
  if (subs.some((s) => s.stage === S.PAUSED && (s.result?.errors.length ?? 0) > 0)) return 'Error - Some error occurred in subtask';
  const order: [CommonPb.Stage, string][] = [
    [S.PAUSED, 'Paused'],
    [S.NEW, 'New'],
    [S.RUNNING, 'Running'],
    [S.STOPPED, 'Stopped'],
    [S.FINISHED, 'Finished'],
  ];
  for (const [st, name] of order) if (subs.some((s) => s.stage === st)) return name;
  return 'Unknown';
}

registerCommand({
  name: 'query-status',
  summary: 'show the status of tasks, subtasks and sources',
  aliases: ['query-error'],
  build(cmd, ctx) {
    cmd.argument('[task-name | task-file]', 'task name or task config file; empty = every task').option('--more', 'show the full status of every subtask');
    addSourceOption(cmd).action(
      action(ctx, async (task: string | undefined, o: { more?: boolean; source?: string[] }) => {
        const name = task ? taskNameOf(task) : '';
        const resp = await ctx.call((c, co) => c.queryStatus({ name, sources: ctx.sources(o.source) }, co));
        if (name !== '' || o.more === true || !resp.result) {
          ctx.reply(messageToObject(MasterPb.QueryStatusResponseSchema, resp));
          return;
        }
        // DM's summary: one entry per task with its overall status and sources
        const byTask = new Map<string, { subs: CommonPb.SubTaskStatus[]; sources: string[] }>();
        for (const src of resp.sources) {
          for (const st of src.subTaskStatus) {
            const e = byTask.get(st.name) ?? { subs: [], sources: [] };
            e.subs.push(st);
            e.sources.push(st.source || src.sourceStatus?.source || '');
            byTask.set(st.name, e);
          }
        }
        ctx.reply({
          result: resp.result,
          msg: resp.msg,
          tasks: [...byTask].map(([taskName, e]) => ({ taskName, taskStatus: taskStatusOf(e.subs), sources: e.sources })),
        });
      }),
    );
  },
});
