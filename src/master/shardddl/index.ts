/** The shard DDL lock keeper (leader only) and the lock views any master can compute from etcd. */
export { ShardDDLKeeper, showLocks, DDL_ERROR_TYPES, type KeeperMetrics, type ShardDDLKeeperOptions, type UnlockOptions } from './keeper.js';
export type { LockView } from './lock-view.js';
export { shardMetaDeletes } from './task-meta.js';
export { planPessimistic, planPessimisticTask, type PessimisticAction, type PessimisticPlan } from './pessimist.js';
export { planOptimistic, decideInfo, acceptTable, newLockState, type OptimisticAction, type OptimisticPlan } from './optimist.js';
export { joinColumn, joinStructures, compareColumnType, sameColumns } from './join.js';
export { readShardState, emptyShardState, tableKey, type Rec, type ShardState } from './state.js';
