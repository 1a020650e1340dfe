import { action, addSourceOption, taskNameOf } from '../args.js';
import { dmQueryStatus, dmTaskList } from '../dm-json.js';
import { registerCommand } from '../registry.js';

registerCommand({
  name: 'query-status',
  summary: 'show the status of tasks, subtasks and sources',
  aliases: ['query-error'],
  build(cmd, ctx) {
    cmd.argument('[task-name | task-file]', 'task name or task config file; empty = every task').option('--more', 'show the full status of every subtask');
    addSourceOption(cmd).action(
      action(ctx, async (task: string | undefined, o: { more?: boolean; source?: string[] }) => {
        const name = task ? taskNameOf(task) : '';
        const sources = ctx.sources(o.source);
        const resp = await ctx.call((c, co) => c.queryStatus({ name, sources }, co));
        // DM: a task name, sources (-s: the sources' status with relayStatus) or --more show
        // everything; none of them, one summary line per task
        ctx.reply(name !== '' || sources.length > 0 || o.more === true || !resp.result ? dmQueryStatus(resp) : dmTaskList(resp));
      }),
    );
  },
});
