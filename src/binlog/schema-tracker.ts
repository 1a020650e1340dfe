/* eslint-disable @typescript-eslint/no-explicit-any -- node-sql-parser ASTs are untyped JSON; every access is guarded */
/**
 * Table structures as of the reader's current binlog position, for sources that do not write
 * binlog_row_metadata=FULL (column names/types come from here then) and for key columns in all
 * cases. Seeded from the upstream's information_schema at the start position (or imported from a
 * snapshot persisted with the checkpoint) and updated by every DDL in the stream: ALTER TABLE
 * clause by clause (src/binlog/ddl-normalize.ts, for MariaDB's grammar), column definitions and
 * other statements parsed with node-sql-parser. A DDL that cannot be applied marks the table
 * `unknown` (never half-applied), so its rows wait for the structure from the target or fail
 * with a coded error instead of being decoded with a wrong structure (src/binlog/row-decoder.ts).
 */
import { createRequire } from 'node:module';
import type NodeSqlParserModule from 'node-sql-parser';
import type { RowDataPacket } from 'mysql2/promise';
import type { Logger } from '../log/index.js';
import { silentLogger } from '../log/index.js';
import { DMError } from '../errors/index.js';
import { quoteId } from '../sql/index.js';
import type { Flavor } from './position.js';
import type { Queryable } from './source-info.js';
import { normalizeDDL, type AlterOp, type NormalizedAlter, type NormalizedOther } from './ddl-normalize.js';

export interface TrackedColumn {
  name: string;
  /** Full lowercase column type as information_schema shows it: `bigint(20) unsigned`, `enum('a','b')`. */
  columnType: string;
  /** Bare type name: `bigint`, `varchar`, `enum`. */
  dataType: string;
  unsigned: boolean;
  nullable: boolean;
  /** Character set of text columns; null for binary and non-text columns. */
  charset: string | null;
  generated: boolean;
}

export interface TrackedTable {
  schema: string;
  table: string;
  columns: TrackedColumn[];
  /** Primary key, or the first unique key over NOT NULL columns; [] when none. */
  keyColumns: string[];
  /** The other unique keys. */
  uniqueKeys: string[][];
  /** Table default charset, for columns added later without one. */
  charset: string | null;
}

interface IndexDef {
  name: string;
  primary: boolean;
  unique: boolean;
  columns: string[];
}

interface TableState {
  schema: string;
  table: string;
  columns: TrackedColumn[];
  indexes: IndexDef[];
  charset: string | null;
}

const TEXT_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'enum', 'set', 'json']);

function key(schema: string, table: string): string {
  return `${schema}\u0000${table}`;
}

function lc(s: unknown): string {
  if (typeof s === 'string') return s.toLowerCase();
  if (typeof s === 'number' || typeof s === 'bigint' || typeof s === 'boolean') return String(s);
  return '';
}

function derive(t: TableState): TrackedTable {
  const nn = new Map(t.columns.map((c) => [c.name.toLowerCase(), !c.nullable]));
  const uniques = t.indexes.filter((i) => i.primary || i.unique);
  const pk = uniques.find((i) => i.primary) ?? uniques.find((i) => i.columns.every((c) => nn.get(c.toLowerCase()) === true));
  const canon = (n: string): string => t.columns.find((c) => c.name.toLowerCase() === n.toLowerCase())?.name ?? n;
  return {
    schema: t.schema,
    table: t.table,
    columns: t.columns.map((c) => ({ ...c })),
    keyColumns: pk ? pk.columns.map(canon) : [],
    uniqueKeys: uniques.filter((i) => i !== pk).map((i) => i.columns.map(canon)),
    charset: t.charset,
  };
}

/** Build an information_schema-like column type from a node-sql-parser column definition. */
function columnFromAst(d: any, tableCharset: string | null): TrackedColumn {
  const def = d.definition ?? {};
  let dt = lc(def.dataType);
  const aliases: Record<string, string> = { integer: 'int', numeric: 'decimal', dec: 'decimal', bool: 'tinyint', boolean: 'tinyint', real: 'double', character: 'char' };
  const isBool = dt === 'bool' || dt === 'boolean';
  dt = aliases[dt] ?? dt;
  const suffix: string[] = Array.isArray(def.suffix) ? def.suffix.map(lc) : [];
  const unsigned = suffix.includes('unsigned');
  let ct = dt;
  if (dt === 'enum' || dt === 'set') {
    const vals: unknown[] = def.expr?.value ?? [];
    // node-sql-parser keeps the literal's SQL escaping ('b''c'), as information_schema shows it
    ct += `(${vals.map((v: any) => `'${String(v.value)}'`).join(',')})`;
  } else if (isBool) {
    ct = 'tinyint(1)';
  } else if (def.length !== undefined && def.length !== null) {
    ct += def.scale !== undefined && def.scale !== null ? `(${def.length},${def.scale})` : `(${def.length})`;
  }
  if (unsigned) ct += ' unsigned';
  if (suffix.includes('zerofill')) ct += ' zerofill';
  const binaryType = dt === 'binary' || dt === 'varbinary' || dt.endsWith('blob');
  // COLLATE alone names the charset too (utf8mb4_bin → utf8mb4)
  const collation: unknown = d.collate?.collate?.name;
  const explicitCs = d.character_set?.value?.value ?? (d.definition?.charset ? d.definition.charset : undefined) ?? (typeof collation === 'string' ? collation.split('_')[0] : undefined);
  const charset = TEXT_TYPES.has(dt) && dt !== 'json' ? (explicitCs ? lc(explicitCs) : tableCharset) : binaryType ? null : dt === 'json' ? 'utf8mb4' : null;
  return {
    name: colName(d.column),
    columnType: ct,
    dataType: dt,
    unsigned,
    nullable: !(d.nullable?.type === 'not null' || d.primary_key),
    charset,
    generated: !!d.generated,
  };
}

