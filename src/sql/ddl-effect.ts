/**
 * Whether a DDL's effect is already in the target, so that a DDL replayed after a crash (executed,
 * but the checkpoint after it not yet saved) can be recognised and skipped. Give it the statement
 * as it runs on the target (parse the rewritten SQL, with the routed default schema).
 */
import { classifyError, errnoOf } from './errno.js';
import type { AlterSpec, ParsedDDL } from './ddl.js';
import type { TableName } from '../filter/index.js';
import { schemaExists, tableExists, type Queryable } from './table-info.js';

export type DDLEffectState = 'present' | 'absent' | 'unknown';

async function columnExists(q: Queryable, t: TableName, col: string): Promise<boolean> {
  const [r] = await q.query('SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?', [t.schema, t.table, col]);
  return Number((r as { n: number | string }[])[0]?.n ?? 0) > 0;
}

async function indexExists(q: Queryable, t: TableName, idx: string): Promise<boolean> {
  const [r] = await q.query('SELECT COUNT(*) AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = ?', [t.schema, t.table, idx]);
  return Number((r as { n: number | string }[])[0]?.n ?? 0) > 0;
}

async function specState(q: Queryable, t: TableName, s: AlterSpec): Promise<DDLEffectState> {
  switch (s.action) {
    case 'add column':
      return s.column === undefined ? 'unknown' : (await columnExists(q, t, s.column)) ? 'present' : 'absent';
    case 'drop column':
      return s.column === undefined ? 'unknown' : (await columnExists(q, t, s.column)) ? 'absent' : 'present';
    case 'rename column': {
      if (s.column === undefined || s.newColumn === undefined) return 'unknown';
      const [o, n] = [await columnExists(q, t, s.column), await columnExists(q, t, s.newColumn)];
      return !o && n ? 'present' : o && !n ? 'absent' : 'unknown';
    }
    case 'add index':
      return s.index === undefined ? 'unknown' : (await indexExists(q, t, s.index)) ? 'present' : 'absent';
    case 'drop index':
      return s.index === undefined ? 'unknown' : (await indexExists(q, t, s.index)) ? 'absent' : 'present';
    case 'rename index': {
      if (s.index === undefined || s.newIndex === undefined) return 'unknown';
      const [o, n] = [await indexExists(q, t, s.index), await indexExists(q, t, s.newIndex)];
      return !o && n ? 'present' : o && !n ? 'absent' : 'unknown';
    }
    case 'add primary key':
      return (await indexExists(q, t, 'PRIMARY')) ? 'present' : 'absent';
    case 'drop primary key':
      return (await indexExists(q, t, 'PRIMARY')) ? 'absent' : 'present';
    default:
      return 'unknown';
  }
}

/**
 * 'present' when the statement's effect is visibly in the target, 'absent' when visibly not,
 * 'unknown' when it cannot be told from the catalog (e.g. MODIFY COLUMN, TRUNCATE, ALTER DATABASE).
 * An ALTER TABLE is atomic, so its first decidable clause decides.
 */
export async function ddlEffectState(q: Queryable, p: ParsedDDL): Promise<DDLEffectState> {
  try {
    switch (p.type) {
      case 'create database':
        return p.orReplace ? 'unknown' : (await schemaExists(q, p.schema)) ? 'present' : 'absent';
      case 'drop database':
        return (await schemaExists(q, p.schema)) ? 'absent' : 'present';
      case 'create table':
        return p.orReplace ? 'unknown' : (await tableExists(q, (p.tables[0] as TableName).schema, (p.tables[0] as TableName).table)) ? 'present' : 'absent';
      case 'drop table': {
        for (const t of p.tables) if (await tableExists(q, t.schema, t.table)) return 'absent';
        return 'present';
      }
      case 'rename table': {
        // Final state: every name renamed away (and not renamed back to) is gone, every final name exists.
        const key = (t: TableName): string => `${t.schema}\u0000${t.table}`;
        const gone = new Map<string, TableName>();
        const there = new Map<string, TableName>();
        for (let i = 0; i + 1 < p.tables.length; i += 2) {
          const from = p.tables[i] as TableName;
          const to = p.tables[i + 1] as TableName;
          there.delete(key(from));
          gone.set(key(from), from);
          gone.delete(key(to));
          there.set(key(to), to);
        }
        for (const t of there.values()) if (!(await tableExists(q, t.schema, t.table))) return 'absent';
        for (const t of gone.values()) if (await tableExists(q, t.schema, t.table)) return 'absent';
        return 'present';
      }
      case 'create index':
        return p.indexName === undefined ? 'unknown' : (await indexExists(q, p.tables[0] as TableName, p.indexName)) ? 'present' : 'absent';
      case 'drop index':
        return p.indexName === undefined ? 'unknown' : (await indexExists(q, p.tables[0] as TableName, p.indexName)) ? 'absent' : 'present';
      case 'alter table': {
        let t = p.tables[0] as TableName;
        const rename = p.refs.find((r) => r.role === 'alter-rename-to');
        if (rename) {
          const [o, n] = [await tableExists(q, t.schema, t.table), await tableExists(q, rename.name.schema, rename.name.table)];
          if (!o && n) return 'present';
          if (o && !n) return 'absent';
          return 'unknown';
        }
        if (!(await tableExists(q, t.schema, t.table))) return 'unknown';
        t = { schema: t.schema, table: t.table };
        for (const s of p.alterSpecs) {
          const st = await specState(q, t, s);
          if (st !== 'unknown') return st;
        }
        return 'unknown';
      }
      default:
        return 'unknown';
    }
  } catch (e) {
    throw classifyError(e, { side: 'downstream', action: 'check whether a DDL is already applied' });
  }
}

/** True only when the DDL's effect is known to be in the target already (skip the replayed DDL). */
export async function ddlEffectPresent(q: Queryable, p: ParsedDDL): Promise<boolean> {
  return (await ddlEffectState(q, p)) === 'present';
}

/**
 * Errors a replayed DDL gets when its effect is already there (database/table/column/key exists,
 * or is already gone): by errno, for the 'unknown' cases above.
 */
export function isAlreadyAppliedError(err: unknown): boolean {
  const n = errnoOf(err);
  return n !== undefined && [1007, 1008, 1050, 1051, 1060, 1061, 1068, 1091, 1826].includes(n);
}
