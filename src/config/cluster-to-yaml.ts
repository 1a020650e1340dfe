/**
 * A loaded dm-master / dm-worker config written back as a config file that loads again (what
 * `dmctl config master|worker` shows): DM's kebab-case keys in the schema's order, durations in
 * DM's units, nested tables (`experimental`, `log.file`) as nested maps.
 *
 * The key names are taken from the schemas themselves (masterSchema / workerSchema), so a key
 * added there is written back under its own name without a second list to keep in step.
 * Durations (every key whose schema is `duration`) are Go duration strings (`"30s"`), except
 * the keepalive TTLs, which DM's files give as whole seconds (`keepalive-ttl = 60`). `join` of a
 * worker is one comma-separated string, as DM writes it.
 */
import { stringify as yamlStringify, parse as yamlParse } from 'yaml';
import { stringify as tomlStringify } from 'smol-toml';
import { masterSchema, workerSchema, type MasterConfig, type WorkerConfig } from './cluster-config.js';
import { formatDuration } from './duration.js';
import { camelCase, duration } from './schema-helpers.js';

/** Keys DM writes as a number of seconds rather than a duration string. */
const SECONDS_KEYS = new Set(['keepalive-ttl', 'relay-keepalive-ttl']);
/** Keys DM writes as one comma-separated string even when DM.ts holds a list. */
const COMMA_KEYS = new Set(['join']);

/** zod internals we walk: wrappers (default, prefault, optional) and pipes (obj's transform). */
interface SchemaNode {
  shape?: Record<string, unknown>;
  in?: unknown;
  def?: { innerType?: unknown };
}

function unwrap(s: unknown): unknown {
  let cur = s;
  for (let i = 0; i < 10; i++) {
    const n = cur as SchemaNode;
    if (n.def?.innerType !== undefined) cur = n.def.innerType;
    else break;
  }
  return cur;
}

/** The kebab-case shape of an `obj()` schema (through default/optional wrappers), if it is one. */
function shapeOf(s: unknown): Record<string, unknown> | undefined {
  let cur = unwrap(s) as SchemaNode;
  if (cur.shape) return cur.shape;
  if (cur.in !== undefined) cur = unwrap(cur.in) as SchemaNode;
  return cur.shape;
}

function toDM(shape: Record<string, unknown>, value: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(shape)) {
    const v = value[camelCase(key)];
    if (v === undefined) continue;
    const inner = shapeOf(schema);
    if (inner && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      out[key] = toDM(inner, v as Record<string, unknown>);
    } else if (unwrap(schema) === duration && typeof v === 'number') {
      out[key] = SECONDS_KEYS.has(key) && v % 1000 === 0 ? v / 1000 : formatDuration(v);
    } else if (COMMA_KEYS.has(key) && Array.isArray(v)) {
      out[key] = v.join(',');
    } else {
      out[key] = v;
    }
  }
  return out;
}

function shapeOrThrow(s: unknown): Record<string, unknown> {
  const shape = shapeOf(s);
  if (!shape) throw new Error('cluster config schema has no object shape');
  return shape;
}

/** dm-master's loaded config as dm-master.yaml (DM's keys and units); it loads back to an equal config. */
export function masterConfigToYaml(cfg: MasterConfig): string {
  return yamlStringify(toDM(shapeOrThrow(masterSchema), cfg), { lineWidth: 0 });
}

/** dm-worker's loaded config as dm-worker.yaml (DM's keys and units); it loads back to an equal config. */
export function workerConfigToYaml(cfg: WorkerConfig): string {
  return yamlStringify(toDM(shapeOrThrow(workerSchema), cfg), { lineWidth: 0 });
}

/** A dm-master / dm-worker YAML config (as the two functions above write it) as DM's TOML. */
export function clusterYamlToToml(yamlText: string): string {
  const doc = (yamlParse(yamlText) ?? {}) as Record<string, unknown>;
  return `${tomlStringify(doc)}\n`;
}
