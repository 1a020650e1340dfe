/**
 * DM's TOML config files (`dm-master.toml`, `dm-worker.toml`). DM ships its samples, TiUP and
 * DM-Ansible deployments and its docs in TOML; DM.ts reads them into the same YamlFile shape the
 * YAML loader produces, so the same strict schema, defaults and checks apply and an error names
 * the file, the line and the key exactly as for YAML.
 *
 * Which format a file is: a `.toml` name, or (any other name) text that has `key = value` or
 * `[table]` lines and no `key: value` line. Line numbers come from the source text: the line of
 * the key (`key = ...`, also dotted `a.b = ...`) or of the `[table]` header that holds it.
 */
import { extname } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { DMError } from '../errors/index.js';
import type { KeyPath, YamlFile } from './yaml-doc.js';

/** `key = value` or `[section]` lines and no `key: value` line: DM's TOML, not YAML. */
export function looksLikeToml(text: string): boolean {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '' && !/^\s*#/.test(l));
  return (
    lines.some((l) => /^\s*("[^"]*"|[A-Za-z0-9_.-]+)\s*=/.test(l) || /^\s*\[\[?[A-Za-z0-9_.-]+\]\]?\s*$/.test(l)) &&
    !lines.some((l) => /^\s*[A-Za-z0-9_.-]+:(\s|$)/.test(l))
  );
}

/** Whether a dm-master / dm-worker config file is TOML: by its extension, else by its content. */
export function isTomlConfig(text: string, file: string): boolean {
  const ext = extname(file).toLowerCase();
  if (ext === '.toml') return true;
  return looksLikeToml(text);
}

/** One key or table header of the source text with the key path it defines. */
interface Located {
  path: (string | number)[];
  line: number;
}

/** `a."b.c".d` → `['a', 'b.c', 'd']` (bare and quoted keys, TOML's dotted-key rules). */
function splitDottedKey(s: string): string[] {
  const out: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*(\.|$)/y;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) break;
    out.push(m[1] ?? m[2] ?? m[3] ?? '');
    pos = re.lastIndex;
    if (m[4] === '') break;
  }
  return out;
}

const KEY_PART = String.raw`(?:"(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)`;
const HEADER = new RegExp(String.raw`^\s*(\[\[?)\s*(${KEY_PART}(?:\s*\.\s*${KEY_PART})*)\s*\]\]?\s*(?:#.*)?$`);
const KEY_LINE = new RegExp(String.raw`^\s*(${KEY_PART}(?:\s*\.\s*${KEY_PART})*)\s*=`);

/** Where each key and table header is, from the source text (multi-line strings skipped). */
function locate(text: string): Located[] {
  const out: Located[] = [];
  const arrayCounts = new Map<string, number>();
  let table: (string | number)[] = [];
  let inMultiline: '"""' | "'''" | undefined;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (inMultiline) {
      if (raw.split(inMultiline).length % 2 === 0) inMultiline = undefined;
      return;
    }
    const header = HEADER.exec(raw);
    if (header) {
      const keys = splitDottedKey(header[2] ?? '');
      if (header[1] === '[[') {
        const id = JSON.stringify(keys);
        const n = arrayCounts.get(id) ?? 0;
        arrayCounts.set(id, n + 1);
        table = [...keys, n];
      } else {
        table = keys;
      }
      out.push({ path: table, line });
      return;
    }
    const kv = KEY_LINE.exec(raw);
    if (kv) {
      out.push({ path: [...table, ...splitDottedKey(kv[1] ?? '')], line });
      for (const q of ['"""', "'''"] as const) {
        if (raw.split(q).length % 2 === 0) inMultiline = q;
      }
    }
  });
  return out;
}

/** 1-based line of the key at `path` (+ `key`), or of its nearest ancestor written in the file. */
function lineIn(located: readonly Located[], path: KeyPath, key?: string): number {
  const steps = key === undefined ? [...path] : [...path, key];
  let best = 1;
  let bestLen = -1;
  for (const l of located) {
    if (l.path.length > steps.length || l.path.length <= bestLen) continue;
    if (l.path.every((p, i) => String(p) === String(steps[i]))) {
      best = l.line;
      bestLen = l.path.length;
    }
  }
  return best;
}

/** TOML values as the schemas expect them (dates stay as they are; the schema refuses them). */
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'bigint') return Number(v);
  if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = plain(x);
    return out;
  }
  return v;
}

/** Parse TOML text; a syntax error is ErrConfigTomlParse with its line. */
export function parseTomlFile(text: string, file: string): YamlFile {
  let data: unknown;
  try {
    data = parse(text);
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split('\n')[0] ?? e.message;
      throw new DMError('ErrConfigTomlParse', `${file}:${e.line}: ${first.replace(/^Invalid TOML document: /, '')}`, { cause: e });
    }
    throw new DMError('ErrConfigTomlParse', `${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const located = locate(text);
  return { file, data: plain(data), lineOf: (path, key) => lineIn(located, path, key) };
}
