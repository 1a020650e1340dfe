export { SyncUnit, type SyncUnitDeps, type SyncUnitState } from './sync-unit.js';
export {
  resolveSettings,
  DEFAULT_BATCH,
  DEFAULT_WORKER_COUNT,
  DEFAULT_META_SCHEMA,
  type SyncConfig,
  type SyncerSettings,
  type StartSpec,
  type FailedEventInfo,
  type FailedEventDecision,
} from './config.js';
export type { SyncReader, SyncReaderFactory, SyncReaderOptions } from './reader.js';
export { CheckpointStore } from './checkpoint.js';
export { SchemaStore, type SchemaStoreConn, type StoredSchemas } from './schema-store.js';
export { operateTrackedSchema, type SchemaOpName, type SchemaOpRequest, type SchemaOpContext } from './binlog-schema.js';
