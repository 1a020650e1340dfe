import { hostname } from 'node:os';
import { basename } from 'node:path';
import { z } from 'zod';
import { logLevelSchema } from './common-schema.js';
import { deepFreeze, type DeepReadonly } from './freeze.js';
import { parseWith, throwProblems, type Problem } from './problems.js';
import { bool, duration, lowerEnum, obj, posInt, str, strList } from './schema-helpers.js';
import { readConfigFile } from './load-common.js';
import { logKeys, unsupportedLogKeys } from './log-schema.js';
import { isTomlConfig, parseTomlFile } from './toml.js';
import { parseYamlFile, type YamlFile } from './yaml-doc.js';
import {
  DEFAULT_RPC_RATE_BURST,
  DEFAULT_RPC_RATE_LIMIT,
  DEFAULT_RPC_TIMEOUT_MS,
  DEFAULT_RELAY_KEEPALIVE_TTL_MS,
  unsupportedMasterKeys,
  unsupportedWorkerKeys,
} from './unsupported.js';
import { DMError } from '../errors/index.js';

// ---- defaults ---------------------------------------------------------------------------------
export const DEFAULT_MASTER_ADDR = ':8261';
export const DEFAULT_PEER_URLS = 'http://127.0.0.1:8291';
/** DM.ts: client URL of the embedded etcd member (DM serves etcd on master-addr itself). */
export const DEFAULT_ETCD_CLIENT_URLS = 'http://127.0.0.1:8271';
export const DEFAULT_ETCD_PREFIX = '/dm/';
export { DEFAULT_RPC_TIMEOUT_MS, DEFAULT_RPC_RATE_LIMIT, DEFAULT_RPC_RATE_BURST, DEFAULT_RELAY_KEEPALIVE_TTL_MS } from './unsupported.js';
export const DEFAULT_MAX_TXN_OPS = 2048;
export const DEFAULT_MAX_REQUEST_BYTES = 1_572_864;
export const DEFAULT_QUOTA_BACKEND_BYTES = 2 * 1024 * 1024 * 1024;
export const DEFAULT_AUTO_COMPACTION_RETENTION = '1h';
export const DEFAULT_WORKER_ADDR = ':8262';
/** Worker liveness lease TTL (DM.ts default 10 s; DM uses 60 s). */
export const DEFAULT_KEEPALIVE_TTL_MS = 10_000;
export const DEFAULT_WORKER_RELAY_DIR = './relay_log';

// ---- security (DM.ts; docs/security.md) -------------------------------------------------------
/** Largest RPC request body, as sent and after decompression (StartTask's YAML included). */
export const DEFAULT_RPC_MAX_REQUEST_BYTES = 4 * 1024 * 1024;
/** Concurrent TCP connections accepted by one dm-master / dm-worker port. */
export const DEFAULT_RPC_MAX_CONNECTIONS = 1024;
/** Time a client has to send its request headers (and, on a fresh connection, its first bytes). */
export const DEFAULT_RPC_HEADER_TIMEOUT_MS = 10_000;
/** An idle keep-alive connection (HTTP/1.1) or HTTP/2 session is closed after this. */
export const DEFAULT_RPC_IDLE_TIMEOUT_MS = 120_000;


/** A list given as a YAML list or as one comma-separated string (as DM's flags take it). */
const addrList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s !== ''));

/**
 * The security keys of dm-master.yaml and dm-worker.yaml (one block, both processes):
 * who may call (tokens, the cluster-internal token; `cert-allowed-cn` is in `common`), which
 * browser origins, how large a request may be, and how this process reaches etcd securely.
 */
