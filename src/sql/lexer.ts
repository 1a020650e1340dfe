/**
 * A MySQL/MariaDB tokenizer: enough of the lexical grammar to locate identifiers in DDL text
 * exactly (quoted identifiers with doubled backticks, strings with backslash escapes and doubled
 * quotes, `--`, `#` and `/* *\/` comments, `/*! ... *\/` executable comments treated as comments).
 * Every token keeps its [start, end) offsets in the original text so that a rewrite can replace
 * just the identifier tokens and keep everything else byte for byte.
 */
export type TokenKind = 'word' | 'qident' | 'string' | 'number' | 'punct' | 'var';

export interface Token {
  kind: TokenKind;
  /** Original text of the token. */
  text: string;
  /** For words and quoted identifiers: the identifier's value (unquoted); for strings: the raw inner text. */
  value: string;
  start: number;
  end: number;
}

const WORD_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/u;

/** The `sql_mode` flags that change the lexical grammar. */
export interface LexMode {
  /** ANSI_QUOTES: `"x"` is an identifier, not a string. */
  ansiQuotes?: boolean;
  /** NO_BACKSLASH_ESCAPES: a backslash in a string is an ordinary character. */
  noBackslashEscapes?: boolean;
}

/** Tokenize; whitespace and comments are dropped. Throws on an unterminated quote or comment. */
export function tokenize(sql: string, mode: LexMode = {}): Token[] {
  const identQuotes = mode.ansiQuotes ? '`"' : '`';
  const backslash = mode.noBackslashEscapes !== true;
  const out: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i] as string;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (c === '#' || (c === '-' && sql[i + 1] === '-' && (i + 2 >= n || /\s/.test(sql[i + 2] as string)))) {
      while (i < n && sql[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end === -1) throw new SyntaxError(`unterminated comment at offset ${i}`);
      i = end + 2;
      continue;
    }
    if (identQuotes.includes(c)) {
      let j = i + 1;
      let v = '';
      for (;;) {
        if (j >= n) throw new SyntaxError(`unterminated quoted identifier at offset ${i}`);
        const d = sql[j] as string;
        if (d === c) {
          if (sql[j + 1] === c) {
            v += c;
            j += 2;
            continue;
          }
          break;
        }
        v += d;
        j++;
      }
      out.push({ kind: 'qident', text: sql.slice(i, j + 1), value: v, start: i, end: j + 1 });
      i = j + 1;
      continue;
    }
    if (c === "'" || c === '"') {
      let j = i + 1;
      for (;;) {
        if (j >= n) throw new SyntaxError(`unterminated string at offset ${i}`);
        const d = sql[j] as string;
        if (d === '\\' && backslash) {
          j += 2;
          continue;
        }
        if (d === c) {
          if (sql[j + 1] === c) {
            j += 2;
            continue;
          }
          break;
        }
        j++;
      }
      out.push({ kind: 'string', text: sql.slice(i, j + 1), value: sql.slice(i + 1, j), start: i, end: j + 1 });
      i = j + 1;
      continue;
    }
    if (c === '@') {
      let j = i + 1;
      while (j < n && (WORD_CHAR.test(sql[j] as string) || sql[j] === '@' || sql[j] === '.')) j++;
      out.push({ kind: 'var', text: sql.slice(i, j), value: sql.slice(i, j), start: i, end: j });
      i = j;
      continue;
    }
    if (WORD_CHAR.test(c)) {
      let j = i + 1;
      while (j < n && WORD_CHAR.test(sql[j] as string)) j++;
      const text = sql.slice(i, j);
      // A number is all digits (with an optional fraction/exponent, e.g. 1.5e3); `1abc` is an identifier.
      if (/^\d+$/.test(text)) {
        let k = j;
        if (sql[k] === '.' && /\d/.test(sql[k + 1] ?? '')) {
          k++;
          while (k < n && /[0-9eE+-]/.test(sql[k] as string)) k++;
        }
        out.push({ kind: 'number', text: sql.slice(i, k), value: sql.slice(i, k), start: i, end: k });
        i = k;
        continue;
      }
      out.push({ kind: 'word', text, value: text, start: i, end: j });
      i = j;
      continue;
    }
    // multi-char operators are irrelevant here; single punctuation is enough
    out.push({ kind: 'punct', text: c, value: c, start: i, end: i + 1 });
    i++;
  }
  return out;
}

/** A (possibly qualified) name found in the token stream. */
export interface NameRef {
  /** Schema part, undefined when unqualified. */
  schema: string | undefined;
  name: string;
  start: number;
  end: number;
  /** Index of the token after the name. */
  next: number;
}

export function isIdent(t: Token | undefined): boolean {
  return t !== undefined && (t.kind === 'word' || t.kind === 'qident');
}

/** Read `ident` or `ident.ident` starting at token i. */
export function readName(tokens: readonly Token[], i: number): NameRef | undefined {
  const a = tokens[i];
  if (!a || !isIdent(a)) return undefined;
  const dot = tokens[i + 1];
  const b = tokens[i + 2];
  if (dot && dot.kind === 'punct' && dot.text === '.' && dot.start === a.end && b && isIdent(b) && b.start === dot.end) {
    return { schema: a.value, name: b.value, start: a.start, end: b.end, next: i + 3 };
  }
  // `db`.`t` may also appear with spaces around the dot
  if (dot && dot.kind === 'punct' && dot.text === '.' && b && isIdent(b)) {
    return { schema: a.value, name: b.value, start: a.start, end: b.end, next: i + 3 };
  }
  return { schema: undefined, name: a.value, start: a.start, end: a.end, next: i + 1 };
}

/** Uppercased word at i ('' for non-words; quoted identifiers are never keywords). */
export function kw(tokens: readonly Token[], i: number): string {
  const t = tokens[i];
  return t && t.kind === 'word' ? t.value.toUpperCase() : '';
}
