export { DMMaster, etcdClientUrlFor, joinEndpoints, type DMMasterOptions } from './server.js';
export { MasterCore, type MasterCoreOptions, type SourceResult } from './master-core.js';
export { createMasterService, type MasterServiceDeps } from './service.js';
export { EmbeddedEtcd, type EmbeddedEtcdOptions } from './embedded-etcd.js';
export { findEtcdBinary } from './etcd-binary.js';
export type { TaskPrecheck, PrecheckInput, CheckTaskHandler } from './precheck.js';
export { Scheduler, readClusterView, type ClusterView, type WorkerView } from './scheduler/index.js';
export { MasterMetrics } from './metrics.js';
