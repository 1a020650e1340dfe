/**
 * DDL parse and rewrite with node-sql-parser (private minimal version of src/sql's
 * parseDDL/rewriteDDL, which had not landed when this was written).
 */
import NodeSqlParser from 'node-sql-parser';
import type { TableName } from '../../filter/types.js';

const parser = new NodeSqlParser.Parser();
const OPT = { database: 'MariaDB' };

export type DDLType =
  | 'create database'
  | 'drop database'
  | 'create table'
  | 'drop table'
  | 'truncate table'
  | 'rename table'
  | 'alter table'
  | 'create index'
  | 'drop index';

export interface ParsedDDL {
  type: DDLType;
  /** Tables it touches, schema resolved against the session's default schema. */
  tables: TableName[];
  /** For CREATE/DROP DATABASE. */
  database?: string;
  ast: Record<string, unknown>;
}

type Obj = Record<string, unknown>;

function isObj(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Every {db, table} object in the AST (table references). */
function tableRefs(node: unknown, out: Obj[] = []): Obj[] {
  if (Array.isArray(node)) {
    for (const x of node) tableRefs(x, out);
  } else if (isObj(node)) {
    if ('table' in node && 'db' in node && typeof node['table'] === 'string' && node['type'] !== 'column_ref') out.push(node);
    for (const v of Object.values(node)) tableRefs(v, out);
  }
  return out;
}

function dbNameOf(ast: Obj): string | undefined {
  const d = ast['database'];
  if (typeof d === 'string') return d;
  if (isObj(d)) {
    const schema = d['schema'];
    if (Array.isArray(schema) && isObj(schema[0]) && typeof schema[0]['value'] === 'string') return schema[0]['value'];
  }
  const n = ast['name'];
  if (typeof n === 'string') return n;
  return undefined;
}

/** Parse one statement from a binlog QUERY event; undefined when it is not a DDL the unit applies. */
export function parseDDL(sql: string, defaultSchema: string): ParsedDDL | undefined {
  let ast: unknown;
  try {
    ast = parser.astify(sql, OPT);
  } catch {
    return undefined;
  }
  if (Array.isArray(ast)) {
    if (ast.length !== 1) return undefined;
    ast = ast[0];
  }
  if (!isObj(ast)) return undefined;
  const t = typeof ast['type'] === 'string' ? ast['type'].toLowerCase() : '';
  const kw = typeof ast['keyword'] === 'string' ? ast['keyword'].toLowerCase() : '';
  let type: DDLType | undefined;
  if (t === 'create' && kw === 'database') type = 'create database';
  else if (t === 'create' && kw === 'schema') type = 'create database';
  else if (t === 'drop' && (kw === 'database' || kw === 'schema')) type = 'drop database';
  else if (t === 'create' && kw === 'table') type = 'create table';
  else if (t === 'drop' && kw === 'table') type = 'drop table';
  else if (t === 'truncate') type = 'truncate table';
  else if (t === 'rename') type = 'rename table';
  else if (t === 'alter' && ast['table'] !== undefined) type = 'alter table';
  else if (t === 'create' && kw === 'index') type = 'create index';
  else if (t === 'drop' && kw === 'index') type = 'drop index';
  if (!type) return undefined;
  if (type === 'create database' || type === 'drop database') {
    const db = dbNameOf(ast);
    if (!db) return undefined;
    return { type, tables: [], database: db, ast };
  }
  const refs = tableRefs(ast);
  const tables: TableName[] = refs.map((r) => ({
    schema: typeof r['db'] === 'string' && r['db'] !== '' ? r['db'] : defaultSchema,
    table: String(r['table']),
  }));
  if (tables.length === 0) return undefined;
  return { type, tables, ast };
}

/**
 * The statement to run on the target, every table name routed and schema-qualified.
 * Returns the original text when routing changes nothing (keeps MariaDB-only syntax intact).
 */
export function rewriteDDL(
  sql: string,
  p: ParsedDDL,
  defaultSchema: string,
  route: (schema: string, table: string) => TableName,
  routeSchema: (schema: string) => string,
): { sql: string; useSchema: string | undefined } {
  if (p.database !== undefined) {
    const target = routeSchema(p.database);
    if (target === p.database) return { sql, useSchema: undefined };
    const ast = structuredClone(p.ast);
    const d = ast['database'];
    if (typeof d === 'string') ast['database'] = target;
    else if (isObj(d) && Array.isArray(d['schema']) && isObj(d['schema'][0])) d['schema'][0]['value'] = target;
    else if (typeof ast['name'] === 'string') ast['name'] = target;
    return { sql: parser.sqlify(ast as never, OPT), useSchema: undefined };
  }
  let identity = true;
  for (const t of p.tables) {
    const r = route(t.schema, t.table);
    if (r.schema !== t.schema || r.table !== t.table) identity = false;
  }
  if (identity) return { sql, useSchema: defaultSchema || p.tables[0]?.schema };
  const ast = structuredClone(p.ast);
  for (const ref of tableRefs(ast)) {
    const schema = typeof ref['db'] === 'string' && ref['db'] !== '' ? ref['db'] : defaultSchema;
    const r = route(schema, String(ref['table']));
    ref['db'] = r.schema;
    ref['table'] = r.table;
  }
  return { sql: parser.sqlify(ast as never, OPT), useSchema: undefined };
}
