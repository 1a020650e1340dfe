/**
 * One-shot data check (DM's sync-diff-inspector, built in): compares a task's source tables with
 * their target tables chunk by chunk, with the checksums computed on each server, and lists the
 * rows that differ.
 *
 * How:
 * - A target table is cut into key ranges of about `chunkRows` rows (walking its key on the
 *   target). For every range each side computes `COUNT(*)` and `SUM(CRC32(CONCAT_WS(...)))` of the
 *   compared columns; a merged target table is compared with the sum over all its source tables
 *   (every source, every shard), extract columns taken as the route's constant for each shard.
 * - A range whose counts or sums differ is halved at the median key of its fuller side until a
 *   half has at most `leafRows` rows; only such a leaf's rows are read into Node and compared by
 *   key. Memory is bounded by `leafRows` × the number of sides, whatever the table's size.
 * - On a running task a range can differ only because changes are in flight. A differing range is
 *   read again up to `recheck.attempts` times, `recheck.delayMs` apart, before it is reported;
 *   on a re-read `afterSourceRead` (given by the caller: wait until the task has applied the
 *   source's current position) runs between the source read and the target read, so the target
 *   is read at or after the point the source was read at.
 * - Fix-up SQL (REPLACE for missing or different rows, DELETE for extra ones) is written to
 *   `fixSql` when asked; it is never applied.
 *
 * What it does not do: compare columns one side lacks (named in the notes), list rows of a table
 * without a usable key (counts and checksums only), or read both servers at one instant (see the
 * recheck above).
 */
import type { Queryable } from '../../sql/index.js';
import { quoteId, quoteTable, quoteValue } from '../../sql/index.js';
import { columnExpr, planDataCheck, tableLabel, type CheckSourceInput, type TablePart, type TablePlan } from './check-plan.js';
import { chunkRanges, keyAt, rangeWhere, type KeyRange } from './chunk-range.js';
import type { TableName } from '../../filter/index.js';

