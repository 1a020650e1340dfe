import type { TaskMode } from './types.js';

/**
 * The check items, DM's names (what `ignore-checking-items` takes), and the task modes each
 * applies to.
 */
export const CHECK_ITEMS = {
  dump_privilege: { desc: 'source has the privileges needed to dump (SELECT, RELOAD or LOCK TABLES)', modes: ['all', 'full', 'dump'] },
  replication_privilege: { desc: 'source has the privileges needed to read the binlog (REPLICATION SLAVE, REPLICATION CLIENT)', modes: ['all', 'incremental'] },
  version: { desc: 'source database version is supported', modes: ['all', 'full', 'incremental', 'dump'] },
  server_id: { desc: 'source server_id is set', modes: ['all', 'incremental'] },
  binlog_enable: { desc: 'source binlog is enabled (log_bin=ON)', modes: ['all', 'incremental'] },
  binlog_format: { desc: 'source binlog_format is ROW', modes: ['all', 'incremental'] },
  binlog_row_image: { desc: 'source binlog_row_image is FULL', modes: ['all', 'incremental'] },
  binlog_row_metadata: { desc: 'source binlog_row_metadata is FULL', modes: ['all', 'incremental'] },
  gtid: { desc: 'source GTID settings match enable-gtid', modes: ['all', 'incremental'] },
  meta_position: { desc: 'the meta position exists on the source and is not purged', modes: ['incremental'] },
  table_schema: { desc: 'every migrated table has a primary key or a not-null unique key', modes: ['all', 'full', 'incremental'] },
  schema_of_shard_tables: { desc: 'source tables merged into one target table have the same columns', modes: ['all', 'full', 'incremental'] },
  target_privilege: { desc: 'target is reachable and has the privileges needed to write', modes: ['all', 'full', 'incremental'] },
  target_table: { desc: 'existing target tables are compatible with the source tables', modes: ['all', 'full', 'incremental'] },
  conn_number_checking: { desc: 'source and target allow enough connections for the configured threads', modes: ['all', 'full', 'incremental', 'dump'] },
} as const satisfies Record<string, { desc: string; modes: readonly TaskMode[] }>;

export type CheckItemName = keyof typeof CHECK_ITEMS;

export const ALL_CHECK_ITEMS = Object.keys(CHECK_ITEMS) as CheckItemName[];

export function isCheckItemName(s: string): s is CheckItemName {
  return Object.prototype.hasOwnProperty.call(CHECK_ITEMS, s);
}
