import { MasterPb, buildOperateTask } from './shared.js';
import { registerCommand } from '../registry.js';

registerCommand({
  name: 'pause-task',
  summary: 'pause a running task',
  build(cmd, ctx) {
    buildOperateTask(cmd, ctx, MasterPb.TaskOp.PAUSE, 'pause-task');
  },
});
