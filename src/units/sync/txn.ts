/**
 * Upstream transactions as the sync unit schedules them: routed, filtered row changes plus the
 * keys used for causality (old and new primary-key values, every unique key, a table-wide key for
 * keyless tables).
 */
import type { RowsEvent } from '../../binlog/events.js';
import type { Position } from '../../binlog/position.js';
import type { RouteResult } from '../../filter/types.js';
import type { TrackEntry } from './tracker.js';

export interface RowChange {
  /** Routed target table. */
  schema: string;
  table: string;
  op: 'insert' | 'update' | 'delete';
  /** Column names written to the target (generated columns dropped, extracted columns appended). */
  columns: string[];
  /** Indices into `columns` of the key (PK or not-null UK); empty for a keyless table. */
  keyIdx: number[];
  /** True when the table has unique keys besides `keyIdx` (then rows are applied in order). */
  otherUniqueKeys: boolean;
  /** Image before (update/delete). */
  before?: unknown[];
  /** Image after (insert/update). */
  after?: unknown[];
  /** The upstream table the change was read from (before routing). */
  srcSchema?: string;
  srcTable?: string;
}

export interface UpstreamTxn {
  /** Upstream transaction id: its GTID, or `file:offset` of its end when the source has no GTID. */
  id: string;
  /** Position right after the commit (checkpoint candidate). */
  pos: Position;
  /** Upstream commit timestamp (seconds). */
  timestamp: number;
  changes: RowChange[];
  keys: Set<string>;
  /** Bytes estimate, for the bounded pending queue. */
  bytes: number;
  /** Its low-water-mark entry. */
  track: TrackEntry;
  /** Shard mode only: the upstream tables (`schema\u0000table`) whose rows it keeps. */
  upTables?: Set<string>;
}

