import { createReadStream } from 'node:fs';
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Connection } from 'mysql2/promise';
import { DMError } from '../../errors/index.js';
import type { ExtractedColumn } from '../../filter/index.js';
import { tokenize, type Token } from '../../sql/index.js';
import { classifyMySQLError, closeConnection as closeConn, quoteValue as escapeValue, connectSide as openConn, quoteId, quoteTable } from '../../sql/index.js';
import { markDoneSQL, ensureMetaTables, persistPlan, readChunks, readSnapshots } from './meta-store.js';
import { syncHandOff } from '../meta-tables.js';
import { parseDumpFileName, readDumpMetadata } from './dump-files.js';
import { tableKey, type FullSession } from './full-session.js';
import type { ChunkDef } from './chunk-plan.js';
import { prepareTargetConn } from './chunk-loader.js';
import { ensureTargetTableFromDDL } from './schema-create.js';
import { addDeferredIndexes } from './deferred-index.js';

const VERB = { replace: 'REPLACE', ignore: 'INSERT IGNORE', error: 'INSERT' } as const;

/**
 * task-mode load: import a directory written by task-mode dump (or mydumper-like files with one
 * INSERT per line). Routing applies as in the streaming load: routed table names, and extract-*
 * columns added to the target table and filled with the shard's values in every row.
 * Each data file is one target transaction that also marks the file done in the checkpoint.
 */
export async function loadFromDir(s: FullSession, signal: AbortSignal): Promise<Record<string, unknown>> {
  const cfg = s.cfg;
  const dir = cfg.loader.dir;
  const md = await readDumpMetadata(dir);
  let files: string[];
  try {
    files = await readdir(dir);
  } catch (e) {
    throw new DMError('ErrLoadDumpDir', `cannot read dump directory ${dir}`, { cause: e });
  }
  const tables = files
    .map((f) => /^(.*)-schema\.sql$/.exec(f)?.[1])
    .filter((x): x is string => !!x && !x.endsWith('-schema-create'))
    .map((st) => {
      const i = st.indexOf('.');
      return { schema: st.slice(0, i), table: st.slice(i + 1) };
    })
    .filter((t) => s.selector.matchTable(t.schema, t.table));
  const dataFiles = files.map((f) => ({ f, p: parseDumpFileName(f, tables) })).filter((x) => x.p);
  await s.withMeta((c) => ensureMetaTables(c, s.meta));
  let chunks = await s.withMeta((c) => readChunks(c, s.meta, cfg.sourceId));
  if (chunks.length === 0) {
    const plan: ChunkDef[] = dataFiles.map(({ p }) => ({ schema: p?.schema ?? '', table: p?.table ?? '', chunkNo: p?.n ?? 0, key: [], lower: null, upper: null, estimatedRows: 0 }));
    await s.withMeta((c) => persistPlan(c, s.meta, cfg.sourceId, [md.position, ...(md.upperBound ? [md.upperBound] : [])], plan));
    chunks = await s.withMeta((c) => readChunks(c, s.meta, cfg.sourceId));
  }
  s.snapshots = await s.withMeta((c) => readSnapshots(c, s.meta, cfg.sourceId));
  s.chunks = chunks;
  s.progress.reset();
  for (const t of tables) {
    const cs = chunks.filter((c) => c.schema === t.schema && c.table === t.table);
    const r = s.selector.route(t.schema, t.table);
    s.progress.addTable({ table: tableKey(t.schema, t.table), target: tableKey(r.schema, r.table), chunksTotal: cs.length, chunksDone: cs.filter((c) => c.done).length, rowsDone: 0, bytesDone: 0, estimatedRows: 0, estimatedBytes: 0 });
  }
  s.progress.snapshot = { ...syncHandOff(s.snapshots), source: 'dump files' };
  // create schemas and tables
  await s.withMeta(async (c) => {
    await prepareTargetConn(c);
    for (const t of tables) {
      const ddl = await readFile(join(dir, `${t.schema}.${t.table}-schema.sql`), 'utf8');
      await ensureTargetTableFromDDL(c, s, s.selector.route(t.schema, t.table), ddl.trim().replace(/;\s*$/, ''));
    }
  });
  s.progress.begin();
  const pending = chunks.filter((c) => !c.done);
  const queue = [...pending];
  const worker = async (): Promise<void> => {
    let conn: Connection | undefined;
    try {
      conn = await openConn(cfg.target, 'target');
      await prepareTargetConn(conn);
      for (;;) {
        signal.throwIfAborted();
        const c = queue.shift();
        if (!c) return;
        await loadFile(s, conn, dir, c.schema, c.table, c.chunkNo, signal);
        c.done = true;
      }
    } finally {
      await closeConn(conn);
    }
  };
  await Promise.all(Array.from({ length: Math.min(cfg.loader.poolSize, Math.max(1, pending.length)) }, () => worker()));
  await addDeferredIndexes(s, signal);
  if (cfg.loader.cleanDumpFile) {
    // DM `clean-dump-file`: every file is loaded and checkpointed, so a re-run skips them
    let removed = 0;
    for (const { f } of dataFiles) {
      await unlink(join(dir, f)).then(
        () => removed++,
        (e: unknown) => {
          if ((e as { code?: string }).code !== 'ENOENT') throw new DMError('ErrLoadDumpDir', `cannot remove loaded data file ${join(dir, f)} (clean-dump-file: true)`, { cause: e });
        },
      );
    }
    s.log.info({ dir, removed }, 'clean-dump-file: loaded data files removed (metadata and schema files kept)');
  }
  return { ...(syncHandOff(s.snapshots) ?? {}) };
}

