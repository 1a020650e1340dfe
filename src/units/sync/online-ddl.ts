/**
 * Online schema changes (gh-ost, pt-online-schema-change) in the sync unit: DM's `online-ddl`.
 *
 * Such a tool copies the table into a shadow table (gh-ost `_t_gho`, pt-osc `_t_new`), applies the
 * ALTER to it, keeps it in step (gh-ost from the binlog, pt-osc with triggers) and at the cut-over
 * swaps it in with RENAME (the old table becomes a trash table: gh-ost `_t_del`, pt-osc `_t_old`;
 * gh-ost also writes a changelog table `_t_ghc`). Replicated as it is, the target would copy the
 * whole table a second time. Instead, as DM does:
 *
 * - shadow and trash tables are not migrated: their rows are dropped by the filters
 *   (filters.ts: includeTable is false for them), their CREATE / DROP / TRUNCATE reach nothing;
 * - an ALTER (or CREATE / DROP INDEX) on a shadow table is recorded, not applied: one row per
 *   shadow table in `<meta-schema>.<task>_onlineddl` (src/units/meta-tables.ts, DM's table);
 * - the cut-over RENAME (shadow table → real table) becomes the recorded ALTER on the real table,
 *   and goes on down the DDL path (ddl-apply.ts, the shard-DDL coordination) as if the upstream had
 *   run it on that table: routed, filtered, run at a barrier, ledgered. The renames of the real
 *   table to a trash table are dropped.
 *
 * This translation runs in the consumer, before anything downstream sees the event.
 *
 * Restart at any point gives the same target:
 * - the record is written before the ALTER event's checkpoint; replaying an ALTER that is already
 *   the last one recorded for its shadow table records nothing (DM's rule);
 * - the cut-over's ALTER is a DDL event like any other: exactly-once by the ledger, and when
 *   replayed as the first event of a run its effect already in the target is recognised;
 * - the record is deleted only once the cut-over is behind the low-water mark (`settle`), so a
 *   replay of the cut-over still finds it; a CREATE or DROP of the shadow table (the start of the
 *   tool's next run) deletes a left-over record too.
 *
 * Not here: which tables are shadow / trash tables (src/filter/online-ddl.ts), the precheck that
 * refuses to start a task during a change (src/checker, `online_ddl`).
 */
import type { Pool } from 'mysql2/promise';
import type { Logger } from 'pino';
import type { QueryEvent } from '../../binlog/events.js';
import { DMError } from '../../errors/index.js';
import type { OnlineDDLRules, TableName } from '../../filter/index.js';
import { parseDDL, quoteTable, rewriteParsed, type ParsedDDL } from '../../sql/index.js';
import { createMetaTables, metaTableName } from '../meta-tables.js';
import { parseSyncDDL } from './ddl.js';

/** DM's record of a shadow table (the `ddls` column): the real table and the DDLs applied to the shadow one. */
export interface GhostDDLInfo {
  schema: string;
  table: string;
  /** Fully qualified statements on the shadow table, in binlog order. */
  ddls: string[];
}

/** What the consumer does with a QUERY event. */
export type OnlineDDLOutcome =
  /** Not about a shadow or trash table: on down the DDL path unchanged. */
  | { kind: 'none' }
  /** Nothing of it reaches the target (recorded, or only shadow / trash tables). */
  | { kind: 'skip' }
  /** Hand on this event instead (the cut-over's ALTER on the real table; a DROP of the real tables only). */
  | { kind: 'replace'; event: QueryEvent };

export interface OnlineDDLDeps {
  rules: OnlineDDLRules;
  metaSchema: string;
  taskName: string;
  sourceId: string;
  /** Whether the task migrates this (real) upstream table (block-allow list). */
  includeTable: (schema: string, table: string) => boolean;
  log: Logger;
}

const key = (schema: string, table: string): string => `${schema}\u0000${table}`;

/** Statement types that change a shadow table's structure (recorded); the rest of a shadow table's DDL is dropped. */
const RECORDED = new Set<ParsedDDL['type']>(['alter table', 'create index', 'drop index']);

export class OnlineDDL {
  readonly rules: OnlineDDLRules;
  private readonly d: OnlineDDLDeps;
  private readonly table: string;
  /** shadow `schema\0table` → record. */
  private readonly records = new Map<string, GhostDDLInfo & { ghostSchema: string; ghostTable: string }>();
  /** Cut-overs done, whose record is deleted once the low-water mark passed them. */
  private finished: { ghostSchema: string; ghostTable: string }[] = [];