function keyVal(v: unknown, caseSensitive: boolean): string {
  if (v === null || v === undefined) return '\u0000N';
  if (Buffer.isBuffer(v)) return `x${v.toString('hex')}`;
  if (typeof v === 'string') return caseSensitive ? v : v.toLowerCase();
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function approxBytes(img: unknown[] | undefined): number {
  if (!img) return 0;
  let n = 16 + 8 * img.length;
  for (let i = 0; i < img.length; i++) {
    const v = img[i];
    if (typeof v === 'string') n += v.length;
    else if (typeof v === 'object' && v !== null && Buffer.isBuffer(v)) n += v.length;
  }
  return n;
}

interface ChangePlan {
  keep: number[];
  identity: boolean;
  extra: unknown[];
  base: Omit<RowChange, 'op' | 'before' | 'after'>;
  /** The event's keyColumns array the plan was made for (shared by the events of a table map). */
  keyColumns: string[];
}

/**
 * Per table map (the reader keeps `ev.columns` per table id) and route: the column layout of the
 * row changes. Cached so that every event of a table shares one `columns` array, which keys the
 * statement builders' caches and the compaction of a group. Looked up by identity first (the
 * route result is cached per table by the filters, `keyColumns` is shared with `columns`): no
 * string is built per event; a different object with the same content finds the plan by its key.
 */
const plans = new WeakMap<object, { last?: { route: RouteResult; plan: ChangePlan }; byRoute: Map<string, ChangePlan> }>();

function planOf(ev: RowsEvent, route: RouteResult): ChangePlan {
  let cache = plans.get(ev.columns);
  if (!cache) {
    cache = { byRoute: new Map() };
    plans.set(ev.columns, cache);
  }
  const last = cache.last;
  if (last !== undefined && last.route === route && last.plan.keyColumns === ev.keyColumns) return last.plan;
  const rk = `${route.schema}\u0000${route.table}\u0000${route.extracted.map((x) => `${x.column}=${x.value}`).join('\u0001')}\u0000${ev.keyColumns.join(',')}`;
  let plan = cache.byRoute.get(rk);
  if (!plan) {
    plan = makePlan(ev, route);
    cache.byRoute.set(rk, plan);
  }
  cache.last = { route, plan: plan.keyColumns === ev.keyColumns ? plan : { ...plan, keyColumns: ev.keyColumns } };
  return plan;
}

function makePlan(ev: RowsEvent, route: RouteResult): ChangePlan {
  const keep: number[] = [];
  const columns: string[] = [];
  ev.columns.forEach((c, i) => {
    if (!c.generated) {
      keep.push(i);
      columns.push(c.name);
    }
  });
  for (const x of route.extracted) columns.push(x.column);
  const extra = route.extracted.map((x) => x.value);
  const identity = keep.length === ev.columns.length && extra.length === 0;
  const idxOf = (name: string): number => columns.findIndex((c) => c.toLowerCase() === name.toLowerCase());
  const keyIdx = ev.keyColumns.map(idxOf).filter((i) => i >= 0);
  const keyNames = new Set(ev.keyColumns.map((c) => c.toLowerCase()));
  const otherUniqueKeys = ev.uniqueKeys.some((uk) => uk.length !== keyNames.size || uk.some((c) => !keyNames.has(c.toLowerCase())));
  // Rows of several shards merged into one table are told apart by the extracted columns too.
  const fullKey = keyIdx.length === ev.keyColumns.length && keyIdx.length > 0 ? [...keyIdx, ...route.extracted.map((_, i) => keep.length + i)] : [];
  return { keep, identity, extra, base: { schema: route.schema, table: route.table, columns, keyIdx: fullKey, otherUniqueKeys, srcSchema: ev.schema, srcTable: ev.table }, keyColumns: ev.keyColumns };
}

/** A row image in the plan's column layout (the image itself when nothing is dropped or added). */
function mapImage(plan: ChangePlan, img: unknown[]): unknown[] {
  if (plan.identity) return img;
  const keep = plan.keep;
  const extra = plan.extra;
  const out = new Array<unknown>(keep.length + extra.length);
  for (let i = 0; i < keep.length; i++) out[i] = img[keep[i]!];
  for (let i = 0; i < extra.length; i++) out[keep.length + i] = extra[i];
  return out;
}

/** Turn one rows event into row changes for its routed target table. */
export function rowChangesOf(ev: RowsEvent, route: RouteResult): { changes: RowChange[]; bytes: number } {
  const changes: RowChange[] = [];
  const bytes = appendRowChanges(ev, route, changes);
  return { changes, bytes };
}

/** rowChangesOf() appending to `changes` (the open transaction's, no array per event); returns the bytes estimate. */
export function appendRowChanges(ev: RowsEvent, route: RouteResult, changes: RowChange[]): number {
  const plan = planOf(ev, route);
  const rows = ev.rows;
  let bytes = 0;
  const { schema, table, columns, keyIdx, otherUniqueKeys, srcSchema, srcTable } = plan.base;
  if (ev.op === 'update') {
    const before = ev.before ?? [];
    for (let i = 0; i < rows.length; i++) {
      const after = rows[i] as unknown[];
      const b = mapImage(plan, before[i] ?? after);
      const a = mapImage(plan, after);
      bytes += approxBytes(b) + approxBytes(a);
      changes.push({ schema, table, op: 'update', columns, keyIdx, otherUniqueKeys, before: b, after: a, srcSchema, srcTable });
    }
  } else {
    const op = ev.op;
    for (let i = 0; i < rows.length; i++) {
      const img = mapImage(plan, rows[i] as unknown[]);
      bytes += approxBytes(img);
      changes.push(op === 'insert' ? { schema, table, op, columns, keyIdx, otherUniqueKeys, after: img, srcSchema, srcTable } : { schema, table, op, columns, keyIdx, otherUniqueKeys, before: img, srcSchema, srcTable });
    }
  }
  return bytes;
}

/** Per column list (one per rows event): the key column index sets and the table prefix. */
const keyPlans = new WeakMap<string[], { tbl: string; sets: { tag: string; idx: number[] }[] }>();

/** Causality keys of one row change, given the unique keys (column names) of its table. */
export function addKeysOf(ch: RowChange, uniqueKeys: string[][], keyColumns: string[], caseSensitive: boolean, into: Set<string>): void {
  let plan = keyPlans.get(ch.columns);
  if (!plan) {
    const tbl = `${ch.schema}.${ch.table}`.toLowerCase();
    const lower = ch.columns.map((c) => c.toLowerCase());
    const sets: { tag: string; idx: number[] }[] = [];
    [keyColumns, ...uniqueKeys].forEach((cols, k) => {
      const idx = cols.map((c) => lower.indexOf(c.toLowerCase()));
      if (idx.some((i) => i < 0)) return;
      sets.push({ tag: `${k === 0 ? 'K' : 'U'}|${tbl}|${cols.join(',').toLowerCase()}|`, idx });
    });
    plan = { tbl, sets };
    keyPlans.set(ch.columns, plan);
  }
  if (ch.keyIdx.length === 0) {
    into.add(`T|${plan.tbl}`);
    return;
  }
  const before = ch.before;
  const after = ch.after;
  if (before) addImageKeys(plan.sets, before, caseSensitive, into);
  // an UPDATE that keeps every key value adds the same keys again: skip building them
  if (after && (!before || !sameKeys(plan.sets, before, after))) addImageKeys(plan.sets, after, caseSensitive, into);
}

/** Whether two images have identical (===) values in every key column. */
function sameKeys(sets: readonly { idx: number[] }[], a: unknown[], b: unknown[]): boolean {
  for (const set of sets) {
    const idx = set.idx;
    for (let j = 0; j < idx.length; j++) {
      const i = idx[j]!;
      const x = a[i];
      // Buffers and other objects compare by identity: they are keyed again (same result, more work)
      if (x !== b[i] || (typeof x === 'object' && x !== null)) return false;
    }
  }
  return true;
}

function addImageKeys(sets: readonly { tag: string; idx: number[] }[], img: unknown[], caseSensitive: boolean, into: Set<string>): void {
  for (const set of sets) {
    const idx = set.idx;
    if (idx.length === 1) {
      const v = img[idx[0]!];
      if (v !== null && v !== undefined) into.add(set.tag + keyVal(v, caseSensitive)); // NULLs never conflict in a unique key
      continue;
    }
    let key = set.tag;
    let skip = false;
    for (let j = 0; j < idx.length; j++) {
      const v = img[idx[j]!];
      if (v === null || v === undefined) {
        skip = true; // NULLs never conflict in a unique key
        break;
      }
      key += (j > 0 ? '\u0001' : '') + keyVal(v, caseSensitive);
    }
    if (!skip) into.add(key);
  }
}
