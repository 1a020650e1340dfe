import type { Connection } from 'mysql2/promise';
import { DMError } from '../../errors/index.js';
import type { RouteResult } from '../../filter/index.js';
import { classifyMySQLError, closeConnection as closeConn, connectSide as openConn, quoteId, quoteTable } from '../../sql/index.js';
import { recordDeferredIndexes, recordDeferredIndexesMany, type DeferredIndexes } from './meta-store.js';
import { tableKey, type FullSession, type PlannedTable } from './full-session.js';
import { splitSecondaryKeys } from './deferred-index.js';
import { isSmallTable } from './chunk-plan.js';
import { chunkRows } from './config.js';
import { prepareTargetConn } from './chunk-loader.js';
import { inParallel } from './in-parallel.js';

/** Column type text compared across flavors/versions: lower case, integer display widths dropped. */
function normType(t: string): string {
  return t
    .toLowerCase()
    .replace(/^(tinyint|smallint|mediumint|int|integer|bigint)\(\d+\)/, '$1')
    .trim();
}

/** `CREATE TABLE \`t\` (...` → `CREATE TABLE IF NOT EXISTS \`db\`.\`t2\` (...` */
export function rewriteCreateTable(createSQL: string, schema: string, table: string): string {
  const m = /^CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(`(?:[^`]|``)+`(?:\.`(?:[^`]|``)+`)?)/i.exec(createSQL);
  if (!m) throw new DMError('ErrLoadCreateTable', `cannot parse table definition: ${createSQL.slice(0, 80)}`);
  return `CREATE TABLE IF NOT EXISTS ${quoteTable(schema, table)}${createSQL.slice(m[0].length)}`;
}

interface TargetColumn {
  name: string;
  type: string;
  /** The target fills it by itself when an INSERT leaves it out (NULL, a default, AUTO_INCREMENT or generated). */
  fillable: boolean;
}

type ColumnRow = { s: string; tb: string; n: string; t: string; nl: string; d: unknown; x: string | null };

function targetColumn(r: ColumnRow): TargetColumn {
  return { name: r.n, type: r.t, fillable: r.nl === 'YES' || r.d !== null || /auto_increment|generated|virtual|persistent|stored/i.test(r.x ?? '') };
}

const COLUMNS_SQL = 'SELECT TABLE_SCHEMA AS s, TABLE_NAME AS tb, COLUMN_NAME AS n, COLUMN_TYPE AS t, IS_NULLABLE AS nl, COLUMN_DEFAULT AS d, EXTRA AS x FROM information_schema.COLUMNS';