  constructor(deps: OnlineDDLDeps) {
    this.d = deps;
    this.rules = deps.rules;
    this.table = metaTableName(deps.metaSchema, deps.taskName, 'onlineDDL');
  }

  /** Create the meta table when missing and read this source's records (every run starts with it). */
  async load(pool: Pool): Promise<void> {
    await createMetaTables(pool, this.d.metaSchema, this.d.taskName, ['onlineDDL']);
    const [rows] = await pool.query(`SELECT ghost_schema AS s, ghost_table AS t, ddls FROM ${this.table} WHERE id = ?`, [this.d.sourceId]);
    this.records.clear();
    this.finished = [];
    for (const r of rows as { s: string; t: string; ddls: string | null }[]) {
      let info: GhostDDLInfo;
      try {
        const v = JSON.parse(r.ddls ?? '') as Partial<GhostDDLInfo>;
        if (typeof v.schema !== 'string' || typeof v.table !== 'string' || !Array.isArray(v.ddls) || !v.ddls.every((x) => typeof x === 'string')) throw new Error('missing schema, table or ddls');
        info = { schema: v.schema, table: v.table, ddls: v.ddls };
      } catch (e) {
        throw new DMError('ErrSyncOnlineDDLMeta', `bad record of shadow table ${quoteTable(r.s, r.t)} in ${this.table} (source ${this.d.sourceId}): ${(e as Error).message}`, { cause: e });
      }
      this.records.set(key(r.s, r.t), { ...info, ghostSchema: r.s, ghostTable: r.t });
      this.d.log.info({ schema: r.s, table: r.t, ddls: info.ddls.length }, 'online ddl record loaded');
    }
  }

  /** The record of a shadow table (tests, status). */
  record(schema: string, table: string): GhostDDLInfo | undefined {
    const r = this.records.get(key(schema, table));
    return r ? { schema: r.schema, table: r.table, ddls: [...r.ddls] } : undefined;
  }

  private isOnline(t: TableName): boolean {
    return this.rules.tableType(t.table) !== 'real';
  }

  /**
   * Translate a QUERY event. Writes / deletes records in the target as the statement requires.
   * Throws the 3620x codes for renames it cannot make sense of. `ledgered`: the target's ledger
   * has the event (a replay of a DDL already applied: the DDL path skips it; a cut-over's record
   * may be gone already).
   */
  async translate(ev: QueryEvent, pool: Pool, ledgered = false): Promise<OnlineDDLOutcome> {
    let p: ParsedDDL | undefined;
    try {
      p = parseSyncDDL(ev.sql, ev.schema);
    } catch {
      return { kind: 'none' }; // unreadable DDL: the DDL path reports it (and the operator decides)
    }
    if (!p || p.temporary || p.tables.length === 0) return { kind: 'none' };
    const pairs = renamePairs(p);
    if (ledgered) {
      for (const [a] of pairs ?? []) if (this.rules.tableType(a.table) === 'shadow') this.finished.push({ ghostSchema: a.schema, ghostTable: a.table });
      return { kind: 'none' };
    }
    if (pairs) return this.rename(ev, pairs, pool);
    if (p.type === 'drop table') return this.drop(ev, p, pool);
    const first = p.tables[0] as TableName;
    const tp = this.rules.tableType(first.table);
    if (tp === 'real') return { kind: 'none' };
    if (tp === 'trash') return { kind: 'skip' };
    // a shadow table
    if (p.type === 'create table') {
      this.unfinish(first);
      await this.forget(pool, first); // a new change starts afresh
      return { kind: 'skip' };
    }
    if (RECORDED.has(p.type) && this.d.includeTable(first.schema, this.rules.realName(first.table))) {
      await this.save(pool, first, rewriteParsed(p, (t) => t));
    }
    return { kind: 'skip' };
  }

  /**
   * After the consumer handed on an event: delete the records of cut-overs now behind the
   * low-water mark (`pending`: the tracker's entries not yet done; 0 = everything so far is in
   * the target).
   */
  async settle(pool: Pool, pending: number): Promise<void> {
    if (this.finished.length === 0 || pending > 0) return;
    const done = this.finished;
    this.finished = [];
    for (const f of done) {
      await this.forget(pool, { schema: f.ghostSchema, table: f.ghostTable });
    }
  }

