import { stringify } from 'yaml';
import { formatDuration } from './duration.js';
import { encrypt } from './encrypt.js';
import type { SourceConfig } from './source.js';
import type { TaskConfig } from './task.js';

/** camelCase field → DM key, where the plain rule (`fooBar` → `foo-bar`) does not give DM's name. */
const KEY_EXCEPTIONS: Record<string, string> = {
  collationCompatible: 'collation_compatible',
  onlineDDL: 'online-ddl',
  onlineDDLScheme: 'online-ddl-scheme',
};
/** Fields held as milliseconds that DM writes as duration strings. */
const DURATION_FIELDS = new Set([
  'safeModeDuration',
  'validateInterval',
  'checkInterval',
  'rowErrorDelay',
  'metaFlushInterval',
  'backoffRollback',
  'backoffMax',
  'backoffMin',
]);
/** Fields whose keys are user-chosen names (rule names, session variables): keys kept, values converted. */
const NAME_MAPS = new Set([
  'routes',
  'filters',
  'expressionFilter',
  'blockAllowList',
  'mydumpers',
  'loaders',
  'syncers',
  'validators',
]);
/** Maps kept entirely as they are. */
const VERBATIM = new Set(['session']);

function kebab(k: string): string {
  return KEY_EXCEPTIONS[k] ?? k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function convert(v: unknown, field?: string, depth = 0): unknown {
  if (Array.isArray(v)) return v.map((x) => convert(x, undefined, depth + 1));
  if (v === null || typeof v !== 'object') {
    if (field !== undefined && DURATION_FIELDS.has(field) && typeof v === 'number') return formatDuration(v);
    return v;
  }
  const o = v as Record<string, unknown>;
  if (field !== undefined && VERBATIM.has(field)) return { ...o };
  const out: Record<string, unknown> = {};
  if (field !== undefined && depth === 1 && NAME_MAPS.has(field)) {
    for (const [name, rule] of Object.entries(o)) out[name] = convert(rule, undefined, depth + 1);
    return out;
  }
  for (const [k, x] of Object.entries(o)) {
    if (x === undefined) continue;
    out[kebab(k)] = convert(x, k, depth + 1);
  }
  return out;
}

export interface ToYamlOptions {
  /** Key for encrypting passwords (default: the built-in key). Passwords are always written encrypted. */
  secretKey?: Buffer;
}

function encryptedPassword(p: string, key?: Buffer): string {
  return p === '' ? '' : encrypt(p, key);
}

/** A loaded task as DM-style YAML (kebab-case keys, durations as strings, password encrypted); it loads back to an equal config. */
export function taskConfigToYaml(task: TaskConfig, opts: ToYamlOptions = {}): string {
  const doc = convert(
    {
      ...task,
      targetDatabase: {
        ...task.targetDatabase,
        password: encryptedPassword(task.targetDatabase.password, opts.secretKey),
      },
    },
    undefined,
    0,
  );
  return stringify(doc, { lineWidth: 0 });
}

/** A loaded source as DM-style YAML (password encrypted); it loads back to an equal config. */
export function sourceConfigToYaml(source: SourceConfig, opts: ToYamlOptions = {}): string {
  const doc = convert(
    {
      ...source,
      from: { ...source.from, password: encryptedPassword(source.from.password, opts.secretKey) },
    },
    undefined,
    0,
  );
  return stringify(doc, { lineWidth: 0 });
}
