/**
 * DDL parsing and rewriting for routing.
 *
 * The statement head (type, table names and their exact text positions, ALTER clauses) is read
 * from the token stream of src/sql/lexer.ts; a rewrite replaces only the table-name tokens with
 * the routed, fully qualified names and keeps every other byte of the original statement (column
 * options, comments, partitioning, MariaDB-only syntax). node-sql-parser (MariaDB dialect) parses
 * the statement as a second opinion: when it can, the table names it finds must be the same, or
 * the statement is refused (ErrSQLParseDDL). It is not the primary path because it rejects much
 * valid MariaDB DDL (e.g. `DROP COLUMN IF EXISTS`, `ADD INDEX` after `ADD COLUMN`, `PARTITION BY`,
 * `ALTER DATABASE`) and its regenerated SQL drops options.
 */
import { createRequire } from 'node:module';
import { DMError } from '../errors/index.js';
import type { TableName } from '../filter/index.js';
import { isIdent, kw, readName, tokenize, type NameRef, type Token } from './lexer.js';
import { quoteId, quoteTable } from './quote.js';

export type DDLType =
  | 'create database'
  | 'drop database'
  | 'alter database'
  | 'create table'
  | 'alter table'
  | 'drop table'
  | 'rename table'
  | 'truncate table'
  | 'create index'
  | 'drop index';

export type AlterAction =
  | 'add column'
  | 'drop column'
  | 'modify column'
  | 'rename column'
  | 'add index'
  | 'drop index'
  | 'rename index'
  | 'add primary key'
  | 'drop primary key'
  | 'add foreign key'
  | 'drop foreign key'
  | 'rename table'
  | 'modify default value'
  | 'modify charset'
  | 'modify storage engine'
  | 'modify table comment'
  | 'add table partition'
  | 'drop table partition'
  | 'truncate table partition'
  | 'other';

export interface AlterSpec {
  action: AlterAction;
  /** Column added / dropped / modified (old name for CHANGE and RENAME COLUMN). */
  column?: string;
  /** New column name (CHANGE, RENAME COLUMN). */
  newColumn?: string;
  /** Index name (add/drop/rename index); undefined when the statement leaves it to the server. */
  index?: string;
  newIndex?: string;
  ifExists?: boolean;
  ifNotExists?: boolean;
}

/** Where a name is in the text and what it is. */
export interface DDLNameRef {
  role: 'table' | 'rename-from' | 'rename-to' | 'like' | 'references' | 'alter-rename-to' | 'exchange' | 'database';
  /** Fully qualified (database refs: `table` is ''). */
  name: TableName;
  start: number;
  end: number;
}

export interface ParsedDDL {
  type: DDLType;
  sql: string;
  /**
   * The tables of the statement, fully qualified, in text order: CREATE/ALTER/TRUNCATE → [t];
   * DROP TABLE → every table; RENAME TABLE → [from1, to1, from2, to2, ...]; CREATE TABLE LIKE →
   * [new, like]; CREATE/DROP INDEX → [t]; database statements → [].
   * (FOREIGN KEY ... REFERENCES tables are in `refs` only.)
   */
  tables: TableName[];
  /** The database of a database statement, else the schema of tables[0]. */
  schema: string;
  /** CREATE/ALTER/DROP DATABASE only: the database (same as `schema`). */
  database?: string;
  refs: DDLNameRef[];
  ifExists: boolean;
  ifNotExists: boolean;
  /** CREATE TEMPORARY / DROP TEMPORARY TABLE (not replicated in ROW format). */
  temporary: boolean;
  /** CREATE OR REPLACE TABLE (MariaDB). */
  orReplace: boolean;
  /** CREATE/DROP INDEX: the index name. */
  indexName?: string;
  /** ALTER TABLE clauses, in order. */
  alterSpecs: AlterSpec[];
  /** DM binlog event filter types: [type, ...finer ALTER kinds]. */
  eventTypes: string[];
  /** Whether node-sql-parser also parsed the statement (and agreed on the tables). */
  parserChecked: boolean;
}

