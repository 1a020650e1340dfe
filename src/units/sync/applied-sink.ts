/**
 * The sync unit's one outlet for a consumer of applied row changes (the continuous validator,
 * src/units/validate/validator.ts): the sync unit tells it, and nothing else.
 *
 * - `applied`: upstream transactions whose row changes are now committed in the target, in
 *   commit order, right after their target transaction committed (routed changes: target table,
 *   key, images); also the transactions a restarted run finds already applied (ledgered above the
 *   checkpoint), so that nothing committed after the consumer's last save goes unseen.
 * - `bind`: at the start of each run, the low-water mark (every upstream transaction up to it is
 *   in the target).
 * - `beforeCheckpoint`: awaited before the checkpoint moves to `pos`, so the consumer can save
 *   what it holds about changes at or before `pos` (a restart replays only what is above it).
 *   A rejection does not stop the checkpoint: the consumer reports its own error.
 */
import type { Position } from '../../binlog/position.js';
import type { RowChange } from './txn.js';

export interface AppliedTxn {
  /** Position right after the upstream commit. */
  pos: Position;
  /** Upstream commit timestamp (seconds). */
  timestamp: number;
  changes: readonly RowChange[];
}

export interface AppliedSink {
  applied(txns: readonly AppliedTxn[]): void;
  bind(lowWater: () => Position): void;
  beforeCheckpoint(pos: Position): Promise<void>;
}
