/**
 * The binlog source of the sync unit: the agreed API of src/binlog/index.ts
 * (`createBinlogReader`), narrowed to what the unit uses. The unit takes a factory so tests can
 * feed synthetic streams. (Named for what it is to the unit, so that `reader.ts` means one
 * thing in the project: src/binlog's reader.)
 *
 * Guarantees: whatever stands behind the factory yields the typed events of
 * src/binlog/events.ts in binlog order, one upstream transaction at a time; the unit relies on
 * nothing else.
 */
import type { BinlogReader, BinlogReaderOptions } from '../../binlog/index.js';

export type SyncReaderOptions = Omit<BinlogReaderOptions, 'maxReconnects' | 'masterStatusIntervalMs'>;

export type SyncReader = Pick<BinlogReader, 'start' | 'close' | 'status' | typeof Symbol.asyncIterator> &
  Partial<Pick<BinlogReader, 'exportSchemas' | 'structuresNeeded' | 'structureFromTarget'>>;

export type SyncReaderFactory = (opts: SyncReaderOptions) => SyncReader;
