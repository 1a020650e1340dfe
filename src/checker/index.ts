export type { CheckInput, CheckSource, CheckReport, CheckResult, CheckState, CheckSummary, CheckMeta, TaskMode } from './types.js';
export { CHECK_ITEMS, ALL_CHECK_ITEMS, isCheckItemName, type CheckItemName } from './items.js';
export { runPrechecks, limitReport, precheckError, itemsToRun, validateIgnoreItems, summarize } from './run.js';
export { parseGrants, hasGlobal, hasOnTable, type Grants } from './grants.js';
export { checkTask, checkTaskYaml, checkInputOf, sourceConfigsOf, type CheckTaskOptions } from './from-task.js';
export { taskPrecheck, checkTaskReply, type PrecheckHookInput } from './master-hook.js';
