/**
 * Dump unit: consistent snapshot, table selection/routing, chunk planning and the full phase's
 * persisted plan (see docs/full-migration.md). The Load unit (src/units/load) streams the chunks.
 */
export * from './config.js';
export { FullSession, tableKey, type PlannedTable } from './session.js';
export { DumpUnit } from './dump-unit.js';
export { Progress, type TableProgress } from './progress.js';
export {
  openConn,
  closeConn,
  classifyMySQLError,
  quoteId,
  quoteTable,
  escapeValue,
  isConnectionError,
  mysqlErrno,
  typeCastFor,
  exactTypeCast,
} from './conn.js';
export {
  NUMERIC_TYPES,
  makeRowEncoder,
  selectChunkSQL,
  streamBatches,
  chunkBatches,
  pagedBatches,
  keyIndexes,
  rawConnection,
  type Batch,
  type Page,
  type RowEncoder,
} from './row-stream.js';
export { chunkWhere, type ChunkDef, type BoundValue } from './chunk-plan.js';
export {
  markDoneSQL,
  syncHandOff,
  dropMeta,
  metaNames,
  ensureMetaTables,
  persistPlan,
  readChunks,
  readSnapshots,
  recordDeferredIndexes,
  readPendingIndexes,
  markIndexesDone,
  type DeferredIndexes,
  type ChunkRow,
  type SnapshotRow,
  type MetaNames,
} from './meta-store.js';
export { readMasterStatus, readPosition, isUnknownPosition, detectFlavor, type MasterStatus } from './master-status.js';
export { readTableInfo, type SourceTableInfo, type ColumnInfo } from './table-info.js';
export { createTableSelector, type TableSelector } from './table-selector.js';
export { retryPolicy } from './retry.js';
export { readDumpMetadata, dumpFileName, parseDumpFileName, type DumpMetadata } from './dump-files.js';
