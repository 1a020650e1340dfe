/**
 * DM's OpenAPI `Source` object ↔ DM's source.yaml. The JSON is turned into the YAML text that
 * `operate-source create` takes, so the master's one loader checks it (unknown keys, bad values);
 * the way back reads the stored source config for GET, with the password masked as DM does.
 * Fields DM.ts does not implement (a relay directory per source, certificates given as content)
 * are refused with 38952.
 */
import { parse, stringify } from 'yaml';
import { DMError } from '../../errors/index.js';

/** DM's `Source` schema (dm/openapi/spec/dm.yaml), the fields DM.ts reads. */
export type ApiSource = {
  source_name: string;
  host: string;
  port: number;
  user: string;
  password?: string | null;
  enable_gtid?: boolean;
  enable?: boolean;
  flavor?: string;
  security?: Record<string, unknown> | null;
  purge?: { interval?: number | null; expires?: number | null; remain_space?: number | null } | null;
  relay_config?: { enable_relay?: boolean | null; relay_binlog_name?: string | null; relay_binlog_gtid?: string | null; relay_dir?: string | null } | null;
};

const SOURCE_KEYS = new Set(['source_name', 'host', 'port', 'user', 'password', 'enable_gtid', 'enable', 'flavor', 'security', 'purge', 'relay_config', 'task_name_list', 'status_list']);

export function invalid(msg: string): DMError {
  return new DMError('ErrOpenAPIInvalidRequest', msg);
}
export function unsupported(msg: string): DMError {
  return new DMError('ErrOpenAPIUnsupported', msg);
}

/** Refuse keys not in `allowed` (path names the object, e.g. `source`). */
export function onlyKeys(o: Record<string, unknown>, allowed: ReadonlySet<string>, path: string): void {
  for (const k of Object.keys(o)) if (!allowed.has(k)) throw invalid(`${path}.${k}: unknown field`);
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Record<string, unknown>, k: string, path: string, required = false): string | undefined {
  const v = o[k];
  if (v === undefined || v === null) {
    if (required) throw invalid(`${path}.${k} is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw invalid(`${path}.${k} must be a string`);
  if (required && v === '') throw invalid(`${path}.${k} must not be empty`);
  return v;
}

function num(o: Record<string, unknown>, k: string, path: string, required = false): number | undefined {
  const v = o[k];
  if (v === undefined || v === null) {
    if (required) throw invalid(`${path}.${k} is required`);
    return undefined;
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw invalid(`${path}.${k} must be a non-negative integer`);
  return v;
}

function bool(o: Record<string, unknown>, k: string, path: string): boolean | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalid(`${path}.${k} must be true or false`);
  return v;
}

export const field = { str, num, bool };

/** A scalar as text, else `d`. */
export function scalar(v: unknown, d = ''): string {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : d;
}

/** A DM `Source` object → source.yaml text. */
export function sourceJsonToYaml(v: unknown, path = 'source'): string {
  if (!isObject(v)) throw invalid(`${path} must be an object`);
  onlyKeys(v, SOURCE_KEYS, path);
  const doc: Record<string, unknown> = { 'source-id': str(v, 'source_name', path, true) };
  const gtid = bool(v, 'enable_gtid', path);
  if (gtid !== undefined) doc['enable-gtid'] = gtid;
  const flavor = str(v, 'flavor', path);
  if (flavor) doc['flavor'] = flavor;
  if (bool(v, 'enable', path) === false) throw unsupported(`${path}.enable: a disabled source is not supported; leave it out or true`);
  const from: Record<string, unknown> = {
    host: str(v, 'host', path, true),
    port: num(v, 'port', path, true),
    user: str(v, 'user', path, true),
    password: str(v, 'password', path) ?? '',
  };
  if (v['security'] !== undefined && v['security'] !== null) {
    if (!isObject(v['security']) || Object.values(v['security']).some((x) => x !== null && x !== '' && !(Array.isArray(x) && x.length === 0))) {
      throw unsupported(`${path}.security: TLS certificates given as content are not supported; give ssl-ca/ssl-cert/ssl-key paths in a source.yaml through dmctl operate-source create`);
    }
  }
  doc['from'] = from;
  const purge = v['purge'];
  if (purge !== undefined && purge !== null) {
    if (!isObject(purge)) throw invalid(`${path}.purge must be an object`);
    onlyKeys(purge, new Set(['interval', 'expires', 'remain_space']), `${path}.purge`);
    const p: Record<string, unknown> = {};
    const interval = num(purge, 'interval', `${path}.purge`);
    const expires = num(purge, 'expires', `${path}.purge`);
    const remain = num(purge, 'remain_space', `${path}.purge`);
    if (interval !== undefined) p['interval'] = interval;
    if (expires !== undefined) p['expires'] = expires;
    if (remain !== undefined) p['remain-space'] = remain;
    if (Object.keys(p).length > 0) doc['purge'] = p;
  }
  const relay = v['relay_config'];
  if (relay !== undefined && relay !== null) {
    if (!isObject(relay)) throw invalid(`${path}.relay_config must be an object`);
    onlyKeys(relay, new Set(['enable_relay', 'relay_binlog_name', 'relay_binlog_gtid', 'relay_dir']), `${path}.relay_config`);
    const enable = bool(relay, 'enable_relay', `${path}.relay_config`);
    const name = str(relay, 'relay_binlog_name', `${path}.relay_config`);
    const gtid = str(relay, 'relay_binlog_gtid', `${path}.relay_config`);
    const dir = str(relay, 'relay_dir', `${path}.relay_config`);
    if (dir) throw unsupported(`${path}.relay_config.relay_dir: a relay directory per source is not supported; the relay is written under relay-dir of dm-worker.yaml (docs/relay.md)`);
    if (enable !== undefined) doc['enable-relay'] = enable;
    if (name) doc['relay-binlog-name'] = name;
    if (gtid) doc['relay-binlog-gtid'] = gtid;
  }
  return stringify(doc);
}

/** A stored source.yaml text → DM's `Source` object (password masked). */
export function sourceYamlToJson(text: string): ApiSource & { enable: boolean; security: null } {
  const doc = (parse(text) ?? {}) as Record<string, unknown>;
  const from = isObject(doc['from']) ? doc['from'] : {};
  const purge = isObject(doc['purge']) ? doc['purge'] : {};
  const out: ApiSource & { enable: boolean; security: null } = {
    source_name: scalar(doc['source-id'], ''),
    host: scalar(from['host'], ''),
    port: Number(from['port'] ?? 3306),
    user: scalar(from['user'], ''),
    password: '******',
    enable_gtid: doc['enable-gtid'] === true,
    enable: true,
    security: null,
    purge: {
      interval: typeof purge['interval'] === 'number' ? purge['interval'] : 3600,
      expires: typeof purge['expires'] === 'number' ? purge['expires'] : 0,
      remain_space: typeof purge['remain-space'] === 'number' ? purge['remain-space'] : 15,
    },
    relay_config: {
      enable_relay: doc['enable-relay'] === true,
      relay_binlog_name: scalar(doc['relay-binlog-name'], '') || null,
      relay_binlog_gtid: scalar(doc['relay-binlog-gtid'], '') || null,
      relay_dir: null,
    },
  };
  if (typeof doc['flavor'] === 'string' && doc['flavor'] !== '') out.flavor = doc['flavor'];
  return out;
}
