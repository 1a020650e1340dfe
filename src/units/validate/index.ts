/**
 * Verification: the one-shot data check (chunked server-side checksums, row lists, fix-up SQL) and
 * the continuous validator (DM 2.x's `validators`: every applied row change read back and compared).
 */
export { checkData, type DataCheckOptions, type DataCheckProgress, type DataCheckReport, type TableCheck, type RowDiff, type RowDiffKind } from './data-check.js';
export { planDataCheck, type CheckSourceInput, type TablePlan, type TablePart } from './check-plan.js';
export {
  ContinuousValidator,
  validatorSettings,
  type ValidatorSettings,
  type ValidatorOptions,
  type ValidatorStatus,
  type ValidatorStage,
  type DesiredValidation,
  type Cutover,
} from './validator.js';
export type { ValidationMode, ValidationErrorType } from './validator-rows.js';
export type { ValidationErrorRow, ErrorStatus, TableStage } from './validator-store.js';
