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
import { createBinlogReader, type BinlogReader, type BinlogReaderOptions, type RelayReadOptions } from '../../binlog/index.js';

export type SyncReaderOptions = Omit<BinlogReaderOptions, 'maxReconnects' | 'masterStatusIntervalMs' | 'relay'>;

export type SyncReader = Pick<BinlogReader, 'start' | 'close' | 'status' | typeof Symbol.asyncIterator> &
  Partial<Pick<BinlogReader, 'exportSchemas' | 'structuresNeeded' | 'structureFromTarget' | 'checkpointed'>>;

export type SyncReaderFactory = (opts: SyncReaderOptions) => SyncReader;

/**
 * The reader of a subtask whose source has `enable-relay: true`: the same reader over the
 * worker's relay files (src/binlog/relay-reader.ts) instead of a binlog connection. Each
 * subtask gets its own reader (and checkpoint) over the one relay; `relay.needs` learns the
 * earliest position each still needs.
 */
export function relayReaderFactory(relay: RelayReadOptions): SyncReaderFactory {
  return (opts) => createBinlogReader({ ...opts, relay: { ...relay, needsId: relay.needsId ?? opts.labels?.task } });
}

/**
 * The relay reader while `useRelay()` says the worker runs the source's relay (asked at each
 * reader start: a run started after `stop-relay` reads the network), else the network reader.
 * Both report the upstream's positions, so a checkpoint of one resumes with the other.
 */
export function relayOrNetworkFactory(useRelay: () => boolean, relay: RelayReadOptions): SyncReaderFactory {
  const fromRelay = relayReaderFactory(relay);
  return (opts) => (useRelay() ? fromRelay(opts) : createBinlogReader(opts));
}
