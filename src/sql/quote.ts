/** Identifier quoting through mysql2's `escapeId` (never hand-written). */
import mysql, { type SqlValue } from 'mysql2';
import type { TableName } from '../filter/index.js';
import { tokenize, type LexMode } from './lexer.js';

/** Quote one identifier: `a` → `` `a` ``; backticks inside are doubled. Dots are NOT split. */
export function quoteId(name: string): string {
  return mysql.escapeId(name, true);
}

/** `` `schema`.`table` `` (schema omitted when empty). */
export function quoteTable(schema: string | TableName, table?: string): string {
  if (typeof schema === 'object') return quoteTable(schema.schema, schema.table);
  const t = quoteId(table ?? '');
  return schema ? `${quoteId(schema)}.${t}` : t;
}

/** Escape a value as a SQL literal (mysql2 `escape`). */
export function quoteValue(v: unknown): string {
  return mysql.escape(v as SqlValue, false, 'Z');
}

/** mysql2 `format`: replaces `?` with escaped values and `??` with quoted identifiers. */
export function formatSql(sql: string, values: readonly unknown[]): string {
  return mysql.format(sql, values as SqlValue[], false, 'Z');
}

/**
 * A statement written under ANSI_QUOTES and/or NO_BACKSLASH_ESCAPES, rewritten to read the same
 * without them: `"ident"` → `` `ident` `` (ANSI_QUOTES), and every string literal re-escaped with
 * backslash escapes (NO_BACKSLASH_ESCAPES, where a backslash is an ordinary character). Everything
 * else (comments, spacing, `/*! *\/` blocks) is kept byte for byte. Throws on text the lexer cannot read.
 */
export function standardQuoting(sql: string, mode: LexMode): string {
  if (!mode.ansiQuotes && !mode.noBackslashEscapes) return sql;
  let out = '';
  let at = 0;
  for (const t of tokenize(sql, mode)) {
    let text: string | undefined;
    if (t.kind === 'qident' && t.text.startsWith('"')) text = quoteId(t.value);
    else if (t.kind === 'string' && mode.noBackslashEscapes) {
      const q = t.text[0] as string;
      text = quoteValue(t.value.split(q + q).join(q));
    }
    if (text === undefined) continue;
    out += sql.slice(at, t.start) + text;
    at = t.end;
  }
  return out + sql.slice(at);
}
