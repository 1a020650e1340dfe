/**
 * The one reader of a server's flavor and current binlog position (SHOW MASTER STATUS, or SHOW
 * BINARY LOG STATUS on MySQL ≥ 8.4, which removed the old statement) and GTID set. The full
 * phase, the sync unit's master poll, the binlog reader's control connection, the worker and the
 * master all read them here; callers name the errors for their side (`classify`, `refusedCode`).
 */
import { DMError, type ErrorCodeName } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { classifyError, errnoOf } from './errno.js';
import type { Connection } from 'mysql2/promise';

/** What the readings need: one `query` (a mysql2/promise Connection, PoolConnection or Pool). */
export interface Queryable {
  query: Connection['query'];
}

export type Flavor = 'mysql' | 'mariadb';

export interface MasterStatus {
  /** Current binlog file name, e.g. `mysql-bin.000003`; '' when unknown (see `optional`). */
  file: string;
  /** Offset in that file of the next event. */
  offset: number;
  /** MariaDB `@@gtid_binlog_pos` (domain-server-seq list) or MySQL `@@gtid_executed` (uuid:ranges set), whitespace removed; '' when none or not read. */
  gtid: string;
  flavor: Flavor;
}

export interface MasterStatusOptions {
  /** Read the flavor and GTID set too (default true); false: file and offset only, one query (a poll). */
  gtid?: boolean;
  /**
   * The code of a refused read (errno 1227/1142: the user lacks REPLICATION CLIENT, BINLOG MONITOR
   * on MariaDB ≥ 10.5). Default ErrDBAccessDenied.
   */
  refusedCode?: ErrorCodeName;
  /** How other errors are named (default: src/sql's classifyError for the upstream). */
  classify?: (e: unknown, action: string) => DMError;
  /**
   * A refused read or a disabled binlog gives an unknown position (file '', logged) instead of an
   * error (DM's full-only tasks run as a user without REPLICATION CLIENT, or on a source without
   * binlog); other errors are still thrown.
   */
  optional?: boolean;
  log?: Logger;
}

/** MySQL errnos of a refused SHOW MASTER STATUS: ER_SPECIFIC_ACCESS_DENIED_ERROR, ER_TABLEACCESS_DENIED_ERROR. */
const REFUSED_ERRNOS = new Set([1227, 1142]);
/** ER_PARSE_ERROR: MySQL ≥ 8.4 no longer knows SHOW MASTER STATUS. */
const ER_PARSE_ERROR = 1064;

/** The flavor a `VERSION()` text names: 'mariadb' when it says so, else 'mysql'. */
export function flavorOfVersion(version: string): Flavor {
  return /mariadb/i.test(version) ? 'mariadb' : 'mysql';
}

/** The server's `VERSION()` text. */
export async function getServerVersion(q: Queryable): Promise<string> {
  const [r] = await q.query('SELECT VERSION() AS v');
  return String((r as { v: string | null }[])[0]?.v ?? '');
}

/** The one flavor detector: 'mariadb' when VERSION() says so, else 'mysql'. */
export async function getFlavor(q: Queryable): Promise<Flavor> {
  return flavorOfVersion(await getServerVersion(q));
}

/** The binlog status row: SHOW MASTER STATUS, or SHOW BINARY LOG STATUS where the old name is gone. */
async function statusRow(q: Queryable): Promise<Record<string, unknown> | undefined> {
  try {
    const [r] = await q.query('SHOW MASTER STATUS');
    return (r as Record<string, unknown>[])[0];
  } catch (e) {
    if (errnoOf(e) !== ER_PARSE_ERROR) throw e;
    const [r] = await q.query('SHOW BINARY LOG STATUS');
    return (r as Record<string, unknown>[])[0];
  }
}

/**
 * The server's current binlog position and (unless `gtid: false`) its flavor and GTID set.
 * Throws ErrDBBinlogDisabled when the server writes no binlog, `refusedCode` when the user may not
 * read it, else the error as `classify` names it — unless `optional` (see MasterStatusOptions).
 */
export async function getMasterStatus(q: Queryable, opts: MasterStatusOptions = {}): Promise<MasterStatus> {
  let flavor: Flavor = 'mysql';
  try {
    if (opts.gtid !== false) flavor = await getFlavor(q);
    const row = await statusRow(q);
    if (!row || !row.File) {
      throw new DMError(
        'ErrDBBinlogDisabled',
        'SHOW MASTER STATUS returned no binlog position: the binary log is not enabled',
      );
    }
    let gtid = '';
    if (opts.gtid !== false) {
      const [g] = await q.query(
        flavor === 'mariadb' ? 'SELECT @@GLOBAL.gtid_binlog_pos AS g' : 'SELECT @@GLOBAL.gtid_executed AS g',
      );
      gtid = String((g as { g: string | null }[])[0]?.g ?? '').replace(/\s+/g, '');
    }
    return { file: row.File as string, offset: Number(row.Position), gtid, flavor };
  } catch (e) {
    const err = nameError(e, opts);
    if (
      !opts.optional ||
      (err.codeName !== (opts.refusedCode ?? 'ErrDBAccessDenied') && err.codeName !== 'ErrDBBinlogDisabled')
    )
      throw err;
    opts.log?.warn(
      { code: err.code },
      'binlog position not readable (task-mode full does not need it), recorded as unknown',
    );
    return {
      file: '',
      offset: 0,
      gtid: '',
      flavor:
        opts.gtid !== false
          ? await getFlavor(q).catch((fe: unknown) => Promise.reject(nameError(fe, opts)))
          : flavor,
    };
  }
}

/** getMasterStatus's position alone (file, offset, GTID set), for callers that keep it as a binlog Position. */
export async function masterPosition(
  q: Queryable,
  opts: MasterStatusOptions = {},
): Promise<{ file: string; offset: number; gtid: string }> {
  const { file, offset, gtid } = await getMasterStatus(q, opts);
  return { file, offset, gtid };
}

function nameError(e: unknown, opts: MasterStatusOptions): DMError {
  if (e instanceof DMError) return e; // ErrDBBinlogDisabled
  if (REFUSED_ERRNOS.has(errnoOf(e) ?? 0)) {
    return new DMError(
      opts.refusedCode ?? 'ErrDBAccessDenied',
      'SHOW MASTER STATUS was refused: the source user needs the REPLICATION CLIENT privilege (BINLOG MONITOR on MariaDB >= 10.5)',
      {
        cause: e,
        workaround: 'GRANT REPLICATION CLIENT (MariaDB >= 10.5: BINLOG MONITOR) ON *.* TO the source user.',
      },
    );
  }
  return opts.classify
    ? opts.classify(e, 'read binlog position')
    : classifyError(e, { action: 'read master status' });
}

/** A binlog position that could not be read (`optional`): an empty file name. */
export function isUnknownPosition(p: MasterStatus): boolean {
  return p.file === '';
}
