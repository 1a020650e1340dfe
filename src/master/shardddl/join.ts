/**
 * Joining table structures of merged shards (DM's pkg/schemacmp, the part optimistic shard DDL
 * needs): the joined structure of a target table has every column any shard has, each with the
 * widest type that holds the values of every shard. Two types join when one holds all values of
 * the other: integers of the same signedness by width, CHAR/VARCHAR/BINARY/VARBINARY of the same
 * kind by length, DECIMAL by precision and scale, FLOAT ⊂ DOUBLE, TEXT and BLOB families by size,
 * ENUM/SET when one's members start with the other's. Anything else is a conflict.
 */
import type { TableStructure } from '../../store/index.js';

type Column = TableStructure['columns'][number];

export type JoinResult<T> = { ok: true; value: T } | { ok: false; why: string };

const INT_RANK: Record<string, number> = { tinyint: 1, smallint: 2, mediumint: 3, int: 4, integer: 4, bigint: 5 };
const TEXT_RANK: Record<string, number> = { tinytext: 1, text: 2, mediumtext: 3, longtext: 4 };
const BLOB_RANK: Record<string, number> = { tinyblob: 1, blob: 2, mediumblob: 3, longblob: 4 };
const FLOAT_RANK: Record<string, number> = { float: 1, double: 2, real: 2 };

/** The numbers in the first parentheses of a column type: `decimal(10,2)` → [10, 2]. */
function typeArgs(columnType: string): number[] {
  const m = /\(([^)]*)\)/.exec(columnType);
  if (!m?.[1]) return [];
  return m[1].split(',').map((x) => Number(x.trim()));
}

/** ENUM/SET members, in order. */
function members(columnType: string): string[] {
  const m = /\((.*)\)/.exec(columnType);
  if (!m?.[1]) return [];
  return [...m[1].matchAll(/'((?:[^']|'')*)'/g)].map((x) => x[1] ?? '');
}

function norm(t: string): string {
  return t.toLowerCase().replace(/\s+/g, ' ').trim();
}

function wider(a: Column, b: Column, rank: Record<string, number>): Column | undefined {
  const ra = rank[a.dataType];
  const rb = rank[b.dataType];
  if (ra === undefined || rb === undefined) return undefined;
  return ra >= rb ? a : b;
}

/** Compare two column types: 1 a holds b, -1 b holds a, 0 equal; undefined: neither (conflict). */
export function compareColumnType(a: Column, b: Column): -1 | 0 | 1 | undefined {
  const j = joinColumn(a, b);
  if (!j.ok) return undefined;
  const ta = norm(a.columnType);
  const tb = norm(b.columnType);
  const tj = norm(j.value.columnType);
  if (ta === tb) return 0;
  if (tj === ta) return 1;
  if (tj === tb) return -1;
  return undefined;
}

