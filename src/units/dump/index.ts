/**
 * Dump unit: consistent snapshot, table selection/routing, chunk planning and the full phase's
 * persisted plan (see docs/full-migration.md). The Load unit (src/units/load) streams the chunks.
 */
export * from './config.js';
export { FullSession, tableKey, type PlannedTable } from './session.js';
export { DumpUnit } from './dump-unit.js';
export { Progress, type TableProgress } from './progress.js';
// src/sql's connection and errno helpers under the names the full phase's files use
export {
  connectSide as openConn,
  closeConnection as closeConn,
  classifyMySQLError,
  quoteId,
  quoteTable,
  quoteValue as escapeValue,
  isConnectionError,
  errnoOf as mysqlErrno,
  typeCastFor,
  exactTypeCast,
} from '../../sql/index.js';
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
export { readMasterStatus, readPosition } from './snapshot.js';
export { isUnknownPosition, type MasterStatus } from '../../sql/index.js';
export { readTableInfo, type SourceTableInfo, type ColumnInfo } from './table-info.js';
export { createTableSelector, type TableSelector } from './table-selector.js';
export { readDumpMetadata, dumpFileName, parseDumpFileName, type DumpMetadata } from './dump-files.js';
