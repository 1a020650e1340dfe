import type { Connection } from 'mysql2/promise';
import type { Registry } from 'prom-client';
import { DMError } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import { FullPhaseUnit } from './full-phase-unit.js';
import { closeConnection as closeConn, connectSide as openConn } from '../../sql/index.js';
import { readPosition } from './snapshot.js';
import { chunkRows, retryPolicy } from './config.js';
import { tableKey, type FullSession } from './full-session.js';
import type { ChunkRow } from './meta-store.js';
import type { ImportMode } from './config.js';
import { batchBytes, loadChunk, loadChunks, prepareTargetSession } from './chunk-loader.js';
import { isSmallTable } from './chunk-plan.js';
import { ensureTargetTables } from './schema-create.js';
import { loadFromDir } from './file-loader.js';
import { addDeferredIndexes } from './deferred-index.js';

/**
 * The chunks ordered round-robin over their tables (t1#0, t2#0, ..., t1#1, ...), so that parallel
 * streams write to different tables (different B-trees) rather than all to the end of one.
 */
export function interleaveByTable(chunks: readonly ChunkRow[]): ChunkRow[] {
  const byTable = new Map<string, ChunkRow[]>();
  for (const c of chunks) {
    const k = `${c.schema}.${c.table}`;
    const l = byTable.get(k);
    if (l) l.push(c);
    else byTable.set(k, [c]);
  }
  const lists = [...byTable.values()];
  const out: ChunkRow[] = [];
  for (let i = 0; out.length < chunks.length; i++) for (const l of lists) {
    const c = l[i];
    if (c) out.push(c);
  }
  return out;
}

/** Most small tables' chunks loaded in one target transaction. */
const SMALL_BATCH_CHUNKS = 100;

/**
 * DM's Load unit. In task-mode full/all it streams the chunks planned by the Dump unit straight
 * from the snapshot connections into the target (no intermediate files): min(threads, pool-size)
 * parallel streams, each chunk one target transaction that also marks the chunk done. In
 * task-mode load it imports a directory written by task-mode dump.
 *
 * Result detail (for sync): `{ startPos, safeModeUntil? }`: start the binlog at startPos and apply
 * idempotently (safe mode) until safeModeUntil when the chunks were read under several snapshots.
 */
export class LoadUnit extends FullPhaseUnit {
  readonly type = 'Load' as const;
  /** The import path actually used for the chunks (after the on-duplicate / local_infile fallbacks). */
  private importMode: ImportMode | undefined;

  constructor(session: FullSession, deps: { log?: Logger; registry?: Registry } = {}) {
    super(session, deps, 'load', 'ErrLoadExecFailed');
  }

  protected async run(signal: AbortSignal): Promise<Record<string, unknown>> {
    const s = this.session;
    const policy = retryPolicy(s.cfg.loader);
    policy.onRetry((r) => {
      s.progress.retried();
      this.log.warn({ delayMs: r.delay, err: 'error' in r ? r.error : undefined }, 'retrying after retryable error');
    });
    if (s.cfg.taskMode === 'load') {
      return policy.execute(() => loadFromDir(s, signal), signal);
    }
    if (!s.snapshot || s.chunks.length === 0) await policy.execute(() => s.prepare(signal), signal);
    // a table whose chunks are all done was created and checked when its copy began: the
    // source may have changed since (DDL that sync has still to replay), so no check now
    const done = new Set(s.chunks.filter((x) => x.done).map((x) => tableKey(x.schema, x.table)));
    const pendingTables = new Set(s.pendingChunks().map((x) => tableKey(x.schema, x.table)));
    const toEnsure = [...s.tables].filter(([k]) => pendingTables.has(k) || !done.has(k)).map(([, t]) => t);
    await policy.execute(() => ensureTargetTables(s, toEnsure, signal), signal);
    const pending = s.pendingChunks();
    s.progress.begin();
    if (pending.length > 0) await this.runChunks(pending, policy, signal);
    if (s.snapshot && !s.snapshot.transactional) {
      // consistency none: rows were read at many points; sync stays idempotent until now
      const c = await openConn(s.cfg.source, 'source');
      try {
        await s.recordPosition('bound', await readPosition(c, s.cfg.taskMode === 'full'));
      } finally {
        await closeConn(c);
      }
    }
    await s.releaseSnapshot();
    // every row is in: the secondary keys left out of the CREATE TABLEs (no snapshot needed)
    await policy.execute(() => addDeferredIndexes(s, signal), signal);
    const h = s.handOff();
    this.log.info({ ...s.progress.totals(), handOff: h }, 'load finished');
    return { ...(h ?? {}) };
  }

