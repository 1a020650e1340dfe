/**
 * Binlog event filter (`filters`) with DM's semantics (tidb-tools / tiflow `binlog-filter`):
 *
 * All rules whose patterns match the event's schema (schema-level rules, no `table-pattern`) and
 * schema+table (table-level rules) are checked, schema-level first, each in file order:
 * - event check: `Ignore`/`Error` rule whose `events` match → ignore / error at once;
 *   a `Do` rule whose `events` do not match → ignore at once;
 * - SQL check (DDL text only): a rule with `sql-pattern` — matched `Ignore`/`Error` → ignore / error,
 *   unmatched `Do` → ignore.
 * Otherwise the event is done (`do`). No matching rule at all → `do`.
 *
 * `events` names: all, all dml, all ddl, none, none dml, none ddl, incompatible ddl changes,
 * insert, update, delete, create/drop/alter database (alias schema), create/drop/truncate/rename/
 * alter table, create index (alias add index), drop index, create/drop view, and DM's finer
 * ALTER kinds (add column, drop column, modify column, ...). `sql-pattern` entries are regexes
 * joined with `|`, case-insensitive (Go's `(?i)`).
 *
 * A rule naming an event type DM does not know is dropped, as DM's binlog-filter does (it logs the
 * invalid rule and goes on without it): `onDroppedRule` is told why (the worker logs a warning).
 */
import { DMError } from '../errors/index.js';
import { compilePattern, compileRegex, type NameMatcher } from './pattern.js';
import type { EventFilterRule } from './types.js';

export type FilterAction = 'do' | 'ignore' | 'error';
export type DMLOp = 'insert' | 'update' | 'delete';

export const DML_EVENTS = ['insert', 'update', 'delete'] as const;
/** DDL event types that are plain DDL in DM's classification. */
export const DDL_EVENTS = [
  'create database',
  'alter database',
  'create table',
  'create index',
  'create view',
  'drop view',
  'alter table',
  'add table partition',
] as const;
/** DDL event types DM classifies as "incompatible DDL changes" (still DDL for `all ddl`). */
export const INCOMPATIBLE_DDL_EVENTS = [
  'drop database',
  'drop table',
  'drop index',
  'rename table',
  'truncate table',
  'drop table partition',
  'truncate table partition',
  'value range decrease',
  'precision decrease',
  'modify column',
  'rename column',
  'rename index',
  'drop column',
  'drop primary key',
  'drop unique key',
  'modify default value',
  'modify constraint',
  'modify columns order',
  'modify charset',
  'modify collation',
  'remove auto increment',
  'modify storage engine',
  'reorganize table partition',
  'rebuild table partition',
  'coalesce table partition',
  'split table partition',
  'exchange table partition',
  'add foreign key',
  'drop foreign key',
  'modify schema charset and collate',
  'modify table charset and collate',
  'modify table comment',
  'recover table',
  'alter table partitioning',
  'remove table partitioning',
  'add column',
  'set default value',
  'rebase auto id',
  'add primary key',
  'alter index visibility',
  'alter ttl info',
  'alter ttl remove',
  'multi schema change',
] as const;
const META_EVENTS = ['all', 'all dml', 'all ddl', 'none', 'none dml', 'none ddl', 'incompatible ddl changes'] as const;
const ALIASES: Record<string, string> = {
  'create schema': 'create database',
  'drop schema': 'drop database',
  'alter schema': 'alter database',
  'add index': 'create index',
};

export type EventClass = 'dml' | 'ddl' | 'incompatible ddl';

const CLASS = new Map<string, EventClass>([
  ...DML_EVENTS.map((e) => [e, 'dml'] as [string, EventClass]),
  ...DDL_EVENTS.map((e) => [e, 'ddl'] as [string, EventClass]),
  ...INCOMPATIBLE_DDL_EVENTS.map((e) => [e, 'incompatible ddl'] as [string, EventClass]),
]);

/** Normalize an event name (lowercase, aliases); undefined when DM does not know it. */
export function normalizeEventType(name: string): string | undefined {
  const n = name.trim().toLowerCase().replace(/\s+/g, ' ');
  const a = ALIASES[n] ?? n;
  if (CLASS.has(a) || (META_EVENTS as readonly string[]).includes(a)) return a;
  return undefined;
}

export function classifyEventType(event: string): EventClass | undefined {
  const n = normalizeEventType(event);
  return n === undefined ? undefined : CLASS.get(n);
}

export interface EventFilter {
  filterDML(schema: string, table: string, op: DMLOp): FilterAction;
  /** `table` = '' for schema-level DDL; `ddlEventType` as from parseDDL (e.g. 'alter table'); `sql` the statement text. */
  filterDDL(schema: string, table: string, ddlEventType: string, sql: string): FilterAction;
  /** A query event DM cannot classify (e.g. CREATE PROCEDURE): only `sql-pattern` applies. */
  filterQuery(schema: string, table: string, sql: string): FilterAction;
}

export interface EventFilterOptions {
  caseSensitive: boolean;
  /** Told about each rule dropped because an entry of its `events` is not a DM event type. */
  onDroppedRule?: (index: number, reason: string) => void;
}

