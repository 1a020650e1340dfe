/**
 * The one interface over the two GTID flavours: MySQL GTID sets (`uuid:1-5:7,uuid2:1-3`,
 * intervals per source uuid, optional MySQL 8.3 tags) and MariaDB GTID lists
 * (`0-1-100,1-3-45`, the last sequence number per replication domain).
 * Values are immutable: every operation returns a new set.
 */

/** The GTID dialect of a source: MySQL GTID sets or MariaDB GTID lists (positions re-export it). */
export type Flavor = 'mysql' | 'mariadb';

export interface GtidSet {
  readonly flavor: Flavor;
  isEmpty(): boolean;
  /** True when every transaction of `other` is in this set. */
  contains(other: GtidSet): boolean;
  /** True when the single transaction (`uuid:n` or `domain-server-seq`) is in this set. */
  containsGtid(gtid: string): boolean;
  /** This set plus one transaction (`uuid:n` / `uuid:tag:n`, or `domain-server-seq`). */
  add(gtid: string): GtidSet;
  union(other: GtidSet): GtidSet;
  /** Transactions in this set and not in `other` (MariaDB: the domains `other` does not cover). */
  subtract(other: GtidSet): GtidSet;
  equals(other: GtidSet): boolean;
  /** Canonical text form (sorted, intervals merged). */
  toString(): string;
}
