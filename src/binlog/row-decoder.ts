/**
 * Row decoding: zongji's TABLE_MAP and ROWS events → typed RowsEvents (src/binlog/events.ts),
 * with the columns, keys and unique keys of the structure the table has at that position.
 *
 * Why a file: this is the reader's hot path (every row of every included table passes through
 * buildRows/toImage), kept apart from the connection handling (dump-session.ts) and from the
 * reader's public API and queue (reader.ts) so that it can be read, and measured, alone
 * (test/bench/binlog-read.ts).
 *
 * Guarantees:
 * - A row image is an array in column order; YEAR 0000 is 0 (zongji says 1900); GEOMETRY is the
 *   raw internal value (4-byte SRID + WKB), not zongji's lossy {x, y}.
 * - Without column names in the binlog (no binlog_row_metadata=FULL) a TABLE_MAP is decoded only
 *   with the schema tracker's structure, and only when that structure matches the TABLE_MAP's
 *   column count, type codes and metadata (table-map-check.ts); otherwise the decode fails with
 *   ErrBinlogRowMetadata or ErrBinlogTableMapMismatch. No row is ever delivered with its values
 *   under the wrong columns.
 * - Keys: the binlog's primary key when it carries one (FULL), else the tracked one; unique keys
 *   from the tracked structure; a key naming a column the row does not have is dropped.
 * - Per-table metadata (TableMeta) is cached per table id and shared by the RowsEvents of that
 *   table (consumers must not mutate it); it is rebuilt when the columns, the binlog key or the
 *   tracker's version change. The cache check allocates nothing.
 *
 * Not here: waiting for a structure from the target (reader.ts, "structure from the target"),
 * following DDL (schema-tracker.ts), transaction shaping and positions (txn-shaper.ts).
 */
import type { AnyBinlogEvent, TableMapEntry, TableMapEvent, WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent } from '@vlasky/zongji';
import { DMError } from '../errors/index.js';
import type { ColumnInfo, RowImage, RowsEvent } from './events.js';
import type { Position } from './position.js';
import type { SchemaTracker, TrackedTable } from './schema-tracker.js';
import { describeBinlog, describeTracked, tableMapMismatch, type TableMapInfo } from './table-map-check.js';
import { beforeImagesOf } from './zongji-fastpath.js';

/** zongji's type code of GEOMETRY columns, and BLOB's (whose reader returns the raw bytes). */
const MYSQL_TYPE_GEOMETRY = 255;
const MYSQL_TYPE_BLOB = 252;

const NO_KEY: string[] = [];

/** zongji's table-map cache of the current connection (table id → entry). */
export type ZongjiTableMap = Record<number, TableMapEntry>;

/** Per-table-id decoding metadata (shared by the RowsEvents of that table: consumers must not mutate it). */
interface TableMeta {
  version: number;
  schema: string;
  table: string;
  names: string[];
  binlogPk: string[];
  columns: ColumnInfo[];
  keyColumns: string[];
  uniqueKeys: string[][];
  yearIdx: number[];
}

/** Where the stream is (for messages): the transaction shaper's current file and event end. */
export interface StreamAt {
  readonly curFile: string;
  readonly lastEnd: number;
}

export class RowDecoder {
  private tableKeys = new Map<number, string[]>();
  private metaCache = new Map<number, TableMeta>();
  private readonly tracker: SchemaTracker;
  private readonly at: StreamAt;
  private readonly labels: { task?: string; source_id?: string } | undefined;

  constructor(tracker: SchemaTracker, at: StreamAt, labels: { task?: string; source_id?: string } | undefined) {
    this.tracker = tracker;
    this.at = at;
    this.labels = labels;
  }

  /** A new connection: table ids mean nothing any more. */
  reset(): void {
    this.tableKeys.clear();
    this.metaCache.clear();
  }

  /** A TABLE_MAP event (zongji has already put its entry into `tableMap`). */
  onTableMap(tm: TableMapEvent, tableMap: ZongjiTableMap | undefined): void {
    if (tm.primaryKey && tm.columnNames) {
      const pk = tm.primaryKey;
      const prev = this.tableKeys.get(tm.tableId);
      // keep the previous array when unchanged, so tableMeta's cache check is one comparison
      if (!prev || prev.length !== pk.length || !pk.every((i, j) => prev[j] === tm.columnNames?.[i])) {
        this.tableKeys.set(
          tm.tableId,
          pk.map((i) => tm.columnNames?.[i] ?? ''),
        );
      }
    } else this.tableKeys.delete(tm.tableId);
    // GEOMETRY: decode as BLOB so the row carries the raw internal value (4-byte SRID + WKB)
    // instead of zongji's lossy {x, y} objects; same length-prefixed layout in the row image
    const entry = tableMap?.[tm.tableId] as { columns?: { type: number; charset: string | null }[] } | undefined;
    const cols = entry?.columns;
    if (cols) {
      for (const c of cols) {
        if (c.type === MYSQL_TYPE_GEOMETRY) {
          c.type = MYSQL_TYPE_BLOB;
          c.charset = null;
        }
      }
    }
  }

