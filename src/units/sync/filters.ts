/**
 * Thin adapter over src/filter for the sync unit: block-allow list, routes and the binlog event
 * filter, plus the schemas the unit never replicates (system schemas and its own meta schema).
 */
import {
  createBAList,
  createEventFilter,
  createRouter,
  isSystemSchema,
  type BAListRule,
  type EventFilterRule,
  type RouteResult,
  type RouteRule,
} from '../../filter/index.js';

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
  /** `eventType` is DM's name of the statement type, e.g. 'create table', 'drop database'. */
  ddlAction(schema: string, table: string, eventType: string, sql: string): FilterAction;
}

const ACTION = { do: 'Do', ignore: 'Ignore', error: 'Error' } as const;

export function buildFilters(opts: {
  baList?: BAListRule | undefined;
  routes?: readonly RouteRule[] | undefined;
  filters?: readonly EventFilterRule[] | undefined;
  caseSensitive?: boolean | undefined;
  metaSchema: string;
  sourceId: string;
}): SyncFilters {
  const caseSensitive = opts.caseSensitive ?? false;
  const ba = createBAList(opts.baList, { caseSensitive });
  const router = createRouter(opts.routes ?? [], { caseSensitive, sourceId: opts.sourceId });
  const ef = createEventFilter(opts.filters ?? [], { caseSensitive });
  const meta = opts.metaSchema.toLowerCase();
  const own = (schema: string): boolean => isSystemSchema(schema) || schema.toLowerCase() === meta;
  const cache = new Map<string, RouteResult>();
  const tableCache = new Map<string, boolean>();
  return {
    includeSchema: (schema) => !own(schema) && ba.matchSchema(schema),
    includeTable: (schema, table) => {
      const k = `${schema}\u0000${table}`;
      let v = tableCache.get(k);
      if (v === undefined) {
        v = !own(schema) && ba.matchTable(schema, table);
        tableCache.set(k, v);
      }
      return v;
    },
    route: (schema, table) => {
      const k = `${schema}\u0000${table}`;
      let r = cache.get(k);
      if (!r) {
        r = router.route(schema, table);
        cache.set(k, r);
      }
      return r;
    },
    routeSchema: (schema) => router.route(schema, '').schema,
    dmlAction: (schema, table, op) => ACTION[ef.filterDML(schema, table, op)],
    ddlAction: (schema, table, ev, sql) => ACTION[ef.filterDDL(schema, table, ev, sql)],
  };
}
