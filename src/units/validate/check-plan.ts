/**
 * What a one-shot data check compares: every target table of a task, with the source tables
 * (on every source) that the task's block-allow list lets through and its routes send there, and
 * the columns both sides can produce.
 *
 * A column is compared when every source part can produce it — as a column of its own table, or
 * as an extract-table/schema/source value the route writes (a constant per source table) — and it
 * is not a generated column on the target. Target-only columns (a default the target fills in)
 * and source-only columns are left out of the comparison and named in the table's notes, so a
 * "equal" verdict never hides what it did not look at.
 */
import { compileOnlineDDLRules, createBAList, createRouter, isSystemSchema } from '../../filter/index.js';
import type { BAListRule, ExtractedColumn, RouteRule, TableName } from '../../filter/index.js';
import { getTableInfo, tableExists, type Queryable, type TableInfo } from '../../sql/index.js';

/** One source's inputs to the plan. */
export interface CheckSourceInput {
  sourceId: string;
  q: Queryable;
  baList?: BAListRule | undefined;
  routes: readonly RouteRule[];
  caseSensitive: boolean;
  /** Task `online-ddl`: gh-ost / pt-osc shadow and trash tables are not migrated, so not compared (docs/online-ddl.md). */
  onlineDDL?: { shadowTableRules: readonly string[]; trashTableRules: readonly string[] } | undefined;
}

/** One source table feeding a target table. */
export interface TablePart {
  sourceId: string;
  schema: string;
  table: string;
  /** Values the route writes into extract columns for this table. */
  extracted: readonly ExtractedColumn[];
  info: TableInfo;
}

/** One target table and its sources. */
export interface TablePlan {
  target: TableName;
  /** Absent when the target table does not exist (every source row is then missing). */
  targetInfo: TableInfo | undefined;
  parts: TablePart[];
  /** Compared columns, in target order. */
  columns: string[];
  /** Key the chunks are cut on (the target's handle key; extract columns are constants on a source side); [] = compared whole. */
  key: string[];
  notes: string[];
}

export const tableLabel = (t: TableName): string => `\`${t.schema}\`.\`${t.table}\``;

async function listTables(q: Queryable): Promise<TableName[]> {
  const [rows] = await q.query(
    "SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_SCHEMA, TABLE_NAME",
  );
  return (rows as { s: string; t: string }[]).filter((r) => !isSystemSchema(r.s)).map((r) => ({ schema: r.s, table: r.t }));
}

/**
 * Builds the plan. `only` keeps the target tables named there (`schema.table`, as on the target).
 */
export async function planDataCheck(
  sources: readonly CheckSourceInput[],
  target: Queryable,
  only?: readonly TableName[],
): Promise<TablePlan[]> {
  const byTarget = new Map<string, { target: TableName; parts: TablePart[] }>();
  for (const src of sources) {
    const ba = createBAList(src.baList, { caseSensitive: src.caseSensitive });
    const router = createRouter(src.routes, { caseSensitive: src.caseSensitive, sourceId: src.sourceId });
    const online = src.onlineDDL ? compileOnlineDDLRules(src.onlineDDL.shadowTableRules, src.onlineDDL.trashTableRules) : undefined;
    for (const t of await listTables(src.q)) {
      if (!ba.matchTable(t.schema, t.table)) continue;
      if (online && online.tableType(t.table) !== 'real') continue;
      const r = router.route(t.schema, t.table);
      const tgt = { schema: r.schema, table: r.table };
      if (only && !only.some((o) => o.schema === tgt.schema && o.table === tgt.table)) continue;
      const k = `${tgt.schema}\u0000${tgt.table}`;
      let e = byTarget.get(k);
      if (!e) byTarget.set(k, (e = { target: tgt, parts: [] }));
      e.parts.push({ sourceId: src.sourceId, schema: t.schema, table: t.table, extracted: r.extracted, info: await getTableInfo(src.q, t.schema, t.table) });
    }
  }
  const plans: TablePlan[] = [];
  for (const { target: tgt, parts } of [...byTarget.values()].sort((a, b) => tableLabel(a.target).localeCompare(tableLabel(b.target)))) {
    plans.push(await planTable(target, tgt, parts));
  }
  return plans;
}

async function planTable(target: Queryable, tgt: TableName, parts: TablePart[]): Promise<TablePlan> {
  const notes: string[] = [];
  const targetInfo = (await tableExists(target, tgt.schema, tgt.table)) ? await getTableInfo(target, tgt.schema, tgt.table) : undefined;
  const first = parts[0]!;
  if (!targetInfo) {
    notes.push('the target table does not exist');
    const columns = first.info.columns.filter((c) => !c.generated).map((c) => c.name);
    return { target: tgt, targetInfo, parts, columns, key: first.info.handleKey, notes };
  }
  const columns: string[] = [];
  const left: string[] = [];
  for (const c of targetInfo.columns) {
    if (c.generated) continue;
    const everyPart = parts.every(
      (p) => p.extracted.some((x) => x.column === c.name) || p.info.columns.some((s) => s.name.toLowerCase() === c.name.toLowerCase() && !s.generated),
    );
    if (everyPart) columns.push(c.name);
    else left.push(c.name);
  }
  if (left.length > 0) notes.push(`target-only columns not compared: ${left.join(', ')}`);
  const lower = new Set(columns.map((c) => c.toLowerCase()));
  const srcOnly = new Set<string>();
  for (const p of parts) for (const c of p.info.columns) if (!c.generated && !lower.has(c.name.toLowerCase())) srcOnly.add(c.name);
  if (srcOnly.size > 0) notes.push(`source-only columns not compared: ${[...srcOnly].join(', ')}`);
  let key = [...targetInfo.handleKey];
  if (key.length > 0 && !key.every((k) => lower.has(k.toLowerCase()))) key = [];
  if (key.length === 0) notes.push('no primary or not-null unique key to cut chunks on: the table is compared whole (counts and checksums only, no row list)');
  return { target: tgt, targetInfo, parts, columns, key, notes };
}

/** The SQL expression that gives `column` on the side `part` (a column, or the route's extract value). */
export function columnExpr(column: string, part: TablePart | undefined, quote: (s: string) => string, literal: (v: unknown) => string): string {
  const x = part?.extracted.find((e) => e.column === column);
  if (x) return literal(x.value);
  if (part) {
    const real = part.info.columns.find((c) => c.name.toLowerCase() === column.toLowerCase());
    if (real) return quote(real.name);
  }
  return quote(column);
}