  private async runChunks(pending: ChunkRow[], policy: ReturnType<typeof retryPolicy>, signal: AbortSignal): Promise<void> {
    const s = this.session;
    const snap = s.snapshot;
    if (!snap) throw new DMError('ErrInternal', 'no snapshot connections for load');
    const slots = Math.min(snap.conns.length, s.cfg.loader.poolSize);
    // LOAD DATA LOCAL cannot stop at a duplicate key (the server treats it as IGNORE): `error` needs INSERTs
    let mode = s.cfg.loader.onDuplicate === 'error' ? 'sql' : s.cfg.loader.importMode;
    this.importMode = mode;
    this.log.info({ importMode: mode, streams: slots }, 'loading chunks');
    const queue = this.workList(pending, slots);
    const inner = new AbortController();
    const sig = AbortSignal.any([signal, inner.signal]);
    const worker = async (i: number): Promise<void> => {
      let src: Connection | undefined = snap.conns[i];
      let seq = s.snapshotSeq;
      let tgt: Connection | undefined;
      let maxBytes = 1 << 20;
      try {
        for (;;) {
          const batch = queue.shift();
          if (!batch) return;
          await policy.execute(async () => {
            sig.throwIfAborted();
            if (!tgt) {
              tgt = await openConn(s.cfg.target, 'target', { localInfile: mode === 'loaddata' });
              const t = await prepareTargetSession(tgt);
              maxBytes = batchBytes(t.maxAllowedPacket);
              if (mode === 'loaddata' && !t.localInfile) {
                mode = 'sql';
                this.importMode = mode;
                this.log.warn({}, 'target has local_infile=OFF, loading with INSERT statements instead of LOAD DATA LOCAL INFILE');
              }
            }
            if (!src) {
              const r = await s.replacementConn();
              src = r.conn;
              seq = r.seq;
            }
            const chunk = batch.find((c) => !c.done) ?? batch[0];
            try {
              const args = { session: s, src, tgt, snapshotSeq: seq, maxBytes, signal: sig, mode };
              const todo = batch.filter((c) => !c.done);
              // another loader finished one of them: each on its own (the finished ones roll back)
              if (todo.length > 1 && !(await loadChunks({ ...args, chunks: todo }))) for (const c of todo) await loadChunk({ ...args, chunk: c });
              else if (todo.length === 1) await loadChunk({ ...args, chunk: todo[0] as ChunkRow });
            } catch (e) {
              // the source stream or the target transaction is in an unknown state: replace both
              const oldSrc = src;
              const oldTgt = tgt;
              src = undefined;
              tgt = undefined;
              await Promise.all([closeConn(oldSrc), closeConn(oldTgt)]);
              if (!sig.aborted) this.log.warn({ table: `${chunk?.schema}.${chunk?.table}`, chunk: chunk?.chunkNo, chunks: batch.length, err: e }, 'chunk failed');
              throw e;
            }
          }, sig);
        }
      } catch (e) {
        inner.abort(e);
        throw e;
      } finally {
        await Promise.all([closeConn(tgt), closeConn(src)]);
      }
    };
    const results = await Promise.allSettled(Array.from({ length: slots }, (_, i) => worker(i)));
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (rejected.length > 0) {
      if (signal.aborted) throw signal.reason;
      // the first real error, not the aborts it caused in the other slots
      if (inner.signal.aborted) throw inner.signal.reason;
      throw rejected[0]?.reason;
    }
  }

  /**
   * The units of work of the parallel streams: each chunk of a table planned in several chunks
   * alone, interleaved over the tables; then small tables' whole-table chunks (isSmallTable) in
   * batches of up to SMALL_BATCH_CHUNKS chunks and `mydumpers.rows` estimated rows, each batch one
   * target transaction (loadChunks): a thousand ten-row tables cost tens of commits, not a thousand.
   */
  private workList(pending: readonly ChunkRow[], slots: number): ChunkRow[][] {
    const s = this.session;
    const rows = chunkRows(s.cfg);
    const small: ChunkRow[] = [];
    const big: ChunkRow[] = [];
    for (const c of pending) {
      const info = s.tables.get(tableKey(c.schema, c.table))?.info;
      if (c.lower === null && c.upper === null && info && isSmallTable(info, rows)) small.push(c);
      else big.push(c);
    }
    const out = interleaveByTable(big).map((c) => [c]);
    // spread the small tables over the streams, in batches no larger than SMALL_BATCH_CHUNKS
    const per = Math.max(1, Math.min(SMALL_BATCH_CHUNKS, Math.ceil(small.length / slots)));
    let batch: ChunkRow[] = [];
    let est = 0;
    for (const c of small) {
      if (batch.length > 0 && (batch.length >= per || est + c.estimatedRows > rows)) {
        out.push(batch);
        batch = [];
        est = 0;
      }
      batch.push(c);
      est += c.estimatedRows;
    }
    if (batch.length > 0) out.push(batch);
    return out;
  }

  protected override async releaseAtClose(): Promise<void> {
    await this.session.releaseSnapshot();
  }

  status(): Record<string, unknown> {
    return {
      unit: 'Load',
      stage: this.stage,
      ...(this.importMode ? { importMode: this.importMode } : {}),
      ...this.session.progress.status(),
      ...(this.lastError ? { error: this.lastError.toJSON() } : {}),
    };
  }
}
