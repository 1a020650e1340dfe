import { MasterPb, buildOperateTask } from './shared.js';
import { registerCommand } from '../registry.js';

registerCommand({
  name: 'resume-task',
  summary: 'resume a paused task',
  build(cmd, ctx) {
    buildOperateTask(cmd, ctx, MasterPb.TaskOp.RESUME, 'resume-task');
  },
});
