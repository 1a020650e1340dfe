/**
 * The binlog reader as the sync unit sees it: the agreed API of src/binlog/index.ts
 * (`createBinlogReader`), narrowed to what the unit uses. The unit takes a factory so tests can
 * feed synthetic streams.
 */
import type { BinlogReader, BinlogReaderOptions } from '../../binlog/index.js';

export type SyncReaderOptions = Omit<BinlogReaderOptions, 'maxReconnects' | 'masterStatusIntervalMs'>;

export type SyncReader = Pick<BinlogReader, 'start' | 'close' | 'status' | typeof Symbol.asyncIterator> &
  Partial<Pick<BinlogReader, 'exportSchemas' | 'structuresNeeded' | 'structureFromTarget'>>;

export type SyncReaderFactory = (opts: SyncReaderOptions) => SyncReader;
