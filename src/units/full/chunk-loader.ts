import { Readable } from 'node:stream';
import type { Connection } from 'mysql2/promise';
import { DMError } from '../../errors/index.js';
import { classifyMySQLError, typeCastFor, quoteId, quoteTable } from '../../sql/index.js';
import { makeRowEncoder, chunkBatches, type Batch } from './row-stream.js';
import { markDoneManySQL, type ChunkRow } from './meta-store.js';
import { tableKey, type FullSession } from './full-session.js';
import type { OnDuplicate } from './config.js';
import { loadDataSQL } from './tsv-encoder.js';
import { chunkLines, type LineBatch } from './raw-lines.js';

/** Session settings for bulk load that keep every value exact (UTC, zero dates and id 0 allowed). */
export async function prepareTargetConn(conn: Connection): Promise<number> {
  return (await prepareTargetSession(conn)).maxAllowedPacket;
}

/** As prepareTargetConn, and whether the target accepts LOAD DATA LOCAL INFILE (`@@local_infile`). */
export async function prepareTargetSession(
  conn: Connection,
): Promise<{ maxAllowedPacket: number; localInfile: boolean }> {
  await conn.query(
    "SET SESSION foreign_key_checks = 0, SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES,NO_ENGINE_SUBSTITUTION', SESSION time_zone = '+00:00'",
  );
  const [r] = await conn.query('SELECT @@max_allowed_packet AS m, @@local_infile AS li');
  const row = (r as { m: unknown; li: unknown }[])[0];
  return { maxAllowedPacket: Number(row?.m ?? 4 << 20), localInfile: Number(row?.li ?? 0) === 1 };
}

/** Largest piece of LOAD DATA stream handed to the driver at once (one protocol packet each). */
const STREAM_PIECE = 1 << 20;

const VERB: Record<OnDuplicate, string> = { replace: 'REPLACE', ignore: 'INSERT IGNORE', error: 'INSERT' };

/** Largest INSERT we build: well under max_allowed_packet, and 1 MiB is where gains stop. */
export function batchBytes(maxAllowedPacket: number): number {
  return Math.max(16 << 10, Math.min(1 << 20, Math.floor(maxAllowedPacket / 2)));
}

/**
 * Copy one chunk: stream its rows from `src` (a snapshot connection), write them to `tgt` (one
 * LOAD DATA LOCAL INFILE fed by the row stream, or multi-row INSERTs), and mark the chunk done — all in ONE target transaction, so a crash
 * anywhere either commits rows + checkpoint together or neither.
 * Returns false when another loader had already finished the chunk (nothing committed).
 */
export async function loadChunk(opts: LoadOptions & { chunk: ChunkRow }): Promise<boolean> {
  return loadChunks({ ...opts, chunks: [opts.chunk] });
}

interface LoadOptions {
  session: FullSession;
  src: Connection;
  tgt: Connection;
  snapshotSeq: number;
  maxBytes: number;
  signal: AbortSignal;
  /** `loaddata`: one LOAD DATA LOCAL INFILE streamed from the source per chunk; `sql`: multi-row INSERTs. */
  mode?: 'sql' | 'loaddata';
}

/**
 * As loadChunk for several chunks (small tables' whole-table chunks) in ONE target transaction:
 * their rows one chunk after the other, then one UPDATE marking all of them done, one COMMIT.
 * Returns false, having committed nothing, when another loader had already finished any of them
 * (the caller then loads them one by one).
 */