  /**
   * Decoding without binlog column names: put the tracked structure `t` (the tracker's answer for
   * the TABLE_MAP's table) into zongji's `tableMap`, or say why it cannot be used.
   */
  fromTracker(tableMap: ZongjiTableMap, ev: TableMapEvent, t: TrackedTable | 'unknown' | undefined): DMError | undefined {
    if (t === undefined || t === 'unknown') {
      return new DMError('ErrBinlogRowMetadata', `no column names in the binlog for ${ev.schemaName}.${ev.tableName} and its structure at ${this.at.curFile}:${this.at.lastEnd} is ${t === 'unknown' ? 'unknown (a DDL could not be tracked)' : 'not tracked'}`);
    }
    // the tracked structure names the columns: it must be the one the binlog's types describe
    const why = tableMapMismatch(t, ev as unknown as TableMapInfo);
    if (why !== undefined) {
      return this.tableMapMismatchError(ev.schemaName, ev.tableName, why, describeTracked(t), describeBinlog(ev as unknown as TableMapInfo));
    }
    tableMap[ev.tableId] = {
      columnSchemas: t.columns.map((c) => ({ COLUMN_NAME: c.name, COLLATION_NAME: null, CHARACTER_SET_NAME: c.charset, COLUMN_COMMENT: '', COLUMN_TYPE: c.columnType })),
      parentSchema: ev.schemaName,
      tableName: ev.tableName,
    };
    return undefined;
  }

  /** ErrBinlogTableMapMismatch naming the table, both structures and the command that fixes it. */
  private tableMapMismatchError(schema: string, table: string, why: string, tracked: string, binlog: string): DMError {
    const task = this.labels?.task ?? '<task>';
    const source = this.labels?.source_id ?? '<source>';
    return new DMError(
      'ErrBinlogTableMapMismatch',
      `binlog TABLE_MAP of ${schema}.${table} at ${this.at.curFile}:${this.at.lastEnd} does not match the tracked structure: ${why}; tracked ${tracked}, binlog ${binlog}`,
      {
        workaround:
          `Write the CREATE TABLE statement ${schema}.${table} had at that position to a file and run ` +
          `\`dmctl binlog-schema update ${task} ${schema} ${table} <create-table-file> -s ${source}\`, then resume the task ` +
          '(or set binlog_row_metadata=FULL on the source). `binlog skip` does not fix it: later rows would still be decoded with the wrong structure.',
      },
    );
  }

  /** Column/key metadata of a table map, cached per table id until the columns or tracked schemas change. */
  private tableMeta(tableId: number, tm: { parentSchema: string; tableName: string; columns: { name: string }[]; columnSchemas: { COLUMN_TYPE: string; UNSIGNED?: boolean }[] }): TableMeta {
    const binlogPk = this.tableKeys.get(tableId) ?? NO_KEY;
    const c = this.metaCache.get(tableId);
    if (c !== undefined && c.version === this.tracker.version && c.binlogPk === binlogPk && c.schema === tm.parentSchema && c.table === tm.tableName) {
      // zongji rebuilds the table map entry at each TableMap event (one per statement):
      // a plain loop over the names instead of allocating
      const cols = tm.columns;
      const names = c.names;
      let same = names.length === cols.length;
      for (let i = 0; same && i < names.length; i++) same = names[i] === cols[i]!.name;
      if (same) return c;
    }
    const tracked = this.tracker.get(tm.parentSchema, tm.tableName);
    const names = tm.columns.map((col) => col.name);
    const nameSet = new Set(names);
    // the tracked structure describes these rows when it has the same columns (always true for
    // MINIMAL metadata, where the names came from it); with FULL metadata the binlog's names win
    const t0 = tracked !== undefined && tracked !== 'unknown' ? tracked : undefined;
    const known = t0 && t0.columns.length === names.length && t0.columns.every((col, i) => col.name === names[i]) ? t0 : undefined;
    const columns: ColumnInfo[] = tm.columns.map((col, i) => {
      const cs = tm.columnSchemas[i];
      const ct = (cs?.COLUMN_TYPE ?? '').toLowerCase();
      const info: ColumnInfo = { name: col.name, type: /^[a-z0-9_]+/.exec(ct)?.[0] ?? ct, unsigned: cs?.UNSIGNED ?? ct.includes('unsigned') };
      const tc = known?.columns[i];
      if (tc) {
        info.nullable = tc.nullable;
        if (tc.generated) info.generated = true;
      }
      return info;
    });
    let keyColumns = binlogPk.length > 0 ? binlogPk : (t0?.keyColumns ?? []);
    if (!keyColumns.every((k) => nameSet.has(k))) keyColumns = [];
    const uniqueKeys = (t0?.uniqueKeys ?? []).filter((u) => u.every((k) => nameSet.has(k)) && u.join('\u0000') !== keyColumns.join('\u0000'));
    const meta: TableMeta = {
      version: this.tracker.version,
      schema: tm.parentSchema,
      table: tm.tableName,
      names,
      binlogPk,
      columns,
      keyColumns,
      uniqueKeys,
      yearIdx: columns.flatMap((col, i) => (col.type === 'year' ? [i] : [])),
    };
    this.metaCache.set(tableId, meta);
    return meta;
  }

