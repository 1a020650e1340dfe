/**
 * DDL as the schema tracker reads it: MariaDB/MySQL statements rewritten, at the token level, into
 * what node-sql-parser understands, and ALTER TABLE split into one operation per clause.
 *
 * node-sql-parser (the tracker's parser) misses much of MariaDB's grammar: charset introducers
 * (`DEFAULT _utf8mb4'0'`), `ALTER ONLINE|IGNORE TABLE`, `WAIT n`/`NOWAIT`, `ADD COLUMN (a INT, b INT)`,
 * `DROP|MODIFY|CHANGE COLUMN IF EXISTS`, `RENAME INDEX`, `FORCE`, `INVISIBLE`/`COMPRESSED` column
 * attributes, executable comments, and some combinations its MariaDB dialect refuses but its MySQL
 * one takes. Rather than one parse of the whole statement, the clauses of an ALTER are classified
 * here (src/sql's tokenizer: quotes, backtick escapes and comments handled exactly) into:
 *   - `sql`: one clause to parse as `ALTER TABLE t <clause>` (column definitions: the parser is
 *     still what reads types), with the IF [NOT] EXISTS flags taken out and carried beside it;
 *   - structural operations done without the parser (drop/rename column, drop/rename index,
 *     the table's default charset);
 *   - `noop`: clauses that change nothing the binlog rows depend on (ALGORITHM, LOCK, FORCE,
 *     ENGINE, COMMENT, partitioning, ALTER COLUMN SET DEFAULT, foreign keys, checks, ...);
 *   - `unknown`: clauses that change the columns in ways the tracker does not model (CONVERT TO
 *     CHARACTER SET may change TEXT to MEDIUMTEXT; system versioning adds row_start/row_end): the
 *     table becomes unknown and its structure is re-read from the target after the DDL
 *     (src/binlog/reader.ts, "structure from the target").
 */
import { tokenize, type Token } from '../sql/index.js';

export type AlterOp =
  | { kind: 'sql'; sql: string; ifExists: boolean; ifNotExists: boolean }
  | { kind: 'drop-column'; column: string; ifExists: boolean }
  | { kind: 'rename-column'; from: string; to: string }
  | { kind: 'drop-index'; index: string; ifExists: boolean }
  | { kind: 'rename-index'; from: string; to: string }
  | { kind: 'table-charset'; charset: string }
  | { kind: 'noop' }
  | { kind: 'unknown'; why: string };

export interface NormalizedAlter {
  kind: 'alter';
  table: { schema?: string; table: string };
  ops: AlterOp[];
}

export interface NormalizedOther {
  kind: 'other';
  /** The statement with comments unwrapped/dropped and introducers removed. */
  sql: string;
  /** CREATE TABLE IF NOT EXISTS (applies only when the table is not tracked yet). */
  createIfNotExists?: { schema?: string; table: string };
}

const CHARSETS = new Set([
  'utf8mb4', 'utf8mb3', 'utf8', 'latin1', 'latin2', 'latin5', 'latin7', 'ascii', 'binary', 'ucs2', 'utf16', 'utf16le', 'utf32', 'big5', 'gbk', 'gb2312',
  'gb18030', 'sjis', 'cp932', 'ujis', 'eucjpms', 'euckr', 'cp1250', 'cp1251', 'cp1256', 'cp1257', 'cp850', 'cp852', 'cp866', 'dec8', 'greek', 'hebrew',
  'hp8', 'keybcs2', 'koi8r', 'koi8u', 'macce', 'macroman', 'swe7', 'tis620', 'armscii8', 'geostd8', 'filename',
]);