  private async save(pool: Pool, shadow: TableName, ddl: string): Promise<void> {
    const k = key(shadow.schema, shadow.table);
    this.unfinish(shadow); // a new change of the same table: its record is not the old cut-over's
    const cur = this.records.get(k) ?? { schema: shadow.schema, table: this.rules.realName(shadow.table), ddls: [], ghostSchema: shadow.schema, ghostTable: shadow.table };
    // DM: the same statement again at the end is a replay (after a restart), not a second ALTER
    if (cur.ddls[cur.ddls.length - 1] === ddl) {
      this.d.log.warn({ ddl }, 'online ddl already recorded, ignored');
      return;
    }
    const next = { ...cur, ddls: [...cur.ddls, ddl] };
    const json = JSON.stringify({ schema: next.schema, table: next.table, ddls: next.ddls } satisfies GhostDDLInfo);
    await pool.query(`REPLACE INTO ${this.table} (id, ghost_schema, ghost_table, ddls) VALUES (?, ?, ?, ?)`, [this.d.sourceId, shadow.schema, shadow.table, json]);
    this.records.set(k, next);
    this.d.log.info({ shadow: `${shadow.schema}.${shadow.table}`, ddl }, 'online ddl recorded for the cut-over');
  }

  private unfinish(shadow: TableName): void {
    this.finished = this.finished.filter((f) => f.ghostSchema !== shadow.schema || f.ghostTable !== shadow.table);
  }

  private async forget(pool: Pool, shadow: TableName): Promise<void> {
    await pool.query(`DELETE FROM ${this.table} WHERE id = ? AND ghost_schema = ? AND ghost_table = ?`, [this.d.sourceId, shadow.schema, shadow.table]);
    this.records.delete(key(shadow.schema, shadow.table));
  }

  /** DROP TABLE: shadow tables forget their record, trash tables vanish, real tables stay in the statement. */
  private async drop(ev: QueryEvent, p: ParsedDDL, pool: Pool): Promise<OnlineDDLOutcome> {
    if (!p.tables.some((t) => this.isOnline(t))) return { kind: 'none' };
    for (const t of p.tables) if (this.rules.tableType(t.table) === 'shadow') await this.forget(pool, t);
    const real = p.tables.filter((t) => !this.isOnline(t));
    if (real.length === 0) return { kind: 'skip' };
    const sql = `DROP TABLE ${p.ifExists ? 'IF EXISTS ' : ''}${real.map((t) => quoteTable(t)).join(', ')}`;
    return { kind: 'replace', event: replaced(ev, sql) };
  }

  /** RENAME TABLE (or ALTER TABLE ... RENAME), pair by pair (DM's rules; the cut-over becomes the recorded ALTER). */
  private async rename(ev: QueryEvent, pairs: [TableName, TableName][], pool: Pool): Promise<OnlineDDLOutcome> {
    if (!pairs.some(([a, b]) => this.isOnline(a) || this.isOnline(b))) return { kind: 'none' };
    this.checkRules(ev, pairs);
    const realPairs: [TableName, TableName][] = [];
    const cutOvers: { shadow: TableName; real: TableName }[] = [];
    const forgets: TableName[] = [];
    for (const [from, to] of pairs) {
      const a = this.rules.tableType(from.table);
      const b = this.rules.tableType(to.table);
      if (a === 'real' && b === 'real') realPairs.push([from, to]);
      else if (a === 'real' && b === 'shadow') throw new DMError('ErrSyncOnlineDDLRenameToShadow', `${ev.sql} (at ${posText(ev)}) renames ${quoteTable(from)} to ${quoteTable(to)}, a shadow table name`);
      else if (b === 'shadow') throw new DMError('ErrSyncOnlineDDLRenameShadow', `${ev.sql} (at ${posText(ev)}) renames ${quoteTable(from)} to the shadow table name ${quoteTable(to)}`);
      else if (a === 'shadow' && b === 'real') cutOvers.push({ shadow: from, real: to });
      else if (a === 'shadow') forgets.push(from); // shadow → trash: the change was given up
      // real → trash, trash → real / trash: nothing for the target
    }
    for (const t of forgets) await this.forget(pool, t);
    const stmts: string[] = [];
    for (const c of cutOvers) {
      if (!this.d.includeTable(c.real.schema, c.real.table)) continue;
      const rec = this.records.get(key(c.shadow.schema, c.shadow.table));
      if (!rec || rec.ddls.length === 0) {
        throw new DMError('ErrSyncOnlineDDLNoRecord', `cut-over ${ev.sql} (at ${posText(ev)}): no ALTER recorded for the shadow table ${quoteTable(c.shadow)}`);
      }
      stmts.push(cutOverDDL(rec.ddls, c.shadow, c.real, ev));
      this.finished.push({ ghostSchema: c.shadow.schema, ghostTable: c.shadow.table });
    }
    if (realPairs.length > 0) stmts.push(`RENAME TABLE ${realPairs.map(([a, b]) => `${quoteTable(a)} TO ${quoteTable(b)}`).join(', ')}`);
    if (stmts.length === 0) return { kind: 'skip' };
    if (stmts.length > 1) {
      throw new DMError('ErrSyncOnlineDDLCombine', `${ev.sql} (at ${posText(ev)}) mixes an online schema change cut-over with other renames; it cannot be applied as one statement: ${stmts.join('; ')}`);
    }
    this.d.log.info({ sql: ev.sql, as: stmts[0] }, 'online ddl cut-over: applying the recorded ddl to the real table');
    return { kind: 'replace', event: replaced(ev, stmts[0] as string) };
  }

