import type { TaskMode } from './types.js';

/**
 * The check items, DM's names (what `ignore-checking-items` takes), and the task modes each
 * applies to.
 */
export const CHECK_ITEMS = {
  dump_privilege: { desc: 'source has the privileges needed to dump (SELECT, RELOAD or LOCK TABLES)', modes: ['all', 'full', 'dump'] },
  replication_privilege: { desc: 'source has the privileges needed to read the binlog (REPLICATION SLAVE, REPLICATION CLIENT)', modes: ['all', 'incremental', 'load&sync'] },
  version: { desc: 'source database version is supported', modes: ['all', 'full', 'incremental', 'dump', 'load&sync'] },
  server_id: { desc: 'source server_id is set', modes: ['all', 'incremental', 'load&sync'] },
  binlog_enable: { desc: 'source binlog is enabled (log_bin=ON)', modes: ['all', 'incremental', 'load&sync'] },
  binlog_format: { desc: 'source binlog_format is ROW', modes: ['all', 'incremental', 'load&sync'] },
  binlog_row_image: { desc: 'source binlog_row_image is FULL', modes: ['all', 'incremental', 'load&sync'] },
  binlog_row_metadata: { desc: 'source binlog_row_metadata is FULL', modes: ['all', 'incremental', 'load&sync'] },
  gtid: { desc: 'source GTID settings match enable-gtid', modes: ['all', 'incremental', 'load&sync'] },
  meta_position: { desc: 'the meta position exists on the source and is not purged', modes: ['incremental'] },
  table_schema: { desc: 'every migrated table has a primary key or a not-null unique key', modes: ['all', 'full', 'incremental', 'load&sync'] },
  schema_of_shard_tables: { desc: 'source tables merged into one target table have the same columns', modes: ['all', 'full', 'incremental'] },
  target_privilege: { desc: 'target is reachable and has the privileges needed to write', modes: ['all', 'full', 'incremental', 'load', 'load&sync'] },
  target_table: { desc: 'existing target tables are compatible with the source tables', modes: ['all', 'full', 'incremental'] },
  online_ddl: { desc: 'no online schema change (gh-ost / pt-osc shadow table) of a migrated table is in progress (with online-ddl)', modes: ['all'] },
  conn_number_checking: { desc: 'source and target allow enough connections for the configured threads', modes: ['all', 'full', 'incremental', 'dump', 'load', 'load&sync'] },
} as const satisfies Record<string, { desc: string; modes: readonly TaskMode[] }>;

export type CheckItemName = keyof typeof CHECK_ITEMS;

export const ALL_CHECK_ITEMS = Object.keys(CHECK_ITEMS) as CheckItemName[];

export function isCheckItemName(s: string): s is CheckItemName {
  return Object.prototype.hasOwnProperty.call(CHECK_ITEMS, s);
}

/**
 * DM's other `ignore-checking-items` names, accepted as DM accepts them. A DM name maps to the
 * DM.ts item that does the same check, or to null when DM.ts runs no such check (ignoring a check
 * that does not run changes nothing):
 * - `conn_number` is DM's current name of `conn_number_checking`;
 * - `primary_key`: DM.ts checks primary / not-null unique keys in `table_schema`;
 * - `auto_increment_ID` (auto-increment conflicts between merged shards): not checked yet (the
 *   shard-merge prechecks are issue 13's worker/checker side);
 * - `binlog_db` (binlog_do_db / binlog_ignore_db leave migrated schemas out): not checked yet;
 * - `empty_region`, `region_distribution`, `downstream_version`, `free_space`,
 *   `downstream_mutex_features`: TiDB physical-import checks; DM.ts loads logically.
 */
export const DM_CHECK_ITEM_ALIASES: Readonly<Record<string, CheckItemName | null>> = {
  conn_number: 'conn_number_checking',
  primary_key: 'table_schema',
  auto_increment_ID: null,
  binlog_db: null,
  empty_region: null,
  region_distribution: null,
  downstream_version: null,
  free_space: null,
  downstream_mutex_features: null,
};

/**
 * `ignore-checking-items` in DM.ts's names: DM aliases mapped (those with no DM.ts check dropped),
 * unknown names kept so that validation reports them.
 */
export function resolveIgnoreItems(items: readonly string[]): string[] {
  const out: string[] = [];
  for (const it of items) {
    if (!Object.prototype.hasOwnProperty.call(DM_CHECK_ITEM_ALIASES, it)) {
      out.push(it);
      continue;
    }
    const mapped = DM_CHECK_ITEM_ALIASES[it];
    if (mapped) out.push(mapped);
  }
  return [...new Set(out)];
}
