import { createBAList, createRouter } from '../../filter/index.js';
import type { BAListRule, RouteRule, RouteResult } from '../../filter/index.js';

/** Which source tables are migrated (DM block-allow list) and where they go (DM table router, extract-* columns). */
export interface TableSelector {
  matchTable(schema: string, table: string): boolean;
  route(schema: string, table: string): RouteResult;
}

/** A thin adapter over src/filter's block-allow list and router (system schemas never pass). */
export function createTableSelector(opts: {
  baList?: BAListRule | undefined;
  routes: readonly RouteRule[];
  caseSensitive: boolean;
  sourceId: string;
}): TableSelector {
  const ba = createBAList(opts.baList, { caseSensitive: opts.caseSensitive });
  const router = createRouter(opts.routes, { caseSensitive: opts.caseSensitive, sourceId: opts.sourceId });
  return {
    matchTable: (s, t) => ba.matchTable(s, t),
    route: (s, t) => router.route(s, t),
  };
}
