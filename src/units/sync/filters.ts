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
  // per (schema, table): looked up in two maps of the names the reader hands over (the same string
  // objects for every event of a table map), so no key string is built per rows event
  const routeOf = perTable((schema, table) => router.route(schema, table));
  const included = perTable((schema, table) => !own(schema) && !(online && online.tableType(table) !== 'real') && ba.matchTable(schema, table));
  const actions = perTable((schema, table): Record<DMLEventType, FilterAction> => ({
    insert: ACTION[ef.filterDML(schema, table, 'insert')],
    update: ACTION[ef.filterDML(schema, table, 'update')],
    delete: ACTION[ef.filterDML(schema, table, 'delete')],
  }));
  const hasExpr = perTable((schema, table) => xf.has(schema, table));
  return {
    includeSchema: (schema) => !own(schema) && ba.matchSchema(schema),
    includeTable: included,
    route: routeOf,
    routeSchema: (schema) => router.route(schema, '').schema,
    dmlAction: (schema, table, op) => actions(schema, table)[op],
    ddlAction: (schema, table, ev, sql) => ACTION[ef.filterDDL(schema, table, ev, sql)],
    keepRows: (ev) => {
      if (!hasExpr(ev.schema, ev.table)) return ev;
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

/** Tables remembered per schema before a cache is dropped (bounds memory on sources with very many tables). */
const PER_TABLE_MAX = 65_536;

/** `f(schema, table)` memoized in a map per schema (the filters are fixed for the unit's life). */
function perTable<T>(f: (schema: string, table: string) => T): (schema: string, table: string) => T {
  const bySchema = new Map<string, Map<string, T>>();
  let size = 0;
  return (schema, table) => {
    let m = bySchema.get(schema);
    if (m === undefined) {
      m = new Map();
      bySchema.set(schema, m);
    }
    let v = m.get(table);
    if (v === undefined && !m.has(table)) {
      v = f(schema, table);
      if (++size > PER_TABLE_MAX) {
        bySchema.clear();
        size = 1;
        m = new Map();
        bySchema.set(schema, m);
      }
      m.set(table, v);
    }
    return v as T;
  };
}
