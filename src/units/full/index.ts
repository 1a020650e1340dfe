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
export { readMasterStatus, readPosition } from './snapshot.js';
export { isUnknownPosition, type MasterStatus } from '../../sql/index.js';
export { readTableInfo, type SourceTableInfo, type ColumnInfo } from './dump-table-info.js';
export { createTableSelector, type TableSelector } from './table-selector.js';
export { readDumpMetadata, dumpFileName, parseDumpFileName, type DumpMetadata } from './dump-files.js';
export { capturingHandOff, skippedWhenFinished, finishedOnce, handOffOf, type FullPhaseDetail, type HandOffBox, type HandOffPos } from './unit-wrappers.js';
