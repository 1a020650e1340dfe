/** The MasterService handlers, one file per RPC group; src/master/service.ts joins them. */
export { createHandlerEnv, LEADER_WAIT_MS, type HandlerEnv, type MasterImpl, type MasterServiceDeps } from './env.js';
export { sourceHandlers } from './source.js';
export { taskHandlers } from './task.js';
export { checkHandlers } from './check.js';
export { binlogHandlers } from './binlog.js';
export { binlogSchemaHandlers } from './binlog-schema.js';
export { memberHandlers } from './member.js';
export { configHandlers } from './config.js';
export { clusterHandlers } from './cluster.js';
export { shardDDLHandlers } from './shard-ddl.js';
export { validationHandlers } from './validation.js';
