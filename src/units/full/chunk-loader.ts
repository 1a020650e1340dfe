import { Readable } from 'node:stream';
import type { Connection } from 'mysql2/promise';
import { DMError } from '../../errors/index.js';
import { classifyMySQLError, typeCastFor, quoteId, quoteTable } from '../../sql/index.js';
import { makeRowEncoder, chunkBatches, type Batch } from './row-stream.js';
import { markDoneSQL, type ChunkRow } from './meta-store.js';
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
export async function loadChunk(opts: {
  session: FullSession;
  chunk: ChunkRow;
  src: Connection;
  tgt: Connection;
  snapshotSeq: number;
  maxBytes: number;
  signal: AbortSignal;
  /** `loaddata`: one LOAD DATA LOCAL INFILE streamed from the source per chunk; `sql`: multi-row INSERTs. */
  mode?: 'sql' | 'loaddata';
}): Promise<boolean> {
  const { session, chunk, src, tgt, signal } = opts;
  const key = tableKey(chunk.schema, chunk.table);
  const t = session.tables.get(key);
  if (!t) throw new DMError('ErrInternal', `chunk of unknown table ${key}`);
  const cols = t.info.columns.filter((c) => !c.generated);
  let rows = 0;
  let bytes = 0;
  let side: 'source' | 'target' = 'target';
  let it: AsyncGenerator<Batch | LineBatch> | undefined;
  let infile: Readable | undefined;
  const t0 = performance.now();
  try {
    await tgt.query('BEGIN');
    if (opts.mode === 'loaddata') {
      const srcIt = chunkLines(
        src,
        chunk,
        cols,
        t.info.copyColumns,
        session.cfg.mydumper.where,
        opts.maxBytes,
        signal,
      );
      it = srcIt;
      let sourceError: unknown;
      async function* pieces(): AsyncGenerator<Buffer> {
        try {
          for await (const b of srcIt) {
            const buf = b.data;
            for (let off = 0; off < buf.length; off += STREAM_PIECE)
              yield buf.subarray(off, off + STREAM_PIECE);
            rows += b.rows;
            bytes += buf.length;
            session.progress.chunkRows(key, b.rows, buf.length);
          }
        } catch (e) {
          sourceError = e;
          throw e;
        }
      }
      const stream = Readable.from(pieces(), { objectMode: false });
      infile = stream;
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
          side = 'source';
          throw sourceError;
        }
        throw e;
      }
      if (sourceError !== undefined) {
        side = 'source';
        throw sourceError;
      }
    } else {
      const encode = makeRowEncoder(
        cols,
        t.route.extracted.map((x) => x.value),
      );
      const colList = [...cols.map((c) => c.name), ...t.route.extracted.map((x) => x.column)]
        .map(quoteId)
        .join(',');
      const prefix = `${VERB[session.cfg.loader.onDuplicate]} INTO ${quoteTable(t.route.schema, t.route.table)} (${colList}) VALUES `;
      const typeCast = typeCastFor(cols);
      const sit = chunkBatches(src, chunk, t.info.copyColumns, session.cfg.mydumper.where, { encode, maxBytes: opts.maxBytes, signal, ...(typeCast ? { typeCast } : {}) });
      it = sit;
      for (;;) {
        side = 'source';
        const n = await sit.next();
        if (n.done) break;
        side = 'target';
        await tgt.query(prefix + n.value.values);
        rows += n.value.rows;
        bytes += n.value.bytes;
        session.progress.chunkRows(key, n.value.rows, n.value.bytes);
      }
    }
    side = 'target';
    signal.throwIfAborted();
    const [r] = await tgt.query(markDoneSQL(session.meta), [
      rows,
      opts.snapshotSeq,
      session.cfg.sourceId,
      chunk.schema,
      chunk.table,
      chunk.chunkNo,
    ]);
    if ((r as { affectedRows: number }).affectedRows !== 1) {
      await tgt.query('ROLLBACK');
      session.progress.chunkRolledBack(key, rows, bytes);
      session.log.warn(
        { table: key, chunk: chunk.chunkNo },
        'chunk already finished by another loader, rolled back',
      );
      return false;
    }
    await tgt.query('COMMIT');
  } catch (e) {
    session.progress.chunkRolledBack(key, rows, bytes);
    infile?.destroy();
    await it?.return(undefined).catch(() => undefined);
    await tgt.query('ROLLBACK').catch(() => undefined);
    if (signal.aborted) throw e;
    throw classifyMySQLError(
      e,
      side,
      `${side === 'source' ? 'read' : 'load'} chunk ${chunk.chunkNo} of ${key}`,
    );
  }
  chunk.done = true;
  chunk.rowsLoaded = rows;
  session.progress.chunkDone(key, (performance.now() - t0) / 1000);
  return true;
}
