/** SQL toolbox: connections, quoting, table structure, master status, errno classes, statement builders, DDL parse/rewrite. */
export { connect, createPool, sessionInitSql, initSqlFor, DM_SESSION_SQL_MODE, DM_SESSION_TIME_ZONE, EXACT_VALUE_OPTIONS, rawGeometryTypeCast, type ConnConfig, type ConnectOptions, type SslOptions, type Connection, type Pool, type PoolConnection } from './connection.js';
export { quoteId, quoteTable, quoteValue, formatSql, standardQuoting } from './quote.js';
export { getTableInfo, tableExists, schemaExists, type TableInfo, type ColumnDef, type Queryable } from './table-info.js';
export { getMasterStatus, getFlavor, type MasterStatus, type Flavor } from './master-status.js';
export { classifyError, classifyCode, isRetryable, errnoOf, type ClassifyOptions } from './errno.js';
export {
  buildInsert,
  buildUpdate,
  buildDelete,
  buildMultiDelete,
  buildSafeInsert,
  buildSafeUpdate,
  rowKey,
  toSqlValue,
  type DMLTable,
  type DMLColumn,
  type Row,
  type InsertMode,
} from './dml.js';
export { parseDDL, rewriteDDL, rewriteParsed, splitDDL, queryKind, type ParsedDDL, type DDLType, type AlterSpec, type AlterAction, type DDLNameRef, type QueryKind } from './ddl.js';
export { ddlEffectState, ddlEffectPresent, isAlreadyAppliedError, type DDLEffectState } from './ddl-effect.js';
export { tokenize, type Token, type LexMode } from './lexer.js';