/** node-sql-parser keeps doubled backticks of quoted identifiers. */
function unq(s: string): string {
  return s.replace(/``/g, '`');
}

function colName(c: any): string {
  if (typeof c === 'string') return unq(c);
  if (c?.column !== undefined) return typeof c.column === 'string' ? unq(c.column) : colName(c.column);
  if (c?.expr) return colName(c.expr);
  if (c?.value !== undefined) return unq(String(c.value));
  return String(c);
}

function indexFromAst(d: any): IndexDef | undefined {
  const ct = lc(d.constraint_type);
  const cols = (d.definition ?? []).map(colName);
  if (ct.includes('primary')) return { name: 'PRIMARY', primary: true, unique: true, columns: cols };
  if (ct.includes('unique')) return { name: String(d.index ?? d.constraint ?? cols[0] ?? 'uk'), primary: false, unique: true, columns: cols };
  if (d.resource === 'index' || ct === 'index' || ct === 'key' || ct.includes('fulltext') || ct.includes('spatial'))
    return { name: String(d.index ?? cols[0] ?? 'idx'), primary: false, unique: false, columns: cols };
  return undefined;
}

/**
 * The table an ALTER/CREATE/DROP/TRUNCATE TABLE statement names, read with a minimal
 * tokenizer: used only to mark that table unknown when the parser cannot read the statement.
 */
export function ddlTargetTable(sql: string): { schema?: string; table: string } | undefined {
  let i = 0;
  const skipSpace = (): void => {
    for (;;) {
      while (i < sql.length && /\s/.test(sql[i] ?? '')) i++;
      if (sql.startsWith('/*', i)) {
        const e = sql.indexOf('*/', i + 2);
        i = e < 0 ? sql.length : e + 2;
      } else if (sql.startsWith('#', i) || sql.startsWith('-- ', i)) {
        const e = sql.indexOf('\n', i);
        i = e < 0 ? sql.length : e + 1;
      } else return;
    }
  };
  const ident = (): string | undefined => {
    skipSpace();
    if (sql[i] === '`') {
      let out = '';
      i++;
      while (i < sql.length) {
        if (sql[i] === '`') {
          if (sql[i + 1] === '`') {
            out += '`';
            i += 2;
            continue;
          }
          i++;
          return out;
        }
        out += sql[i];
        i++;
      }
      return undefined;
    }
    const m = /^[\p{L}\p{N}_$]+/u.exec(sql.slice(i));
    if (!m) return undefined;
    i += m[0].length;
    return m[0];
  };
  const words: string[] = [];
  for (;;) {
    const w = ident();
    if (w === undefined) return undefined;
    const u = w.toUpperCase();
    words.push(u);
    if (u === 'TABLE') break;
    if (words.length > 6) return undefined;
  }
  if (!['ALTER', 'CREATE', 'DROP', 'TRUNCATE', 'RENAME'].includes(words[0] ?? '')) return undefined;
  let name = ident();
  if (name?.toUpperCase() === 'IF') {
    ident();
    if (ident()?.toUpperCase() === 'NOT') ident();
    name = ident();
  }
  if (name === undefined) return undefined;
  skipSpace();
  if (sql[i] === '.') {
    i++;
    const t = ident();
    return t === undefined ? undefined : { schema: name, table: t };
  }
  return { table: name };
}

export interface SchemaTrackerOptions {
  flavor?: Flavor;
  logger?: Logger;
}

type SqlParser = Pick<InstanceType<typeof NodeSqlParserModule.Parser>, 'astify' | 'tableList'>;
const dialectParsers = new Map<string, SqlParser>();
/**
 * node-sql-parser's own build for one dialect ('MySQL' or 'MariaDB'), loaded on first use: a
 * source that writes binlog_row_metadata=FULL never needs it (the tracker parses DDL only for
 * sources that do not), and one dialect's build is ~270 KB of grammar where the package's main
 * entry holds every database's (2.5 MB: ~5 MB more heap and 4–5× the load CPU).
 */
