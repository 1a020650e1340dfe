/**
 * Small queries about the upstream's binlog that the reader needs; the master status reading
 * itself is src/sql's, returned here as a Position.
 */
import { connect, getMasterStatus as readMasterStatus, type Queryable as SqlQueryable, type SslOptions } from '../sql/index.js';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { Flavor, Position } from './position.js';

export interface ConnectionOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  /** mysql2 `ssl` options (PEM texts) for the binlog dump and control connections; absent = plain TCP. */
  ssl?: SslOptions;
}

export interface BinlogFile {
  name: string;
  size: number;
}

/** Minimal query surface (a mysql2/promise Connection or Pool). */
export interface Queryable {
  query: Connection['query'];
}

/** A control connection: src/sql's (exact values, DM.ts's session `sql_mode` and `time_zone`). */
export async function openControlConnection(c: ConnectionOptions): Promise<Connection> {
  const { host, port, user, password, ssl } = c;
  return connect({ host, port, user, password, ...(ssl ? { ssl } : {}) }, { connectTimeoutMs: 10_000, rawGeometry: false });
}

/** SHOW BINARY LOGS, oldest first. */
export async function getBinlogFiles(conn: Queryable): Promise<BinlogFile[]> {
  const [rows] = await conn.query<RowDataPacket[]>('SHOW BINARY LOGS');
  return rows.map((r) => ({ name: String(r['Log_name']), size: Number(r['File_size']) }));
}

/** The source's current binlog position and executed GTID set (src/sql's reading, as a Position). */
export async function getMasterStatus(conn: Queryable): Promise<Position> {
  const ms = await readMasterStatus(conn as SqlQueryable);
  return { file: ms.file, offset: ms.offset, gtid: ms.gtid };
}

/** 'mariadb' when VERSION() says so. */
export async function detectFlavor(conn: Queryable): Promise<Flavor> {
  const [rows] = await conn.query<RowDataPacket[]>('SELECT VERSION() AS v');
  return /mariadb/i.test(String(rows[0]?.['v'] ?? '')) ? 'mariadb' : 'mysql';
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
