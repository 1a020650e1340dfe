/** Filters and routes: block-allow list, table router, binlog event filter, expression filter. */
export type { BAListRule, RouteRule, EventFilterRule, ExpressionFilterRule, TableRef, TableName, ExtractedColumn, RouteResult } from './types.js';
export { createBAList, type BAList, type BAListOptions } from './ba-list.js';
export { createRouter, type Router, type RouterOptions } from './router.js';
export {
  createEventFilter,
  droppedRuleReason,
  normalizeEventType,
  classifyEventType,
  DML_EVENTS,
  DDL_EVENTS,
  INCOMPATIBLE_DDL_EVENTS,
  type EventFilter,
  type EventFilterOptions,
  type FilterAction,
  type DMLOp,
  type EventClass,
} from './event-filter.js';
export { createExpressionFilter, compileExpression, FUNCTIONS, type ExpressionFilter, type CompiledExpression } from './expression-filter.js';
export { compilePattern, wildcardToRegexSource, isSystemSchema, SYSTEM_SCHEMAS, type NameMatcher } from './pattern.js';
export { compileOnlineDDLRules, onlineDDLRuleProblem, anchorOnlineDDLRule, type OnlineDDLRules, type OnlineTableType } from './online-ddl.js';