export type QueryKind = 'begin' | 'commit' | 'rollback' | 'ddl' | 'other-ddl' | 'dml' | 'other';

function perr(sql: string, why: string, cause?: unknown): DMError {
  return new DMError('ErrSQLParseDDL', `${why}: ${sql.length > 300 ? `${sql.slice(0, 300)}...` : sql}`, cause === undefined ? undefined : { cause });
}

const OTHER_DDL_OBJECTS = new Set([
  'VIEW', 'TRIGGER', 'PROCEDURE', 'FUNCTION', 'EVENT', 'USER', 'ROLE', 'SERVER', 'TABLESPACE', 'LOGFILE', 'SEQUENCE',
  'ALGORITHM', 'DEFINER', 'SQL', 'AGGREGATE', 'PACKAGE',
]);

/** Classify a binlog QUERY event text by its leading keywords. */
export function queryKind(sql: string): QueryKind {
  let toks: Token[];
  try {
    toks = tokenize(sql);
  } catch {
    return 'other';
  }
  const a = kw(toks, 0);
  const b = kw(toks, 1);
  if (a === 'BEGIN' || (a === 'START' && b === 'TRANSACTION')) return 'begin';
  if (a === 'COMMIT') return 'commit';
  if (a === 'ROLLBACK') return b === 'TO' ? 'other' : 'rollback';
  if (a === 'INSERT' || a === 'UPDATE' || a === 'DELETE' || a === 'REPLACE' || a === 'LOAD') return 'dml';
  if (a === 'RENAME') return b === 'TABLE' || b === 'TABLES' ? 'ddl' : 'other-ddl';
  if (a === 'TRUNCATE') return 'ddl';
  if (a === 'CREATE' || a === 'ALTER' || a === 'DROP') {
    let i = 1;
    const words: string[] = [];
    while (i < toks.length && i < 8) words.push(kw(toks, i++));
    for (const w of words) {
      if (w === 'TABLE' || w === 'TABLES' || w === 'INDEX' || w === 'DATABASE' || w === 'SCHEMA') return 'ddl';
      if (OTHER_DDL_OBJECTS.has(w)) return 'other-ddl';
      if (!['OR', 'REPLACE', 'TEMPORARY', 'ONLINE', 'OFFLINE', 'IGNORE', 'UNIQUE', 'FULLTEXT', 'SPATIAL', 'DEFINITION'].includes(w)) break;
    }
    return 'other-ddl';
  }
  return 'other';
}

class Cursor {
  i = 0;
  constructor(readonly toks: Token[], readonly sql: string) {}
  kw(off = 0): string {
    return kw(this.toks, this.i + off);
  }
  accept(...words: string[]): boolean {
    if (words.every((w, j) => this.kw(j) === w)) {
      this.i += words.length;
      return true;
    }
    return false;
  }
  /** Accept one of several single keywords. */
  acceptAny(...words: string[]): boolean {
    if (words.includes(this.kw())) {
      this.i++;
      return true;
    }
    return false;
  }
  punct(p: string, off = 0): boolean {
    const t = this.toks[this.i + off];
    return t !== undefined && t.kind === 'punct' && t.text === p;
  }
  name(what: string): NameRef {
    const n = readName(this.toks, this.i);
    if (!n) throw perr(this.sql, `expected ${what}`);
    this.i = n.next;
    return n;
  }
  done(): boolean {
    return this.i >= this.toks.length || this.punct(';');
  }
}

function qualify(n: NameRef, defaultSchema: string, sql: string): TableName {
  const schema = n.schema ?? defaultSchema;
  if (!schema) throw perr(sql, `table ${n.name} has no database and no default database is set`);
  return { schema, table: n.name };
}

