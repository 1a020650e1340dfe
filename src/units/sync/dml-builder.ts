/**
 * Target statements for one group (one target transaction). Tables keyed by a primary key (or
 * not-null unique key) and without other unique keys are compacted per key: the final image of
 * each key becomes one multi-row `INSERT … ON DUPLICATE KEY UPDATE`, deleted keys one multi-row
 * `DELETE`. Other tables (keyless, or with more unique keys) are applied statement by statement in
 * upstream order (adjacent inserts merged), keyless ones by all columns with `LIMIT 1`.
 * Safe mode: INSERT→REPLACE, UPDATE→DELETE+REPLACE.
 */
import mysql from 'mysql2';
import type { RowChange } from './txn.js';

export function lit(v: unknown): string {
  if (v === undefined || v === null) return 'NULL';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'number' || typeof v === 'string' || Buffer.isBuffer(v)) return mysql.escape(v);
  if (v instanceof Date) return mysql.escape(v.toISOString().replace('T', ' ').replace('Z', ''));
  return mysql.escape(JSON.stringify(v));
}

const qid = (s: string): string => mysql.escapeId(s);
const qtbl = (schema: string, table: string): string => `${qid(schema)}.${qid(table)}`;

function keyString(img: unknown[], idx: number[]): string {
  return idx
    .map((i) => {
      const v = img[i];
      return Buffer.isBuffer(v) ? `x${v.toString('hex')}` : lit(v);
    })
    .join('\u0001');
}

function whereOf(ch: RowChange, img: unknown[]): string {
  if (ch.keyIdx.length > 0) return ch.keyIdx.map((i) => `${qid(ch.columns[i] ?? '')} = ${lit(img[i])}`).join(' AND ');
  return ch.columns.map((c, i) => `${qid(c)} <=> ${lit(img[i])}`).join(' AND ');
}

const valuesOf = (img: unknown[]): string => `(${img.map(lit).join(',')})`;

interface Compact {
  schema: string;
  table: string;
  columns: string[];
  keyIdx: number[];
  /** key → final image (put) or the key image to delete (del) */
  final: Map<string, { put: boolean; img: unknown[] }>;
}

/** Rows per multi-row statement: keeps each statement well under max_allowed_packet. */
export const MAX_ROWS_PER_STATEMENT = 500;

function chunks<T>(xs: T[]): T[][] {
  if (xs.length <= MAX_ROWS_PER_STATEMENT) return xs.length > 0 ? [xs] : [];
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += MAX_ROWS_PER_STATEMENT) out.push(xs.slice(i, i + MAX_ROWS_PER_STATEMENT));
  return out;
}

export interface BuildOptions {
  safeMode: boolean;
}

/** Statements for the row changes of one group, in an order that yields the upstream result. */
export function buildStatements(changes: RowChange[], opts: BuildOptions): string[] {
  const compact = new Map<string, Compact>();
  const ordered: string[] = [];
  let pendingInsert: { head: string; table: string; rows: string[] } | undefined;
  const flushInsert = (): void => {
    if (pendingInsert) ordered.push(`${pendingInsert.head} VALUES ${pendingInsert.rows.join(',')}`);
    pendingInsert = undefined;
  };

  for (const ch of changes) {
    if (ch.keyIdx.length > 0 && !ch.otherUniqueKeys) {
      const tk = `${ch.schema}\u0000${ch.table}\u0000${ch.columns.join(',')}`;
      let c = compact.get(tk);
      if (!c) {
        c = { schema: ch.schema, table: ch.table, columns: ch.columns, keyIdx: ch.keyIdx, final: new Map() };
        compact.set(tk, c);
      }
      if (ch.before) {
        const k = keyString(ch.before, ch.keyIdx);
        if (!ch.after || k !== keyString(ch.after, ch.keyIdx)) {
          c.final.delete(k); // keep insertion order meaningful: re-add at the end
          c.final.set(k, { put: false, img: ch.before });
        }
      }
      if (ch.after) {
        const k = keyString(ch.after, ch.keyIdx);
        c.final.delete(k);
        c.final.set(k, { put: true, img: ch.after });
      }
      continue;
    }
    const t = qtbl(ch.schema, ch.table);
    const cols = ch.columns.map(qid).join(',');
    if (ch.op === 'insert' && ch.after) {
      const head = `${opts.safeMode ? 'REPLACE' : 'INSERT'} INTO ${t} (${cols})`;
      if (pendingInsert?.head !== head || pendingInsert.rows.length >= MAX_ROWS_PER_STATEMENT) {
        flushInsert();
        pendingInsert = { head, table: t, rows: [] };
      }
      pendingInsert.rows.push(valuesOf(ch.after));
      continue;
    }
    flushInsert();
    if (ch.op === 'delete' && ch.before) {
      ordered.push(`DELETE FROM ${t} WHERE ${whereOf(ch, ch.before)} LIMIT 1`);
    } else if (ch.op === 'update' && ch.before && ch.after) {
      if (opts.safeMode) {
        ordered.push(`DELETE FROM ${t} WHERE ${whereOf(ch, ch.before)} LIMIT 1`);
        ordered.push(`REPLACE INTO ${t} (${cols}) VALUES ${valuesOf(ch.after)}`);
      } else {
        const after = ch.after;
        const set = ch.columns.map((c, i) => `${qid(c)} = ${lit(after[i])}`).join(', ');
        ordered.push(`UPDATE ${t} SET ${set} WHERE ${whereOf(ch, ch.before)} LIMIT 1`);
      }
    }
  }
  flushInsert();

  const out: string[] = [];
  for (const c of compact.values()) {
    const t = qtbl(c.schema, c.table);
    const dels: unknown[][] = [];
    const puts: unknown[][] = [];
    for (const f of c.final.values()) (f.put ? puts : dels).push(f.img);
    for (const part of chunks(dels)) {
      if (c.keyIdx.length === 1) {
        const i = c.keyIdx[0] ?? 0;
        out.push(`DELETE FROM ${t} WHERE ${qid(c.columns[i] ?? '')} IN (${part.map((d) => lit(d[i])).join(',')})`);
      } else {
        const conds = part.map((d) => `(${c.keyIdx.map((i) => `${qid(c.columns[i] ?? '')} = ${lit(d[i])}`).join(' AND ')})`);
        out.push(`DELETE FROM ${t} WHERE ${conds.join(' OR ')}`);
      }
    }
    if (puts.length > 0) {
      const cols = c.columns.map(qid);
      const keySet = new Set(c.keyIdx);
      const upd = c.columns
        .map((col, i) => (keySet.has(i) ? undefined : `${qid(col)} = VALUES(${qid(col)})`))
        .filter((x): x is string => x !== undefined);
      const tail =
        upd.length > 0 ? ` ON DUPLICATE KEY UPDATE ${upd.join(', ')}` : ` ON DUPLICATE KEY UPDATE ${cols[c.keyIdx[0] ?? 0]} = ${cols[c.keyIdx[0] ?? 0]}`;
      for (const part of chunks(puts)) out.push(`INSERT INTO ${t} (${cols.join(',')}) VALUES ${part.map(valuesOf).join(',')}${tail}`);
    }
  }
  return [...out, ...ordered];
}
