/**
 * Target statements for one group (one target transaction), built with src/sql's DML builders.
 *
 * Tables keyed by a primary key (or not-null unique key) and without other unique keys are
 * compacted per key into multi-row statements. What a key becomes depends on whether the group
 * CREATES it (its first change in the group is an INSERT, or an UPDATE that moves a row onto it):
 *
 * | key's changes in the group     | outside safe mode                | safe mode        |
 * |--------------------------------|----------------------------------|------------------|
 * | creates it, ends present       | plain multi-row `INSERT`         | upsert           |
 * | row existed, ends present      | `INSERT … ON DUPLICATE KEY UPDATE` (the final image) | upsert |
 * | row existed, ends deleted      | `DELETE … WHERE k IN (…)`        | same             |
 * | creates it, ends deleted       | `INSERT` then `DELETE`           | `DELETE`         |
 *
 * So outside safe mode an upstream INSERT whose key the target already holds (a row only the
 * target has) fails with 1062 exactly as the uncompacted INSERT would: compaction never turns
 * an INSERT into an upsert. Safe mode (`safe-mode: true`, `safe-mode-duration` after an unclean
 * exit, the full phase's overlap) is idempotent: every final image is upserted.
 * Other tables (keyless, or with more unique keys) are applied statement by statement in upstream
 * order (adjacent inserts merged), keyless ones by all columns with `LIMIT 1`; safe mode there:
 * INSERT→REPLACE, UPDATE→DELETE+REPLACE.
 */
import { buildDelete, buildInsert, buildMultiDelete, buildSafeUpdate, buildUpdate, quoteValue, type DMLTable } from '../../sql/index.js';
import type { RowChange } from './txn.js';

/** Rows per multi-row statement: keeps each statement well under max_allowed_packet. */
export const MAX_ROWS_PER_STATEMENT = 500;

/**
 * The src/sql table description of a row change: one per target table layout (schema, table,
 * columns, key), so that changes of one table merge into one statement and src/sql's per-table
 * statement cache is hit. Looked up by the `columns` array first (shared by every event of a table map).
 */
const byColumns = new WeakMap<string[], DMLTable>();
const byLayout = new Map<string, DMLTable>();

export function dmlTableOf(ch: RowChange): DMLTable {
  let t = byColumns.get(ch.columns);
  if (!t) {
    const layout = `${ch.schema}\u0000${ch.table}\u0000${ch.columns.join('\u0001')}\u0000${ch.keyIdx.join(',')}`;
    t = byLayout.get(layout);
    if (!t) {
      t = { schema: ch.schema, table: ch.table, columns: ch.columns.map((name) => ({ name })), keyColumns: ch.keyIdx.map((i) => ch.columns[i] ?? '') };
      if (byLayout.size > 10_000) byLayout.clear();
      byLayout.set(layout, t);
    }
    byColumns.set(ch.columns, t);
  }
  return t;
}

/** Key of a row image for compaction: exact values (not case-folded: one target row per exact key). */
function keyString(img: unknown[], idx: number[]): string {
  if (idx.length === 1) {
    const v = img[idx[0] as number];
    return Buffer.isBuffer(v) ? `x${v.toString('hex')}` : typeof v === 'string' ? `s${v}` : String(v);
  }
  let k = '';
  for (const i of idx) {
    const v = img[i];
    k += `${Buffer.isBuffer(v) ? `x${v.toString('hex')}` : quoteValue(v)}\u0001`;
  }
  return k;
}

interface Compact {
  table: DMLTable;
  keyIdx: number[];
  /**
   * key → final image (put) or the key image to delete (del); `fresh`: the group's first change
   * of the key created it (the row was not expected in the target before the group).
   */
  final: Map<string, { put: boolean; img: unknown[]; fresh: boolean }>;
}

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
export function buildStatements(changes: readonly RowChange[], opts: BuildOptions): string[] {
  const compact = new Map<DMLTable, Compact>();
  const ordered: string[] = [];
  let pending: { table: DMLTable; rows: unknown[][] } | undefined;
  const flushInsert = (): void => {
    if (pending) ordered.push(buildInsert(pending.table, pending.rows, opts.safeMode ? 'replace' : 'insert'));
    pending = undefined;
  };

  for (const ch of changes) {
    const t = dmlTableOf(ch);
    if (ch.keyIdx.length > 0 && !ch.otherUniqueKeys) {
      let c = compact.get(t);
      if (!c) {
        c = { table: t, keyIdx: ch.keyIdx, final: new Map() };
        compact.set(t, c);
      }
      const kb = ch.before ? keyString(ch.before, ch.keyIdx) : undefined;
      const ka = ch.after ? keyString(ch.after, ch.keyIdx) : undefined;
      if (ch.before && kb !== undefined && kb !== ka) {
        const prev = c.final.get(kb);
        c.final.delete(kb); // keep insertion order meaningful: re-add at the end
        c.final.set(kb, { put: false, img: ch.before, fresh: prev ? prev.fresh : false });
      }
      if (ch.after && ka !== undefined) {
        const prev = c.final.get(ka);
        c.final.delete(ka);
        // first seen here: an INSERT or a key-moving UPDATE creates the key; an in-place UPDATE does not
        c.final.set(ka, { put: true, img: ch.after, fresh: prev ? prev.fresh : kb !== ka });
      }
      continue;
    }
    if (ch.op === 'insert' && ch.after) {
      if (pending?.table !== t || pending.rows.length >= MAX_ROWS_PER_STATEMENT) {
        flushInsert();
        pending = { table: t, rows: [] };
      }
      pending.rows.push(ch.after);
      continue;
    }
    flushInsert();
    if (ch.op === 'delete' && ch.before) ordered.push(buildDelete(t, ch.before));
    else if (ch.op === 'update' && ch.before && ch.after) {
      if (opts.safeMode) ordered.push(...buildSafeUpdate(t, ch.before, ch.after));
      else ordered.push(buildUpdate(t, ch.before, ch.after));
    }
  }
  flushInsert();

  const out: string[] = [];
  for (const c of compact.values()) {
    const probes: unknown[][] = [];
    const dels: unknown[][] = [];
    const inserts: unknown[][] = [];
    const upserts: unknown[][] = [];
    for (const f of c.final.values()) {
      if (!f.put) {
        // created and deleted within the group: outside safe mode the INSERT still runs, so a row
        // only the target has conflicts (1062) as it would uncompacted
        if (f.fresh && !opts.safeMode) probes.push(f.img);
        dels.push(f.img);
      } else if (f.fresh && !opts.safeMode) inserts.push(f.img);
      else upserts.push(f.img);
    }
    for (const part of chunks(probes)) out.push(buildInsert(c.table, part, 'insert'));
    for (const part of chunks(dels)) out.push(...buildMultiDelete(c.table, part));
    for (const part of chunks(inserts)) out.push(buildInsert(c.table, part, 'insert'));
    for (const part of chunks(upserts)) out.push(buildInsert(c.table, part, 'upsert'));
  }
  return out.length === 0 ? ordered : ordered.length === 0 ? out : [...out, ...ordered];
}
