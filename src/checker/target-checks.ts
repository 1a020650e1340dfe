/**
 * Checks against the target and across sources: privileges, existing target tables, shard
 * tables merged into one target table.
 */
import mysql from 'mysql2';
import type { TableName } from '../filter/types.js';
import type { CheckConn } from './conn.js';
import { hasOnTable, parseGrants } from './grants.js';
import type { TaskMode } from './types.js';
import { fail, pass, warn, type Verdict } from './verdict.js';

const WRITE_PRIVS = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'CREATE', 'DROP', 'ALTER', 'INDEX'];

export async function checkTargetPrivilege(c: CheckConn, schemas: readonly string[]): Promise<Verdict> {
  const g = parseGrants(await c.grants());
  const missing: string[] = [];
  for (const s of schemas) {
    const lack = WRITE_PRIVS.filter((p) => !hasOnTable(g, p, s, ''));
    if (lack.length > 0) missing.push(`${lack.join(', ')} on \`${s}\``);
  }
  if (missing.length > 0) {
    return fail(
      `the target user lacks ${missing.slice(0, 5).join('; ')}`,
      `GRANT ${WRITE_PRIVS.join(', ')} ON the target schemas and the meta schema TO the user in target-database.`,
    );
  }
  return pass(`the target user can write ${schemas.length} schema(s)`);
}

/** A migrated source table with its columns and where it goes. */
export interface MappedTable {
  sourceId: string;
  source: TableName;
  target: TableName;
  columns: string[];
  /** Columns a route adds on the target (extract-*). */
  extraColumns: readonly string[];
  /** An AUTO_INCREMENT column that alone is the table's primary key or a unique key. */
  autoIncrementKey?: string;
}

const key = (t: TableName): string => `${t.schema}\u0000${t.table}`;
const show = (t: TableName): string => `${mysql.escapeId(t.schema)}.${mysql.escapeId(t.table)}`;

/** Source tables merged into one target table must have the same columns. */
export function checkShardTables(mapped: readonly MappedTable[]): Verdict {
  const groups = new Map<string, MappedTable[]>();
  for (const m of mapped) {
    const g = groups.get(key(m.target)) ?? [];
    g.push(m);
    groups.set(key(m.target), g);
  }
  let merged = 0;
  for (const g of groups.values()) {
    if (g.length < 2) continue;
    merged++;
    const first = g[0];
    if (!first) continue;
    const cols = first.columns.join(',');
    const odd = g.find((m) => m.columns.join(',') !== cols);
    if (odd) {
      return fail(
        `tables merged into ${show(first.target)} differ: ${odd.sourceId}:${show(odd.source)} has columns (${odd.columns.join(', ')}) but ${first.sourceId}:${show(first.source)} has (${first.columns.join(', ')})`,
        'Make the shard tables identical before starting, or route them to different target tables.',
      );
    }
  }
  return pass(merged === 0 ? 'no tables are merged' : `${merged} merged target table(s) have consistent shards`);
}

/**
 * DM's `auto_increment_ID`: shard tables merged into one target table whose AUTO_INCREMENT column
 * alone is a primary or unique key each count 1, 2, 3 … on their own, so their rows collide on the
 * merged table (duplicate entry, or in safe mode one shard's row overwriting another's). A warning,
 * as in DM: the values may be kept apart upstream (auto_increment_increment / offset).
 */
export function checkAutoIncrement(mapped: readonly MappedTable[]): Verdict {
  const groups = new Map<string, MappedTable[]>();
  for (const m of mapped) {
    const g = groups.get(key(m.target)) ?? [];
    g.push(m);
    groups.set(key(m.target), g);
  }
  const bad: string[] = [];
  for (const g of groups.values()) {
    if (g.length < 2) continue;
    for (const m of g) {
      if (m.autoIncrementKey === undefined) continue;
      const extra = m.extraColumns.length > 0 ? ` (its route adds ${m.extraColumns.join(', ')}: make them part of the target table's key)` : '';
      bad.push(`${m.sourceId}:${show(m.source)}.${mysql.escapeId(m.autoIncrementKey)} → ${show(m.target)}${extra}`);
    }
  }
  if (bad.length === 0) return pass('no merged shard table has an auto-increment key of its own');
  return warn(
    `shard tables merged into one target table have auto-increment keys that may conflict: ${bad.slice(0, 10).join('; ')}${bad.length > 10 ? ` and ${bad.length - 10} more` : ''}`,
    'Make sure the shards never generate the same value (auto_increment_increment / auto_increment_offset per shard), or create the target table beforehand without that unique key (e.g. a composite key with an extract-table / extract-source column of the routes), then ignore this item (`ignore-checking-items: ["auto_increment_ID"]`).',
  );
}

