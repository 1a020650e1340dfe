/**
 * Thin adapter over src/filter for the sync unit: block-allow list, routes, the binlog event
 * filter and the expression filter, plus the schemas the unit never replicates (system schemas
 * and its own meta schema) and, with `online-ddl`, the shadow and trash tables of online schema
 * changes (their DDL is translated by online-ddl.ts).
 */
import type { RowsEvent } from '../../binlog/events.js';
import {
  createBAList,
  createEventFilter,
  createExpressionFilter,
  createRouter,
  isSystemSchema,
  type BAListRule,
  type OnlineDDLRules,
  type EventFilterRule,
  type ExpressionFilterRule,
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
  /**
   * DM `expression-filter`: the rows event without the row changes an expression skips (the same
   * object when no rule names the table or nothing is skipped). Evaluated on the upstream row
   * images with the columns the table has at the event's position (`ev.columns`).
   */
  keepRows(ev: RowsEvent): RowsEvent;
}

const ACTION = { do: 'Do', ignore: 'Ignore', error: 'Error' } as const;

export function buildFilters(opts: {
  baList?: BAListRule | undefined;
  routes?: readonly RouteRule[] | undefined;
  filters?: readonly EventFilterRule[] | undefined;
  expressionFilters?: readonly ExpressionFilterRule[] | undefined;
  /** Told when an expression names a column the table does not have at that position (the rule then skips nothing). */
  onMissingColumn?: (schema: string, table: string, column: string) => void;
  caseSensitive?: boolean | undefined;
  metaSchema: string;
  sourceId: string;
  /** Task `online-ddl`: shadow and trash tables of online schema changes are never replicated (online-ddl.ts). */
  onlineDDL?: OnlineDDLRules | undefined;
}): SyncFilters {
  const caseSensitive = opts.caseSensitive ?? false;
  const ba = createBAList(opts.baList, { caseSensitive });
  const router = createRouter(opts.routes ?? [], { caseSensitive, sourceId: opts.sourceId });
  const ef = createEventFilter(opts.filters ?? [], { caseSensitive });
  // compiled here, so an unsupported or unparseable expression fails the unit at construction (task start)
  const xf = createExpressionFilter(opts.expressionFilters ?? [], undefined, {
    caseSensitive,
    ...(opts.onMissingColumn ? { onMissingColumn: opts.onMissingColumn } : {}),
  });
  const names = new WeakMap<object, string[]>();
  const namesOf = (ev: RowsEvent): string[] => {
    let n = names.get(ev.columns);
    if (!n) {
      n = ev.columns.map((c) => c.name);
      names.set(ev.columns, n);
    }
    return n;
  };
  const meta = opts.metaSchema.toLowerCase();
  const online = opts.onlineDDL;
  const own = (schema: string): boolean => isSystemSchema(schema) || schema.toLowerCase() === meta;
  const cache = new Map<string, RouteResult>();
  const tableCache = new Map<string, boolean>();
  return {
    includeSchema: (schema) => !own(schema) && ba.matchSchema(schema),
    includeTable: (schema, table) => {
      const k = `${schema}\u0000${table}`;
      let v = tableCache.get(k);
      if (v === undefined) {
        v = !own(schema) && !(online && online.tableType(table) !== 'real') && ba.matchTable(schema, table);
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
    keepRows: (ev) => {
      if (!xf.has(ev.schema, ev.table)) return ev;
      const cols = namesOf(ev);
      const rows: RowsEvent['rows'] = [];
      const before: NonNullable<RowsEvent['before']> = [];
      ev.rows.forEach((row, i) => {
        const old = ev.before?.[i];
        if (xf.skipDML(ev.schema, ev.table, ev.op, row, cols, old)) return;
        rows.push(row);
        if (old) before.push(old);
      });
      if (rows.length === ev.rows.length) return ev;
      return { ...ev, rows, ...(ev.before ? { before } : {}) };
    },
  };
}
