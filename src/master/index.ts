export { DMMaster, etcdClientUrlFor, joinEndpoints, type DMMasterOptions } from './server.js';
export { MasterCore, type MasterCoreOptions, type SourceResult } from './master-core.js';
export { createMasterService, type MasterServiceDeps } from './service.js';
export { EmbeddedEtcd, type EmbeddedEtcdOptions } from './embedded-etcd.js';
export { findEtcdBinary } from './etcd-binary.js';
export { setTaskPrecheck, getTaskPrecheck, setCheckTaskHandler, getCheckTaskHandler, type TaskPrecheck, type PrecheckInput, type CheckTaskHandler } from './precheck.js';
export { Scheduler, readClusterView, type ClusterView, type WorkerView } from './scheduler/index.js';
export { MasterMetrics } from './metrics.js';
