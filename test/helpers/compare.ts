/**
 * Row-by-row comparison of tables and databases across two servers: an order-independent
 * digest, plus a readable diff of the first differing rows on mismatch.
 */
import { createHash } from 'node:crypto';
import mysql from 'mysql2/promise';
import type { ConnOpts } from './mariadb.js';

export interface TableDiff {
  table: string;
  equal: boolean;
  sourceRows: number;
  targetRows: number;
  sourceDigest: string;
  targetDigest: string;
  /** Up to 10 rows only in the source / only in the target (serialised). */
  onlyInSource: string[];
  onlyInTarget: string[];
  /**
   * How many rows (as a multiset of whole rows) are only in the source / only in the target:
   * a row lost on the target counts once in the first, a duplicated one once in the second, a
   * row with different values once in each.
   */
  onlyInSourceCount: number;
  onlyInTargetCount: number;
}

function canon(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return { hex: v.toString('hex') };
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : `${v}`;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

async function rowsOf(
  opts: ConnOpts,
  schema: string,
  table: string,
  columns?: string[],
): Promise<string[]> {
  const c = await mysql.createConnection({
    ...opts,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    timezone: 'Z',
  });
  try {
    await c.query("SET time_zone = '+00:00'");
    const cols = columns ? columns.map((x) => mysql.escapeId(x)).join(', ') : '*';
    const [rows] = await c.query({ sql: `SELECT ${cols} FROM ${mysql.escapeId(schema)}.${mysql.escapeId(table)}`, rowsAsArray: true });
    return (rows as unknown[][]).map((r) => JSON.stringify(r.map(canon))).sort();
  } finally {
    await c.end();
  }
}

function digest(rows: string[]): string {
  const h = createHash('sha256');
  for (const r of rows) h.update(r).update('\n');
  return h.digest('hex').slice(0, 16);
}

/** Compare `schema.table` on source with `targetSchema.targetTable` on target. */
export async function compareTables(
  source: ConnOpts,
  target: ConnOpts,
  schema: string,
  table: string,
  opts: { targetSchema?: string; targetTable?: string; columns?: string[] } = {},
): Promise<TableDiff> {
  const [a, b] = await Promise.all([
    rowsOf(source, schema, table, opts.columns),
    rowsOf(target, opts.targetSchema ?? schema, opts.targetTable ?? table, opts.columns),
  ]);
  const da = digest(a);
  const db = digest(b);
  const diff: TableDiff = {
    table: `${schema}.${table}`,
    equal: da === db,
    sourceRows: a.length,
    targetRows: b.length,
    sourceDigest: da,
    targetDigest: db,
    onlyInSource: [],
    onlyInTarget: [],
    onlyInSourceCount: 0,
    onlyInTargetCount: 0,
  };
  if (!diff.equal) {
    const count = (xs: string[]): Map<string, number> => {
      const m = new Map<string, number>();
      for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
      return m;
    };
    const ca = count(a);
    const cb = count(b);
    for (const [k, n] of ca) {
      const missing = n - (cb.get(k) ?? 0);
      if (missing <= 0) continue;
      diff.onlyInSourceCount += missing;
      if (diff.onlyInSource.length < 10) diff.onlyInSource.push(k);
    }
    for (const [k, n] of cb) {
      const extra = n - (ca.get(k) ?? 0);
      if (extra <= 0) continue;
      diff.onlyInTargetCount += extra;
      if (diff.onlyInTarget.length < 10) diff.onlyInTarget.push(k);
    }
  }
  return diff;
}

/** Compare every base table of `schema` (by name) between source and target. */
export async function compareDatabases(
  source: ConnOpts,
  target: ConnOpts,
  schema: string,
  targetSchema = schema,
): Promise<TableDiff[]> {
  const c = await mysql.createConnection(source);
  let tables: string[];
  try {
    const [rows] = await c.query(
      "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1",
      [schema],
    );
    tables = (rows as { t: string }[]).map((r) => r.t);
  } finally {
    await c.end();
  }
  const out: TableDiff[] = [];
  for (const t of tables) out.push(await compareTables(source, target, schema, t, { targetSchema }));
  return out;
}

/** A one-line summary for assertion messages. */
export function describeDiffs(diffs: TableDiff[]): string {
  return diffs
    .filter((d) => !d.equal)
    .map(
      (d) =>
        `${d.table}: source ${d.sourceRows} rows (${d.sourceDigest}) vs target ${d.targetRows} rows (${d.targetDigest}); ` +
        `only in source: ${d.onlyInSource.slice(0, 3).join(' | ')}; only in target: ${d.onlyInTarget.slice(0, 3).join(' | ')}`,
    )
    .join('\n');
}