/** Split the tokens from `from` to the end of the statement into comma-separated top-level parts. */
function topLevelParts(toks: Token[], from: number): [number, number][] {
  const parts: [number, number][] = [];
  let depth = 0;
  let start = from;
  let i = from;
  for (; i < toks.length; i++) {
    const t = toks[i] as Token;
    if (t.kind !== 'punct') continue;
    if (t.text === '(') depth++;
    else if (t.text === ')') depth--;
    else if (t.text === ';' && depth === 0) break;
    else if (t.text === ',' && depth === 0) {
      parts.push([start, i]);
      start = i + 1;
    }
  }
  if (start < i) parts.push([start, i]);
  return parts;
}

/** FOREIGN KEY ... REFERENCES tbl inside a range of tokens. */
function referenceRefs(toks: Token[], from: number, to: number, defaultSchema: string, sql: string): DDLNameRef[] {
  const out: DDLNameRef[] = [];
  for (let i = from; i < to; i++) {
    if (kw(toks, i) === 'REFERENCES') {
      const n = readName(toks, i + 1);
      if (n) out.push({ role: 'references', name: qualify(n, defaultSchema, sql), start: n.start, end: n.end });
    }
  }
  return out;
}

function parseAlterSpec(toks: Token[], s: number, e: number, defaultSchema: string, sql: string, refs: DDLNameRef[]): AlterSpec {
  const c = new Cursor(toks.slice(0, e), sql);
  c.i = s;
  const identAt = (i: number): string | undefined => (isIdent(toks[i]) && i < e ? (toks[i] as Token).value : undefined);
  if (c.accept('ADD')) {
    const w = c.kw();
    if (w === 'PARTITION') return { action: 'add table partition' };
    if (w === 'PRIMARY') return { action: 'add primary key' };
    if (w === 'CONSTRAINT' || w === 'FOREIGN' || w === 'UNIQUE' || w === 'INDEX' || w === 'KEY' || w === 'FULLTEXT' || w === 'SPATIAL' || w === 'CHECK') {
      if (c.accept('CONSTRAINT')) {
        if (!['PRIMARY', 'UNIQUE', 'FOREIGN', 'CHECK'].includes(c.kw())) c.i++; // symbol
      }
      if (c.kw() === 'PRIMARY') return { action: 'add primary key' };
      if (c.kw() === 'CHECK') return { action: 'other' };
      if (c.kw() === 'FOREIGN') {
        refs.push(...referenceRefs(toks, c.i, e, defaultSchema, sql));
        return { action: 'add foreign key' };
      }
      c.acceptAny('UNIQUE', 'FULLTEXT', 'SPATIAL');
      c.acceptAny('INDEX', 'KEY');
      const ifNotExists = c.accept('IF', 'NOT', 'EXISTS');
      const idx = c.punct('(') || c.kw() === 'USING' ? undefined : identAt(c.i);
      return { action: 'add index', ...(idx !== undefined ? { index: idx } : {}), ifNotExists };
    }
    c.accept('COLUMN');
    const ifNotExists = c.accept('IF', 'NOT', 'EXISTS');
    if (c.punct('(')) return { action: 'add column', ifNotExists };
    const col = identAt(c.i);
    refs.push(...referenceRefs(toks, c.i, e, defaultSchema, sql));
    return { action: 'add column', ...(col !== undefined ? { column: col } : {}), ifNotExists };
  }
  if (c.accept('DROP')) {
    if (c.accept('PRIMARY', 'KEY')) return { action: 'drop primary key' };
    if (c.accept('FOREIGN', 'KEY')) {
      const ifExists = c.accept('IF', 'EXISTS');
      const idx = identAt(c.i);
      return { action: 'drop foreign key', ...(idx !== undefined ? { index: idx } : {}), ifExists };
    }
    if (c.kw() === 'PARTITION') return { action: 'drop table partition' };
    if (c.kw() === 'CONSTRAINT' || c.kw() === 'CHECK') return { action: 'other' };
    if (c.accept('INDEX') || c.accept('KEY')) {
      const ifExists = c.accept('IF', 'EXISTS');
      const idx = identAt(c.i);
      return { action: 'drop index', ...(idx !== undefined ? { index: idx } : {}), ifExists };
    }
    c.accept('COLUMN');
    const ifExists = c.accept('IF', 'EXISTS');
    const col = identAt(c.i);
    return { action: 'drop column', ...(col !== undefined ? { column: col } : {}), ifExists };
  }
  if (c.accept('CHANGE')) {
    c.accept('COLUMN');
    const ifExists = c.accept('IF', 'EXISTS');
    const a = identAt(c.i);
    const b = identAt(c.i + 1);
    refs.push(...referenceRefs(toks, c.i, e, defaultSchema, sql));
    const renamed = a !== undefined && b !== undefined && a.toLowerCase() !== b.toLowerCase();
    return { action: renamed ? 'rename column' : 'modify column', ...(a !== undefined ? { column: a } : {}), ...(b !== undefined ? { newColumn: b } : {}), ifExists };
  }
  if (c.accept('MODIFY')) {
    c.accept('COLUMN');
    const ifExists = c.accept('IF', 'EXISTS');
    const a = identAt(c.i);
    return { action: 'modify column', ...(a !== undefined ? { column: a } : {}), ifExists };
  }
  if (c.accept('RENAME')) {
    if (c.accept('COLUMN')) {
      const a = identAt(c.i);
      const b = identAt(c.i + 2);
      return { action: 'rename column', ...(a !== undefined ? { column: a } : {}), ...(b !== undefined ? { newColumn: b } : {}) };
    }
    if (c.accept('INDEX') || c.accept('KEY')) {
      const a = identAt(c.i);
      const b = identAt(c.i + 2);
      return { action: 'rename index', ...(a !== undefined ? { index: a } : {}), ...(b !== undefined ? { newIndex: b } : {}) };
    }
    c.acceptAny('TO', 'AS');
    const n = c.name('new table name');
    refs.push({ role: 'alter-rename-to', name: qualify(n, defaultSchema, sql), start: n.start, end: n.end });
    return { action: 'rename table' };
  }
  if (c.accept('ALTER')) {
    c.accept('COLUMN');
    return { action: 'modify default value' };
  }
  if (c.accept('EXCHANGE', 'PARTITION')) {
    for (let i = c.i; i < e; i++) {
      if (kw(toks, i) === 'WITH' && kw(toks, i + 1) === 'TABLE') {
        const n = readName(toks, i + 2);
        if (n) refs.push({ role: 'exchange', name: qualify(n, defaultSchema, sql), start: n.start, end: n.end });
      }
    }
    return { action: 'other' };
  }
  if (c.kw() === 'TRUNCATE' && c.kw(1) === 'PARTITION') return { action: 'truncate table partition' };
  if (c.kw() === 'CONVERT' || c.kw() === 'CHARACTER' || c.kw() === 'CHARSET' || c.kw() === 'COLLATE' || (c.kw() === 'DEFAULT' && ['CHARACTER', 'CHARSET', 'COLLATE'].includes(c.kw(1)))) {
    return { action: 'modify charset' };
  }
  if (c.kw() === 'ENGINE') return { action: 'modify storage engine' };
  if (c.kw() === 'COMMENT') return { action: 'modify table comment' };
  return { action: 'other' };
}