/** Column attributes node-sql-parser does not take and the binlog row layout does not depend on. */
const STRIP_COLUMN_WORDS = new Set(['INVISIBLE', 'VISIBLE']);
const INDEX_WORDS = new Set(['INDEX', 'KEY', 'UNIQUE', 'PRIMARY', 'FULLTEXT', 'SPATIAL', 'CONSTRAINT', 'FOREIGN', 'CHECK', 'VECTOR']);
/** ALTER clauses (first word) that leave columns, keys and charsets alone. */
const NOOP_WORDS = new Set([
  'ALGORITHM', 'LOCK', 'FORCE', 'ENGINE', 'COMMENT', 'AUTO_INCREMENT', 'ROW_FORMAT', 'KEY_BLOCK_SIZE', 'AVG_ROW_LENGTH', 'CHECKSUM', 'TABLE_CHECKSUM',
  'DELAY_KEY_WRITE', 'MAX_ROWS', 'MIN_ROWS', 'PACK_KEYS', 'PAGE_CHECKSUM', 'PAGE_COMPRESSED', 'PAGE_COMPRESSION_LEVEL', 'TRANSACTIONAL', 'ENCRYPTED',
  'ENCRYPTION', 'ENCRYPTION_KEY_ID', 'IETF_QUOTES', 'STATS_AUTO_RECALC', 'STATS_PERSISTENT', 'STATS_SAMPLE_PAGES', 'STATS_SAMPLE_PAGES', 'INSERT_METHOD',
  'DATA', 'INDEX', 'CONNECTION', 'PASSWORD', 'TABLESPACE', 'STORAGE', 'UNION', 'SEQUENCE', 'ORDER', 'ENABLE', 'DISABLE', 'DISCARD', 'IMPORT',
  'ANALYZE', 'CHECK', 'OPTIMIZE', 'REBUILD', 'REPAIR', 'TRUNCATE', 'COALESCE', 'REORGANIZE', 'EXCHANGE', 'REMOVE', 'PARTITION', 'PARTITIONS',
  'WITH', 'WITHOUT', 'SECONDARY_ENGINE', 'SECONDARY_ENGINE_ATTRIBUTE', 'ENGINE_ATTRIBUTE', 'AUTOEXTEND_SIZE',
]);

/**
 * Unwrap executable comments (`/*!40101 ... *\/`, `/*M!100100 ... *\/`): their content is part of
 * the statement on every server that runs it. Offsets are kept (markers become spaces).
 */
export function unwrapExecutableComments(sql: string): string {
  let out = '';
  let i = 0;
  let openExec = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < sql.length) {
        if (sql[j] === '\\' && c !== '`') j += 2;
        else if (sql[j] === c) {
          if (sql[j + 1] === c) j += 2;
          else break;
        } else j++;
      }
      out += sql.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const m = c === '/' ? /^\/\*M?!\d*/.exec(sql.slice(i, i + 12)) : null;
    if (m) {
      out += ' '.repeat(m[0].length);
      i += m[0].length;
      openExec++;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      const e = sql.indexOf('*/', i + 2);
      const end = e < 0 ? sql.length : e + 2;
      out += ' '.repeat(end - i);
      i = end;
      continue;
    }
    if (openExec > 0 && c === '*' && sql[i + 1] === '/') {
      out += '  ';
      i += 2;
      openExec--;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

function up(t: Token | undefined): string {
  return t !== undefined && t.kind === 'word' ? t.value.toUpperCase() : '';
}

function isPunct(t: Token | undefined, p: string): boolean {
  return t !== undefined && t.kind === 'punct' && t.text === p;
}

/** The tokens back to text: adjacent in the source stay adjacent (`x'ff'`, `1.5`, `a.b`), else one space. */
function text(toks: readonly Token[]): string {
  let out = '';
  let prevEnd = -1;
  for (const t of toks) {
    if (out !== '' && t.start !== prevEnd) out += ' ';
    out += t.text;
    prevEnd = t.end;
  }
  return out;
}

function quoteIdent(s: string): string {
  return `\`${s.replace(/`/g, '``')}\``;
}