const security = {
  /** YAML file of hashed bearer tokens with roles (read | admin); set = token auth on. */
  'auth-token-file': str.optional(),
  /** File holding the token masters and workers present to each other (same file everywhere). */
  'cluster-token-file': str.optional(),
  /** Require a read credential for GET /status and /metrics too (when auth is on). */
  'auth-http-endpoints': bool.default(false),
  /** Browser origins allowed to call (exact scheme://host:port, or "*"); default none. */
  'cors-allowed-origins': addrList.default([]),
  'rpc-max-request-bytes': posInt.default(DEFAULT_RPC_MAX_REQUEST_BYTES),
  'rpc-max-connections': posInt.default(DEFAULT_RPC_MAX_CONNECTIONS),
  'rpc-header-timeout': duration.default(DEFAULT_RPC_HEADER_TIMEOUT_MS),
  'rpc-idle-timeout': duration.default(DEFAULT_RPC_IDLE_TIMEOUT_MS),
  /** TLS to etcd (and, on a master, served by its embedded etcd for clients and peers). */
  'etcd-ssl-ca': str.optional(),
  'etcd-ssl-cert': str.optional(),
  'etcd-ssl-key': str.optional(),
  /** etcd authentication (password may be `dmctl encrypt` text). */
  'etcd-user': str.optional(),
  'etcd-password': str.optional(),
};

const common = {
  name: str.optional(),
  'log-level': logLevelSchema,
  'log-file': str.default(''),
  'log-format': lowerEnum(['text', 'json']).default('text'),
  'ssl-ca': str.optional(),
  'ssl-cert': str.optional(),
  'ssl-key': str.optional(),
  'cert-allowed-cn': strList.optional(),
  /** Accepted for DM compatibility (dm-worker.toml/dm-master.toml `config-file`); ignored. */
  'config-file': str.optional(),
  ...logKeys,
  ...security,
};

export const masterSchema = obj({
  ...common,
  'master-addr': str.default(DEFAULT_MASTER_ADDR),
  'advertise-addr': str.optional(),
  'data-dir': str.optional(),
  'peer-urls': str.default(DEFAULT_PEER_URLS),
  'advertise-peer-urls': str.optional(),
  'initial-cluster': str.optional(),
  'initial-cluster-state': lowerEnum(['new', 'existing']).default('new'),
  join: str.default(''),
  'rpc-timeout': duration.default(DEFAULT_RPC_TIMEOUT_MS),
  'rpc-rate-limit': z.number().min(0).default(DEFAULT_RPC_RATE_LIMIT),
  'rpc-rate-burst': posInt.default(DEFAULT_RPC_RATE_BURST),
  'max-txn-ops': posInt.default(DEFAULT_MAX_TXN_OPS),
  'max-request-bytes': posInt.default(DEFAULT_MAX_REQUEST_BYTES),
  'auto-compaction-mode': lowerEnum(['periodic', 'revision']).default('periodic'),
  'auto-compaction-retention': str.default(DEFAULT_AUTO_COMPACTION_RETENTION),
  'quota-backend-bytes': posInt.default(DEFAULT_QUOTA_BACKEND_BYTES),
  openapi: bool.default(false),
  'v1-sources-path': str.optional(),
  'secret-key-path': str.optional(),
  /** DM.ts: use this external etcd cluster instead of starting an embedded member. */
  'etcd-endpoints': addrList.default([]),
  /** DM.ts: client URL of the embedded etcd member. */
  'etcd-client-urls': str.default(DEFAULT_ETCD_CLIENT_URLS),
  /** DM.ts: key prefix of this cluster in etcd. */
  'etcd-prefix': str.default(DEFAULT_ETCD_PREFIX),
  /** Worker liveness lease TTL used when the scheduler decides a worker is gone. */
  'keepalive-ttl': duration.default(DEFAULT_KEEPALIVE_TTL_MS),
  experimental: obj({ openapi: bool.default(false) }).prefault({}),
});

