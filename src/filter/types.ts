/**
 * Rule shapes shared by the config loader (src/config), the dump/load units and the sync unit.
 * They are DM's task-file blocks with camelCase field names; src/config maps the kebab-case
 * YAML keys onto them.
 */

/** A table reference in `do-tables` / `ignore-tables`: `db-name` and `tbl-name` (wildcards or `~regex`). */
export interface TableRef {
  dbName: string;
  tblName: string;
}

/** DM `block-allow-list` (legacy `black-white-list`) rule. */
export interface BAListRule {
  doDbs?: readonly string[];
  ignoreDbs?: readonly string[];
  doTables?: readonly TableRef[];
  ignoreTables?: readonly TableRef[];
}

/** DM `routes` rule. */
export interface RouteRule {
  schemaPattern: string;
  tablePattern?: string;
  targetSchema: string;
  targetTable?: string;
  /** Write the source table name (or the regexp's first group) into `targetColumn`. */
  extractTable?: { tableRegexp: string; targetColumn: string };
  extractSchema?: { schemaRegexp: string; targetColumn: string };
  extractSource?: { sourceRegexp: string; targetColumn: string };
}

/** DM binlog event filter rule (`filters`). */
export interface EventFilterRule {
  schemaPattern: string;
  tablePattern?: string;
  events?: readonly string[];
  sqlPattern?: readonly string[];
  action: 'Do' | 'Ignore' | 'Error';
}

/** DM `expression-filter` rule. */
export interface ExpressionFilterRule {
  schema: string;
  table: string;
  insertValueExpr?: string;
  updateOldValueExpr?: string;
  updateNewValueExpr?: string;
  deleteValueExpr?: string;
}

/** A source table and where it goes. */
export interface TableName {
  schema: string;
  table: string;
}

/** Extra columns written into the target for a routed shard table (extract-table/schema/source). */
export interface ExtractedColumn {
  column: string;
  value: string;
}

export interface RouteResult extends TableName {
  extracted: ExtractedColumn[];
}
