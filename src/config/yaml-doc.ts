import {
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node,
} from 'yaml';
import { DMError } from '../errors/index.js';

/** A key path inside a config file, in the file's own (kebab-case) key names. */
export type KeyPath = readonly (string | number)[];

/**
 * One parsed YAML config file: its plain JS value plus what is needed to point at a line.
 * Keys whose value is `null` (written as `key:` with nothing after it) are dropped, as DM's
 * YAML decoder leaves such fields at their defaults.
 */
export interface YamlFile {
  /** Name used in messages (the path as given, or e.g. `task.yaml` for text from RPC). */
  readonly file: string;
  readonly data: unknown;
  /** 1-based line of the value at `path` (or of the nearest ancestor that exists). */
  lineOf(path: KeyPath, key?: string): number;
  /** The parsed YAML document (comments and layout kept), to write the file back changed (clone it first); absent for TOML. */
  readonly document?: Document;
}

/** Parse YAML text, keeping node ranges; a syntax error is ErrConfigYamlParse with its line. */
export function parseYamlFile(text: string, file: string): YamlFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, merge: true, prettyErrors: false });
  const first = doc.errors[0];
  if (first) {
    const line = first.linePos?.[0].line ?? lineCounter.linePos(first.pos[0]).line;
    throw new DMError(
      'ErrConfigYamlParse',
      `${file}:${line}: ${first.message.split('\n')[0] ?? first.message}`,
    );
  }
  const data = dropNulls(doc.toJS({ maxAliasCount: 1000 }) ?? {});
  return {
    file,
    data,
    lineOf: (path, key) => lineOf(doc, lineCounter, path, key),
    document: doc,
  };
}

function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (v !== null && typeof v === 'object' && !(v instanceof Date) && !(v instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== null) out[k] = dropNulls(x);
    return out;
  }
  return v;
}

function lineOf(doc: Document, lc: LineCounter, path: KeyPath, key?: string): number {
  let node: unknown = doc.contents;
  let best = 1;
  const at = (n: unknown): number | undefined => {
    if (isNode(n) && n.range) return lc.linePos(n.range[0]).line;
    return undefined;
  };
  best = at(node) ?? best;
  const steps: (string | number)[] = [...path];
  if (key !== undefined) steps.push(key);
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    const last = i === steps.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && keyString(p.key) === String(step));
      if (!pair) return best;
      // for the last step point at the key itself (values of block maps start on the next line)
      const kl = at(pair.key);
      if (kl !== undefined) best = kl;
      if (last) return best;
      node = pair.value;
      if (!isMap(node) && !isSeq(node)) {
        const vl = at(node);
        if (vl !== undefined) best = vl;
      }
    } else if (isSeq(node) && typeof step === 'number') {
      const item: unknown = node.items[step];
      if (item === undefined) return best;
      best = at(item) ?? best;
      node = item;
    } else {
      return best;
    }
  }
  return best;
}

function keyString(k: unknown): string | undefined {
  if (isScalar(k)) return String(k.value);
  if (isNode(k)) return String((k as Node).toJSON());
  return undefined;
}