  /** A WRITE/UPDATE/DELETE_ROWS event as a RowsEvent; undefined when its table is not mapped (skipped table). */
  buildRows(tableMap: ZongjiTableMap | undefined, ev: WriteRowsEvent | UpdateRowsEvent | DeleteRowsEvent, at: { pos: Position; timestamp: number; serverId: number }, name: string): RowsEvent | undefined {
    const tm = tableMap?.[ev.tableId];
    if (!tm?.columns) return undefined;
    const m = this.tableMeta(ev.tableId, tm as typeof tm & { columns: { name: string }[] });
    if (name === 'updaterows') {
      const raw = (ev as UpdateRowsEvent).rows;
      let before: RowImage[];
      let after: RowImage[];
      const bs = beforeImagesOf(ev);
      if (bs !== undefined && bs.length === raw.length) {
        // zongji-fastpath: rows are the after images (arrays), the before images a parallel array
        before = bs;
        after = raw as unknown as RowImage[];
        for (let i = 0; i < raw.length; i++) {
          toImage(before[i], m);
          toImage(after[i], m);
        }
      } else {
        before = new Array<RowImage>(raw.length);
        after = new Array<RowImage>(raw.length);
        for (let i = 0; i < raw.length; i++) {
          const r = raw[i]!;
          before[i] = toImage(r.before, m);
          after[i] = toImage(r.after, m);
        }
      }
      return {
        kind: 'rows',
        op: 'update',
        schema: m.schema,
        table: m.table,
        columns: m.columns,
        keyColumns: m.keyColumns,
        uniqueKeys: m.uniqueKeys,
        rows: after,
        before,
        pos: at.pos,
        timestamp: at.timestamp,
        serverId: at.serverId,
      };
    }
    // zongji's rows array is ours to consume: the images replace its rows in place
    const rows = (ev as WriteRowsEvent | DeleteRowsEvent).rows as unknown[];
    for (let i = 0; i < rows.length; i++) {
      const img = toImage(rows[i], m);
      if (img !== rows[i]) rows[i] = img;
    }
    return {
      kind: 'rows',
      op: name === 'writerows' ? 'insert' : 'delete',
      schema: m.schema,
      table: m.table,
      columns: m.columns,
      keyColumns: m.keyColumns,
      uniqueKeys: m.uniqueKeys,
      rows: rows as RowImage[],
      pos: at.pos,
      timestamp: at.timestamp,
      serverId: at.serverId,
    };
  }
}

/** Drop zongji's cached table maps of the tables `touched` says: re-read from their next TABLE_MAP. */
export function forgetTableMaps(tableMap: ZongjiTableMap, touched: (schema: string, table: string) => boolean): void {
  for (const id of Object.keys(tableMap)) {
    const e = tableMap[Number(id)];
    if (e && touched(e.parentSchema, e.tableName)) delete tableMap[Number(id)];
  }
}

/** `ev.getEventName()` allocates a lowercased string per call: cache it per event class. */
const eventNames = new Map<unknown, string>();
export function eventName(ev: AnyBinlogEvent): string {
  const k = ev.constructor;
  let n = eventNames.get(k);
  if (n === undefined) {
    n = ev.getEventName();
    eventNames.set(k, n);
  }
  return n;
}

/** zongji's row (an array in column order with the fast path, else keyed by column name) as an array in column order. */
function toImage(r: unknown, m: TableMeta): RowImage {
  let out: unknown[];
  if (Array.isArray(r)) out = r;
  else {
    const o = r as Record<string, unknown>;
    const names = m.names;
    const n = names.length;
    out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) {
      const v = o[names[i]!];
      out[i] = v === undefined ? null : v;
    }
  }
  // zongji decodes YEAR 0000 as 1900 (not a valid YEAR value)
  const years = m.yearIdx;
  for (let k = 0; k < years.length; k++) {
    const i = years[k]!;
    if (out[i] === 1900) out[i] = 0;
  }
  return out;
}
