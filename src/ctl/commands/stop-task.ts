import { MasterPb, buildOperateTask } from './shared.js';
import { registerCommand } from '../registry.js';

registerCommand({
  name: 'stop-task',
  summary: 'stop a task and remove its subtasks',
  build(cmd, ctx) {
    buildOperateTask(cmd, ctx, MasterPb.TaskOp.STOP, 'stop-task');
  },
});
