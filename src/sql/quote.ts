/** Identifier quoting through mysql2's `escapeId` (never hand-written). */
import mysql, { type SqlValue } from 'mysql2';
import type { TableName } from '../filter/index.js';

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
