/**
 * Key ranges of a one-shot data check: `(lower, upper]` over a (possibly composite) key, written
 * as plain OR/AND comparisons (`a > ? OR (a = ? AND b > ?)`) which both MySQL and MariaDB turn
 * into index range scans (MariaDB does not for row constructors), and the queries that cut a
 * table into chunks and split a chunk in two. Bounds are key tuples as the server returned them.
 */
import type { Queryable } from '../../sql/index.js';

export type KeyTuple = readonly unknown[];

export interface KeyRange {
  /** Exclusive lower bound; absent = from the first row. */
  lower?: KeyTuple | undefined;
  /** Inclusive upper bound; absent = to the last row. */
  upper?: KeyTuple | undefined;
}

/** `(k1, k2) > (v1, v2)` (or `<=` for an upper bound) expanded for index use; `key` holds SQL expressions. */
function compare(key: readonly string[], vals: KeyTuple, strict: '>' | '<', inclusiveLast: boolean): { sql: string; params: unknown[] } {
  const ors: string[] = [];
  const params: unknown[] = [];
  for (let i = 0; i < key.length; i++) {
    const ands: string[] = [];
    for (let j = 0; j < i; j++) {
      ands.push(`${key[j]!} = ?`);
      params.push(vals[j]);
    }
    const last = i === key.length - 1;
    ands.push(`${key[i]!} ${strict}${last && inclusiveLast ? '=' : ''} ?`);
    params.push(vals[i]);
    ors.push(ands.length === 1 ? ands[0]! : `(${ands.join(' AND ')})`);
  }
  return { sql: `(${ors.join(' OR ')})`, params };
}

/** WHERE text and parameters of a range over the key expressions `key` (`1=1` for the whole table). */
export function rangeWhere(key: readonly string[], r: KeyRange): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (r.lower) {
    const c = compare(key, r.lower, '>', false);
    parts.push(c.sql);
    params.push(...c.params);
  }
  if (r.upper) {
    const c = compare(key, r.upper, '<', true);
    parts.push(c.sql);
    params.push(...c.params);
  }
  return { sql: parts.length ? parts.join(' AND ') : '1=1', params };
}

/**
 * The key of the `offset`-th row (0-based) of `from` within the range, in key order, or
 * undefined when the range has fewer rows.
 */
export async function keyAt(q: Queryable, from: string, key: readonly string[], r: KeyRange, offset: number): Promise<KeyTuple | undefined> {
  const w = rangeWhere(key, r);
  const cols = key.join(', ');
  const [rows] = await q.query({
    sql: `SELECT ${cols} FROM ${from} WHERE ${w.sql} ORDER BY ${cols} LIMIT 1 OFFSET ${Math.max(0, Math.floor(offset))}`,
    values: w.params,
    rowsAsArray: true,
  });
  const row = (rows as unknown[][])[0];
  return row ? row : undefined;
}

/** Cuts a table into ranges of about `chunkRows` rows, walking the key on one server. */
export async function* chunkRanges(q: Queryable, from: string, key: readonly string[], chunkRows: number, signal?: AbortSignal): AsyncGenerator<KeyRange> {
  let lower: KeyTuple | undefined;
  for (;;) {
    signal?.throwIfAborted();
    const upper = await keyAt(q, from, key, { lower }, chunkRows - 1);
    yield { lower, upper };
    if (!upper) return;
    lower = upper;
  }
}
