export { SyncUnit, type SyncUnitDeps, type SyncUnitState } from './sync-unit.js';
export { DeferredSyncUnit, type DeferredSyncUnitOptions } from './deferred-sync-unit.js';
export {
  resolveSettings,
  type SyncConfig,
  type SyncerSettings,
  type StartSpec,
  type FailedEventInfo,
  type FailedEventDecision,
} from './config.js';
export type { SyncReader, SyncReaderFactory, SyncReaderOptions } from './binlog-source.js';
export { CheckpointStore } from './checkpoint.js';
export { SchemaStore, type SchemaStoreConn, type StoredSchemas } from './schema-store.js';
export { operateTrackedSchema, type SchemaOpName, type SchemaOpRequest, type SchemaOpContext } from './binlog-schema.js';
export type { AppliedSink, AppliedTxn } from './applied-sink.js';
export type { RowChange } from './txn.js';
export { targetConnConfig } from './target.js';