export async function loadChunks(opts: LoadOptions & { chunks: readonly ChunkRow[] }): Promise<boolean> {
  const { session, chunks, tgt, signal } = opts;
  const written: { key: string; chunk: ChunkRow; rows: number; bytes: number }[] = [];
  const cur: { side: 'source' | 'target'; it?: AsyncGenerator<Batch | LineBatch> | undefined; infile?: Readable | undefined } = { side: 'target' };
  const t0 = performance.now();
  let chunk: ChunkRow | undefined;
  try {
    await tgt.query('BEGIN');
    for (chunk of chunks) {
      const w = { key: tableKey(chunk.schema, chunk.table), chunk, rows: 0, bytes: 0 };
      written.push(w);
      await writeChunk(opts, chunk, w, cur);
    }
    chunk = undefined;
    cur.side = 'target';
    signal.throwIfAborted();
    const [r] = await tgt.query(markDoneManySQL(session.meta, chunks.length), [
      ...written.flatMap((w) => [w.chunk.schema, w.chunk.table, w.chunk.chunkNo, w.rows]),
      opts.snapshotSeq,
      session.cfg.sourceId,
      ...chunks.flatMap((c) => [c.schema, c.table, c.chunkNo]),
    ]);
    if ((r as { affectedRows: number }).affectedRows !== chunks.length) {
      await tgt.query('ROLLBACK');
      for (const w of written) session.progress.chunkRolledBack(w.key, w.rows, w.bytes);
      session.log.warn(
        { chunks: chunks.map((c) => `${c.schema}.${c.table}#${c.chunkNo}`) },
        chunks.length === 1 ? 'chunk already finished by another loader, rolled back' : 'a chunk of the batch was already finished by another loader, rolled back',
      );
      return false;
    }
    await tgt.query('COMMIT');
  } catch (e) {
    for (const w of written) session.progress.chunkRolledBack(w.key, w.rows, w.bytes);
    cur.infile?.destroy();
    await cur.it?.return(undefined).catch(() => undefined);
    await tgt.query('ROLLBACK').catch(() => undefined);
    if (signal.aborted) throw e;
    const c = chunk ?? chunks[0];
    const what = c ? `chunk ${c.chunkNo} of ${tableKey(c.schema, c.table)}` : 'chunks';
    throw classifyMySQLError(e, cur.side, `${cur.side === 'source' ? 'read' : 'load'} ${what}`);
  }
  const secs = (performance.now() - t0) / 1000;
  for (const w of written) {
    w.chunk.done = true;
    w.chunk.rowsLoaded = w.rows;
    session.progress.chunkDone(w.key, secs);
  }
  return true;
}

/** Stream one chunk's rows into the open target transaction; `w` counts them, `cur` tracks the open streams for cleanup. */
async function writeChunk(
  opts: LoadOptions,
  chunk: ChunkRow,
  w: { key: string; rows: number; bytes: number },
  cur: { side: 'source' | 'target'; it?: AsyncGenerator<Batch | LineBatch> | undefined; infile?: Readable | undefined },
): Promise<void> {
  const { session, src, tgt, signal } = opts;
  const key = w.key;
  const t = session.tables.get(key);
  if (!t) throw new DMError('ErrInternal', `chunk of unknown table ${key}`);
  const cols = t.info.columns.filter((c) => !c.generated);
  cur.side = 'target';
  if (opts.mode === 'loaddata') {
    const srcIt = chunkLines(src, chunk, cols, t.info.copyColumns, session.cfg.mydumper.where, opts.maxBytes, signal);
    cur.it = srcIt;
    let sourceError: unknown;
    async function* pieces(): AsyncGenerator<Buffer> {
      try {
        for await (const b of srcIt) {
          const buf = b.data;
          for (let off = 0; off < buf.length; off += STREAM_PIECE) yield buf.subarray(off, off + STREAM_PIECE);
          w.rows += b.rows;
          w.bytes += buf.length;
          session.progress.chunkRows(key, b.rows, buf.length);
        }
      } catch (e) {
        sourceError = e;
        throw e;
      }
    }
    const stream = Readable.from(pieces(), { objectMode: false });
    cur.infile = stream;
    const sql = loadDataSQL({
      file: `dm-chunk-${chunk.chunkNo}`,
      schema: t.route.schema,
      table: t.route.table,
      columns: cols,
      extracted: t.route.extracted,
      onDuplicate: session.cfg.loader.onDuplicate,
    });
    try {
      await tgt.query({ sql, infileStreamFactory: () => stream });
    } catch (e) {
      if (sourceError !== undefined) {
        cur.side = 'source';
        throw sourceError;
      }
      throw e;
    }
    if (sourceError !== undefined) {
      cur.side = 'source';
      throw sourceError;
    }
  } else {
    const encode = makeRowEncoder(
      cols,
      t.route.extracted.map((x) => x.value),
    );
    const colList = [...cols.map((c) => c.name), ...t.route.extracted.map((x) => x.column)].map(quoteId).join(',');
    const prefix = `${VERB[session.cfg.loader.onDuplicate]} INTO ${quoteTable(t.route.schema, t.route.table)} (${colList}) VALUES `;
    const typeCast = typeCastFor(cols);
    const sit = chunkBatches(src, chunk, t.info.copyColumns, session.cfg.mydumper.where, { encode, maxBytes: opts.maxBytes, signal, ...(typeCast ? { typeCast } : {}) });
    cur.it = sit;
    for (;;) {
      cur.side = 'source';
      const n = await sit.next();
      if (n.done) break;
      cur.side = 'target';
      await tgt.query(prefix + n.value.values);
      w.rows += n.value.rows;
      w.bytes += n.value.bytes;
      session.progress.chunkRows(key, n.value.rows, n.value.bytes);
    }
  }
  cur.it = undefined;
  cur.infile = undefined;
}
