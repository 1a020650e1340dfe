/** MasterService, check group: CheckTask (`dmctl check-task`, the master's `checkTask` option). */
import type { HandlerEnv, MasterImpl } from './env.js';

export function checkHandlers(env: HandlerEnv): MasterImpl {
  const { core } = env;
  return {
    async checkTask(req, ctx) {
      return core.checkTask(req.task, req.errorCnt, req.warnCnt, ctx.signal);
    },
  };
}
