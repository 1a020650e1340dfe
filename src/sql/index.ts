/** SQL toolbox: THE connection type and builder (every mysql2 connection and pool), quoting, table structure, master status, errno classes, statement builders, DDL parse/rewrite. */
export {
  connect,
  connectSide,
  createPool,
  closeConnection,
  mysqlOptions,
  poolOptions,
  binlogStreamOptions,
  sessionInitSql,
  initSqlFor,
  DM_SESSION_SQL_MODE,
  DM_SESSION_TIME_ZONE,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_POOL_SIZE,
  POOL_KEEP_ALIVE_INITIAL_DELAY_MS,
  SIDE_CONNECT_TIMEOUT_MS,
  EXACT_VALUE_OPTIONS,
  rawGeometryTypeCast,
  exactTypeCast,
  typeCastFor,
  type ConnConfig,
  type ConnectOptions,
  type SessionVars,
  type SslOptions,
  type Connection,
  type Pool,
  type PoolConnection,
} from './connection.js';
export { quoteId, quoteTable, quoteValue, formatSql, standardQuoting } from './quote.js';
export { getTableInfo, tableExists, schemaExists, type TableInfo, type ColumnDef, type Queryable } from './table-info.js';
export { getMasterStatus, masterPosition, getFlavor, getServerVersion, flavorOfVersion, isUnknownPosition, type MasterStatus, type MasterStatusOptions, type Flavor } from './master-status.js';
export { classifyError, classifyCode, classifyMySQLError, isRetryable, isConnectionError, isReconnectableStreamError, isFatalBinlogReadError, errnoOf, type ClassifyOptions } from './errno.js';
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
