/**
 * DDL as the sync unit sees it: src/sql's parseDDL/rewriteParsed (token-level rewrite that keeps
 * every byte but the table names) plus the unit's decisions — which query events are DDL it
 * applies, and the routed statement to run on the target.
 */
import { DMError } from '../../errors/index.js';
import type { TableName } from '../../filter/index.js';
import { parseDDL, queryKind, rewriteParsed, type ParsedDDL } from '../../sql/index.js';

export type { ParsedDDL };

/**
 * Parse one binlog QUERY event. `undefined` when it is not table/index/database DDL (BEGIN, GRANT,
 * CREATE USER, views, …: ignored). A table DDL that cannot be read throws ErrSQLParseDDL.
 */
export function parseSyncDDL(sql: string, defaultSchema: string): ParsedDDL | undefined {
  if (queryKind(sql) !== 'ddl') return undefined;
  try {
    return parseDDL(sql, defaultSchema);
  } catch (e) {
    if (e instanceof DMError && e.codeName === 'ErrSQLUnsupportedDDL') return undefined;
    throw e;
  }
}

/**
 * The statement to run on the target: every table name routed and fully qualified, database
 * names routed; all other text unchanged. `route` maps tables, `routeSchema` databases.
 */
export function routedDDL(p: ParsedDDL, route: (schema: string, table: string) => TableName, routeSchema: (schema: string) => string): string {
  return rewriteParsed(p, (t) => {
    if (t.table === '') return { schema: routeSchema(t.schema), table: '' };
    const r = route(t.schema, t.table);
    return { schema: r.schema, table: r.table };
  });
}

/** The schema a statement needs to exist on the target before it runs (CREATE TABLE into a new routed schema). */
export function schemaToEnsure(p: ParsedDDL, route: (schema: string, table: string) => TableName): string | undefined {
  if (p.type !== 'create table') return undefined;
  const t = p.tables[0];
  return t ? route(t.schema, t.table).schema : undefined;
}
