/**
 * Block-allow list (`block-allow-list`, legacy `black-white-list`) with DM's semantics
 * (tidb-tools `pkg/filter`, MySQL replication-rule style):
 *
 * 1. System schemas (mysql, information_schema, performance_schema, sys) are always filtered out.
 * 2. Schema level: if `do-dbs` is not empty the schema must match one of them; otherwise, if
 *    `ignore-dbs` is not empty, a schema matching one of them is filtered out.
 * 3. Table level (only for tables, not for schema-level statements): a table matching `do-tables`
 *    is migrated; else a table matching `ignore-tables` is filtered out; else it is migrated only
 *    when `do-tables` is empty.
 *
 * Patterns: wildcards `*`, `?`, `[...]`; a `~` prefix makes a regular expression.
 * Case-insensitive unless `caseSensitive`.
 */
import { DMError } from '../errors/index.js';
import { compilePattern, isSystemSchema, type NameMatcher } from './pattern.js';
import type { BAListRule, TableRef } from './types.js';

export interface BAList {
  /** Whether statements on the schema itself (CREATE/DROP DATABASE) and its tables may pass the schema level. */
  matchSchema(schema: string): boolean;
  /** Whether the table is migrated. */
  matchTable(schema: string, table: string): boolean;
}

export interface BAListOptions {
  caseSensitive: boolean;
}

interface TableMatcher {
  db: NameMatcher;
  tbl: NameMatcher;
}

function compileTables(refs: readonly TableRef[] | undefined, cs: boolean, key: string): TableMatcher[] {
  return (refs ?? []).map((r, i) => {
    if (!r.dbName || !r.tblName) {
      throw new DMError('ErrFilterInvalidRule', `block-allow-list ${key}[${i}]: db-name and tbl-name must not be empty`);
    }
    return {
      db: compilePattern(r.dbName, cs, `block-allow-list ${key}[${i}].db-name`),
      tbl: compilePattern(r.tblName, cs, `block-allow-list ${key}[${i}].tbl-name`),
    };
  });
}

function compileDbs(dbs: readonly string[] | undefined, cs: boolean, key: string): NameMatcher[] {
  return (dbs ?? []).map((d, i) => {
    if (!d) throw new DMError('ErrFilterInvalidRule', `block-allow-list ${key}[${i}] must not be empty`);
    return compilePattern(d, cs, `block-allow-list ${key}[${i}]`);
  });
}

export function createBAList(rule: BAListRule | undefined, opts: BAListOptions): BAList {
  const cs = opts.caseSensitive;
  const doDbs = compileDbs(rule?.doDbs, cs, 'do-dbs');
  const ignoreDbs = compileDbs(rule?.ignoreDbs, cs, 'ignore-dbs');
  const doTables = compileTables(rule?.doTables, cs, 'do-tables');
  const ignoreTables = compileTables(rule?.ignoreTables, cs, 'ignore-tables');
  const cache = new Map<string, boolean>();

  const onSchema = (schema: string): boolean => {
    if (isSystemSchema(schema)) return false;
    if (doDbs.length > 0) return doDbs.some((m) => m.test(schema));
    if (ignoreDbs.length > 0) return !ignoreDbs.some((m) => m.test(schema));
    return true;
  };
  const anyTable = (ms: TableMatcher[], schema: string, table: string): boolean =>
    ms.some((m) => m.db.test(schema) && m.tbl.test(table));

  return {
    matchSchema: onSchema,
    matchTable(schema: string, table: string): boolean {
      const key = `${schema}\u0000${table}`;
      const hit = cache.get(key);
      if (hit !== undefined) return hit;
      let ok = onSchema(schema);
      if (ok && table !== '') {
        if (doTables.length > 0 && anyTable(doTables, schema, table)) ok = true;
        else if (ignoreTables.length > 0 && anyTable(ignoreTables, schema, table)) ok = false;
        else ok = doTables.length === 0;
      }
      if (cache.size > 65536) cache.clear();
      cache.set(key, ok);
      return ok;
    },
  };
}
