import type { Connection } from 'mysql2/promise';
import { DMError } from '../../errors/index.js';
import type { RouteResult } from '../../filter/index.js';
import { classifyMySQLError, quoteId, quoteTable } from '../../sql/index.js';
import { recordDeferredIndexes } from './meta-store.js';
import type { FullSession, PlannedTable } from './full-session.js';
import { splitSecondaryKeys } from './deferred-index.js';

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

async function targetColumns(conn: Connection, schema: string, table: string): Promise<TargetColumn[]> {
  const [rows] = await conn.query(
    'SELECT COLUMN_NAME AS n, COLUMN_TYPE AS t, IS_NULLABLE AS nl, COLUMN_DEFAULT AS d, EXTRA AS x FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
    [schema, table],
  );
  return (rows as { n: string; t: string; nl: string; d: unknown; x: string | null }[]).map((r) => ({
    name: r.n,
    type: r.t,
    fillable: r.nl === 'YES' || r.d !== null || /auto_increment|generated|virtual|persistent|stored/i.test(r.x ?? ''),
  }));
}

async function tableExists(conn: Connection, schema: string, table: string): Promise<boolean> {
  const [rows] = await conn.query('SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [schema, table]);
  return (rows as unknown[]).length > 0;
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
    const have = new Set(cols.map((c) => c.name.toLowerCase()));
    for (const x of route.extracted) {
      if (have.has(x.column.toLowerCase())) continue;
      // another source's loader of the same merged table may add it at the same moment: 1060 = it is there
      await conn.query(`ALTER TABLE ${quoteTable(route.schema, route.table)} ADD COLUMN ${quoteId(x.column)} VARCHAR(255) NOT NULL DEFAULT ''`).catch((e: unknown) => {
        if ((e as { errno?: number }).errno !== 1060) throw e;
      });
    }
    if (!source) return;
    if (route.extracted.length > 0) cols = await targetColumns(conn, route.schema, route.table);
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
  } catch (e) {
    if (e instanceof DMError) throw e;
    const d = classifyMySQLError(e, 'target', `create target table ${where}`);
    throw d.codeName === 'ErrLoadExecFailed' ? new DMError('ErrLoadCreateTable', d.message, { cause: e }) : d;
  }
}