export interface DataCheckOptions {
  sources: readonly CheckSourceInput[];
  target: Queryable;
  /** Only these target tables. */
  tables?: readonly TableName[] | undefined;
  /** Rows per chunk. Default 10 000. */
  chunkRows?: number | undefined;
  /** Rows read into Node to list the differences of one leaf range. Default 1 000. */
  leafRows?: number | undefined;
  /** Differing rows listed per table. Default 100. */
  maxRows?: number | undefined;
  /** Re-reads of a differing chunk before it counts (running tasks). Default 0 attempts. */
  recheck?: { attempts: number; delayMs: number } | undefined;
  /** Runs on a recheck, after the chunk's source read and before its target read (wait for the task to apply what was read). */
  afterSourceRead?: ((signal?: AbortSignal) => Promise<void>) | undefined;
  /**
   * Receives every fix-up statement (one per call, ending with `;`), for every differing row: the
   * bisection goes on past `maxRows` (which only limits the rows listed) while statements are asked.
   */
  fixSql?: ((stmt: string) => void | Promise<void>) | undefined;
  /** Fix-up statements handed to `fixSql` at most (the report says `fixSqlTruncated` past it). Default unlimited. */
  maxFixSql?: number | undefined;
  onProgress?: ((p: DataCheckProgress) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export interface DataCheckProgress {
  table: string;
  tableIndex: number;
  tables: number;
  chunks: number;
  rows: number;
}

export type RowDiffKind = 'missing-on-target' | 'extra-on-target' | 'different';

export interface RowDiff {
  kind: RowDiffKind;
  key: Record<string, unknown>;
  /** The source table the source image comes from (`source-id:schema.table`). */
  sourceTable?: string;
  source?: Record<string, unknown>;
  target?: Record<string, unknown>;
}

export interface TableCheck {
  table: string;
  sources: string[];
  equal: boolean;
  sourceRows: number;
  targetRows: number;
  chunks: number;
  differentChunks: number;
  columns: string[];
  key: string[];
  notes: string[];
  rows: RowDiff[];
  /** More rows differ than `maxRows` listed. */
  moreRows: boolean;
}

export interface DataCheckReport {
  equal: boolean;
  tables: TableCheck[];
  seconds: number;
  /** More fix-up statements were needed than `maxFixSql`: the fix-up SQL is incomplete. */
  fixSqlTruncated: boolean;
}

/** Fix-up statements handed out so far, over all tables of one check. */
interface FixCount {
  n: number;
  truncated: boolean;
}

interface Side {
  q: Queryable;
  from: string;
  exprs: string[];
  /** The key columns' expressions on this side. */
  keyExprs: string[];
  part?: TablePart;
}

interface Sum {
  n: number;
  s: bigint;
}

const DEFAULT_CHUNK_ROWS = 10_000;
const DEFAULT_LEAF_ROWS = 1_000;
const DEFAULT_MAX_ROWS = 100;

function sides(plan: TablePlan, sources: readonly CheckSourceInput[], target: Queryable): { src: Side[]; tgt: Side | undefined } {
  const src = plan.parts.map((p) => ({
    q: sources.find((s) => s.sourceId === p.sourceId)!.q,
    from: quoteTable(p.schema, p.table),
    exprs: plan.columns.map((c) => columnExpr(c, p, quoteId, quoteValue)),
    keyExprs: plan.key.map((c) => columnExpr(c, p, quoteId, quoteValue)),
    part: p,
  }));
  const tgt = plan.targetInfo
    ? { q: target, from: quoteTable(plan.target), exprs: plan.columns.map((c) => quoteId(c)), keyExprs: plan.key.map((c) => quoteId(c)) }
    : undefined;
  return { src, tgt };
}

async function checksum(side: Side, r: KeyRange): Promise<Sum> {
  const w = side.keyExprs.length ? rangeWhere(side.keyExprs, r) : { sql: '1=1', params: [] };
  const nulls = side.exprs.map((e) => `ISNULL(${e})`).join(', ');
  const row = `CONCAT_WS(',', ${side.exprs.join(', ')}, CONCAT(${nulls}))`;
  const [rows] = await side.q.query(`SELECT COUNT(*) AS n, CAST(COALESCE(SUM(CRC32(${row})), 0) AS CHAR) AS s FROM ${side.from} WHERE ${w.sql}`, w.params);
  const r0 = (rows as { n: number | string; s: string }[])[0]!;
  return { n: Number(r0.n), s: BigInt(r0.s) };
}

async function sumOf(all: readonly Side[], r: KeyRange): Promise<Sum> {
  const parts = await Promise.all(all.map((s) => checksum(s, r)));
  return parts.reduce((a, b) => ({ n: a.n + b.n, s: a.s + b.s }), { n: 0, s: 0n });
}

function text(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return `0x${v.toString('hex')}`;
  return typeof v === 'object' ? JSON.stringify(v) : `${v as string | number}`;
}

function image(columns: readonly string[], row: readonly unknown[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  columns.forEach((c, i) => (o[c] = text(row[i])));
  return o;
}

async function leafRows(side: Side, keyIdx: readonly number[], r: KeyRange): Promise<Map<string, unknown[]>> {
  const w = rangeWhere(side.keyExprs, r);
  const [rows] = await side.q.query({ sql: `SELECT ${side.exprs.join(', ')} FROM ${side.from} WHERE ${w.sql}`, values: w.params, rowsAsArray: true });
  const m = new Map<string, unknown[]>();
  for (const row of rows as unknown[][]) m.set(JSON.stringify(keyIdx.map((i) => text(row[i]))), row);
  return m;
}

class TableRun {
  readonly res: TableCheck;
  private readonly keyIdx: number[];
  /** Differing rows found (listed or not). */
  private rowDiffs = 0;
  /** The current chunk's bisection stopped early (row list full). */
  private cutShort = false;
  /** Differing chunks in which no differing row was found. */
  private unexplained = 0;

  constructor(
    private readonly plan: TablePlan,
    private readonly src: Side[],
    private readonly tgt: Side,
    private readonly o: Required<Pick<DataCheckOptions, 'leafRows' | 'maxRows'>> & DataCheckOptions,
    private readonly fixes: FixCount,
  ) {
    this.keyIdx = plan.key.map((k) => plan.columns.findIndex((c) => c.toLowerCase() === k.toLowerCase()));
    this.res = {
      table: tableLabel(plan.target),
      sources: plan.parts.map((p) => `${p.sourceId}:${p.schema}.${p.table}`),
      equal: true,
      sourceRows: 0,
      targetRows: 0,
      chunks: 0,
      differentChunks: 0,
      columns: plan.columns,
      key: plan.key,
      notes: [...plan.notes],
      rows: [],
      moreRows: false,
    };
  }

  /** Both sides' sums of a range, re-read while they differ (in-flight changes) up to the recheck budget. */
  private async sums(r: KeyRange, recheck: boolean): Promise<{ a: Sum; b: Sum }> {
    const attempts = recheck ? (this.o.recheck?.attempts ?? 0) : 0;
    for (let i = 0; ; i++) {
      const a = await sumOf(this.src, r);
      if (i > 0) await this.o.afterSourceRead?.(this.o.signal);
      const b = await checksum(this.tgt, r);
      if ((a.n === b.n && a.s === b.s) || i >= attempts) return { a, b };
      await new Promise((res) => setTimeout(res, this.o.recheck?.delayMs ?? 0));
      this.o.signal?.throwIfAborted();
    }
  }

  async chunk(r: KeyRange): Promise<void> {
    const { a, b } = await this.sums(r, true);
    this.res.chunks++;
    this.res.sourceRows += a.n;
    this.res.targetRows += b.n;
    if (a.n === b.n && a.s === b.s) return;
    this.res.equal = false;
    this.res.differentChunks++;
    if (this.plan.key.length === 0) return;
    const found = this.rowDiffs;
    this.cutShort = false;
    await this.bisect(r, a, b);
    if (this.rowDiffs === found && !this.cutShort) this.unexplained++;
  }

  /** Notes after the last chunk. */
  finish(): TableCheck {
    if (this.unexplained > 0) {
      this.res.notes.push(
        `${this.unexplained} chunk(s) differed in count or checksum but no differing row was found when their rows were read: changes in flight (a running task; check again) or values whose text differs only in the servers' own formatting`,
      );
    }
    return this.res;
  }

  private async bisect(r: KeyRange, a: Sum, b: Sum): Promise<void> {
    this.o.signal?.throwIfAborted();
    if (a.n === b.n && a.s === b.s) return;
    if (this.res.rows.length >= this.o.maxRows) {
      this.res.moreRows = true;
      // the row list is full; go on only for the fix-up SQL
      if (!this.wantFixes()) {
        if (this.o.fixSql) this.fixes.truncated = true;
        this.cutShort = true;
        return;
      }
    }
    if (Math.max(a.n, b.n) <= this.o.leafRows) return this.listRows(r);
    // halve at the median key of the fuller side (the target, or the source table with most rows)
    let side: Side = this.tgt;
    let n = b.n;
    if (a.n > b.n) {
      const counts = await Promise.all(this.src.map((s) => checksum(s, r)));
      const i = counts.reduce((best, c, j) => (c.n > counts[best]!.n ? j : best), 0);
      side = this.src[i]!;
      n = counts[i]!.n;
    }
    const mid = await keyAt(side.q, side.from, side.keyExprs, r, Math.floor(n / 2) - 1);
    if (!mid) return this.listRows(r);
    for (const half of [{ lower: r.lower, upper: mid }, { lower: mid, upper: r.upper }]) {
      const s = await this.sums(half, false);
      await this.bisect(half, s.a, s.b);
    }
  }

  private wantFixes(): boolean {
    return this.o.fixSql !== undefined && this.fixes.n < (this.o.maxFixSql ?? Infinity);
  }

  private async listRows(r: KeyRange): Promise<void> {
    const tgt = await leafRows(this.tgt, this.keyIdx, r);
    const src = new Map<string, { row: unknown[]; side: Side }>();
    for (const s of this.src) for (const [k, row] of await leafRows(s, this.keyIdx, r)) src.set(k, { row, side: s });
    const cols = this.plan.columns;
    const keyOf = (row: readonly unknown[]): Record<string, unknown> => Object.fromEntries(this.plan.key.map((k, i) => [k, text(row[this.keyIdx[i]!])]));
    const add = async (d: RowDiff, fix: string): Promise<void> => {
      this.rowDiffs++;
      if (this.res.rows.length >= this.o.maxRows) this.res.moreRows = true;
      else this.res.rows.push(d);
      if (!this.o.fixSql) return;
      if (!this.wantFixes()) {
        this.fixes.truncated = true;
        return;
      }
      this.fixes.n++;
      await this.o.fixSql(fix);
    };
    const into = quoteTable(this.plan.target);
    for (const [k, { row, side }] of src) {
      const t = tgt.get(k);
      const label = `${side.part!.sourceId}:${side.part!.schema}.${side.part!.table}`;
      const replace = `REPLACE INTO ${into} (${cols.map(quoteId).join(', ')}) VALUES (${row.map(quoteValue).join(', ')});`;
      if (!t) await add({ kind: 'missing-on-target', key: keyOf(row), sourceTable: label, source: image(cols, row) }, replace);
      else if (row.some((v, i) => text(v) !== text(t[i])))
        await add({ kind: 'different', key: keyOf(row), sourceTable: label, source: image(cols, row), target: image(cols, t) }, replace);
    }
    for (const [k, t] of tgt) {
      if (src.has(k)) continue;
      const where = this.plan.key.map((c, i) => `${quoteId(c)} = ${quoteValue(t[this.keyIdx[i]!])}`).join(' AND ');
      await add({ kind: 'extra-on-target', key: keyOf(t), target: image(cols, t) }, `DELETE FROM ${into} WHERE ${where} LIMIT 1;`);
    }
  }
}

/** Runs the check. Throws only on a database or abort error; differences are in the report. */
export async function checkData(opts: DataCheckOptions): Promise<DataCheckReport> {
  const t0 = process.hrtime.bigint();
  const o = { ...opts, leafRows: opts.leafRows ?? DEFAULT_LEAF_ROWS, maxRows: opts.maxRows ?? DEFAULT_MAX_ROWS };
  const chunkRows = Math.max(2, opts.chunkRows ?? DEFAULT_CHUNK_ROWS);
  const plans = await planDataCheck(opts.sources, opts.target, opts.tables);
  const tables: TableCheck[] = [];
  const fixes: FixCount = { n: 0, truncated: false };
  for (const [ti, plan] of plans.entries()) {
    opts.signal?.throwIfAborted();
    const { src, tgt } = sides(plan, opts.sources, opts.target);
    if (!tgt) {
      const a = await sumOf(src, {});
      tables.push({
        table: tableLabel(plan.target),
        sources: plan.parts.map((p) => `${p.sourceId}:${p.schema}.${p.table}`),
        equal: a.n === 0,
        sourceRows: a.n,
        targetRows: 0,
        chunks: 0,
        differentChunks: 0,
        columns: plan.columns,
        key: plan.key,
        notes: plan.notes,
        rows: [],
        moreRows: a.n > 0,
      });
      continue;
    }
    const run = new TableRun(plan, src, tgt, o, fixes);
    const ranges: AsyncIterable<KeyRange> | KeyRange[] = plan.key.length ? chunkRanges(tgt.q, tgt.from, tgt.keyExprs, chunkRows, opts.signal) : [{}];
    for await (const r of ranges) {
      await run.chunk(r);
      opts.onProgress?.({ table: run.res.table, tableIndex: ti, tables: plans.length, chunks: run.res.chunks, rows: run.res.sourceRows });
    }
    tables.push(run.finish());
  }
  return { equal: tables.every((t) => t.equal), tables, seconds: Number(process.hrtime.bigint() - t0) / 1e9, fixSqlTruncated: fixes.truncated };
}
