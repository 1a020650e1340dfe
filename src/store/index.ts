export { Keys, DEFAULT_KEY_PREFIX, binlogOpKey } from './keys.js';
export { shardKeys, shardLockId, type ShardMode, type PessimisticInfo, type PessimisticOperation, type PessimisticLockState, type SourceTables, type TableStructure, type OptimisticInfo, type OptimisticOperation, type OptimisticLockState, type OptimisticWait, type ConflictStage } from './shardddl.js';
export type {
  LeaderInfo,
  MasterInfo,
  WorkerInfo,
  WorkerAlive,
  SourceBound,
  DesiredStage,
  StageRecord,
  RelayStageRecord,
  SubtaskRecord,
  ValidatorStageRecord,
  BinlogOpRecord,
} from './keys.js';
export { createEtcdClient, normaliseEndpoints, etcdCredentials, DEFAULT_UNARY_DEADLINE_MS, type EtcdClientOptions, type EtcdTlsFiles } from './client.js';
export { getText, getJSON, parseJSON, listPrefix, listJSON, listText, type KV } from './records.js';
export { leaderTxn, type Fence, type TxnCompare, type CompareTarget, type FenceLostHandler } from './fenced-txn.js';
export { PrefixWatcher, type PrefixWatchHandlers } from './watch.js';
export { LeaderElection, type ElectionState } from './election.js';