function parseHead(sql: string, defaultSchema: string): Omit<ParsedDDL, 'eventTypes' | 'parserChecked'> {
  let toks: Token[];
  try {
    toks = tokenize(sql);
  } catch (e) {
    throw perr(sql, 'cannot tokenize DDL', e);
  }
  const c = new Cursor(toks, sql);
  const refs: DDLNameRef[] = [];
  const base = { sql, refs, ifExists: false, ifNotExists: false, temporary: false, orReplace: false, alterSpecs: [] as AlterSpec[] };
  const tableRef = (role: DDLNameRef['role'], what: string): TableName => {
    const n = c.name(what);
    const t = qualify(n, defaultSchema, sql);
    refs.push({ role, name: t, start: n.start, end: n.end });
    return t;
  };
  const dbRef = (): string => {
    const n = c.name('database name');
    if (n.schema !== undefined) throw perr(sql, 'a database name cannot be qualified');
    refs.push({ role: 'database', name: { schema: n.name, table: '' }, start: n.start, end: n.end });
    return n.name;
  };
  const unsupported = (): DMError => new DMError('ErrSQLUnsupportedDDL', `not a supported DDL statement: ${sql.length > 300 ? `${sql.slice(0, 300)}...` : sql}`);

  if (c.accept('CREATE')) {
    const orReplace = c.accept('OR', 'REPLACE');
    if (c.accept('DATABASE') || c.accept('SCHEMA')) {
      const ifNotExists = c.accept('IF', 'NOT', 'EXISTS');
      const db = dbRef();
      return { ...base, type: 'create database', tables: [], schema: db, ifNotExists, orReplace };
    }
    const temporary = c.accept('TEMPORARY');
    if (c.accept('TABLE')) {
      const ifNotExists = c.accept('IF', 'NOT', 'EXISTS');
      const t = tableRef('table', 'table name');
      const tables = [t];
      let like = c.accept('LIKE');
      if (!like && c.punct('(') && kw(toks, c.i + 1) === 'LIKE') {
        c.i += 2;
        like = true;
      }
      if (like) tables.push(tableRef('like', 'table name after LIKE'));
      else refs.push(...referenceRefs(toks, c.i, toks.length, defaultSchema, sql));
      return { ...base, type: 'create table', tables, schema: t.schema, ifNotExists, temporary, orReplace };
    }
    c.acceptAny('ONLINE', 'OFFLINE');
    c.acceptAny('UNIQUE', 'FULLTEXT', 'SPATIAL');
    if (c.accept('INDEX')) {
      const ifNotExists = c.accept('IF', 'NOT', 'EXISTS');
      const idx = c.name('index name');
      while (!c.done() && c.kw() !== 'ON') c.i++;
      if (!c.accept('ON')) throw perr(sql, 'CREATE INDEX without ON');
      const t = tableRef('table', 'table name');
      return { ...base, type: 'create index', tables: [t], schema: t.schema, ifNotExists, orReplace, indexName: idx.name };
    }
    throw unsupported();
  }
  if (c.accept('ALTER')) {
    if (c.accept('DATABASE') || c.accept('SCHEMA')) {
      const w = c.kw();
      const nameFollows = isIdent(toks[c.i]) && !['DEFAULT', 'CHARACTER', 'CHARSET', 'COLLATE', 'COMMENT', 'UPGRADE', 'READ', 'ENCRYPTION'].includes(w);
      const db = nameFollows ? dbRef() : defaultSchema;
      if (!db) throw perr(sql, 'ALTER DATABASE without a database and no default database');
      return { ...base, type: 'alter database', tables: [], schema: db };
    }
    c.accept('ONLINE');
    c.accept('IGNORE');
    if (!c.accept('TABLE')) throw unsupported();
    const ifExists = c.accept('IF', 'EXISTS');
    const t = tableRef('table', 'table name');
    const alterSpecs: AlterSpec[] = [];
    for (const [s, e] of topLevelParts(toks, c.i)) alterSpecs.push(parseAlterSpec(toks, s, e, defaultSchema, sql, refs));
    return { ...base, type: 'alter table', tables: [t], schema: t.schema, ifExists, alterSpecs };
  }
  if (c.accept('DROP')) {
    if (c.accept('DATABASE') || c.accept('SCHEMA')) {
      const ifExists = c.accept('IF', 'EXISTS');
      const db = dbRef();
      return { ...base, type: 'drop database', tables: [], schema: db, ifExists };
    }
    const temporary = c.accept('TEMPORARY');
    if (c.accept('TABLE') || c.accept('TABLES')) {
      const ifExists = c.accept('IF', 'EXISTS');
      const tables = [tableRef('table', 'table name')];
      while (c.punct(',')) {
        c.i++;
        tables.push(tableRef('table', 'table name'));
      }
      return { ...base, type: 'drop table', tables, schema: (tables[0] as TableName).schema, ifExists, temporary };
    }
    c.acceptAny('ONLINE', 'OFFLINE');
    if (c.accept('INDEX')) {
      const ifExists = c.accept('IF', 'EXISTS');
      const idx = c.name('index name');
      if (!c.accept('ON')) throw perr(sql, 'DROP INDEX without ON');
      const t = tableRef('table', 'table name');
      return { ...base, type: 'drop index', tables: [t], schema: t.schema, ifExists, indexName: idx.name };
    }
    throw unsupported();
  }
  if (c.accept('RENAME')) {
    if (!(c.accept('TABLE') || c.accept('TABLES'))) throw unsupported();
    const tables: TableName[] = [];
    for (;;) {
      tables.push(tableRef('rename-from', 'table name'));
      if (!c.accept('TO')) throw perr(sql, 'expected TO in RENAME TABLE');
      tables.push(tableRef('rename-to', 'new table name'));
      if (!c.punct(',')) break;
      c.i++;
    }
    return { ...base, type: 'rename table', tables, schema: (tables[0] as TableName).schema };
  }
  if (c.accept('TRUNCATE')) {
    c.accept('TABLE');
    const t = tableRef('table', 'table name');
    return { ...base, type: 'truncate table', tables: [t], schema: t.schema };
  }
  throw unsupported();
}