function dialectParser(database: string): SqlParser {
  let p = dialectParsers.get(database);
  if (p === undefined) {
    const file = database === 'MySQL' ? 'node-sql-parser/build/mysql.js' : 'node-sql-parser/build/mariadb.js';
    p = new (createRequire(import.meta.url)(file) as typeof NodeSqlParserModule).Parser();
    dialectParsers.set(database, p);
  }
  return p;
}
/** The all-databases Parser's `astify`/`tableList` with `{ database }`, each dialect from its own build. */
const sqlParser: SqlParser = {
  astify: (sql, opt) => dialectParser(opt?.database ?? 'MySQL').astify(sql, opt),
  tableList: (sql, opt) => dialectParser(opt?.database ?? 'MySQL').tableList(sql, opt),
};

export class SchemaTracker {
  private readonly tables = new Map<string, TableState | 'unknown'>();
  private readonly dbCharsets = new Map<string, string>();
  private readonly parser = sqlParser;
  private readonly dialect: string;
  private readonly log: Logger;
  /** Bumped on every change, so readers can cache what they derive from the tracked tables. */
  version = 0;

  constructor(opts: SchemaTrackerOptions = {}) {
    this.dialect = opts.flavor === 'mysql' ? 'MySQL' : 'MariaDB';
    this.log = opts.logger ?? silentLogger;
  }

  /** The table as of the current position; undefined when never seen, 'unknown' when a DDL could not be tracked. */
  get(schema: string, table: string): TrackedTable | 'unknown' | undefined {
    const t = this.tables.get(key(schema, table));
    if (t === undefined || t === 'unknown') return t;
    return derive(t);
  }

  /** Every tracked table (for tests and status). */
  list(): TrackedTable[] {
    const out: TrackedTable[] = [];
    for (const t of this.tables.values()) if (t !== 'unknown') out.push(derive(t));
    return out;
  }