export const workerSchema = obj({
  ...common,
  'worker-addr': str.default(DEFAULT_WORKER_ADDR),
  'advertise-addr': str.optional(),
  /** dm-master addresses (comma-separated or a list). */
  join: addrList,
  'keepalive-ttl': duration.default(DEFAULT_KEEPALIVE_TTL_MS),
  'relay-keepalive-ttl': duration.default(DEFAULT_RELAY_KEEPALIVE_TTL_MS),
  'relay-dir': str.default(DEFAULT_WORKER_RELAY_DIR),
  /** DM.ts: etcd endpoints; empty = ask the master which etcd to use. */
  'etcd-endpoints': addrList.default([]),
  /**
   * DM.ts: the masters' `secret-key-path` key file, to decrypt the passwords stored in etcd
   * (source and task configs). Unset = the built-in key, as on the masters.
   */
  'secret-key-path': str.optional(),
});

type RawMaster = z.output<typeof masterSchema>;
type RawWorker = z.output<typeof workerSchema>;

/** dm-master.yaml after loading: every address filled in, durations in milliseconds. */
export type MasterConfigData = Omit<
  RawMaster,
  'name' | 'advertiseAddr' | 'dataDir' | 'advertisePeerUrls' | 'initialCluster'
> & {
  name: string;
  advertiseAddr: string;
  dataDir: string;
  advertisePeerUrls: string;
  initialCluster: string;
};
export type MasterConfig = DeepReadonly<MasterConfigData>;

/** dm-worker.yaml after loading. */
export type WorkerConfigData = Omit<RawWorker, 'name' | 'advertiseAddr'> & {
  name: string;
  advertiseAddr: string;
};
export type WorkerConfig = DeepReadonly<WorkerConfigData>;

export interface ClusterLoadOptions {
  /** Name used in messages. */
  file?: string;
  /** Values from command-line flags, with the file's kebab-case keys; they win over the file. */
  overrides?: Record<string, unknown>;
}

/** `:8261` → `127.0.0.1:8261`; `0.0.0.0:8261` → `127.0.0.1:8261` (an address others can dial). */
export function dialableAddr(addr: string): string {
  const i = addr.lastIndexOf(':');
  if (i < 0) return addr;
  const host = addr.slice(0, i);
  return host === '' || host === '0.0.0.0' || host === '::' || host === '[::]'
    ? `127.0.0.1${addr.slice(i)}`
    : addr;
}

/**
 * The file text as a map of keys: DM's TOML (`.toml`, or TOML content; src/config/toml.ts) or
 * YAML. Anything else is refused with ErrConfigFileFormat naming the file, never read as an empty
 * document (which would start the process with every default, silently ignoring the file).
 */
function clusterFile(text: string, file: string): YamlFile {
  if (isTomlConfig(text, file)) return parseTomlFile(text, file);
  const src = parseYamlFile(text, file);
  if (src.data !== undefined && src.data !== null && (typeof src.data !== 'object' || Array.isArray(src.data))) {
    throw new DMError('ErrConfigFileFormat', `${file}: expected a YAML map of keys (key: value), got ${Array.isArray(src.data) ? 'a list' : typeof src.data}`);
  }
  return src;
}

function withOverrides(src: YamlFile, overrides: Record<string, unknown> | undefined): YamlFile {
  if (!overrides) return src;
  const base =
    src.data !== null && typeof src.data === 'object' && !Array.isArray(src.data)
      ? (src.data as Record<string, unknown>)
      : {};
  const merged = { ...base };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) merged[k] = v;
  return { ...src, data: merged };
}

const ADDR_RE = /^[^\s:]*:\d{1,5}$/;

/** `cert-allowed-cn` checks client certificates: it needs mutual TLS (`ssl-ca`, `ssl-cert`, `ssl-key`). */
function checkSecurity(out: Problem[], raw: { certAllowedCn?: readonly string[] | undefined; sslCa?: string | undefined; sslCert?: string | undefined; sslKey?: string | undefined }): void {
  if ((raw.certAllowedCn?.length ?? 0) > 0 && !(raw.sslCa && raw.sslCert && raw.sslKey))
    out.push({
      code: 'ErrConfigCrossField',
      path: ['cert-allowed-cn'],
      detail: 'cert-allowed-cn checks client certificates: set ssl-ca, ssl-cert and ssl-key too (mutual TLS)',
    });
}

