/**
 * The binlog layer's public surface: typed events, positions and GTID sets of both flavors,
 * the reader over @vlasky/zongji, the schema tracker and small source queries.
 */
export type { BinlogEvent, RowsEvent, QueryEvent, GtidEvent, XidEvent, HeartbeatEvent, ColumnInfo, RowImage } from './events.js';
export {
  type Flavor,
  type Position,
  type StartPoint,
  formatFilePos,
  compareFilePos,
  binlogFileIndex,
  parseGtidSet,
  emptyGtidSet,
  parsePosition,
  startPointOf,
} from './position.js';
export type { GtidSet } from './gtid-set.js';
export { MysqlGtidSet } from './gtid-mysql.js';
export { MariadbGtidSet } from './gtid-mariadb.js';
export {
  createBinlogReader,
  type BinlogReader,
  type BinlogReaderOptions,
  type BinlogReaderStatus,
  DEFAULT_MAX_QUEUE_EVENTS,
  DEFAULT_MAX_QUEUE_BYTES,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_BATCH_EVENTS,
} from './reader.js';
export { type RelayReadOptions, type RelayNeedsSink, type RelayNeededPosition, DEFAULT_RELAY_POLL_MS } from './relay-reader.js';
export { readRelayIndex, readRelayMeta, listRelayFiles, RELAY_INDEX_FILE, RELAY_META_FILE, type RelaySubDir, type RelayMeta } from './relay-layout.js';
export { SchemaTracker, type TrackedTable, type TrackedColumn } from './schema-tracker.js';
export { findStartByTime } from './start-time.js';
export { getBinlogFiles, getBinlogSettings, openControlConnection, type BinlogFile, type BinlogSettings, type Queryable } from './source-info.js';
/** src/sql's master-status reader, its result as a binlog Position (file, offset, GTID set). */
export { masterPosition as getMasterStatus } from '../sql/index.js';
