import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Connection } from 'mysql2/promise';
import { DMError } from '../../errors/index.js';
import {
  classifyMySQLError,
  closeConn,
  markDoneSQL,
  openConn,
  parseDumpFileName,
  quoteId,
  quoteTable,
  readDumpMetadata,
  syncHandOff,
  tableKey,
  type ChunkDef,
  type FullSession,
  ensureMetaTables,
  persistPlan,
  readChunks,
  readSnapshots,
} from '../dump/index.js';
import { prepareTargetConn } from './chunk-loader.js';
import { rewriteCreateTable } from './schema-create.js';


const VERB = { replace: 'REPLACE', ignore: 'INSERT IGNORE', error: 'INSERT' } as const;

/**
 * task-mode load: import a directory written by task-mode dump (or mydumper-like files with one
 * INSERT per line). Routing applies to table names; extract-* columns are not supported here.
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
      const r = s.selector.route(t.schema, t.table);
      if (r.extracted.length > 0)
        throw new DMError('ErrNotImplemented', `extract-* columns are not supported when loading from dump files (${t.schema}.${t.table}); use task-mode full or all`);
      const ddl = await readFile(join(dir, `${t.schema}.${t.table}-schema.sql`), 'utf8');
      try {
        await c.query(`CREATE DATABASE IF NOT EXISTS ${quoteId(r.schema)}`);
        await c.query(rewriteCreateTable(ddl.trim().replace(/;\s*$/, ''), r.schema, r.table));
      } catch (e) {
        throw classifyMySQLError(e, 'target', `create ${r.schema}.${r.table}`);
      }
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
  return { ...(syncHandOff(s.snapshots) ?? {}) };
}

async function loadFile(s: FullSession, conn: Connection, dir: string, schema: string, table: string, n: number, signal: AbortSignal): Promise<void> {
  const r = s.selector.route(schema, table);
  const from = `INSERT INTO ${quoteId(table)} `;
  const to = `${VERB[s.cfg.loader.onDuplicate]} INTO ${quoteTable(r.schema, r.table)} `;
  const key = tableKey(schema, table);
  const file = join(dir, `${schema}.${table}.${String(n).padStart(5, '0')}.sql`);
  let rows = 0;
  let bytes = 0;
  await conn.query('BEGIN');
  try {
    const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    for await (const line of rl) {
      signal.throwIfAborted();
      if (!line.trim()) continue;
      const stmt = line.startsWith(from) ? to + line.slice(from.length) : line;
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
  s.progress.chunkDone(key);
}