async function targetColumns(conn: Connection, schema: string, table: string): Promise<TargetColumn[]> {
  const [rows] = await conn.query(`${COLUMNS_SQL} WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, [schema, table]);
  return (rows as ColumnRow[]).map(targetColumn);
}

/** The columns of every table of `schemas`, by `schema.table`. */
async function schemaColumns(conn: Connection, schemas: readonly string[]): Promise<Map<string, TargetColumn[]>> {
  const [rows] = await conn.query(`${COLUMNS_SQL} WHERE TABLE_SCHEMA IN (?) ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`, [schemas]);
  const out = new Map<string, TargetColumn[]>();
  for (const r of rows as ColumnRow[]) {
    const k = tableKey(r.s, r.tb);
    const l = out.get(k);
    if (l) l.push(targetColumn(r));
    else out.set(k, [targetColumn(r)]);
  }
  return out;
}

async function tableExists(conn: Connection, schema: string, table: string): Promise<boolean> {
  const [rows] = await conn.query('SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [schema, table]);
  return (rows as unknown[]).length > 0;
}

/** Add the route's extract-* columns the target table lacks (VARCHAR(255)); true when it added one. */
async function addExtractedColumns(conn: Connection, route: RouteResult, cols: readonly TargetColumn[]): Promise<boolean> {
  const have = new Set(cols.map((c) => c.name.toLowerCase()));
  let added = false;
  for (const x of route.extracted) {
    if (have.has(x.column.toLowerCase())) continue;
    // another source's loader of the same merged table may add it at the same moment: 1060 = it is there
    await conn.query(`ALTER TABLE ${quoteTable(route.schema, route.table)} ADD COLUMN ${quoteId(x.column)} VARCHAR(255) NOT NULL DEFAULT ''`).catch((e: unknown) => {
      if ((e as { errno?: number }).errno !== 1060) throw e;
    });
    added = true;
  }
  return added;
}

/** ErrLoadTableMismatch when the target table lacks a source column, retypes one, or has one it cannot fill. */
function checkColumns(where: string, source: { name: string; columns: readonly { name: string; type: string }[] }, cols: readonly TargetColumn[], route: RouteResult): void {
  const tgt = new Map(cols.map((c) => [c.name.toLowerCase(), normType(c.type)]));
  const problems: string[] = [];
  for (const c of source.columns) {
    const tt = tgt.get(c.name.toLowerCase());
    if (tt === undefined) problems.push(`column ${c.name} missing`);
    else if (tt !== normType(c.type)) problems.push(`column ${c.name} is ${tt}, source has ${normType(c.type)}`);
  }
  // extra target columns are fine (rows are written by column name, as DM does) when the target
  // can fill them itself; one it cannot fill would refuse every INSERT
  const expected = new Set([...source.columns.map((c) => c.name.toLowerCase()), ...route.extracted.map((x) => x.column.toLowerCase())]);
  for (const c of cols) {
    if (!expected.has(c.name.toLowerCase()) && !c.fillable) problems.push(`extra column ${c.name} is NOT NULL without a default (and not AUTO_INCREMENT or generated)`);
  }
  if (problems.length > 0)
    throw new DMError('ErrLoadTableMismatch', `target table ${where} does not match source table ${source.name}: ${problems.join('; ')}`);
}

/**
 * Create the routed target schema and table from the upstream SHOW CREATE TABLE (once for merged
 * shards), add extract-* columns (VARCHAR(255)), and check that an existing table has the
 * source's columns with the same types: a missing or retyped column is ErrLoadTableMismatch,
 * never a silent overwrite. Extra target columns (pre-created by the user) are accepted when the
 * target fills them by itself (nullable, a default, AUTO_INCREMENT or generated): rows are
 * written by column name, in load and in sync.
 * A table created here gets its plain secondary keys later (deferred-index.ts).
 */
export async function ensureTargetTable(conn: Connection, s: FullSession, t: PlannedTable): Promise<void> {
  const { route, info } = t;
  await createTargetTable(conn, s, route, info.createSQL, { name: `${info.schema}.${info.table}`, columns: info.columns });
}

/**
 * As ensureTargetTable, from a table definition alone (a dump directory's `<db>.<tbl>-schema.sql`):
 * the table is created and the extract-* columns added the same way; without the source's
 * column types there is no mismatch check.
 */
export async function ensureTargetTableFromDDL(conn: Connection, s: FullSession, route: RouteResult, createSQL: string): Promise<void> {
  await createTargetTable(conn, s, route, createSQL, undefined);
}

async function createTargetTable(
  conn: Connection,
  s: FullSession,
  route: RouteResult,
  createSQL: string,
  source: { name: string; columns: readonly { name: string; type: string }[] } | undefined,
): Promise<void> {
  const where = `${route.schema}.${route.table}`;
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS ${quoteId(route.schema)}`);
    let ddl = createSQL;
    if (!(await tableExists(conn, route.schema, route.table))) {
      const split = splitSecondaryKeys(createSQL);
      if (split.clauses.length > 0) {
        // recorded before the CREATE: a crash in between leaves a record and no table, redone on resume
        await recordDeferredIndexes(conn, s.meta, s.cfg.sourceId, { schema: route.schema, table: route.table, clauses: split.clauses });
        ddl = split.createSQL;
      }
    }
    await conn.query(rewriteCreateTable(ddl, route.schema, route.table));
    let cols = await targetColumns(conn, route.schema, route.table);
    if (await addExtractedColumns(conn, route, cols)) cols = await targetColumns(conn, route.schema, route.table);
    if (source) checkColumns(where, source, cols, route);
  } catch (e) {
    if (e instanceof DMError) throw e;
    const d = classifyMySQLError(e, 'target', `create target table ${where}`);
    throw d.codeName === 'ErrLoadExecFailed' ? new DMError('ErrLoadCreateTable', d.message, { cause: e }) : d;
  }
}