/** Drop charset introducers (`_utf8mb4'x'` → `'x'`) and column attributes the parser refuses. */
function cleanTokens(toks: Token[]): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    const next = toks[i + 1];
    if (t.kind === 'word' && t.value.startsWith('_') && CHARSETS.has(t.value.slice(1).toLowerCase()) && next?.kind === 'string') continue;
    // `COMPRESSED[=zlib]` (MariaDB compressed columns: the binlog type is VARCHAR/BLOB_COMPRESSED)
    if (up(t) === 'COMPRESSED' && !isPunct(toks[i - 1], '=')) {
      if (isPunct(next, '=')) i += 2;
      continue;
    }
    out.push(t);
  }
  return out;
}

/** Split at top-level commas. */
function splitTop(toks: readonly Token[]): Token[][] {
  const parts: Token[][] = [];
  let cur: Token[] = [];
  let depth = 0;
  for (const t of toks) {
    if (isPunct(t, '(')) depth++;
    else if (isPunct(t, ')')) depth--;
    if (depth === 0 && isPunct(t, ',')) {
      parts.push(cur);
      cur = [];
      continue;
    }
    cur.push(t);
  }
  if (cur.length > 0) parts.push(cur);
  return parts;
}

/** Remove top-level column attributes node-sql-parser refuses (INVISIBLE...). */
function stripColumnWords(toks: Token[]): Token[] {
  let depth = 0;
  return toks.filter((t) => {
    if (isPunct(t, '(')) depth++;
    else if (isPunct(t, ')')) depth--;
    return !(depth === 0 && STRIP_COLUMN_WORDS.has(up(t)));
  });
}

function identAt(toks: readonly Token[], i: number): string | undefined {
  const t = toks[i];
  return t !== undefined && (t.kind === 'word' || t.kind === 'qident') ? t.value : undefined;
}

/** Read `[schema.]table` at i. */
function tableAt(toks: readonly Token[], i: number): { ref: { schema?: string; table: string }; next: number } | undefined {
  const a = identAt(toks, i);
  if (a === undefined) return undefined;
  if (isPunct(toks[i + 1], '.')) {
    const b = identAt(toks, i + 2);
    if (b === undefined) return undefined;
    return { ref: { schema: a, table: b }, next: i + 3 };
  }
  return { ref: { table: a }, next: i + 1 };
}

