/**
 * What the sync unit needs of shard DDL coordination, as plain types (a leaf: config.ts imports it):
 * the etcd records of src/store/shardddl.ts as the unit uses them, implemented by
 * src/worker/shardddl-client.ts, and `shard-mode` as SyncConfig carries it.
 */
import type { OptimisticInfo, OptimisticOperation, PessimisticInfo, PessimisticOperation, SourceTables } from '../../store/shardddl.js';

/** The etcd records of src/store/shardddl.ts as the sync unit uses them (src/worker/shardddl-client.ts). */
export interface ShardDDLClient {
  putPessimisticInfo(info: PessimisticInfo): Promise<void>;
  /** This source's operation of the task, if any. */
  pessimisticOp(task: string, source: string): Promise<PessimisticOperation | undefined>;
  /** Wait until this source's operation satisfies `accept` (watching the key). */
  waitPessimisticOp(task: string, source: string, accept: (op: PessimisticOperation) => boolean, signal: AbortSignal): Promise<PessimisticOperation>;
  /** Put the operation back with `done: true` (only while it is still the one given). */
  markPessimisticDone(op: PessimisticOperation): Promise<void>;
  putSourceTables(st: SourceTables): Promise<void>;
  /** Put the info with the next version of that upstream table (returned). */
  putOptimisticInfo(info: Omit<OptimisticInfo, 'version'>): Promise<number>;
  optimisticInfo(task: string, source: string, upSchema: string, upTable: string): Promise<OptimisticInfo | undefined>;
  optimisticOp(task: string, source: string, upSchema: string, upTable: string): Promise<OptimisticOperation | undefined>;
  waitOptimisticOp(task: string, source: string, upSchema: string, upTable: string, accept: (op: OptimisticOperation) => boolean, signal: AbortSignal): Promise<OptimisticOperation>;
  markOptimisticDone(op: OptimisticOperation): Promise<void>;
  /**
   * Wait until no other upstream table of the lock has an operation with DDLs to run on the target
   * that is not done yet (the keeper answers several tables at once: one runs the DDL, the others
   * nothing, and their rows must not reach the target before it ran).
   */
  waitOptimisticLockDDLs(task: string, lockId: string, self: { source: string; upSchema: string; upTable: string }, signal: AbortSignal): Promise<void>;
  /** Whether the keeper's state of the lock has shard tables waiting for a rename (non-strict mode). */
  optimisticLockWaits(task: string, lockId: string): Promise<boolean>;
}

/** `shard-mode` as the sync unit gets it (SyncConfig.shard). */
export interface ShardConfig {
  mode: 'pessimistic' | 'optimistic';
  client: ShardDDLClient;
  /**
   * Pessimist (and the optimist while a table waits for a rename): bytes the spill file of held-back rows may reach (DEFAULT_SHARD_HOLD_DISK_BYTES);
   * over it the subtask pauses with 36104 (src/units/sync/held-queue.ts).
   */
  maxHoldBytes: number;
  /** Pessimist and optimist: bytes of held-back transactions kept in memory; beyond, their rows are spilled to disk (DEFAULT_SHARD_HOLD_MEM_BYTES). */
  memHoldBytes?: number;
  /** Pessimist and optimist: free bytes the spill directory's file system must keep, else 36104 (DEFAULT_SHARD_HOLD_MIN_FREE_BYTES). */
  minFreeDiskBytes?: number;
  /** Pessimist and optimist: directory of the spill file (default: os.tmpdir()). */
  holdDir?: string;
  /** The task's `strict-optimistic-shard-mode`: sent with each optimistic info (the keeper decides on it). */
  strictOptimistic?: boolean;
}

