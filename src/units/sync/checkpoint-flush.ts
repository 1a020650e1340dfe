/**
 * The checkpoint flush loop: writes the low-water mark (src/units/sync/tracker.ts) to the
 * target's checkpoint table through CheckpointStore (checkpoint.ts), with the schema snapshot
 * that belongs to it, and prunes the ledger below it.
 *
 * Who calls it: the unit's timer every `checkpoint-flush-interval` (flush(false): only when the
 * mark moved), the DDL barrier (flush(true): the checkpoint right before and right after a DDL)
 * and the end of a run (flush(true, true): the final, "clean exit" checkpoint).
 *
 * Guarantees: flushes are serialised (one chain for the unit's lifetime, so a timer's flush
 * still in flight at the end of a run finishes before the next run's first one); the mark and
 * its prune are written in one target transaction; ledger ids whose prune failed are handed
 * back to the tracker and pruned by the next flush; a schema snapshot is written only with the
 * checkpoint it was taken for (`schemasToSave` is set by whoever took it exactly at the mark:
 * the run's start, the DDL barrier) and kept for the next flush when that one failed.
 */
import type { Pool } from 'mysql2/promise';
import type { Position } from '../../binlog/position.js';
import { toDMError } from '../../errors/index.js';
import type { CheckpointStore } from './checkpoint.js';
import type { LowWaterMark } from './tracker.js';
import type { AppliedSink } from './applied-sink.js';

export class CheckpointFlusher {
  /** The target pool (set from init() to close()). */
  pool: Pool | undefined;
  /** The current run's low-water mark (kept after the run for status). */
  tracker: LowWaterMark | undefined;
  /** The last checkpoint written (or loaded at the start of a run). */
  lastCheckpoint: Position | undefined;
  /** Schema snapshot to store with the next checkpoint (taken only where it matches the low-water mark). */
  schemasToSave: string | undefined;
  /** Awaited before a checkpoint is written (applied-sink.ts). */
  sink: AppliedSink | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private readonly store: CheckpointStore;

  constructor(store: CheckpointStore) {
    this.store = store;
  }

  /**
   * Write the low-water mark (serialised) when it moved (`force`: also the very first one; errors
   * thrown as ErrCheckpointSave). `clean`: the final checkpoint of a run, always written.
   */
  flush(force: boolean, clean = false): Promise<void> {
    const next = this.flushing.then(async () => {
      const tracker = this.tracker;
      const pool = this.pool;
      if (!tracker || !pool) return;
      if (!clean && !tracker.changed && !(force && this.lastCheckpoint === undefined && tracker.position.file !== ''))
        return;
      const { pos, prune } = tracker.takeFlush();
      if (!pos.file && !pos.gtid) return;
      const schemas = this.schemasToSave;
      await this.sink?.beforeCheckpoint(pos).catch(() => undefined);
      try {
        const conn = await pool.getConnection();
        try {
          await this.store.flush(conn, pos, prune, schemas, clean);
        } finally {
          conn.release();
        }
        this.lastCheckpoint = pos;
        if (this.schemasToSave === schemas) this.schemasToSave = undefined;
      } catch (e) {
        tracker.restorePrune(prune);
        if (force) throw toDMError(e, 'ErrCheckpointSave', 'saving the checkpoint failed');
        throw e;
      }
    });
    this.flushing = next.catch(() => undefined);
    return next;
  }
}
