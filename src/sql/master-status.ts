/** The server's current binlog position and GTID set, and its flavor. */
import { DMError } from '../errors/index.js';
import { classifyError, errnoOf } from './errno.js';
import type { Queryable } from './table-info.js';

export type Flavor = 'mysql' | 'mariadb';

export interface MasterStatus {
  /** Current binlog file name, e.g. `mysql-bin.000003`. */
  file: string;
  /** Offset in that file of the next event. */
  offset: number;
  /** MariaDB `@@gtid_binlog_pos` (domain-server-seq list) or MySQL `@@gtid_executed` (uuid:ranges set), whitespace removed; '' when none. */
  gtid: string;
  flavor: Flavor;
}

/** 'mariadb' when VERSION() says so, else 'mysql'. */
export async function getFlavor(q: Queryable): Promise<Flavor> {
  const [r] = await q.query('SELECT VERSION() AS v');
  const v = String((r as { v: string }[])[0]?.v ?? '');
  return /mariadb/i.test(v) ? 'mariadb' : 'mysql';
}

/**
 * SHOW MASTER STATUS (or SHOW BINARY LOG STATUS on MySQL ≥ 8.4) plus the GTID set.
 * Throws ErrDBBinlogDisabled when the server writes no binlog.
 */
export async function getMasterStatus(q: Queryable): Promise<MasterStatus> {
  try {
    const flavor = await getFlavor(q);
    let st: Record<string, unknown>[];
    try {
      const [r] = await q.query('SHOW MASTER STATUS');
      st = r as Record<string, unknown>[];
    } catch (e) {
      if (errnoOf(e) !== 1064) throw e;
      const [r] = await q.query('SHOW BINARY LOG STATUS');
      st = r as Record<string, unknown>[];
    }
    const row = st[0];
    if (!row || !row.File) {
      throw new DMError('ErrDBBinlogDisabled', 'SHOW MASTER STATUS returned no binlog position: the binary log is not enabled');
    }
    const [g] = await q.query(flavor === 'mariadb' ? 'SELECT @@GLOBAL.gtid_binlog_pos AS g' : 'SELECT @@GLOBAL.gtid_executed AS g');
    const gtid = String((g as { g: string | null }[])[0]?.g ?? '').replace(/\s+/g, '');
    return { file: row.File as string, offset: Number(row.Position), gtid, flavor };
  } catch (e) {
    throw classifyError(e, { action: 'read master status' });
  }
}
