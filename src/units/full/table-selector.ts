import { compileOnlineDDLRules, createBAList, createRouter } from '../../filter/index.js';
import type { BAListRule, RouteRule, RouteResult } from '../../filter/index.js';

/** Which source tables are migrated (DM block-allow list) and where they go (DM table router, extract-* columns). */
export interface TableSelector {
  matchTable(schema: string, table: string): boolean;
  route(schema: string, table: string): RouteResult;
}

/**
 * A thin adapter over src/filter's block-allow list and router (system schemas never pass). With
 * `online-ddl`, the shadow and trash tables of online schema changes (gh-ost, pt-osc) never pass
 * either: the sync unit applies their ALTER to the real table at the cut-over.
 */
export function createTableSelector(opts: {
  baList?: BAListRule | undefined;
  routes: readonly RouteRule[];
  caseSensitive: boolean;
  sourceId: string;
  onlineDDL?: { shadowTableRules: readonly string[]; trashTableRules: readonly string[] } | undefined;
}): TableSelector {
  const ba = createBAList(opts.baList, { caseSensitive: opts.caseSensitive });
  const online = opts.onlineDDL ? compileOnlineDDLRules(opts.onlineDDL.shadowTableRules, opts.onlineDDL.trashTableRules) : undefined;
  const router = createRouter(opts.routes, { caseSensitive: opts.caseSensitive, sourceId: opts.sourceId });
  return {
    matchTable: (s, t) => (online === undefined || online.tableType(t) === 'real') && ba.matchTable(s, t),
    route: (s, t) => router.route(s, t),
  };
}
