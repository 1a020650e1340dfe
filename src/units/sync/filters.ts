/**
 * Thin adapter over the task's filter rules for the sync unit: block-allow list, routes and the
 * binlog event filter. Private minimal implementations of DM's semantics (src/filter had not
 * landed when this was written); swap for src/filter/index.ts when it exists.
 */
import type { BAListRule, EventFilterRule, ExtractedColumn, RouteResult, RouteRule } from '../../filter/types.js';

/** Schemas never replicated. */
const SYSTEM_SCHEMAS = new Set(['mysql', 'information_schema', 'performance_schema', 'sys']);

function globToRegExp(pattern: string, caseSensitive: boolean): RegExp {
  if (pattern.startsWith('~')) return new RegExp(pattern.slice(1), caseSensitive ? '' : 'i');
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, caseSensitive ? '' : 'i');
}

export type DMLEventType = 'insert' | 'update' | 'delete';
export type FilterAction = 'Do' | 'Ignore' | 'Error';

export interface SyncFilters {
  /** True when rows of this upstream table are replicated. */
  includeTable(schema: string, table: string): boolean;
  includeSchema(schema: string): boolean;
  route(schema: string, table: string): RouteResult;
  /** Target schema for a schema-level statement (CREATE/DROP DATABASE). */
  routeSchema(schema: string): string;
  dmlAction(schema: string, table: string, op: DMLEventType): FilterAction;
  /** `eventType` is DM's name, e.g. 'create table', 'drop database'. */
  ddlAction(schema: string, table: string, eventType: string, sql: string): FilterAction;
}

export function buildFilters(opts: {
  baList?: BAListRule | undefined;
  routes?: readonly RouteRule[] | undefined;
  filters?: readonly EventFilterRule[] | undefined;
  caseSensitive?: boolean | undefined;
  metaSchema: string;
  sourceId: string;
}): SyncFilters {
  const cs = opts.caseSensitive ?? false;
  const ba = opts.baList ?? {};
  const m = (p: string): RegExp => globToRegExp(p, cs);
  const doDbs = (ba.doDbs ?? []).map(m);
  const ignoreDbs = (ba.ignoreDbs ?? []).map(m);
  const doTables = (ba.doTables ?? []).map((t) => ({ db: m(t.dbName), tbl: m(t.tblName) }));
  const ignoreTables = (ba.ignoreTables ?? []).map((t) => ({ db: m(t.dbName), tbl: m(t.tblName) }));
  const meta = cs ? opts.metaSchema : opts.metaSchema.toLowerCase();

  const includeSchema = (schema: string): boolean => {
    const s = cs ? schema : schema.toLowerCase();
    if (SYSTEM_SCHEMAS.has(schema.toLowerCase()) || s === meta) return false;
    if (doDbs.length > 0 || doTables.length > 0) {
      if (!doDbs.some((r) => r.test(schema)) && !doTables.some((t) => t.db.test(schema))) return false;
    }
    if (ignoreDbs.some((r) => r.test(schema))) return false;
    return true;
  };
  const includeTable = (schema: string, table: string): boolean => {
    if (!includeSchema(schema)) return false;
    const tablesForDb = doTables.filter((t) => t.db.test(schema));
    if (tablesForDb.length > 0 && !doDbs.some((r) => r.test(schema)) && !tablesForDb.some((t) => t.tbl.test(table)))
      return false;
    if (ignoreTables.some((t) => t.db.test(schema) && t.tbl.test(table))) return false;
    return true;
  };

  const routes = (opts.routes ?? []).map((r) => ({
    rule: r,
    schema: m(r.schemaPattern),
    table: r.tablePattern ? m(r.tablePattern) : undefined,
    extractTable: r.extractTable ? new RegExp(r.extractTable.tableRegexp) : undefined,
    extractSchema: r.extractSchema ? new RegExp(r.extractSchema.schemaRegexp) : undefined,
    extractSource: r.extractSource ? new RegExp(r.extractSource.sourceRegexp) : undefined,
  }));
  const extractValue = (re: RegExp, s: string): string => {
    const mm = re.exec(s);
    if (!mm) return '';
    return mm[1] ?? mm[0];
  };
  const routeCache = new Map<string, RouteResult>();
  const route = (schema: string, table: string): RouteResult => {
    const k = `${schema}\u0000${table}`;
    const hit = routeCache.get(k);
    if (hit) return hit;
    // Table-level rules win over schema-level rules.
    const r =
      routes.find((x) => x.table && x.schema.test(schema) && x.table.test(table)) ??
      routes.find((x) => !x.table && x.schema.test(schema));
    let res: RouteResult;
    if (!r) res = { schema, table, extracted: [] };
    else {
      const extracted: ExtractedColumn[] = [];
      if (r.extractTable && r.rule.extractTable)
        extracted.push({ column: r.rule.extractTable.targetColumn, value: extractValue(r.extractTable, table) });
      if (r.extractSchema && r.rule.extractSchema)
        extracted.push({ column: r.rule.extractSchema.targetColumn, value: extractValue(r.extractSchema, schema) });
      if (r.extractSource && r.rule.extractSource)
        extracted.push({ column: r.rule.extractSource.targetColumn, value: extractValue(r.extractSource, opts.sourceId) });
      res = {
        schema: r.rule.targetSchema || schema,
        table: r.table ? r.rule.targetTable || table : table,
        extracted,
      };
    }
    routeCache.set(k, res);
    return res;
  };
  const routeSchema = (schema: string): string => {
    const r = routes.find((x) => !x.table && x.schema.test(schema)) ?? routes.find((x) => x.schema.test(schema));
    return r?.rule.targetSchema || schema;
  };

  const frules = (opts.filters ?? []).map((f) => ({
    rule: f,
    schema: m(f.schemaPattern),
    table: f.tablePattern ? m(f.tablePattern) : undefined,
    events: new Set((f.events ?? []).map((e) => e.toLowerCase())),
    sql: (f.sqlPattern ?? []).map((p) => new RegExp(p, 'i')),
  }));
  const matchEvent = (events: Set<string>, ev: string, isDDL: boolean): boolean =>
    events.has('all') || events.has(ev) || (isDDL ? events.has('all ddl') : events.has('all dml'));
  const decide = (schema: string, table: string, ev: string, isDDL: boolean, sql: string | undefined): FilterAction => {
    for (const f of frules) {
      if (!f.schema.test(schema)) continue;
      if (f.table && table !== '' && !f.table.test(table)) continue;
      if (f.table && table === '') continue;
      const hit = matchEvent(f.events, ev, isDDL) || (sql !== undefined && f.sql.some((r) => r.test(sql)));
      if (f.rule.action === 'Do') {
        if (!hit) return 'Ignore';
      } else if (hit) return f.rule.action;
    }
    return 'Do';
  };

  return {
    includeTable,
    includeSchema,
    route,
    routeSchema,
    dmlAction: (schema, table, op) => decide(schema, table, op, false, undefined),
    ddlAction: (schema, table, ev, sql) => decide(schema, table, ev, true, sql),
  };
}
