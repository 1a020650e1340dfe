/**
 * Thin adapter over src/sql getMasterStatus: the same position/GTID reading, with the dump unit's
 * error codes (a refused SHOW MASTER STATUS is ErrDumpPrivilege naming the privilege to grant).
 */
import type { Connection } from 'mysql2/promise';
import { DMError } from '../../errors/index.js';
import { errnoOf, getFlavor, getMasterStatus, type Flavor, type MasterStatus } from '../../sql/index.js';
import { classifyMySQLError } from './conn.js';

export type { MasterStatus } from '../../sql/index.js';

/** Detect the flavor from VERSION(). */
export async function detectFlavor(conn: Connection): Promise<Flavor> {
  try {
    return await getFlavor(conn);
  } catch (e) {
    throw classifyMySQLError(e, 'source', 'read server version');
  }
}

/**
 * The binlog position and GTID set the source has written so far (SHOW MASTER STATUS plus
 * @@gtid_binlog_pos / @@gtid_executed). Needs REPLICATION CLIENT (MariaDB >= 10.5: BINLOG MONITOR).
 */
export async function readMasterStatus(conn: Connection): Promise<MasterStatus> {
  try {
    return await getMasterStatus(conn);
  } catch (e) {
    const cause = e instanceof DMError && e.cause !== undefined ? e.cause : e;
    const errno = errnoOf(cause);
    if (errno === 1227 || errno === 1142)
      throw new DMError('ErrDumpPrivilege', 'SHOW MASTER STATUS was refused: the source user needs the REPLICATION CLIENT privilege (BINLOG MONITOR on MariaDB >= 10.5)', {
        cause,
        workaround: 'GRANT REPLICATION CLIENT (MariaDB >= 10.5: BINLOG MONITOR) ON *.* TO the source user.',
      });
    if (e instanceof DMError && e.cause === undefined) throw e; // e.g. ErrDBBinlogDisabled
    throw classifyMySQLError(cause, 'source', 'read binlog position');
  }
}