function classify(spec: Token[], head: string): AlterOp[] {
  let i = 0;
  const w = (k = 0): string => up(spec[i + k]);
  const accept = (...words: string[]): boolean => {
    if (words.every((x, j) => w(j) === x)) {
      i += words.length;
      return true;
    }
    return false;
  };
  const rest = (): Token[] => spec.slice(i);
  const first = w();
  if (first === '') return spec.length === 0 ? [{ kind: 'noop' }] : [{ kind: 'unknown', why: `clause starting with ${spec[0]?.text ?? ''}` }];
  if (accept('ADD')) {
    if (w() === 'PARTITION' || w() === 'PERIOD') return [{ kind: 'noop' }];
    if (w() === 'SYSTEM') return [{ kind: 'unknown', why: 'ADD SYSTEM VERSIONING adds invisible columns' }];
    if (INDEX_WORDS.has(w())) {
      if (w() === 'FOREIGN' || w() === 'CHECK' || (w() === 'CONSTRAINT' && ['FOREIGN', 'CHECK'].includes(w(2)))) return [{ kind: 'noop' }];
      // ADD {INDEX|KEY} IF NOT EXISTS name (...)
      const toks = rest();
      const k = toks.findIndex((_, j) => up(toks[j]) === 'IF' && up(toks[j + 1]) === 'NOT' && up(toks[j + 2]) === 'EXISTS');
      if (k >= 0) toks.splice(k, 3);
      return [{ kind: 'sql', sql: `${head} ADD ${text(toks)}`, ifExists: false, ifNotExists: false }];
    }
    accept('COLUMN');
    const ifNotExists = accept('IF', 'NOT', 'EXISTS');
    if (isPunct(spec[i], '(')) {
      // ADD [COLUMN] (a INT, b INT, INDEX (a))
      const inner = spec.slice(i + 1, isPunct(spec[spec.length - 1], ')') ? spec.length - 1 : spec.length);
      return splitTop(inner).map((part) =>
        INDEX_WORDS.has(up(part[0]))
          ? { kind: 'sql', sql: `${head} ADD ${text(part)}`, ifExists: false, ifNotExists: false }
          : { kind: 'sql', sql: `${head} ADD COLUMN ${text(stripColumnWords(part))}`, ifExists: false, ifNotExists },
      );
    }
    return [{ kind: 'sql', sql: `${head} ADD COLUMN ${text(stripColumnWords(rest()))}`, ifExists: false, ifNotExists }];
  }
  if (accept('DROP')) {
    if (w() === 'PARTITION' || w() === 'PERIOD' || w() === 'CHECK' || accept('FOREIGN', 'KEY')) return [{ kind: 'noop' }];
    if (w() === 'SYSTEM') return [{ kind: 'unknown', why: 'DROP SYSTEM VERSIONING removes columns' }];
    if (accept('PRIMARY', 'KEY')) return [{ kind: 'drop-index', index: 'PRIMARY', ifExists: false }];
    if (accept('INDEX') || accept('KEY') || accept('CONSTRAINT')) {
      const ifExists = accept('IF', 'EXISTS');
      const n = identAt(spec, i);
      return n === undefined ? [{ kind: 'unknown', why: 'DROP INDEX without a name' }] : [{ kind: 'drop-index', index: n, ifExists }];
    }
    accept('COLUMN');
    const ifExists = accept('IF', 'EXISTS');
    const n = identAt(spec, i);
    return n === undefined ? [{ kind: 'unknown', why: 'DROP without a column name' }] : [{ kind: 'drop-column', column: n, ifExists }];
  }
  if (accept('MODIFY') || accept('CHANGE')) {
    const verb = first;
    accept('COLUMN');
    const ifExists = accept('IF', 'EXISTS');
    return [{ kind: 'sql', sql: `${head} ${verb} COLUMN ${text(stripColumnWords(rest()))}`, ifExists, ifNotExists: false }];
  }
  if (accept('RENAME')) {
    if (accept('COLUMN')) {
      const a = identAt(spec, i);
      const b = identAt(spec, i + 2);
      return a === undefined || b === undefined || up(spec[i + 1]) !== 'TO' ? [{ kind: 'unknown', why: 'RENAME COLUMN' }] : [{ kind: 'rename-column', from: a, to: b }];
    }
    if (accept('INDEX') || accept('KEY')) {
      const a = identAt(spec, i);
      const b = identAt(spec, i + 2);
      return a === undefined || b === undefined ? [{ kind: 'unknown', why: 'RENAME INDEX' }] : [{ kind: 'rename-index', from: a, to: b }];
    }
    if (!accept('TO')) accept('AS');
    const t = tableAt(spec, i);
    if (!t) return [{ kind: 'unknown', why: 'RENAME without a table name' }];
    const name = t.ref.schema !== undefined ? `${quoteIdent(t.ref.schema)}.${quoteIdent(t.ref.table)}` : quoteIdent(t.ref.table);
    return [{ kind: 'sql', sql: `${head} RENAME TO ${name}`, ifExists: false, ifNotExists: false }];
  }
  if (accept('ALTER')) return [{ kind: 'noop' }]; // ALTER [COLUMN] c SET/DROP DEFAULT, ALTER INDEX i [NOT] IGNORED
  if (first === 'CONVERT') return [{ kind: 'unknown', why: 'CONVERT TO CHARACTER SET changes column charsets and may change column types' }];
  // [DEFAULT] CHARACTER SET [=] cs [COLLATE c] | [DEFAULT] CHARSET [=] cs | [DEFAULT] COLLATE [=] c
  accept('DEFAULT');
  if (accept('CHARACTER', 'SET') || accept('CHARSET') || accept('COLLATE')) {
    const collate = up(spec[i - 1]) === 'COLLATE';
    if (isPunct(spec[i], '=')) i++;
    const v = spec[i]?.value.toLowerCase();
    if (v === undefined) return [{ kind: 'unknown', why: 'CHARACTER SET without a value' }];
    return [{ kind: 'table-charset', charset: collate ? (v.split('_')[0] ?? v) : v }];
  }
  if (NOOP_WORDS.has(first)) return [{ kind: 'noop' }];
  return [{ kind: 'unknown', why: `clause ${first}` }];
}

