export * from './unit.js';
export {
  META_TABLES,
  metaTableName,
  metaNames,
  createMetaTables,
  createTableSQL,
  syncHandOff,
  readFullPhaseHandOff,
  readSnapshotSchemasAt,
  readFullPhaseFinished,
  removeTaskMeta,
  type MetaTable,
  type MetaTableId,
  type MetaNames,
  type MetaConn,
  type SnapshotRow,
  type FullPhaseHandOff,
} from './meta-tables.js';
