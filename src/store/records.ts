import type { Etcd3 } from 'etcd3';
import { DMError } from '../errors/index.js';

export interface KV {
  key: string;
  value: string;
  modRevision: string;
  createRevision: string;
  lease: string;
}

/** Read one key's text; undefined when absent. */
export async function getText(client: Etcd3, key: string): Promise<string | undefined> {
  const v = await client.get(key).string();
  return v ?? undefined;
}

/** Read one key holding JSON; undefined when absent; ErrEtcdBadRecord when it does not parse. */
export async function getJSON<T>(client: Etcd3, key: string): Promise<T | undefined> {
  const v = await getText(client, key);
  return v === undefined ? undefined : parseJSON<T>(key, v);
}

export function parseJSON<T>(key: string, text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new DMError('ErrEtcdBadRecord', `key ${key} does not hold JSON`, { cause: e });
  }
}

/** Every key under a prefix, with the response revision (to watch from revision + 1). */
export async function listPrefix(client: Etcd3, prefix: string): Promise<{ kvs: KV[]; revision: string }> {
  const res = await client.getAll().prefix(prefix).exec();
  return {
    revision: res.header.revision,
    kvs: res.kvs.map((kv) => ({
      key: kv.key.toString(),
      value: kv.value.toString(),
      modRevision: kv.mod_revision,
      createRevision: kv.create_revision,
      lease: kv.lease,
    })),
  };
}

/** Every JSON record under a prefix, keyed by the last path element. */
export async function listJSON<T>(client: Etcd3, prefix: string): Promise<Map<string, T>> {
  const { kvs } = await listPrefix(client, prefix);
  const out = new Map<string, T>();
  for (const kv of kvs) out.set(kv.key.slice(kv.key.lastIndexOf('/') + 1), parseJSON<T>(kv.key, kv.value));
  return out;
}

/** Every text value under a prefix, keyed by the last path element. */
export async function listText(client: Etcd3, prefix: string): Promise<Map<string, string>> {
  const { kvs } = await listPrefix(client, prefix);
  const out = new Map<string, string>();
  for (const kv of kvs) out.set(kv.key.slice(kv.key.lastIndexOf('/') + 1), kv.value);
  return out;
}
