/** Imports and constants shared by the command files. */
export * as MasterPb from '../../gen/dm/master/v1/master_pb.js';
export * as CommonPb from '../../gen/dm/common/v1/common_pb.js';

export const SAMPLE_SOURCE_CONFIG = `# source.yaml: one upstream MySQL/MariaDB
source-id: "mysql-replica-01"
# enable-gtid: use GTID positions (MySQL gtid_mode=ON, or MariaDB)
enable-gtid: false
# enable-relay: keep a local copy of the binlog on the worker
enable-relay: false
from:
  host: "127.0.0.1"
  port: 3306
  user: "root"
  # plaintext, or the output of \`dmctl encrypt <password>\`
  password: ""
`;

import type { Command } from 'commander';
import { action, addSourceOption, taskNameOf, usageError } from '../args.js';
import type { CtlContext } from '../context.js';
import { dmReply } from '../dm-json.js';
import { TaskOp, OperateTaskResponseSchema } from '../../gen/dm/master/v1/master_pb.js';

/** stop-task / pause-task / resume-task: `<task-name | task-file>` or `-s` only (batch mode). */
export function buildOperateTask(cmd: Command, ctx: CtlContext, op: TaskOp, verb: string): void {
  cmd.argument('[task-name | task-file]', 'task name or task config file');
  addSourceOption(cmd).action(
    action(ctx, async (task: string | undefined, o: { source?: string[] }) => {
      const sources = ctx.sources(o.source);
      if (!task && sources.length === 0) {
        usageError(ctx, cmd, `${verb} needs a task name (or -s source for every task on the sources)`);
        return;
      }
      const name = task ? taskNameOf(task) : '';
      const resp = await ctx.call((c, co) => c.operateTask({ op, name, sources }, co));
      ctx.reply(dmReply(OperateTaskResponseSchema, resp));
    }),
  );
}
