/** The relay log of a source (docs/relay.md): writer, layout, purge, metrics. */
export { Relay, META_FLUSH_MS, WRITE_RETRY_MS, type RelayOptions, type RelayStage, type RelayStatusSnapshot } from './relay.js';
export { RelayMetrics } from './metrics.js';
export { purgeRelay, needOfPosition, relayFiles, relaySize, type RelayNeed, type RelayFileRef, type PurgeRequest } from './purger.js';
export { INDEX_FILE, META_FILE, readIndex, readMeta, parseSubDir, subDirName, listBinlogFiles, binlogSeq, parseMetaToml, type RelayMetaData } from './layout.js';
export { BINLOG_MAGIC, readHeader, EV, type EventHeader } from './events.js';
export { RelayNeeds, compareNeeded, type RelayNeededPosition, type RelayNeedsSink } from './needed.js';
