/**
 * Small queries about the upstream's binlog that the reader needs; the master status and flavor
 * readings are src/sql's (getMasterStatus, getFlavor).
 */
import { connect, type ConnConfig } from '../sql/index.js';
import type { Connection, RowDataPacket } from 'mysql2/promise';

export interface BinlogFile {
  name: string;
  size: number;
}

/** Minimal query surface (a mysql2/promise Connection or Pool). */
export interface Queryable {
  query: Connection['query'];
}

/**
 * A control connection: src/sql's (exact values, DM.ts's session `sql_mode` and `time_zone`),
 * without the block's `session` variables (as before: the reader's queries need none).
 */
export async function openControlConnection(c: ConnConfig): Promise<Connection> {
  const { host, port, user, password, ssl } = c;
  return connect({ host, port, user, password, ...(ssl ? { ssl } : {}) }, { rawGeometry: false });
}

/** SHOW BINARY LOGS, oldest first. */
export async function getBinlogFiles(conn: Queryable): Promise<BinlogFile[]> {
  const [rows] = await conn.query<RowDataPacket[]>('SHOW BINARY LOGS');
  return rows.map((r) => ({ name: String(r['Log_name']), size: Number(r['File_size']) }));
}


export interface BinlogSettings {
  logBin: boolean;
  format: string;
  rowImage: string;
  /** FULL / MINIMAL / NO_LOG ('' when the server has no such variable). */
  rowMetadata: string;
}

export async function getBinlogSettings(conn: Queryable): Promise<BinlogSettings> {
  const [rows] = await conn.query<RowDataPacket[]>(
    "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin','binlog_format','binlog_row_image','binlog_row_metadata')",
  );
  const v = new Map(rows.map((r) => [String(r['Variable_name']).toLowerCase(), String(r['Value'])]));
  return {
    logBin: (v.get('log_bin') ?? 'OFF').toUpperCase() === 'ON',
    format: (v.get('binlog_format') ?? '').toUpperCase(),
    rowImage: (v.get('binlog_row_image') ?? '').toUpperCase(),
    rowMetadata: (v.get('binlog_row_metadata') ?? '').toUpperCase(),
  };
}