/**
 * Existing target tables must hold every source column (and the extract-* columns of their
 * routes); extra target columns are accepted when the target fills them itself (nullable, a
 * default, AUTO_INCREMENT or generated), as rows are written by column name. In full modes the
 * tables should be empty.
 */
export async function checkTargetTables(c: CheckConn, mapped: readonly MappedTable[], mode: TaskMode): Promise<Verdict> {
  const targets = new Map<string, { t: TableName; cols: Set<string>; extra: Set<string> }>();
  for (const m of mapped) {
    const e = targets.get(key(m.target)) ?? { t: m.target, cols: new Set<string>(), extra: new Set<string>() };
    for (const col of m.columns) e.cols.add(col.toLowerCase());
    for (const col of m.extraColumns) e.extra.add(col.toLowerCase());
    targets.set(key(m.target), e);
  }
  const schemas = [...new Set([...targets.values()].map((x) => x.t.schema))];
  if (schemas.length === 0) return pass('no target tables');
  const rows = await c.rows<{ s: string; t: string; c: string; nl: string; d: unknown; x: string | null }>(
    'SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, COLUMN_NAME AS c, IS_NULLABLE AS nl, COLUMN_DEFAULT AS d, EXTRA AS x FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN (?) ORDER BY ORDINAL_POSITION',
    [schemas],
  );
  // column (lower case) → whether the target fills it when an INSERT leaves it out
  const existing = new Map<string, Map<string, { name: string; fillable: boolean }>>();
  for (const r of rows) {
    const k = key({ schema: r.s, table: r.t });
    const cols = existing.get(k) ?? new Map<string, { name: string; fillable: boolean }>();
    cols.set(r.c.toLowerCase(), { name: r.c, fillable: r.nl === 'YES' || r.d !== null || /auto_increment|generated|virtual|persistent|stored/i.test(r.x ?? '') });
    existing.set(k, cols);
  }
  const problems: string[] = [];
  const nonEmpty: string[] = [];
  let checked = 0;
  for (const [k, e] of targets) {
    const have = existing.get(k);
    if (!have) continue;
    checked++;
    const missing = [...e.cols, ...e.extra].filter((col) => !have.has(col));
    if (missing.length > 0) problems.push(`${show(e.t)} lacks column(s) ${missing.join(', ')}`);
    // extra target columns are fine (rows are written by column name) unless the target cannot fill them
    const unfilled = [...have.values()].filter((col) => !col.fillable && !e.cols.has(col.name.toLowerCase()) && !e.extra.has(col.name.toLowerCase())).map((col) => col.name);
    if (unfilled.length > 0) problems.push(`${show(e.t)} has extra column(s) ${unfilled.join(', ')} that are NOT NULL without a default (nor AUTO_INCREMENT or generated)`);
    if ((mode === 'all' || mode === 'full') && nonEmpty.length < 5) {
      const r = await c.rows(`SELECT 1 FROM ${show(e.t)} LIMIT 1`);
      if (r.length > 0) nonEmpty.push(show(e.t));
    }
  }
  if (problems.length > 0 && mode === 'incremental') {
    // DM does not compare in incremental mode: the binlog after `meta` may hold the DDL that
    // makes the target match, so a mismatch is only a warning there.
    return warn(
      `existing target tables differ from the source tables: ${problems.slice(0, 5).join('; ')}`,
      'Fine if the binlog after the task meta position holds the DDL that makes them match; otherwise alter the target tables.',
    );
  }
  if (problems.length > 0) {
    return fail(
      `existing target tables are incompatible: ${problems.slice(0, 5).join('; ')}`,
      'Drop the target tables (the full phase creates them), or alter them to hold every source column, and give extra columns a DEFAULT or make them nullable.',
    );
  }
  if (nonEmpty.length > 0) {
    return warn(
      `target table(s) already hold rows: ${nonEmpty.join(', ')}`,
      'The full phase copies into them as they are; empty or drop them first unless this is intended.',
    );
  }
  return pass(checked === 0 ? 'no target table exists yet' : `${checked} existing target table(s) are compatible`);
}