/** Why a rule would be dropped (an `events` entry DM does not know), or undefined when it is usable. */
export function droppedRuleReason(rule: EventFilterRule): string | undefined {
  const bad = (rule.events ?? []).filter((e) => normalizeEventType(e) === undefined);
  if (bad.length === 0) return undefined;
  return `unknown event type${bad.length > 1 ? 's' : ''} ${bad.map((e) => JSON.stringify(e)).join(', ')}: the rule is dropped, as DM drops it`;
}

interface CompiledRule {
  schema: NameMatcher;
  table: NameMatcher | undefined;
  events: string[];
  sql: RegExp | undefined;
  action: 'Do' | 'Ignore' | 'Error';
}

function matchEvent(cls: EventClass, event: string, rules: readonly string[]): boolean {
  for (const r of rules) {
    if (r === 'all') return true;
    if (r === 'none') return false;
    if (cls !== 'dml') {
      if (r === 'all ddl') return true;
      if (r === 'none ddl') return false;
    } else {
      if (r === 'all dml') return true;
      if (r === 'none dml') return false;
    }
    if (cls === 'incompatible ddl' && r === 'incompatible ddl changes') return true;
    if (r === event) return true;
  }
  return false;
}

export function createEventFilter(rules: readonly EventFilterRule[], opts: EventFilterOptions): EventFilter {
  const seen = new Set<string>();
  const usable = rules.flatMap((rule, i) => {
    const why = droppedRuleReason(rule);
    if (why === undefined) return [{ rule, i }];
    opts.onDroppedRule?.(i, why);
    return [];
  });
  const compiled: CompiledRule[] = usable.map(({ rule, i }) => {
    const what = `filters[${i}]`;
    if (!rule.schemaPattern) throw new DMError('ErrFilterInvalidRule', `${what}: schema-pattern must not be empty`);
    if (rule.action !== 'Do' && rule.action !== 'Ignore' && rule.action !== 'Error') {
      throw new DMError('ErrFilterInvalidRule', `${what}: action must be Do, Ignore or Error, got ${JSON.stringify(rule.action)}`);
    }
    const key = opts.caseSensitive
      ? `${rule.schemaPattern}\u0000${rule.tablePattern ?? ''}`
      : `${rule.schemaPattern.toLowerCase()}\u0000${(rule.tablePattern ?? '').toLowerCase()}`;
    if (seen.has(key)) {
      throw new DMError('ErrFilterInvalidRule', `${what}: another filter rule has the same schema-pattern and table-pattern`);
    }
    seen.add(key);
    const events = (rule.events ?? []).map((e) => {
      const n = normalizeEventType(e);
      if (n === undefined) throw new DMError('ErrEventFilterInvalidEvent', `${what}: unknown event type ${JSON.stringify(e)}`);
      return n;
    });
    const sql = rule.sqlPattern && rule.sqlPattern.length > 0 ? compileRegex(rule.sqlPattern.join('|'), 'i', `${what}.sql-pattern`) : undefined;
    return {
      schema: compilePattern(rule.schemaPattern, opts.caseSensitive, `${what}.schema-pattern`),
      table: rule.tablePattern ? compilePattern(rule.tablePattern, opts.caseSensitive, `${what}.table-pattern`) : undefined,
      events,
      sql,
      action: rule.action,
    };
  });

  const cache = new Map<string, CompiledRule[]>();
  const matching = (schema: string, table: string): CompiledRule[] => {
    const key = `${schema}\u0000${table}`;
    const hit = cache.get(key);
    if (hit) return hit;
    const found = matchingUncached(schema, table);
    if (cache.size > 65536) cache.clear();
    cache.set(key, found);
    return found;
  };
  const matchingUncached = (schema: string, table: string): CompiledRule[] => {
    const s: CompiledRule[] = [];
    const t: CompiledRule[] = [];
    for (const c of compiled) {
      if (!c.schema.test(schema)) continue;
      if (c.table === undefined) s.push(c);
      else if (table !== '' && c.table.test(table)) t.push(c);
    }
    return [...s, ...t];
  };

  const run = (schema: string, table: string, event: string | undefined, sql: string): FilterAction => {
    const rs = matching(schema, table);
    if (rs.length === 0) return 'do';
    const cls = event === undefined ? undefined : CLASS.get(event);
    for (const r of rs) {
      if (cls !== undefined && event !== undefined) {
        const m = matchEvent(cls, event, r.events);
        if (m) {
          if (r.action === 'Ignore') return 'ignore';
          if (r.action === 'Error') return 'error';
        } else if (r.action === 'Do') return 'ignore';
      }
      if (sql.length > 0) {
        if (r.sql === undefined) continue;
        r.sql.lastIndex = 0;
        const m = r.sql.test(sql);
        if (m) {
          if (r.action === 'Ignore') return 'ignore';
          if (r.action === 'Error') return 'error';
        } else if (r.action === 'Do') return 'ignore';
      }
    }
    return 'do';
  };

  return {
    filterDML(schema, table, op) {
      return run(schema, table, op, '');
    },
    filterDDL(schema, table, ddlEventType, sql) {
      const ev = normalizeEventType(ddlEventType);
      if (ev === undefined || CLASS.get(ev) === undefined) {
        throw new DMError('ErrEventFilterInvalidEvent', `unknown DDL event type ${JSON.stringify(ddlEventType)}`);
      }
      return run(schema, table, ev, sql);
    },
    filterQuery(schema, table, sql) {
      return run(schema, table, undefined, sql);
    },
  };
}