/**
 * Normalize one DDL statement for the tracker. ALTER TABLE comes back as operations; anything
 * else as cleaned text for node-sql-parser. Throws (SyntaxError) only on an unterminated quote.
 */
export function normalizeDDL(sql: string): NormalizedAlter | NormalizedOther {
  const toks = cleanTokens(tokenize(unwrapExecutableComments(sql)).filter((t) => !isPunct(t, ';')));
  let i = 0;
  if (up(toks[0]) === 'ALTER') {
    i = 1;
    while (['ONLINE', 'OFFLINE', 'IGNORE'].includes(up(toks[i]))) i++;
    if (up(toks[i]) === 'TABLE') {
      i++;
      if (up(toks[i]) === 'IF' && up(toks[i + 1]) === 'EXISTS') i += 2;
      const t = tableAt(toks, i);
      if (t) {
        i = t.next;
        if (up(toks[i]) === 'WAIT' && toks[i + 1]?.kind === 'number') i += 2;
        else if (up(toks[i]) === 'NOWAIT') i++;
        const name = t.ref.schema !== undefined ? `${quoteIdent(t.ref.schema)}.${quoteIdent(t.ref.table)}` : quoteIdent(t.ref.table);
        const head = `ALTER TABLE ${name}`;
        const specs = splitTop(toks.slice(i));
        return { kind: 'alter', table: t.ref, ops: specs.flatMap((s) => classify(s, head)) };
      }
    }
  }
  // CREATE [OR REPLACE] [TEMPORARY] TABLE [IF NOT EXISTS] name ...
  let out = toks;
  let createIfNotExists: { schema?: string; table: string } | undefined;
  if (up(toks[0]) === 'CREATE') {
    let j = 1;
    if (up(toks[1]) === 'OR' && up(toks[2]) === 'REPLACE') j = 3;
    if (up(toks[j]) === 'TABLE') {
      j++;
      if (up(toks[j]) === 'IF' && up(toks[j + 1]) === 'NOT' && up(toks[j + 2]) === 'EXISTS') {
        createIfNotExists = tableAt(toks, j + 3)?.ref;
        if (createIfNotExists) out = [...toks.slice(0, j), ...toks.slice(j + 3)];
      }
      // OR REPLACE replaces the structure: for the tracker the same as CREATE
      if (j >= 3 && up(out[1]) === 'OR') out = [out[0]!, ...out.slice(3)];
      // column attributes node-sql-parser refuses, inside the definition list
      out = stripColumnWordsDeep(out);
    }
  }
  return { kind: 'other', sql: text(out), ...(createIfNotExists ? { createIfNotExists } : {}) };
}

/** INVISIBLE/VISIBLE inside a CREATE TABLE definition list (depth 1, outside expressions). */
function stripColumnWordsDeep(toks: Token[]): Token[] {
  let depth = 0;
  return toks.filter((t) => {
    if (isPunct(t, '(')) depth++;
    else if (isPunct(t, ')')) depth--;
    return !(depth === 1 && STRIP_COLUMN_WORDS.has(up(t)));
  });
}
