/**
 * Typed binlog events, as yielded by the reader (src/binlog/reader.ts) to the sync unit.
 * Every event carries the exact position *after* it (`pos`: where to restart to skip it) and the
 * position of its own start (`startPos`), plus the upstream timestamp (seconds) for lag.
 */
import type { Position } from './position.js';

/** Column metadata as the binlog (binlog_row_metadata=FULL) or the schema tracker describes it. */
export interface ColumnInfo {
  name: string;
  /** MySQL column type name, lowercased (int, varchar, decimal, ...). */
  type: string;
  unsigned?: boolean;
  nullable?: boolean;
  /** True for generated (virtual/stored) columns: never written to the target. */
  generated?: boolean;
}

/** One row image: values in column order; exact values (strings for DECIMAL/BIGINT beyond 2^53, Buffers for binary). */
export type RowImage = unknown[];

interface EventBase {
  /** Position to resume from to get the event *after* this one. */
  pos: Position;
  /** Upstream event timestamp in seconds (0 for synthetic events). */
  timestamp: number;
  /** Server id that wrote the event. */
  serverId: number;
}

/**
 * Row changes of one table. `columns`, `keyColumns` and `uniqueKeys` describe the table as of
 * this event's position; they are shared by the events of the same table map (do not mutate).
 * Value types per column type: docs/binlog.md ("Row values").
 */
export interface RowsEvent extends EventBase {
  kind: 'rows';
  op: 'insert' | 'update' | 'delete';
  schema: string;
  table: string;
  columns: ColumnInfo[];
  /** Names of the primary-key columns (or the chosen not-null unique key), empty when none. */
  keyColumns: string[];
  /** Other unique keys (each a list of column names), for causality. */
  uniqueKeys: string[][];
  /** insert/delete: one image per row; update: `before` and `after` images. */
  rows: RowImage[];
  before?: RowImage[];
}

export interface QueryEvent extends EventBase {
  kind: 'query';
  /** Default schema of the session (`USE db`) when the statement ran. */
  schema: string;
  /**
   * The statement. When it ran under ANSI_QUOTES or NO_BACKSLASH_ESCAPES, rewritten to standard
   * quoting (identifiers in backquotes, strings with backslash escapes; all else byte for byte), so
   * it reads the same under DM.ts's session `sql_mode` (the source's text is in `originalSql`).
   */
  sql: string;
  /** The statement as the source wrote it, when `sql` was rewritten. */
  originalSql?: string;
  /** The upstream session's `sql_mode` (names, from the event's status variables); absent when not known. */
  sqlMode?: string;
  /** The upstream session's `time_zone`, when the statement used it. */
  timeZone?: string;
  /** Microseconds of the statement's time (with `timestamp`, the upstream's NOW()), when written. */
  micros?: number;
}

/** Transaction start: carries the GTID of the transaction when the source has one. */
export interface GtidEvent extends EventBase {
  kind: 'gtid';
  /** MySQL `uuid:n`, MariaDB `domain-server-seq`. */
  gtid: string;
}

/** Transaction commit (XID event or COMMIT query). */
export interface XidEvent extends EventBase {
  kind: 'xid';
}

/** Sent when the upstream is idle, so lag goes to 0 and checkpoints can advance. */
export interface HeartbeatEvent extends EventBase {
  kind: 'heartbeat';
}

export type BinlogEvent = RowsEvent | QueryEvent | GtidEvent | XidEvent | HeartbeatEvent;