/**
 * ensureTargetTable for many tables with few round trips: the target schemas first, one listing of
 * the tables already there, the deferred-key records of the tables about to be created in one
 * statement, the CREATE TABLEs on up to `pool-size` connections at once, and one read of the
 * target columns to check them all. Merged shards (several source tables routed to one target
 * table) create it once, from the first of them, and are each checked against it. A small table
 * (isSmallTable: one chunk; for merged shards all of them together) is created with its
 * secondary keys: building them after its few rows would cost an ALTER TABLE and gain nothing.
 */
export async function ensureTargetTables(s: FullSession, tables: readonly PlannedTable[], signal: AbortSignal): Promise<void> {
  if (tables.length === 0) return;
  const rows = chunkRows(s.cfg);
  const byTarget = new Map<string, PlannedTable[]>();
  for (const t of tables) {
    const k = tableKey(t.route.schema, t.route.table);
    const g = byTarget.get(k);
    if (g) g.push(t);
    else byTarget.set(k, [t]);
  }
  const schemas = [...new Set(tables.map((t) => t.route.schema))];
  const conns: Connection[] = [];
  let step = `create target schemas ${schemas.join(', ')}`;
  try {
    const first = await openConn(s.cfg.target, 'target');
    conns.push(first);
    await prepareTargetConn(first);
    for (const db of schemas) await first.query(`CREATE DATABASE IF NOT EXISTS ${quoteId(db)}`);
    const [have] = await first.query('SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (?)', [schemas]);
    // compared case-insensitively: a name that differs only in case counts as there (never deferred
    // keys on a table that may be the user's; lower_case_table_names=1 servers fold names)
    const existing = new Set((have as { s: string; t: string }[]).map((r) => tableKey(r.s, r.t).toLowerCase()));
    const creates: { route: RouteResult; ddl: string }[] = [];
    const deferred: DeferredIndexes[] = [];
    for (const [k, g] of byTarget) {
      const t = g[0] as PlannedTable;
      if (existing.has(k.toLowerCase())) continue;
      const small = isSmallTable({ estimatedRows: g.reduce((a, x) => a + x.info.estimatedRows, 0), estimatedBytes: g.reduce((a, x) => a + x.info.estimatedBytes, 0) }, rows);
      const split = small ? undefined : splitSecondaryKeys(t.info.createSQL);
      if (split && split.clauses.length > 0) {
        deferred.push({ schema: t.route.schema, table: t.route.table, clauses: split.clauses });
        creates.push({ route: t.route, ddl: split.createSQL });
      } else creates.push({ route: t.route, ddl: t.info.createSQL });
    }
    // recorded before the CREATEs: a crash in between leaves a record and no table, redone on resume
    step = 'record deferred secondary keys';
    await recordDeferredIndexesMany(first, s.meta, s.cfg.sourceId, deferred);
    const n = Math.min(s.cfg.loader.poolSize, creates.length);
    for (let i = conns.length; i < n; i++) {
      const c = await openConn(s.cfg.target, 'target');
      conns.push(c);
      await prepareTargetConn(c);
    }
    await inParallel(conns, creates, signal, async (c, x) => {
      try {
        await c.query(rewriteCreateTable(x.ddl, x.route.schema, x.route.table));
      } catch (e) {
        throw createError(e, `create target table ${x.route.schema}.${x.route.table}`);
      }
    });
    step = `read the columns of the target tables in ${schemas.join(', ')}`;
    const cols = await schemaColumns(first, schemas);
    for (const [k, g] of byTarget) {
      const { route } = g[0] as PlannedTable;
      step = `create target table ${k}`;
      let tc = cols.get(k) ?? (await targetColumns(first, route.schema, route.table));
      if (await addExtractedColumns(first, route, tc)) tc = await targetColumns(first, route.schema, route.table);
      for (const t of g) checkColumns(k, { name: `${t.info.schema}.${t.info.table}`, columns: t.info.columns }, tc, t.route);
    }
  } catch (e) {
    throw createError(e, step);
  } finally {
    await Promise.all(conns.map((c) => closeConn(c)));
  }
}

function createError(e: unknown, action: string): DMError {
  if (e instanceof DMError) return e;
  const d = classifyMySQLError(e, 'target', action);
  return d.codeName === 'ErrLoadExecFailed' ? new DMError('ErrLoadCreateTable', d.message, { cause: e }) : d;
}
