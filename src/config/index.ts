/**
 * Configuration: DM-compatible `task.yaml`, `source.yaml`, `dm-master.yaml`, `dm-worker.yaml` (or
 * DM's `dm-master.toml` / `dm-worker.toml`). Parse YAML or TOML → zod strict schema → defaults → cross-field checks → deep-frozen camelCase object.
 * Every problem is a DMError (config codes 20xxx) naming the file, line, key path and what is allowed.
 * See docs/configuration.md.
 */
export {
  loadTaskConfigFile,
  parseTaskConfig,
  type TaskConfig,
  type TaskConfigData,
  type TaskWideConfig,
  type MySQLInstanceConfig,
  type LoadOptions,
} from './task.js';
export { compileTask, compileSubtask, subtaskOf, type CompiledTask } from './compile.js';
export * from './defaults.js';
export {
  TASK_MODES,
  SHARD_MODES,
  MAX_SOURCE_ID_LENGTH,
  type TaskMode,
  type ShardMode,
  type MydumperConfig,
  type LoaderConfig,
  type SyncerConfig,
  type ValidatorConfig,
  type MetaConfig,
} from './task-schema.js';
export {
  resolveSubtask,
  DEFAULT_MYDUMPER,
  DEFAULT_LOADER,
  DEFAULT_SYNCER,
  DEFAULT_VALIDATOR,
  type SubtaskConfig,
  type SubtaskConfigData,
} from './subtask.js';
export {
  loadSourceConfigFile,
  parseSourceConfig,
  type SourceConfig,
  type SourceConfigData,
  DEFAULT_CHECKER_BACKOFF_MIN_MS,
  DEFAULT_CHECKER_BACKOFF_MAX_MS,
} from './source.js';
export {
  loadMasterConfig,
  parseMasterConfig,
  loadWorkerConfig,
  parseWorkerConfig,
  dialableAddr,
  DEFAULT_MASTER_ADDR,
  DEFAULT_WORKER_ADDR,
  DEFAULT_PEER_URLS,
  DEFAULT_ETCD_CLIENT_URLS,
  DEFAULT_ETCD_PREFIX,
  DEFAULT_KEEPALIVE_TTL_MS,
  DEFAULT_RPC_MAX_REQUEST_BYTES,
  DEFAULT_RPC_MAX_CONNECTIONS,
  DEFAULT_RPC_HEADER_TIMEOUT_MS,
  DEFAULT_RPC_IDLE_TIMEOUT_MS,
  type MasterConfig,
  type MasterConfigData,
  type WorkerConfig,
  type WorkerConfigData,
  type ClusterLoadOptions,
} from './cluster-config.js';
export type { DBConfig, SecurityConfig } from './common-schema.js';
export { dbConnOf } from './db-conn.js';
export { taskConfigToYaml, sourceConfigToYaml, type ToYamlOptions } from './to-yaml.js';
export { masterConfigToYaml, workerConfigToYaml, clusterYamlToToml } from './cluster-to-yaml.js';
export { DEFAULT_LOG_MAX_SIZE_MB } from './log-schema.js';
export {
  encrypt,
  withEncryptedPassword,
  decrypt,
  decryptOrPlaintext,
  looksEncrypted,
  loadSecretKey,
  loadOrCreateSecretKey,
  encryptDM,
  generateSecretKeyHex,
  DEFAULT_SECRET_KEY,
  CIPHER_VERSION,
} from './encrypt.js';
export { parseDuration, formatDuration } from './duration.js';
export { etcdAccessOf, type EtcdAccess, type EtcdAccessConfig } from './etcd-access.js';
export type { DeepReadonly } from './freeze.js';
export { configOverrides, flagOverrides, type FlagOption } from './flag-overrides.js';
export { parseByteSize } from './byte-size.js';
