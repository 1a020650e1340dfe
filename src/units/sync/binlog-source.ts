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
import { isDMError } from '../../errors/index.js';

export type SyncReaderOptions = Omit<BinlogReaderOptions, 'maxReconnects' | 'masterStatusIntervalMs' | 'relay'>;

/** With `nextBatch` the consumer takes the events in batches (one await per batch), else one by one from the iterator. */
export type SyncReader = Pick<BinlogReader, 'start' | 'close' | 'status' | typeof Symbol.asyncIterator> &
  Partial<Pick<BinlogReader, 'exportSchemas' | 'structuresNeeded' | 'structureFromTarget' | 'checkpointed' | 'nextBatch'>>;

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
 *
 * A start the relay does not hold (the relay began after the subtask's checkpoint: DM starts a
 * new relay at the earliest checkpoint of the source's tasks, DM.ts at the upstream's current
 * file; or the file was purged from the relay) reads the network for this run instead of
 * stopping the subtask with ErrRelayNoPosition / ErrRelayNoGtidMatch: the upstream is the source
 * of truth, and if it purged the file too, the network reader says so (ErrBinlogPurged). The
 * next run (resume, restart) tries the relay again from its newer checkpoint.
 */
export function relayOrNetworkFactory(useRelay: () => boolean, relay: RelayReadOptions): SyncReaderFactory {
  return (opts) =>
    useRelay()
      ? withNetworkFallback(createBinlogReader({ ...opts, relay: { ...relay, needsId: relay.needsId ?? opts.labels?.task } }), () => createBinlogReader(opts), opts)
      : createBinlogReader(opts);
}

/** The errors after which a relay reader's start falls back to the network (see relayOrNetworkFactory). */
export const RELAY_FALLBACK_CODES: ReadonlySet<string> = new Set(['ErrRelayNoPosition', 'ErrRelayNoGtidMatch']);

function withNetworkFallback(first: BinlogReader, network: () => BinlogReader, opts: SyncReaderOptions): SyncReader {
  let cur = first;
  return {
    async start(signal: AbortSignal): Promise<void> {
      try {
        await cur.start(signal);
      } catch (e) {
        if (!isDMError(e) || !RELAY_FALLBACK_CODES.has(e.codeName)) throw e;
        opts.logger?.warn({ err: e }, 'the relay does not hold the start position: this run reads the upstream binlog instead');
        await cur.close();
        cur = network();
        await cur.start(signal);
      }
    },
    close: () => cur.close(),
    status: () => cur.status(),
    [Symbol.asyncIterator]: () => cur[Symbol.asyncIterator](),
    nextBatch: (...a) => cur.nextBatch(...a),
    exportSchemas: () => cur.exportSchemas(),
    structuresNeeded: (...a) => cur.structuresNeeded(...a),
    structureFromTarget: (...a) => cur.structureFromTarget(...a),
    checkpointed: (...a) => cur.checkpointed(...a),
  };
}