  /**
   * DM's CheckRegex: `RENAME a TO b, c TO d` where one pair is a cut-over half (real → trash, or
   * shadow → real) and the other is not: the rules match only one of the tool's two tables.
   */
  private checkRules(ev: QueryEvent, pairs: [TableName, TableName][]): void {
    if (pairs.length !== 2) return;
    const [p0, p1] = pairs as [[TableName, TableName], [TableName, TableName]];
    const trashSide = this.rules.tableType(p0[0].table) === 'real' && this.rules.tableType(p0[1].table) === 'trash';
    const shadowSide = this.rules.tableType(p1[0].table) === 'shadow' && this.rules.tableType(p1[1].table) === 'real';
    if (trashSide === shadowSide) return;
    const [name, rule] = trashSide ? [quoteTable(p1[0]), 'shadow-table-rules'] : [quoteTable(p0[1]), 'trash-table-rules'];
    throw new DMError('ErrSyncOnlineDDLRuleMismatch', `${ev.sql} (at ${posText(ev)}): ${name} matches no ${rule} (rules: ${JSON.stringify(rule === 'shadow-table-rules' ? this.rules.shadowTableRules : this.rules.trashTableRules)})`);
  }
}

/**
 * The (from, to) pairs of a statement that only renames tables: RENAME TABLE, and ALTER TABLE ...
 * RENAME [TO] with no other clause (gh-ost's two-step cut-over); undefined for anything else.
 */
function renamePairs(p: ParsedDDL): [TableName, TableName][] | undefined {
  if (p.type === 'rename table') {
    const pairs: [TableName, TableName][] = [];
    for (let i = 0; i + 1 < p.tables.length; i += 2) pairs.push([p.tables[i] as TableName, p.tables[i + 1] as TableName]);
    return pairs;
  }
  if (p.type === 'alter table' && p.alterSpecs.length === 1 && p.alterSpecs[0]?.action === 'rename table') {
    const to = p.refs.find((r) => r.role === 'alter-rename-to');
    const from = p.tables[0];
    if (to && from) return [[from, to.name]];
  }
  return undefined;
}

function posText(ev: QueryEvent): string {
  return `${ev.pos.file}:${ev.pos.offset}`;
}

/** The event with another statement (fully qualified names; the upstream session stays). */
function replaced(ev: QueryEvent, sql: string): QueryEvent {
  const { originalSql: _o, ...rest } = ev;
  return { ...rest, sql };
}

/**
 * The recorded DDLs of a shadow table as ONE statement on the real table (one binlog event gives
 * one DDL downstream, so that its checkpoint and ledger row stay one): a single DDL as it is, with
 * the real table's name; several ALTER TABLEs joined into one ALTER (their clauses in order).
 */
export function cutOverDDL(ddls: readonly string[], shadow: TableName, real: TableName, ev?: QueryEvent): string {
  const toReal = (t: TableName): TableName => (t.schema === shadow.schema && t.table === shadow.table ? real : t);
  const parsed = ddls.map((d) => parseDDL(d, shadow.schema));
  if (parsed.length === 1) return rewriteParsed(parsed[0] as ParsedDDL, toReal);
  const clauses: string[] = [];
  for (const p of parsed) {
    const ref = p.refs.find((r) => r.role === 'table');
    if (p.type !== 'alter table' || !ref || p.refs.some((r) => r.role !== 'table')) {
      throw new DMError('ErrSyncOnlineDDLCombine', `the DDLs recorded for the shadow table ${quoteTable(shadow)}${ev ? ` (cut-over at ${posText(ev)})` : ''} cannot be joined into one ALTER TABLE: ${ddls.join('; ')}`);
    }
    clauses.push(p.sql.slice(ref.end).trim());
  }
  return `ALTER TABLE ${quoteTable(real)} ${clauses.join(', ')}`;
}
