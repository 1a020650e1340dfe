import type { z } from 'zod';
import { DMError, type ErrorCodeName } from '../errors/index.js';
import type { KeyPath, YamlFile } from './yaml-doc.js';

/** One thing wrong in a config file, with where it is. */
export interface Problem {
  code: ErrorCodeName;
  path: KeyPath;
  /** Set for an unknown key: the key itself (path is its parent object). */
  key?: string;
  detail: string;
}

/** `mysql-instances[0].route-rules[1]` */
export function formatPath(path: KeyPath): string {
  let s = '';
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else s += s === '' ? p : `.${p}`;
  }
  return s === '' ? '(top level)' : s;
}

function rank(p: Problem): number {
  return p.code === 'ErrConfigUnknownKey' ? 0 : 1;
}

/** Throw one DMError for a list of problems: code of the first (by line), every problem in the message. */
export function throwProblems(src: YamlFile, problems: readonly Problem[]): never {
  const located = problems
    .map((p) => ({ p, line: src.lineOf(p.path, p.key) }))
    // an unknown key first: a misspelt key also shows up as a missing one
    .sort((a, b) => rank(a.p) - rank(b.p) || a.line - b.line);
  const first = located[0];
  if (!first) throw new DMError('ErrInternal', `${src.file}: throwProblems called without problems`);
  const render = ({ p, line }: { p: Problem; line: number }): string => {
    const where = p.key === undefined ? p.path : [...p.path, p.key];
    return `${src.file}:${line}: ${formatPath(where)}: ${p.detail}`;
  };
  const shown = located.slice(0, 10).map(render);
  if (located.length > 10) shown.push(`... and ${located.length - 10} more problems`);
  throw new DMError(first.p.code, shown.join('\n'));
}

const ALLOWED_MARK = 'allowed keys: ';

/** The error option for z.strictObject: puts the list of allowed keys into the unknown-key issue. */
export function unknownKeyMessage(
  allowed: readonly string[],
): (iss: { code?: string }) => string | undefined {
  return (iss) => (iss.code === 'unrecognized_keys' ? ALLOWED_MARK + allowed.join(', ') : undefined);
}

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The closest candidate when it is close enough to be a likely typo. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const w = word.toLowerCase();
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(2, Math.floor(word.length / 3));
  if (bestD <= limit) return best;
  // `sql_mode` vs `sql-mode`, `worker_count` vs `worker-count`
  if (best.replace(/[-_]/g, '') === w.replace(/[-_]/g, '')) return best;
  return undefined;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = data;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Date) return 'a date';
  if (typeof v === 'object') return 'a map';
  return `${typeof v} ${JSON.stringify(v)}`;
}

const EXPECTED_WORDS: Record<string, string> = {
  object: 'a map of keys',
  record: 'a map of keys',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
};

function expectedOf(issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'invalid_type') return [EXPECTED_WORDS[issue.expected] ?? String(issue.expected)];
  if (issue.code === 'invalid_union') return issue.errors.flatMap((list) => list.flatMap(expectedOf));
  if (issue.code === 'invalid_value')
    return [`one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`];
  return [];
}

/** Turn zod issues into problems with DM-style wording. */
export function zodProblems(error: z.ZodError, data: unknown): Problem[] {
  const out: Problem[] = [];
  for (const issue of error.issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    const actual = valueAt(data, issue.path);
    switch (issue.code) {
      case 'unrecognized_keys': {
        const allowed = issue.message.startsWith(ALLOWED_MARK)
          ? issue.message.slice(ALLOWED_MARK.length).split(', ')
          : [];
        for (const key of issue.keys) {
          const hint = didYouMean(key, allowed);
          out.push({
            code: 'ErrConfigUnknownKey',
            path,
            key,
            detail: `unknown key "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}; allowed keys here: ${allowed.join(', ')}`,
          });
        }
        break;
      }
      case 'invalid_type':
      case 'invalid_union': {
        if (actual === undefined) {
          out.push({ code: 'ErrConfigMissingKey', path, detail: 'required key is missing' });
          break;
        }
        const exp = [...new Set(expectedOf(issue))];
        out.push({
          code: 'ErrConfigInvalidValue',
          path,
          detail: `expected ${exp.length ? exp.join(' or ') : 'another type'}, got ${typeName(actual)}`,
        });
        break;
      }
      case 'invalid_value': {
        const hint = typeof actual === 'string' ? didYouMean(actual, issue.values.map(String)) : undefined;
        out.push({
          code: 'ErrConfigInvalidValue',
          path,
          detail: `invalid value ${JSON.stringify(actual)}${hint ? ` (did you mean "${hint}"?)` : ''}; allowed: ${issue.values
            .map((v) => JSON.stringify(v))
            .join(', ')}`,
        });
        break;
      }
      case 'too_small':
        if (issue.origin === 'array') {
          out.push({
            code: 'ErrConfigInvalidValue',
            path,
            detail: `needs at least ${issue.minimum} entr${issue.minimum === 1 ? 'y' : 'ies'}`,
          });
          break;
        }
        out.push({
          code: 'ErrConfigInvalidValue',
          path,
          detail: `value ${JSON.stringify(actual)} is too small; minimum ${issue.minimum}`,
        });
        break;
      case 'too_big':
        out.push({
          code: 'ErrConfigInvalidValue',
          path,
          detail: `value ${JSON.stringify(actual)} is too big; maximum ${issue.maximum}`,
        });
        break;
      default:
        out.push({
          code: 'ErrConfigInvalidValue',
          path,
          detail: `${issue.message} (got ${typeName(actual)})`,
        });
    }
  }
  return out;
}

/** Parse `data` with `schema`; on failure throw one DMError naming file, line and key path. */
export function parseWith<S extends z.ZodType>(schema: S, src: YamlFile): z.output<S> {
  const r = schema.safeParse(src.data);
  if (!r.success) throwProblems(src, zodProblems(r.error, src.data));
  return r.data;
}
