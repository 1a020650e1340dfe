/**
 * The full phase (DM's dump + load, see docs/full-migration.md): the Dump unit takes the
 * consistent snapshot, selects/routes the tables, plans the chunks and persists the plan; the
 * Load unit streams the chunks into the target. createFullUnits builds both around one session.
 */
export { createFullUnits } from './full-units.js';
export { LoadUnit } from './load-unit.js';
export { ensureTargetTable, rewriteCreateTable } from './schema-create.js';
export * from './config.js';
export { FullSession, tableKey, type PlannedTable } from './full-session.js';
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
} from '../dump/conn.js';
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
  dropMeta,
  ensureMetaTables,
  persistPlan,
  readChunks,
  readSnapshots,
  recordDeferredIndexes,
  readPendingIndexes,
  markIndexesDone,
  type DeferredIndexes,
  type ChunkRow,
} from './meta-store.js';
export { readMasterStatus, readPosition, isUnknownPosition, detectFlavor, type MasterStatus } from '../dump/master-status.js';
export { readTableInfo, type SourceTableInfo, type ColumnInfo } from './dump-table-info.js';
export { createTableSelector, type TableSelector } from './table-selector.js';
export { retryPolicy } from '../dump/retry.js';
export { readDumpMetadata, dumpFileName, parseDumpFileName, type DumpMetadata } from './dump-files.js';
export { capturingHandOff, skippedWhenFinished, finishedOnce, handOffOf, type FullPhaseDetail, type HandOffBox, type HandOffPos } from './unit-wrappers.js';
