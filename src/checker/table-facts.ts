/**
 * The columns and keys of the migrated tables of one source, read once per check run with two
 * information_schema queries restricted to the migrated schemas (`TABLE_SCHEMA IN (...)`), then
 * joined here. Both `table_schema` and the target-side items (`target_table`,
 * `schema_of_shard_tables`, `auto_increment_ID`) read them. A join or a correlated subquery of
 * information_schema tables in SQL makes MariaDB open every table once per outer row: with 1,000
 * tables that took a minute, where these two reads take tens of milliseconds.
 */
import type { TableName } from '../filter/types.js';
import type { CheckConn } from './conn.js';

export interface FactColumn {
  name: string;
  nullable: boolean;
  autoIncrement: boolean;
}

export interface FactKey {
  name: string;
  unique: boolean;
  /** In index order. */
  columns: string[];
}

export interface TableFacts {
  columns: FactColumn[];
  keys: FactKey[];
}

export const tableFactsKey = (t: TableName): string => `${t.schema}\u0000${t.table}`;

/** Columns and keys of every table in the schemas of `tables` (key: tableFactsKey). */
export async function readTableFacts(
  c: CheckConn,
  tables: readonly TableName[],
): Promise<Map<string, TableFacts>> {
  const out = new Map<string, TableFacts>();
  const schemas = [...new Set(tables.map((t) => t.schema))];
  if (schemas.length === 0) return out;
  const cols = await c.rows<{ s: string; t: string; c: string; nl: string; x: string | null }>(
    'SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, COLUMN_NAME AS c, IS_NULLABLE AS nl, EXTRA AS x FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN (?) ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION',
    [schemas],
  );
  const stats = await c.rows<{
    s: string;
    t: string;
    i: string;
    c: string | null;
    nu: number | string;
    q: number | string;
  }>(
    'SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, INDEX_NAME AS i, COLUMN_NAME AS c, NON_UNIQUE AS nu, SEQ_IN_INDEX AS q FROM information_schema.STATISTICS WHERE TABLE_SCHEMA IN (?) ORDER BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX',
    [schemas],
  );
  const get = (s: string, t: string): TableFacts => {
    const k = tableFactsKey({ schema: s, table: t });
    let f = out.get(k);
    if (!f) {
      f = { columns: [], keys: [] };
      out.set(k, f);
    }
    return f;
  };
  for (const r of cols)
    get(r.s, r.t).columns.push({
      name: r.c,
      nullable: r.nl === 'YES',
      autoIncrement: /auto_increment/i.test(r.x ?? ''),
    });
  for (const r of stats) {
    const f = get(r.s, r.t);
    let k = f.keys.find((x) => x.name === r.i);
    if (!k) {
      k = { name: r.i, unique: Number(r.nu) === 0, columns: [] };
      f.keys.push(k);
    }
    // a functional key part (MySQL 8) has no column: it stays in the count, never matches a column
    k.columns.push(r.c ?? '');
  }
  return out;
}

/** Whether the table has a primary key or a unique key whose columns are all NOT NULL. */
export function hasNotNullUniqueKey(f: TableFacts | undefined): boolean {
  if (!f) return false;
  const byName = new Map(f.columns.map((c) => [c.name, c]));
  return f.keys.some(
    (k) => k.unique && k.columns.length > 0 && k.columns.every((c) => byName.get(c)?.nullable === false),
  );
}

/** An AUTO_INCREMENT column that alone is the table's primary key or a unique key (the first by name). */
export function autoIncrementKeyOf(f: TableFacts | undefined): string | undefined {
  if (!f) return undefined;
  const auto = new Set(f.columns.filter((c) => c.autoIncrement).map((c) => c.name));
  const cands = f.keys
    .filter((k) => k.unique && k.columns.length === 1 && auto.has(k.columns[0] ?? ''))
    .map((k) => k.columns[0] ?? '');
  return cands.sort()[0];
}
