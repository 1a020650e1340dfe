/**
 * Thin adapter over src/sql getMasterStatus: the same position/GTID reading, with the dump unit's
 * error codes (a refused SHOW MASTER STATUS is ErrDumpPrivilege naming the privilege to grant).
 */
import type { Connection } from 'mysql2/promise';
import { DMError } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
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

/** A binlog position that could not be read: an empty file name (see readPosition). */
export function isUnknownPosition(p: MasterStatus): boolean {
  return p.file === '';
}

/**
 * The snapshot's binlog position, where the task mode needs one. task-mode full never reads
 * the binlog (DM's full-only tasks run as a user without REPLICATION CLIENT / BINLOG MONITOR, or
 * on a source without binlog): there a refused SHOW MASTER STATUS or a disabled binlog gives an
 * unknown position (empty file name, logged) instead of an error; the position is recorded
 * whenever it can be read. Other modes (`optional` false) throw as readMasterStatus does.
 */
export async function readPosition(conn: Connection, optional: boolean, log?: Logger): Promise<MasterStatus> {
  try {
    return await readMasterStatus(conn);
  } catch (e) {
    if (!optional || !(e instanceof DMError) || (e.codeName !== 'ErrDumpPrivilege' && e.codeName !== 'ErrDBBinlogDisabled')) throw e;
    log?.warn({ code: e.code }, 'binlog position not readable (task-mode full does not need it), recorded as unknown');
    return { file: '', offset: 0, gtid: '', flavor: await detectFlavor(conn) };
  }
}
