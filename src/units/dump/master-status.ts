import type { Connection } from 'mysql2/promise';
import type { Flavor, Position } from '../../binlog/position.js';
import { DMError } from '../../errors/index.js';
import { classifyMySQLError, mysqlErrno } from './conn.js';

export interface MasterStatus extends Position {
  flavor: Flavor;
}

/** Detect the flavor from VERSION(). */
export async function detectFlavor(conn: Connection): Promise<Flavor> {
  const [rows] = await conn.query('SELECT VERSION() AS v');
  const v = String((rows as { v: string }[])[0]?.v ?? '');
  return /mariadb/i.test(v) ? 'mariadb' : 'mysql';
}

/**
 * The binlog position and GTID set the source has written so far: SHOW MASTER STATUS plus, on
 * MariaDB, @@gtid_binlog_pos. Needs REPLICATION CLIENT (MariaDB >= 10.5: BINLOG MONITOR).
 * PRIVATE STOP-GAP for src/sql getMasterStatus, which was not available when this was written.
 */
export async function readMasterStatus(conn: Connection, flavor: Flavor): Promise<MasterStatus> {
  try {
    const [rows] = await conn.query('SHOW MASTER STATUS');
    const r = (rows as Record<string, unknown>[])[0];
    if (!r) throw new DMError('ErrDumpSnapshotFailed', 'SHOW MASTER STATUS returned no row: binary logging is off on the source', {
      workaround: 'Enable the binlog on the source (log-bin, binlog-format=ROW) and restart it.',
    });
    let gtid = typeof r['Executed_Gtid_Set'] === 'string' ? String(r['Executed_Gtid_Set']).replace(/\s+/g, '') : '';
    if (flavor === 'mariadb') {
      const [g] = await conn.query('SELECT @@GLOBAL.gtid_binlog_pos AS g');
      gtid = String((g as { g: string | null }[])[0]?.g ?? '');
    }
    return { file: String(r['File']), offset: Number(r['Position']), gtid, flavor };
  } catch (e) {
    if (e instanceof DMError) throw e;
    const errno = mysqlErrno(e);
    if (errno === 1227 || errno === 1142)
      throw new DMError('ErrDumpPrivilege', 'SHOW MASTER STATUS was refused: the source user needs the REPLICATION CLIENT privilege (BINLOG MONITOR on MariaDB >= 10.5)', {
        cause: e,
        workaround: "GRANT REPLICATION CLIENT (MariaDB >= 10.5: BINLOG MONITOR) ON *.* TO the source user.",
      });
    throw classifyMySQLError(e, 'source', 'read binlog position');
  }
}
