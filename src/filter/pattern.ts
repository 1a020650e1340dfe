/**
 * Name patterns as DM's rule selectors read them: a wildcard pattern (`*` any run of characters,
 * `?` exactly one character, `[a-z]` / `[!a-z]` a character class) or, with a `~` prefix, a
 * regular expression (unanchored, as Go's `regexp.MatchString`). Case-insensitive unless the
 * task sets `case-sensitive: true`.
 */
import { DMError } from '../errors/index.js';

export interface NameMatcher {
  /** The pattern as written in the task file. */
  readonly source: string;
  readonly isRegex: boolean;
  test(name: string): boolean;
}

function escapeRegexChar(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
}

/** Translate a DM wildcard pattern into an anchored JS regex source. */
export function wildcardToRegexSource(pattern: string): string {
  let out = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close === -1) {
        out += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, close);
      let neg = false;
      if (body.startsWith('!') && body.length > 1) {
        neg = true;
        body = body.slice(1);
      }
      let cls = '';
      for (let j = 0; j < body.length; j++) {
        const ch = body[j] as string;
        if (body[j + 1] === '-' && j + 2 < body.length) {
          cls += `${escapeRegexChar(ch)}-${escapeRegexChar(body[j + 2] as string)}`;
          j += 2;
        } else cls += escapeRegexChar(ch);
      }
      out += `[${neg ? '^' : ''}${cls}]`;
      i = close;
    } else out += escapeRegexChar(c);
  }
  return out + '$';
}

/**
 * Compile one pattern. Throws a DMError (ErrFilterInvalidRule) for an invalid regex.
 * `what` names the rule key for the message (e.g. `routes.rule-1.schema-pattern`).
 */
export function compilePattern(pattern: string, caseSensitive: boolean, what = 'pattern'): NameMatcher {
  const isRegex = pattern.startsWith('~');
  let flags = caseSensitive ? '' : 'i';
  let body = isRegex ? pattern.slice(1) : wildcardToRegexSource(pattern);
  // Go's inline `(?i)` (common in DM task files) is a flag in JS.
  if (isRegex && body.startsWith('(?i)')) {
    body = body.slice(4);
    flags = 'i';
  }
  let re: RegExp;
  try {
    re = new RegExp(body, flags);
  } catch (e) {
    throw new DMError('ErrFilterInvalidRule', `${what}: invalid regular expression ${JSON.stringify(pattern)}`, { cause: e });
  }
  return { source: pattern, isRegex, test: (name: string) => re.test(name) };
}

/** Compile a plain (non-`~`) regular expression given in a rule (extract-*, sql-pattern). */
export function compileRegex(source: string, flags: string, what: string): RegExp {
  let body = source;
  let f = flags;
  if (body.startsWith('(?i)')) {
    body = body.slice(4);
    if (!f.includes('i')) f += 'i';
  }
  try {
    return new RegExp(body, f);
  } catch (e) {
    throw new DMError('ErrFilterInvalidRule', `${what}: invalid regular expression ${JSON.stringify(source)}`, { cause: e });
  }
}

/** Schemas that are never migrated, whatever the rules say. */
export const SYSTEM_SCHEMAS: ReadonlySet<string> = new Set(['mysql', 'information_schema', 'performance_schema', 'sys']);

export function isSystemSchema(schema: string): boolean {
  return SYSTEM_SCHEMAS.has(schema.toLowerCase());
}