// ---- node-sql-parser cross-check ------------------------------------------------------------
type SqlParser = { astify(sql: string, opt?: { database?: string }): unknown };
const require = createRequire(import.meta.url);
let parser: SqlParser | undefined;
function getParser(): SqlParser {
  if (!parser) {
    const { Parser } = require('node-sql-parser/build/mariadb.js') as { Parser: new () => SqlParser };
    parser = new Parser();
  }
  return parser;
}

interface PTable {
  db: string | null;
  table: string;
}

/** Table names node-sql-parser sees, or undefined when it cannot parse the statement. */
function parserTables(sql: string, type: DDLType, defaultSchema: string): string[] | undefined {
  let ast: unknown;
  try {
    ast = getParser().astify(sql, { database: 'MariaDB' });
  } catch {
    return undefined;
  }
  const a = (Array.isArray(ast) ? ast[0] : ast) as Record<string, unknown> | undefined;
  if (!a) return undefined;
  const q = (t: PTable | undefined): string => `${(t?.db ?? defaultSchema).replace(/``/g, '`').toLowerCase()}.${(t?.table ?? '').replace(/``/g, '`').toLowerCase()}`;
  switch (type) {
    case 'create table': {
      const ts = (a.table as PTable[] | undefined) ?? [];
      const like = (a.like as { table?: PTable[] } | undefined)?.table ?? [];
      return [...ts, ...like].map(q);
    }
    case 'alter table':
      return ((a.table as PTable[] | undefined) ?? []).slice(0, 1).map(q);
    case 'drop table':
    case 'truncate table':
      return ((a.name as PTable[] | undefined) ?? []).map(q);
    case 'rename table':
      return ((a.table as PTable[][] | undefined) ?? []).flat().map(q);
    case 'create index':
    case 'drop index':
      return [q(a.table as PTable | undefined)];
    default:
      return undefined;
  }
}