function checkAddr(out: Problem[], key: string, v: string | undefined): void {
  if (v !== undefined && !ADDR_RE.test(v))
    out.push({
      code: 'ErrConfigInvalidValue',
      path: [key],
      detail: `"${v}" is not a host:port address (":8261" listens on all interfaces)`,
    });
}

/** Load dm-master.yaml text (empty text = all defaults) plus flag overrides. */
export function parseMasterConfig(text: string, opts: ClusterLoadOptions = {}): MasterConfig {
  const src = withOverrides(clusterFile(text, opts.file ?? 'dm-master.yaml'), opts.overrides);
  const raw = parseWith(masterSchema, src);
  const problems: Problem[] = [];
  checkAddr(problems, 'master-addr', raw.masterAddr);
  checkAddr(problems, 'advertise-addr', raw.advertiseAddr);
  checkSecurity(problems, raw);
  if (raw.join !== '' && raw.initialClusterState === 'existing') {
    problems.push({
      code: 'ErrConfigCrossField',
      path: ['join'],
      detail: 'set either join or initial-cluster-state: existing, not both',
    });
  }
  if (problems.length === 0) problems.push(...unsupportedMasterKeys(raw), ...unsupportedLogKeys(raw));
  if (problems.length) throwProblems(src, problems);
  const name = raw.name ?? `dm-master-${hostname()}`;
  const advertisePeerUrls = raw.advertisePeerUrls ?? raw.peerUrls;
  return deepFreeze({
    ...raw,
    name,
    advertiseAddr: raw.advertiseAddr ?? dialableAddr(raw.masterAddr),
    dataDir: raw.dataDir ?? `default.${name}`,
    advertisePeerUrls,
    initialCluster: raw.initialCluster ?? `${name}=${advertisePeerUrls}`,
  });
}

/** Read dm-master.yaml or DM's dm-master.toml (or no file) plus flag overrides. */
export function loadMasterConfig(path: string | undefined, opts: ClusterLoadOptions = {}): MasterConfig {
  const text = path === undefined ? '' : readConfigFile(path);
  return parseMasterConfig(text, {
    ...opts,
    file: opts.file ?? (path === undefined ? 'dm-master flags' : basename(path)),
  });
}

/** Load dm-worker.yaml text plus flag overrides. */
export function parseWorkerConfig(text: string, opts: ClusterLoadOptions = {}): WorkerConfig {
  const src = withOverrides(clusterFile(text, opts.file ?? 'dm-worker.yaml'), opts.overrides);
  const raw = parseWith(workerSchema, src);
  const problems: Problem[] = [];
  checkAddr(problems, 'worker-addr', raw.workerAddr);
  checkAddr(problems, 'advertise-addr', raw.advertiseAddr);
  checkSecurity(problems, raw);
  if (raw.join.length === 0)
    problems.push({
      code: 'ErrConfigMissingKey',
      path: ['join'],
      detail: 'join needs at least one dm-master address',
    });
  if (problems.length === 0) problems.push(...unsupportedWorkerKeys(raw), ...unsupportedLogKeys(raw));
  if (problems.length) throwProblems(src, problems);
  return deepFreeze({
    ...raw,
    name: raw.name ?? `dm-worker-${hostname()}`,
    advertiseAddr: raw.advertiseAddr ?? dialableAddr(raw.workerAddr),
  });
}

/** Read dm-worker.yaml or DM's dm-worker.toml (or no file) plus flag overrides. */
export function loadWorkerConfig(path: string | undefined, opts: ClusterLoadOptions = {}): WorkerConfig {
  const text = path === undefined ? '' : readConfigFile(path);
  return parseWorkerConfig(text, {
    ...opts,
    file: opts.file ?? (path === undefined ? 'dm-worker flags' : basename(path)),
  });
}
