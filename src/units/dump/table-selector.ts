import type { BAListRule, RouteRule, RouteResult } from '../../filter/types.js';

/**
 * Which source tables are migrated and where they go: DM's block-allow list and table router.
 *
 * PRIVATE STOP-GAP: src/filter (createBAList / createRouter) was not available when the dump
 * unit was written, so this is a minimal version of DM's semantics (wildcards `*` `?`, `~regex`,
 * do/ignore dbs then do/ignore tables, table-level routes before schema-level routes,
 * extract-table/schema/source). Swap for src/filter once it lands; the interface is the same.
 */
export interface TableSelector {
  matchTable(schema: string, table: string): boolean;
  route(schema: string, table: string): RouteResult;
}

export const SYSTEM_SCHEMAS = ['mysql', 'information_schema', 'performance_schema', 'sys'];

function compilePattern(p: string, caseSensitive: boolean): (s: string) => boolean {
  if (p.startsWith('~')) {
    const re = new RegExp(p.slice(1), caseSensitive ? '' : 'i');
    return (s) => re.test(s);
  }
  const src = p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  const re = new RegExp(`^${src}$`, caseSensitive ? '' : 'i');
  return (s) => re.test(s);
}

function extractValue(regexp: string, s: string): string {
  const m = new RegExp(regexp).exec(s);
  if (!m) return '';
  return m.length > 1 ? m.slice(1).join('') : m[0];
}

export function createTableSelector(opts: {
  baList?: BAListRule | undefined;
  routes: readonly RouteRule[];
  caseSensitive: boolean;
  sourceId: string;
}): TableSelector {
  const cs = opts.caseSensitive;
  const ba = opts.baList ?? {};
  const doDbs = (ba.doDbs ?? []).map((p) => compilePattern(p, cs));
  const ignoreDbs = (ba.ignoreDbs ?? []).map((p) => compilePattern(p, cs));
  const tbl = (refs: BAListRule['doTables']): ((s: string, t: string) => boolean)[] =>
    (refs ?? []).map((r) => {
      const ms = compilePattern(r.dbName, cs);
      const mt = compilePattern(r.tblName, cs);
      return (s: string, t: string) => ms(s) && mt(t);
    });
  const doTables = tbl(ba.doTables);
  const ignoreTables = tbl(ba.ignoreTables);
  const routes = opts.routes.map((r) => ({
    rule: r,
    schema: compilePattern(r.schemaPattern, cs),
    table: r.tablePattern ? compilePattern(r.tablePattern, cs) : undefined,
  }));
  const tableRoutes = routes.filter((r) => r.table);
  const schemaRoutes = routes.filter((r) => !r.table);
  return {
    matchTable(schema, table) {
      if (SYSTEM_SCHEMAS.includes(schema.toLowerCase())) return false;
      if (doDbs.length > 0 && !doDbs.some((m) => m(schema))) return false;
      if (ignoreDbs.some((m) => m(schema))) return false;
      if (doTables.length > 0 && doTables.some((m) => m(schema, table))) return true;
      if (ignoreTables.some((m) => m(schema, table))) return false;
      return doTables.length === 0;
    },
    route(schema, table) {
      const hit = tableRoutes.find((r) => r.schema(schema) && r.table?.(table)) ?? schemaRoutes.find((r) => r.schema(schema));
      if (!hit) return { schema, table, extracted: [] };
      const r = hit.rule;
      const extracted: RouteResult['extracted'] = [];
      if (r.extractTable) extracted.push({ column: r.extractTable.targetColumn, value: extractValue(r.extractTable.tableRegexp, table) });
      if (r.extractSchema) extracted.push({ column: r.extractSchema.targetColumn, value: extractValue(r.extractSchema.schemaRegexp, schema) });
      if (r.extractSource) extracted.push({ column: r.extractSource.targetColumn, value: extractValue(r.extractSource.sourceRegexp, opts.sourceId) });
      return {
        schema: r.targetSchema || schema,
        table: hit.table ? r.targetTable || table : table,
        extracted,
      };
    },
  };
}
