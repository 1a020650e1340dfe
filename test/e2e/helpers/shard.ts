/**
 * Shard-merge scenarios (test/e2e/shardddl_*): the union of the shard tables as the merged target
 * table must hold it — every row of every shard `<schema>.t`, with the route's extract-schema
 * column `c_shard` (the schema's suffix after `shard_`), ordered by id — and the target's rows in
 * the same shape. Values are compared as text (NULL kept), so types that print alike compare equal.
 */
import type { MariaDBServer } from '../../helpers/index.js';

const q = (c: string): string => '`' + c.replace(/`/g, '``') + '`';

function text(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function norm(rows: Record<string, unknown>[], cols: string[]): (string | null)[][] {
  return rows.map((r) => cols.map((c) => text(r[c])));
}

export async function shardUnion(shards: [MariaDBServer, string][], cols: string[]): Promise<(string | null)[][]> {
  const out: (string | null)[][] = [];
  for (const [server, schema] of shards) {
    const own = cols.filter((c) => c !== 'c_shard');
    const rows = await server.sql(`SELECT ${own.map(q).join(', ')}, ? AS c_shard FROM ${q(schema)}.t`, [schema.replace(/^shard_/, '')]);
    out.push(...norm(rows, cols));
  }
  return out.sort((a, b) => Number(a[0]) - Number(b[0]));
}

export async function targetRows(target: MariaDBServer, cols: string[], table = 'merged.t'): Promise<(string | null)[][]> {
  const rows = await target.sql(`SELECT ${cols.map(q).join(', ')} FROM ${table} ORDER BY 1`).catch(() => []);
  return norm(rows, cols).sort((a, b) => Number(a[0]) - Number(b[0]));
}

export async function targetColumns(target: MariaDBServer, schema = 'merged', table = 't'): Promise<string[]> {
  const rows = await target.sql('SELECT COLUMN_NAME AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION', [schema, table]);
  return rows.map((r) => String(r['n']));
}