function eventTypesOf(type: DDLType, specs: readonly AlterSpec[]): string[] {
  const out = [type as string];
  for (const s of specs) {
    const ev =
      s.action === 'add index' ? 'create index' : s.action === 'rename table' ? 'rename table' : s.action === 'modify charset' ? 'modify table charset and collate' : s.action === 'other' ? undefined : s.action;
    if (ev && !out.includes(ev)) out.push(ev);
  }
  return out;
}

/**
 * Parse one DDL statement. `defaultSchema` is the session database of the query event (`USE db`).
 * Throws ErrSQLUnsupportedDDL for statements that are not table/index/database DDL (use
 * `queryKind` first to tell DDL from other statements), ErrSQLParseDDL for DDL that cannot be read.
 */
export function parseDDL(sql: string, defaultSchema: string): ParsedDDL {
  const h = parseHead(sql, defaultSchema);
  const head = h.type.endsWith(' database') ? { ...h, database: h.schema } : h;
  let parserChecked = false;
  const pt = parserTables(sql, head.type, defaultSchema);
  if (pt !== undefined) {
    const mine = head.tables.map((t) => `${t.schema.toLowerCase()}.${t.table.toLowerCase()}`);
    if (pt.join('\n') !== mine.join('\n')) {
      throw perr(sql, `ambiguous DDL: table names ${JSON.stringify(mine)} vs parser ${JSON.stringify(pt)}`);
    }
    parserChecked = true;
  }
  return { ...head, eventTypes: eventTypesOf(head.type, head.alterSpecs), parserChecked };
}

