/** Verification: the one-shot data check (chunked server-side checksums, row lists, fix-up SQL). */
export { checkData, type DataCheckOptions, type DataCheckProgress, type DataCheckReport, type TableCheck, type RowDiff, type RowDiffKind } from './data-check.js';
export { planDataCheck, type CheckSourceInput, type TablePlan, type TablePart } from './check-plan.js';
