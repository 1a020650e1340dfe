/**
 * Table routing (`routes`) with DM's table-router semantics:
 *
 * - a rule with a `table-pattern` is a table-level rule, one without is a schema-level rule;
 * - table-level rules win over schema-level rules; a schema-level rule routes the schema and
 *   keeps the table name (statements on a schema itself only see schema-level rules);
 * - empty `target-schema` / `target-table` keep the source name;
 * - two rules with the same patterns are a conflict at creation; a name matched by more than
 *   one rule of the winning level is an error when routed (ErrRouteAmbiguous), as in DM;
 * - `extract-table` / `extract-schema` / `extract-source` of the chosen rule add columns to the
 *   target row: the concatenation of the regexp's capture groups, the whole name when the regexp
 *   has no group, the empty string when it does not match.
 */
import { DMError } from '../errors/index.js';
import { compilePattern, compileRegex, type NameMatcher } from './pattern.js';
import type { ExtractedColumn, RouteResult, RouteRule } from './types.js';

export interface Router {
  /** Target of a source table (`table` = '' for a schema-level statement). Throws ErrRouteAmbiguous. */
  route(schema: string, table: string): RouteResult;
  /** Names of the extract columns the rules may add (for CREATE TABLE of the target). */
  readonly extractColumns: readonly string[];
}

export interface RouterOptions {
  caseSensitive: boolean;
  /** The source id, for `extract-source`. */
  sourceId: string;
}

interface CompiledExtract {
  re: RegExp;
  column: string;
  of: 'table' | 'schema' | 'source';
}

interface CompiledRule {
  index: number;
  rule: RouteRule;
  schema: NameMatcher;
  table: NameMatcher | undefined;
  extracts: CompiledExtract[];
}

function extractValue(re: RegExp, s: string): string {
  const m = re.exec(s);
  if (!m) return '';
  if (m.length <= 1) return s;
  return m.slice(1).map((g) => g ?? '').join('');
}

export function createRouter(rules: readonly RouteRule[], opts: RouterOptions): Router {
  const flags = '';
  const seen = new Map<string, number>();
  const compiled: CompiledRule[] = rules.map((rule, index) => {
    const what = `routes[${index}]`;
    if (!rule.schemaPattern) throw new DMError('ErrFilterInvalidRule', `${what}: schema-pattern must not be empty`);
    if (!rule.tablePattern && rule.targetTable) {
      throw new DMError('ErrFilterInvalidRule', `${what}: target-table needs a table-pattern (a schema-level rule keeps the table name)`);
    }
    const key = opts.caseSensitive
      ? `${rule.schemaPattern}\u0000${rule.tablePattern ?? ''}`
      : `${rule.schemaPattern.toLowerCase()}\u0000${(rule.tablePattern ?? '').toLowerCase()}`;
    const prev = seen.get(key);
    if (prev !== undefined) {
      throw new DMError(
        'ErrRouteConflict',
        `routes[${prev}] and routes[${index}] have the same schema-pattern ${JSON.stringify(rule.schemaPattern)} and table-pattern ${JSON.stringify(rule.tablePattern ?? '')}`,
      );
    }
    seen.set(key, index);
    const extracts: CompiledExtract[] = [];
    if (rule.extractTable) {
      extracts.push({ re: compileRegex(rule.extractTable.tableRegexp, flags, `${what}.extract-table.table-regexp`), column: rule.extractTable.targetColumn, of: 'table' });
    }
    if (rule.extractSchema) {
      extracts.push({ re: compileRegex(rule.extractSchema.schemaRegexp, flags, `${what}.extract-schema.schema-regexp`), column: rule.extractSchema.targetColumn, of: 'schema' });
    }
    if (rule.extractSource) {
      extracts.push({ re: compileRegex(rule.extractSource.sourceRegexp, flags, `${what}.extract-source.source-regexp`), column: rule.extractSource.targetColumn, of: 'source' });
    }
    for (const e of extracts) {
      if (!e.column) throw new DMError('ErrFilterInvalidRule', `${what}.extract-${e.of}.target-column must not be empty`);
    }
    return {
      index,
      rule,
      schema: compilePattern(rule.schemaPattern, opts.caseSensitive, `${what}.schema-pattern`),
      table: rule.tablePattern ? compilePattern(rule.tablePattern, opts.caseSensitive, `${what}.table-pattern`) : undefined,
      extracts,
    };
  });
  const extractColumns = [...new Set(compiled.flatMap((c) => c.extracts.map((e) => e.column)))];
  const cache = new Map<string, RouteResult>();

  const pick = (schema: string, table: string): CompiledRule | undefined => {
    const schemaRules: CompiledRule[] = [];
    const tableRules: CompiledRule[] = [];
    for (const c of compiled) {
      if (!c.schema.test(schema)) continue;
      if (c.table === undefined) schemaRules.push(c);
      else if (table !== '' && c.table.test(table)) tableRules.push(c);
    }
    const level = table === '' || tableRules.length === 0 ? schemaRules : tableRules;
    if (level.length > 1) {
      throw new DMError(
        'ErrRouteAmbiguous',
        `${JSON.stringify(schema)}.${JSON.stringify(table)} matches more than one route rule: ${level.map((c) => `routes[${c.index}]`).join(', ')}`,
      );
    }
    return level[0];
  };

  return {
    extractColumns,
    route(schema: string, table: string): RouteResult {
      const key = `${schema}\u0000${table}`;
      const hit = cache.get(key);
      if (hit) return { schema: hit.schema, table: hit.table, extracted: hit.extracted.map((e) => ({ ...e })) };
      const c = pick(schema, table);
      const extracted: ExtractedColumn[] = [];
      let res: RouteResult;
      if (!c) res = { schema, table, extracted };
      else {
        if (table !== '') {
          for (const e of c.extracts) {
            const s = e.of === 'table' ? table : e.of === 'schema' ? schema : opts.sourceId;
            extracted.push({ column: e.column, value: extractValue(e.re, s) });
          }
        }
        res = {
          schema: c.rule.targetSchema || schema,
          table: table === '' ? '' : c.rule.targetTable || table,
          extracted,
        };
      }
      if (cache.size > 65536) cache.clear();
      cache.set(key, res);
      return { schema: res.schema, table: res.table, extracted: res.extracted.map((e) => ({ ...e })) };
    },
  };
}