async function loadFile(s: FullSession, conn: Connection, dir: string, schema: string, table: string, n: number, signal: AbortSignal): Promise<void> {
  const r = s.selector.route(schema, table);
  const from = `INSERT INTO ${quoteId(table)} `;
  const to = `${VERB[s.cfg.loader.onDuplicate]} INTO ${quoteTable(r.schema, r.table)} `;
  const rewrite = r.extracted.length === 0 ? (line: string) => (line.startsWith(from) ? to + line.slice(from.length) : line) : extractedInsert(table, to, r.extracted);
  const key = tableKey(schema, table);
  const file = join(dir, `${schema}.${table}.${String(n).padStart(5, '0')}.sql`);
  let rows = 0;
  let bytes = 0;
  const t0 = performance.now();
  await conn.query('BEGIN');
  try {
    const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    for await (const line of rl) {
      signal.throwIfAborted();
      if (!line.trim()) continue;
      const stmt = rewrite(line);
      const [res] = await conn.query(stmt.replace(/;\s*$/, ''));
      rows += (res as { affectedRows?: number }).affectedRows ?? 0;
      bytes += line.length;
    }
    await conn.query(markDoneSQL(s.meta), [rows, 1, s.cfg.sourceId, schema, table, n]);
    await conn.query('COMMIT');
  } catch (e) {
    await conn.query('ROLLBACK').catch(() => undefined);
    if (signal.aborted || e instanceof DMError) throw e;
    if ((e as { code?: string }).code === 'ENOENT') throw new DMError('ErrLoadDumpDir', `data file ${file} is missing`, { cause: e });
    throw classifyMySQLError(e, 'target', `load ${file}`);
  }
  s.progress.chunkRows(key, rows, bytes);
  s.progress.chunkDone(key, (performance.now() - t0) / 1000);
}

const isPunct = (t: Token | undefined, c: string): t is Token => t?.kind === 'punct' && t.text === c;
const isWord = (t: Token | undefined, w: string): t is Token => t?.kind === 'word' && t.value.toUpperCase() === w;

/**
 * Rewrites a dumped `INSERT INTO \`t\` (cols) VALUES (..),(..);` for a route with extract-*
 * columns, like the streaming load writes it: `<verb> INTO \`db\`.\`t2\` (cols,extract cols)
 * VALUES (..,'v1'),(..,'v1')`. The tuples are found with the SQL lexer (quotes, escapes and
 * parentheses inside values are never taken for tuple ends); the values text is kept byte for
 * byte. Statements other than INSERT (e.g. `SET NAMES`) are returned unchanged.
 */
function extractedInsert(table: string, verbInto: string, extracted: readonly ExtractedColumn[]): (stmt: string) => string {
  const extraCols = extracted.map((x) => `,${quoteId(x.column)}`).join('');
  const extraValues = extracted.map((x) => `,${escapeValue(x.value)}`).join('');
  return (stmt) => {
    let tokens: Token[];
    try {
      tokens = tokenize(stmt);
    } catch (e) {
      throw new DMError('ErrLoadDumpDir', `cannot parse dump statement for ${table}: ${stmt.slice(0, 80)}`, { cause: e });
    }
    if (!isWord(tokens[0], 'INSERT')) return stmt;
    const bad = (why: string): DMError =>
      new DMError('ErrLoadDumpDir', `dump statement for ${table} ${why}; extract-* columns need \`INSERT INTO \`${table}\` (columns) VALUES ...\`: ${stmt.slice(0, 80)}`);
    const name = tokens[2];
    if (!isWord(tokens[1], 'INTO') || !name || (name.kind !== 'qident' && name.kind !== 'word') || name.value !== table) throw bad('is not an INSERT INTO its table');
    const open = tokens[3];
    if (!isPunct(open, '(')) throw bad('has no column list');
    let i = 4;
    while (i < tokens.length && !isPunct(tokens[i], ')')) i++;
    const close = tokens[i];
    if (!close || !(isWord(tokens[i + 1], 'VALUES') || isWord(tokens[i + 1], 'VALUE'))) throw bad('has no VALUES');
    let out = `${verbInto}(${stmt.slice(open.end, close.start)}${extraCols}) VALUES `;
    let pos = tokens[i + 2]?.start ?? stmt.length;
    let depth = 0;
    for (let j = i + 2; j < tokens.length; j++) {
      const t = tokens[j] as Token;
      if (t.kind !== 'punct') continue;
      if (t.text === '(') depth++;
      else if (t.text === ')' && --depth === 0) {
        out += stmt.slice(pos, t.start) + extraValues;
        pos = t.start;
      }
    }
    return out + stmt.slice(pos);
  };
}
