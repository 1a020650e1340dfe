/**
 * The binlog reader as the sync unit sees it: the agreed API of src/binlog/index.ts
 * (`createBinlogReader`). The unit takes a factory so tests can feed synthetic streams.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { BinlogEvent } from '../../binlog/events.js';
import type { Flavor, Position } from '../../binlog/position.js';

export interface SyncReaderOptions {
  connection: { host: string; port: number; user: string; password: string };
  flavor: Flavor;
  serverId: number;
  start: { file: string; offset: number } | { gtid: string } | { time: Date };
  includeTable?: (schema: string, table: string) => boolean;
  maxQueueEvents?: number;
  maxQueueBytes?: number;
  heartbeatMs?: number;
  logger?: Logger;
  registry?: Registry;
  labels?: { task?: string; source_id?: string };
  /** Schema-tracker snapshot saved with the checkpoint being resumed. */
  schemas?: string;
}

export interface SyncReader extends AsyncIterable<BinlogEvent> {
  start(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
  status(): { position: Position; connected: boolean; queueEvents: number; queueBytes: number; reconnects: number };
  /** Schema-tracker snapshot as of the last event taken from the iterator. */
  exportSchemas?(): string;
}

export type SyncReaderFactory = (opts: SyncReaderOptions) => SyncReader;