/**
 * Rewrite the statement with routed names: every table name (including RENAME targets, LIKE
 * sources, FOREIGN KEY references) becomes `` `schema`.`table` `` of `mapTable(name)`; database
 * names of CREATE/DROP/ALTER DATABASE become `mapTable({schema, table: ''}).schema`. All other text
 * is kept byte for byte.
 */
export function rewriteDDL(sql: string, defaultSchema: string, mapTable: (t: TableName) => TableName): string {
  const p = parseDDL(sql, defaultSchema);
  return rewriteParsed(p, mapTable);
}

/** rewriteDDL for an already parsed statement. */
export function rewriteParsed(p: ParsedDDL, mapTable: (t: TableName) => TableName): string {
  const refs = [...p.refs].sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const r of refs) {
    out += p.sql.slice(at, r.start);
    if (r.role === 'database') out += quoteId(mapTable({ schema: r.name.schema, table: '' }).schema);
    else out += quoteTable(mapTable(r.name));
    at = r.end;
  }
  return out + p.sql.slice(at);
}

/**
 * Split a statement naming several tables into one statement per table, as DM does:
 * `DROP TABLE a, b` → `DROP TABLE `db`.`a``, `DROP TABLE `db`.`b``; `RENAME TABLE a TO b, c TO d`
 * → one RENAME per pair. Names are fully qualified. Other statements come back unchanged (one item).
 */
export function splitDDL(sql: string, defaultSchema: string): string[] {
  const p = parseDDL(sql, defaultSchema);
  const tableRefs = p.refs.filter((r) => r.role !== 'database').sort((a, b) => a.start - b.start);
  if (p.type === 'drop table' && p.tables.length > 1) {
    const first = tableRefs[0] as DDLNameRef;
    const last = tableRefs[tableRefs.length - 1] as DDLNameRef;
    const prefix = sql.slice(0, first.start);
    const suffix = sql.slice(last.end);
    return p.tables.map((t) => `${prefix}${quoteTable(t)}${suffix}`);
  }
  if (p.type === 'rename table' && p.tables.length > 2) {
    const first = tableRefs[0] as DDLNameRef;
    const prefix = sql.slice(0, first.start);
    const out: string[] = [];
    for (let i = 0; i + 1 < p.tables.length; i += 2) out.push(`${prefix}${quoteTable(p.tables[i] as TableName)} TO ${quoteTable(p.tables[i + 1] as TableName)}`);
    return out;
  }
  return [sql];
}