/** The joined column of two shards' columns of the same name. */
export function joinColumn(a: Column, b: Column): JoinResult<Column> {
  const nullable = a.nullable || b.nullable;
  const done = (c: Column): JoinResult<Column> => ({ ok: true, value: { ...c, nullable } });
  const conflict = (): JoinResult<Column> => ({ ok: false, why: `column ${a.name}: type ${a.columnType} and ${b.columnType} do not join` });
  if (norm(a.columnType) === norm(b.columnType)) return done(a);
  if (a.generated !== b.generated) return conflict();
  if (INT_RANK[a.dataType] !== undefined && INT_RANK[b.dataType] !== undefined) {
    if (a.unsigned !== b.unsigned) return conflict();
    const ra = INT_RANK[a.dataType] as number;
    const rb = INT_RANK[b.dataType] as number;
    if (ra === rb) return done(a); // display widths differ only
    return done((wider(a, b, INT_RANK) as Column));
  }
  for (const rank of [TEXT_RANK, BLOB_RANK]) {
    if (rank[a.dataType] !== undefined && rank[b.dataType] !== undefined) {
      if (a.charset !== b.charset) return conflict();
      return done(wider(a, b, rank) as Column);
    }
  }
  if (FLOAT_RANK[a.dataType] !== undefined && FLOAT_RANK[b.dataType] !== undefined) {
    if (a.unsigned !== b.unsigned) return conflict();
    const [pa, sa] = typeArgs(a.columnType);
    const [pb, sb] = typeArgs(b.columnType);
    if (a.dataType === b.dataType && (pa !== pb || sa !== sb)) return conflict();
    return done(wider(a, b, FLOAT_RANK) as Column);
  }
  if (a.dataType !== b.dataType) return conflict();
  switch (a.dataType) {
    case 'char':
    case 'varchar':
    case 'binary':
    case 'varbinary':
    case 'bit': {
      if (a.charset !== b.charset) return conflict();
      const la = typeArgs(a.columnType)[0] ?? 1;
      const lb = typeArgs(b.columnType)[0] ?? 1;
      return done(la >= lb ? a : b);
    }
    case 'decimal':
    case 'numeric': {
      if (a.unsigned !== b.unsigned) return conflict();
      const [pa = 10, sa = 0] = typeArgs(a.columnType);
      const [pb = 10, sb = 0] = typeArgs(b.columnType);
      // one must hold the other's integer digits and its scale
      if (pa - sa >= pb - sb && sa >= sb) return done(a);
      if (pb - sb >= pa - sa && sb >= sa) return done(b);
      return conflict();
    }
    case 'enum':
    case 'set': {
      const ma = members(a.columnType);
      const mb = members(b.columnType);
      const [long, short] = ma.length >= mb.length ? [a, b] : [b, a];
      const ml = members(long.columnType);
      const ms = members(short.columnType);
      return ms.every((m, i) => ml[i] === m) ? done(long) : conflict();
    }
    case 'datetime':
    case 'timestamp':
    case 'time': {
      const fa = typeArgs(a.columnType)[0] ?? 0;
      const fb = typeArgs(b.columnType)[0] ?? 0;
      return done(fa >= fb ? a : b);
    }
    default:
      return conflict();
  }
}

/**
 * Join several structures into the target's: columns in order of first appearance (the first
 * structure's order, then columns only later ones have), each column joined over every shard
 * that has it. `keep` are columns of `base` the target still has although no shard has them any
 * more (dropped by some shards, not yet by all): they stay as they are.
 */
export function joinStructures(base: TableStructure, all: readonly TableStructure[], keep: readonly string[] = []): JoinResult<TableStructure> {
  const order: string[] = [];
  const cols = new Map<string, Column>();
  const lc = (s: string): string => s.toLowerCase();
  for (const t of all) {
    for (const c of t.columns) {
      const cur = cols.get(lc(c.name));
      if (!cur) {
        cols.set(lc(c.name), c);
        order.push(lc(c.name));
        continue;
      }
      const j = joinColumn(cur, c);
      if (!j.ok) return j;
      cols.set(lc(c.name), j.value);
    }
  }
  // columns the target keeps (dropped by some shards only) stay at their place in the base
  for (const k of keep) {
    const c = base.columns.find((x) => lc(x.name) === lc(k));
    if (c && !cols.has(lc(k))) {
      cols.set(lc(k), c);
      order.push(lc(k));
    }
  }
  const baseOrder = base.columns.map((c) => lc(c.name));
  order.sort((x, y) => {
    const ix = baseOrder.indexOf(x);
    const iy = baseOrder.indexOf(y);
    if (ix >= 0 && iy >= 0) return ix - iy;
    if (ix >= 0) return -1;
    if (iy >= 0) return 1;
    return 0;
  });
  return { ok: true, value: { ...base, columns: order.map((n) => cols.get(n) as Column) } };
}

/** Whether a shard's structure has exactly the joined columns with the joined types. */
export function sameColumns(a: TableStructure, b: TableStructure): boolean {
  if (a.columns.length !== b.columns.length) return false;
  const m = new Map(b.columns.map((c) => [c.name.toLowerCase(), c]));
  return a.columns.every((c) => {
    const o = m.get(c.name.toLowerCase());
    return o !== undefined && norm(o.columnType) === norm(c.columnType);
  });
}

export function findColumn(t: TableStructure, name: string): Column | undefined {
  return t.columns.find((c) => c.name.toLowerCase() === name.toLowerCase());
}