  /**
   * Load the structure of the tables `include` accepts from the upstream's information_schema:
   * the `onlyTables` listed, else the tables of `inSchemas`, else of every non-system schema.
   * Call at the start position; tables already tracked are kept.
   */
  async seedFromSource(
    conn: Queryable,
    include?: (schema: string, table: string) => boolean,
    onlyTables?: { schema: string; table: string }[],
    inSchemas?: readonly string[],
  ): Promise<number> {
    const sys = "('mysql','information_schema','performance_schema','sys')";
    // information_schema is read one view at a time and joined here: MariaDB fills a joined
    // TABLES view once per probe (1,000 tables: 3-4.5 s joined vs ~0.3 s apart). A schema list is
    // read with one `TABLE_SCHEMA = ?` query per schema, which MariaDB answers from that schema
    // alone instead of opening every table of the server.
    const wheres: { where: string; params: string[] }[] = onlyTables?.length
      ? [{ where: `(${onlyTables.map(() => '(TABLE_SCHEMA=? AND TABLE_NAME=?)').join(' OR ')})`, params: onlyTables.flatMap((t) => [t.schema, t.table]) }]
      : inSchemas !== undefined
        ? inSchemas.map((x) => ({ where: 'TABLE_SCHEMA=?', params: [x] }))
        : [{ where: `TABLE_SCHEMA NOT IN ${sys}`, params: [] }];
    const cols: RowDataPacket[] = [];
    const idx: RowDataPacket[] = [];
    const tableCharset = new Map<string, string | null>();
    const [collations] = await conn.query<RowDataPacket[]>('SELECT COLLATION_NAME c, CHARACTER_SET_NAME cs FROM information_schema.COLLATIONS');
    const charsetOf = new Map(collations.map((r) => [String(r['c']), r['cs'] == null ? null : lc(r['cs'])]));
    for (const { where, params } of wheres) {
      const [tbs] = await conn.query<RowDataPacket[]>(
        `SELECT TABLE_SCHEMA s, TABLE_NAME t, TABLE_COLLATION tc FROM information_schema.TABLES WHERE TABLE_TYPE='BASE TABLE' AND ${where}`,
        params,
      );
      for (const r of tbs) tableCharset.set(key(String(r['s']), String(r['t'])), r['tc'] == null ? null : (charsetOf.get(String(r['tc'])) ?? null));
      const [c] = await conn.query<RowDataPacket[]>(
        `SELECT TABLE_SCHEMA s, TABLE_NAME t, COLUMN_NAME n, COLUMN_TYPE ct, DATA_TYPE dt, IS_NULLABLE nl, CHARACTER_SET_NAME cs, EXTRA ex
           FROM information_schema.COLUMNS WHERE ${where} ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`,
        params,
      );
      cols.push(...c);
      const [i] = await conn.query<RowDataPacket[]>(
        `SELECT TABLE_SCHEMA s, TABLE_NAME t, INDEX_NAME i, NON_UNIQUE nu, COLUMN_NAME n
           FROM information_schema.STATISTICS WHERE ${where} ORDER BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
        params,
      );
      idx.push(...i);
    }
    const [dbs] = await conn.query<RowDataPacket[]>('SELECT SCHEMA_NAME s, DEFAULT_CHARACTER_SET_NAME cs FROM information_schema.SCHEMATA');
    for (const d of dbs) if (!this.dbCharsets.has(String(d['s']))) this.dbCharsets.set(String(d['s']), lc(d['cs']));
    const fresh = new Map<string, TableState>();
    for (const r of cols) {
      const s = String(r['s']);
      const t = String(r['t']);
      if (include && !include(s, t)) continue;
      const k = key(s, t);
      if (this.tables.has(k)) continue;
      const charset = tableCharset.get(k);
      if (charset === undefined) continue; // a view, not a base table
      let st = fresh.get(k);
      if (!st) fresh.set(k, (st = { schema: s, table: t, columns: [], indexes: [], charset }));
      const ex = lc(r['ex']);
      st.columns.push({
        name: String(r['n']),
        columnType: lc(r['ct']),
        dataType: lc(r['dt']),
        unsigned: lc(r['ct']).includes('unsigned'),
        nullable: String(r['nl']) === 'YES',
        charset: r['cs'] == null ? null : lc(r['cs']),
        generated: ex.includes('generated') || ex.includes('virtual') || ex.includes('persistent') || ex.includes('stored'),
      });
    }
    for (const r of idx) {
      const st = fresh.get(key(String(r['s']), String(r['t'])));
      if (!st) continue;
      const name = String(r['i']);
      let i = st.indexes.find((x) => x.name === name);
      if (!i) st.indexes.push((i = { name, primary: name === 'PRIMARY', unique: Number(r['nu']) === 0, columns: [] }));
      i.columns.push(String(r['n']));
    }
    for (const [k, st] of fresh) this.tables.set(k, st);
    this.version++;
    return fresh.size;
  }

  /**
   * Apply one DDL statement (as written to the binlog, run with default schema `schema`).
   * Returns the tables whose structure changed (or became unknown).
   */
  applyDDL(schema: string, sql: string): { schema: string; table: string }[] {
    let norm: NormalizedAlter | NormalizedOther | undefined;
    try {
      norm = normalizeDDL(sql);
    } catch {
      norm = undefined; // unterminated quote: the parser below says so too
    }
    if (norm?.kind === 'alter') return this.applyAlter(schema, sql, norm);
    const text = norm?.sql ?? sql;
    const ine = norm?.createIfNotExists;
    // CREATE TABLE IF NOT EXISTS of a table that exists changes nothing
    if (ine && this.tables.has(key(ine.schema ?? schema, ine.table))) return [];
    // node-sql-parser's MariaDB grammar misses some ALTER forms (ADD PRIMARY KEY, ADD UNIQUE KEY)
    // that its MySQL grammar has: try the flavor's dialect first, then the other one
    const { asts, err: firstErr } = this.parse(text);
    if (!asts) {
      this.version++;
      return this.unparsable(schema, sql, firstErr);
    }
    const touched: { schema: string; table: string }[] = [];
    this.version++;
    for (const ast of asts) {
      try {
        touched.push(...this.applyAst(schema, ast));
      } catch (e) {
        touched.push(...this.unparsable(schema, sql, e));
      }
    }
    return touched;
  }

  private parse(sql: string): { asts?: any[]; err?: unknown } {
    let err: unknown;
    for (const database of [this.dialect, this.dialect === 'MySQL' ? 'MariaDB' : 'MySQL']) {
      try {
        const a: any = this.parser.astify(sql, { database });
        return { asts: Array.isArray(a) ? a : [a] };
      } catch (e) {
        err ??= e;
      }
    }
    return { err };
  }

  /**
   * ALTER TABLE, one clause at a time (src/binlog/ddl-normalize.ts): column definitions through
   * node-sql-parser, the rest structurally. Any clause that cannot be followed makes the table
   * unknown (never half-applied).
   */
  private applyAlter(schema: string, sql: string, n: NormalizedAlter): { schema: string; table: string }[] {
    const t = { schema: n.table.schema ?? schema, table: n.table.table };
    const cur = this.tables.get(key(t.schema, t.table));
    if (cur === undefined) return [];
    this.version++;
    if (cur === 'unknown') return [t];
    const exprs: any[] = [];
    const fail = (why: unknown): { schema: string; table: string }[] => {
      this.tables.set(key(t.schema, t.table), 'unknown');
      this.log.warn({ err: why, sql, schema, unknownTables: [t] }, 'schema tracker could not apply ddl');
      return [t];
    };
    for (const op of n.ops) {
      switch (op.kind) {
        case 'noop':
          break;
        case 'unknown':
          return fail(new Error(op.why));
        case 'sql': {
          const p = this.parse(op.sql);
          const ast = p.asts?.[0];
          if (!ast || !Array.isArray(ast.expr)) return fail(p.err ?? new Error(`cannot read ${op.sql}`));
          for (const e of ast.expr) {
            if (op.ifExists) e.if_exists = true;
            if (op.ifNotExists) e.if_not_exists = true;
            exprs.push(e);
          }
          break;
        }
        default:
          exprs.push({ action: `__${op.kind}`, resource: '__op', op });
      }
    }
    try {
      return this.applyAst(schema, { type: 'alter', table: [{ db: t.schema, table: t.table }], expr: exprs, __unquoted: true });
    } catch (e) {
      return fail(e);
    }
  }

  /** A DDL we cannot parse: if it names a tracked table (per the parser's table list), mark it unknown. */
  private unparsable(schema: string, sql: string, err: unknown): { schema: string; table: string }[] {
    const out: { schema: string; table: string }[] = [];
    let names: string[] = [];
    try {
      names = this.parser.tableList(sql, { database: this.dialect });
    } catch {
      const t = ddlTargetTable(sql);
      names = t ? [`alter::${t.schema ?? 'null'}::${t.table}`] : [];
    }
    for (const n of names) {
      const [, db, tb] = n.split('::');
      const s = db && db !== 'null' ? db : schema;
      if (tb && this.tables.has(key(s, tb))) {
        this.tables.set(key(s, tb), 'unknown');
        out.push({ schema: s, table: tb });
      }
    }
    if (/^\s*(alter|create|rename|drop)\s+table/i.test(sql) || out.length > 0) {
      this.log.warn({ err, sql, schema, unknownTables: out }, 'schema tracker could not apply ddl');
    }
    return out;
  }

  private applyAst(defSchema: string, ast: any): { schema: string; table: string }[] {
    const type = lc(ast.type);
    const kw = lc(ast.keyword);
    const raw = ast.__unquoted === true;
    const ref = (t: any): { schema: string; table: string } => ({ schema: t.db ? (raw ? String(t.db) : unq(String(t.db))) : defSchema, table: raw ? String(t.table) : unq(String(t.table)) });
    if (type === 'create' && kw === 'table') {
      const t = ref(ast.table[0]);
      if (ast.like) {
        const src = ref(ast.like.table?.[0] ?? ast.like);
        const s = this.tables.get(key(src.schema, src.table));
        this.tables.set(key(t.schema, t.table), s === undefined || s === 'unknown' ? 'unknown' : structuredClone({ ...s, schema: t.schema, table: t.table }));
        return [t];
      }
      if (ast.query_expr || !Array.isArray(ast.create_definitions)) {
        this.tables.set(key(t.schema, t.table), 'unknown');
        return [t];
      }
      const csOpt = (ast.table_options ?? []).find((o: any) => /charset|character set/.test(lc(o.keyword)));
      const charset = csOpt ? lc(csOpt.value?.value ?? csOpt.value) : (this.dbCharsets.get(t.schema) ?? null);
      const st: TableState = { ...t, columns: [], indexes: [], charset };
      for (const d of ast.create_definitions) {
        if (d.resource === 'column') {
          const c = columnFromAst(d, charset);
          st.columns.push(c);
          if (d.primary_key) st.indexes.push({ name: 'PRIMARY', primary: true, unique: true, columns: [c.name] });
          else if (d.unique || lc(d.unique_or_primary).includes('unique')) st.indexes.push({ name: c.name, primary: false, unique: true, columns: [c.name] });
        } else {
          const i = indexFromAst(d);
          if (i) {
            if (i.primary) for (const c of st.columns) if (i.columns.some((n) => n.toLowerCase() === c.name.toLowerCase())) c.nullable = false;
            st.indexes.push(i);
          }
        }
      }
      this.tables.set(key(t.schema, t.table), st);
      return [t];
    }
    if (type === 'drop' && kw === 'table') {
      return (ast.name ?? []).map((n: any) => {
        const t = ref(n);
        this.tables.delete(key(t.schema, t.table));
        return t;
      });
    }
    if (type === 'rename') {
      const out: { schema: string; table: string }[] = [];
      for (const [from, to] of ast.table ?? []) {
        const f = ref(from);
        const t = ref(to);
        const s = this.tables.get(key(f.schema, f.table));
        this.tables.delete(key(f.schema, f.table));
        if (s !== undefined) this.tables.set(key(t.schema, t.table), s === 'unknown' ? s : { ...s, ...t });
        out.push(f, t);
      }
      return out;
    }
    if ((type === 'drop' || type === 'create' || type === 'alter') && (kw === 'database' || kw === 'schema')) {
      const n = ast.name ?? ast.database;
      const first = Array.isArray(n) ? n[0] : n;
      // node-sql-parser: `database: {schema: [{value}]}` (CREATE DATABASE) or a name/list
      const sch = Array.isArray(first?.schema) ? first.schema[0]?.value : first?.schema;
      const dbName = unq(typeof first === 'string' ? first : String(first?.db ?? first?.value ?? sch ?? ''));
      if (type === 'drop') {
        for (const k of [...this.tables.keys()]) if (k.startsWith(`${dbName}\u0000`)) this.tables.delete(k);
        this.dbCharsets.delete(dbName);
      } else {
        const opts = ast.create_definitions ?? ast.expr ?? [];
        const cs = (Array.isArray(opts) ? opts : []).find((o: any) => /charset|character set/.test(lc(o.keyword)));
        if (cs) this.dbCharsets.set(dbName, lc(cs.value?.value ?? cs.value));
      }
      return [];
    }
    if (type === 'create' && kw === 'index') {
      const t = ref(ast.table?.[0] ?? ast.table);
      const st = this.tables.get(key(t.schema, t.table));
      if (st === undefined || st === 'unknown') return [];
      const cols = (ast.index_columns ?? []).map(colName);
      st.indexes.push({ name: String(ast.index), primary: false, unique: lc(ast.index_type) === 'unique', columns: cols });
      return [t];
    }
    if (type === 'drop' && kw === 'index') {
      const t = ref(ast.table?.[0] ?? ast.table);
      const st = this.tables.get(key(t.schema, t.table));
      if (st === undefined || st === 'unknown') return [];
      const name = colName(ast.name);
      st.indexes = st.indexes.filter((i) => i.name.toLowerCase() !== name.toLowerCase());
      return [t];
    }
    if (type === 'alter' && Array.isArray(ast.table)) {
      let t = ref(ast.table[0]);
      const k0 = key(t.schema, t.table);
      const cur = this.tables.get(k0);
      if (cur === undefined) return [];
      if (cur === 'unknown') return [t];
      const st: TableState = structuredClone(cur);
      const find = (n: string): number => st.columns.findIndex((c) => c.name.toLowerCase() === n.toLowerCase());
      const place = (c: TrackedColumn, suffix: any): void => {
        const kwd = lc(suffix?.keyword);
        if (kwd === 'first') st.columns.unshift(c);
        else if (kwd === 'after') {
          const i = find(colName(suffix.expr));
          if (i < 0) throw new Error(`AFTER unknown column ${colName(suffix.expr)}`);
          st.columns.splice(i + 1, 0, c);
        } else st.columns.push(c);
      };
      const renameInIndexes = (from: string, to: string): void => {
        for (const i of st.indexes) i.columns = i.columns.map((c) => (c.toLowerCase() === from.toLowerCase() ? to : c));
      };
      const dropColumn = (n: string, ifExists: boolean): void => {
        const i = find(n);
        if (i < 0 && ifExists) return;
        if (i < 0) throw new Error(`DROP unknown column ${n}`);
        st.columns.splice(i, 1);
        for (const ix of st.indexes) ix.columns = ix.columns.filter((c) => c.toLowerCase() !== n.toLowerCase());
        st.indexes = st.indexes.filter((ix) => ix.columns.length > 0);
      };
      for (const e of ast.expr ?? []) {
        const action = lc(e.action);
        const res = lc(e.resource);
        if (res === '__op') {
          const op = e.op as AlterOp;
          if (op.kind === 'drop-column') dropColumn(op.column, op.ifExists);
          else if (op.kind === 'rename-column') {
            const c = st.columns[find(op.from)];
            if (!c) throw new Error(`RENAME unknown column ${op.from}`);
            c.name = op.to;
            renameInIndexes(op.from, op.to);
          } else if (op.kind === 'drop-index') st.indexes = st.indexes.filter((i) => i.name.toLowerCase() !== op.index.toLowerCase());
          else if (op.kind === 'rename-index') {
            for (const i of st.indexes) if (i.name.toLowerCase() === op.from.toLowerCase()) i.name = op.to;
          } else if (op.kind === 'table-charset') st.charset = op.charset;
          continue;
        }
        if (res === 'column') {
          if (action === 'add') {
            const c = columnFromAst(e, st.charset);
            if (find(c.name) >= 0) {
              if (e.if_not_exists) continue;
              throw new Error(`ADD existing column ${c.name}`);
            }
            place(c, e.suffix);
            if (e.primary_key) st.indexes.push({ name: 'PRIMARY', primary: true, unique: true, columns: [c.name] });
          } else if (action === 'drop') {
            dropColumn(colName(e.column), !!e.if_exists);
          } else if (action === 'modify' || action === 'change') {
            const from = colName(e.old_column ?? e.column);
            const i = find(from);
            if (i < 0 && e.if_exists) continue;
            if (i < 0) throw new Error(`${action} unknown column ${from}`);
            const c = columnFromAst(e, st.charset);
            const old = st.columns[i];
            if (old && !e.character_set && c.charset !== null && old.charset !== null && TEXT_TYPES.has(old.dataType)) c.charset = old.charset;
            if (e.suffix?.keyword) {
              st.columns.splice(i, 1);
              place(c, e.suffix);
            } else st.columns[i] = c;
            renameInIndexes(from, c.name);
          } else if (action === 'rename') {
            const from = colName(e.old_column);
            const i = find(from);
            const c = st.columns[i];
            if (!c) throw new Error(`RENAME unknown column ${from}`);
            c.name = colName(e.column);
            renameInIndexes(from, c.name);
          } else if (action === 'alter') {
            // ALTER COLUMN ... SET/DROP DEFAULT: no structural change
          } else throw new Error(`unsupported column action ${action}`);
        } else if (res === 'table' && action === 'rename') {
          const to = e.table ? ref(typeof e.table === 'string' ? { db: null, table: e.table } : e.table) : undefined;
          if (!to) throw new Error('rename without target');
          this.tables.delete(k0);
          st.schema = to.schema;
          st.table = to.table;
          t = to;
        } else if (action === 'add' && (res === 'constraint' || res === 'index' || e.create_definitions)) {
          const i = indexFromAst(e.create_definitions ?? e);
          if (i) {
            if (i.primary) for (const c of st.columns) if (i.columns.some((n) => n.toLowerCase() === c.name.toLowerCase())) c.nullable = false;
            st.indexes.push(i);
          }
        } else if (action === 'drop' && (res === 'index' || res === 'key' || res === 'primary key' || res === 'constraint')) {
          const name = res === 'primary key' || lc(e.keyword).includes('primary') ? 'PRIMARY' : colName(e.index ?? e.name ?? e.constraint);
          st.indexes = st.indexes.filter((i) => i.name.toLowerCase() !== name.toLowerCase());
        } else if (res === 'column' || action === 'add' || action === 'drop' || action === 'modify' || action === 'change') {
          throw new Error(`unsupported alter action ${action} ${res}`);
        }
        // table options (engine, comment, charset conversion of defaults, ...) keep the columns
      }
      this.tables.set(key(t.schema, t.table), st);
      return [t];
    }
    return [];
  }

  // ---- one table by hand (`dmctl binlog-schema`) ----------------------------------------------

  /** The raw state of one table: undefined when not tracked, 'unknown' when a DDL could not be tracked. */
  tableState(schema: string, table: string): 'unknown' | undefined | { schema: string; table: string; json: string } {
    const t = this.tables.get(key(schema, table));
    if (t === undefined || t === 'unknown') return t;
    return { schema, table, json: JSON.stringify(t) };
  }

  /** Put a table state taken with tableState() (of this or another tracker) under `schema`.`table`. */
  putTableState(schema: string, table: string, state: { json: string }): void {
    const t = JSON.parse(state.json) as TableState;
    this.tables.set(key(schema, table), { ...t, schema, table });
    this.version++;
  }

  /** Stop tracking `schema`.`table`; false when it was not tracked. */
  dropTable(schema: string, table: string): boolean {
    this.version++;
    return this.tables.delete(key(schema, table));
  }

  /**
   * Replace (or add) the structure of `schema`.`table` with the one a CREATE TABLE statement
   * describes. The statement's own table name is ignored (as DM's `binlog-schema update`); an
   * unqualified column charset defaults to the statement's DEFAULT CHARSET, else the schema's.
   * Throws ErrSchemaTrackerInvalidCreateTable when the text is not one such statement.
   */
  setTableFromCreate(schema: string, table: string, sql: string): void {
    const bad = (why: string, cause?: unknown): DMError =>
      new DMError('ErrSchemaTrackerInvalidCreateTable', `cannot use the given schema for ${quoteId(schema)}.${quoteId(table)}: ${why}`, cause === undefined ? undefined : { cause });
    let asts: any[] | undefined;
    let firstErr: unknown;
    for (const database of [this.dialect, this.dialect === 'MySQL' ? 'MariaDB' : 'MySQL']) {
      try {
        const a: any = this.parser.astify(sql, { database });
        asts = (Array.isArray(a) ? a : [a]).filter((x: any) => x !== null && x !== undefined);
        break;
      } catch (e) {
        firstErr ??= e;
      }
    }
    if (!asts) throw bad('the statement cannot be parsed', firstErr);
    if (asts.length !== 1) throw bad(`expected one CREATE TABLE statement, got ${asts.length} statements`);
    const ast = asts[0];
    if (lc(ast.type) !== 'create' || lc(ast.keyword) !== 'table') throw bad(`expected a CREATE TABLE statement, got ${lc(ast.type).toUpperCase()} ${lc(ast.keyword).toUpperCase()}`.trimEnd());
    if (ast.like || ast.query_expr || !Array.isArray(ast.create_definitions)) throw bad('CREATE TABLE ... LIKE / AS SELECT does not describe the columns; give the full column list');
    const colCount = ast.create_definitions.filter((d: any) => d?.resource === 'column').length;
    if (colCount === 0) throw bad('the statement defines no column');
    ast.table = [{ db: schema.replace(/`/g, '``'), table: table.replace(/`/g, '``') }];
    let touched: { schema: string; table: string }[];
    try {
      touched = this.applyAst(schema, ast);
    } catch (e) {
      throw bad('the statement cannot be applied', e);
    }
    this.version++;
    const t = this.tables.get(key(schema, table));
    if (touched.length !== 1 || t === undefined || t === 'unknown') throw bad('the statement does not describe the table');
  }

  /**
   * A CREATE TABLE statement for a tracked table (columns, types, nullability, charsets, keys;
   * defaults, comments and generation expressions are not tracked and not shown). Undefined when
   * not tracked, 'unknown' when a DDL could not be tracked.
   */
  createTableSQL(schema: string, table: string): string | 'unknown' | undefined {
    const t = this.tables.get(key(schema, table));
    if (t === undefined || t === 'unknown') return t;
    const lines: string[] = [];
    for (const c of t.columns) {
      let l = `  ${quoteId(c.name)} ${c.columnType}`;
      if (c.charset && TEXT_TYPES.has(c.dataType) && c.dataType !== 'json' && c.charset !== t.charset) l += ` CHARACTER SET ${c.charset}`;
      if (c.generated) l += ' GENERATED ALWAYS AS (NULL) VIRTUAL /* generated column: its expression is not tracked */';
      l += c.nullable ? ' NULL' : ' NOT NULL';
      lines.push(l);
    }
    const cols = (cs: string[]): string => cs.map(quoteId).join(', ');
    for (const i of t.indexes) {
      if (i.primary) lines.push(`  PRIMARY KEY (${cols(i.columns)})`);
      else lines.push(`  ${i.unique ? 'UNIQUE KEY' : 'KEY'} ${quoteId(i.name)} (${cols(i.columns)})`);
    }
    return `CREATE TABLE ${quoteId(t.table)} (\n${lines.join(',\n')}\n)${t.charset ? ` DEFAULT CHARSET=${t.charset}` : ''}`;
  }

  /**
   * Replace `schema.table` with the structure `from` tracks as `fromSchema.fromTable` (the
   * structure re-read from the target after a DDL this tracker could not follow); `from` not
   * having it forgets the table (rows of it then stop with ErrBinlogRowMetadata). Returns whether
   * a structure was adopted.
   */
  adopt(schema: string, table: string, from: SchemaTracker, fromSchema: string, fromTable: string): boolean {
    const got = from.tables.get(key(fromSchema, fromTable));
    this.version++;
    if (got === undefined || got === 'unknown') {
      this.tables.delete(key(schema, table));
      return false;
    }
    this.tables.set(key(schema, table), { ...structuredClone(got), schema, table });
    return true;
  }

  /** `snapshot` (an exportSchemas() JSON) with `schema.table` as this tracker has it now. */
  patchSnapshot(snapshot: string, schema: string, table: string): string {
    const tmp = new SchemaTracker({ flavor: this.dialect === 'MySQL' ? 'mysql' : 'mariadb', logger: this.log });
    tmp.importSchemas(snapshot);
    const cur = this.tables.get(key(schema, table));
    if (cur === undefined) tmp.tables.delete(key(schema, table));
    else tmp.tables.set(key(schema, table), cur === 'unknown' ? cur : structuredClone(cur));
    return tmp.exportSchemas();
  }

  /** Forget everything (e.g. before re-seeding). */
  clear(): void {
    this.version++;
    this.tables.clear();
    this.dbCharsets.clear();
  }

  /** JSON snapshot of every tracked table, for persisting with a checkpoint. */
  exportSchemas(): string {
    const tables: (TableState | { schema: string; table: string; unknown: true })[] = [];
    for (const [k, v] of this.tables) {
      if (v === 'unknown') {
        const [schema = '', table = ''] = k.split('\u0000');
        tables.push({ schema, table, unknown: true });
      } else tables.push(v);
    }
    return JSON.stringify({ version: 1, dbCharsets: Object.fromEntries(this.dbCharsets), tables });
  }

  /** Replace the tracked state with a snapshot made by exportSchemas(). */
  importSchemas(json: string): void {
    const v = JSON.parse(json) as { version: number; dbCharsets: Record<string, string>; tables: (TableState & { unknown?: true })[] };
    this.clear();
    for (const [d, cs] of Object.entries(v.dbCharsets ?? {})) this.dbCharsets.set(d, cs);
    for (const t of v.tables ?? []) this.tables.set(key(t.schema, t.table), t.unknown ? 'unknown' : { schema: t.schema, table: t.table, columns: t.columns, indexes: t.indexes, charset: t.charset });
  }
}
