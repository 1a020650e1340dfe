/**
 * Small queries about the upstream's binlog that the reader needs. (src/sql may grow shared
 * versions of getBinlogFiles/getMasterStatus; these stay local to keep the binlog layer standalone.)
 */
import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import { DMError } from '../errors/index.js';
import type { Flavor, Position } from './position.js';

export interface ConnectionOptions {
  host: string;
  port: number;
  user: string;
  password: string;
}

export interface BinlogFile {
  name: string;
  size: number;
}

/** Minimal query surface (a mysql2/promise Connection or Pool). */
export interface Queryable {
  query: Connection['query'];
}

export async function openControlConnection(c: ConnectionOptions): Promise<Connection> {
  return mysql.createConnection({
    host: c.host,
    port: c.port,
    user: c.user,
    password: c.password,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    connectTimeout: 10_000,
  });
}

/** SHOW BINARY LOGS, oldest first. */
export async function getBinlogFiles(conn: Queryable): Promise<BinlogFile[]> {
  const [rows] = await conn.query<RowDataPacket[]>('SHOW BINARY LOGS');
  return rows.map((r) => ({ name: String(r['Log_name']), size: Number(r['File_size']) }));
}

/** SHOW MASTER STATUS plus the executed GTID set (MySQL @@gtid_executed, MariaDB @@gtid_binlog_pos). */
export async function getMasterStatus(conn: Queryable, flavor: Flavor): Promise<Position> {
  const [rows] = await conn.query<RowDataPacket[]>('SHOW MASTER STATUS');
  const r = rows[0];
  if (!r) {
    throw new DMError('ErrBinlogReadFailed', 'SHOW MASTER STATUS returned nothing: binary logging is off on the source', {
      workaround: 'Enable the binlog on the source (log_bin / --log-bin) with binlog_format=ROW.',
    });
  }
  let gtid = '';
  if (flavor === 'mariadb') {
    const [g] = await conn.query<RowDataPacket[]>('SELECT @@GLOBAL.gtid_binlog_pos AS g');
    gtid = String(g[0]?.['g'] ?? '');
  } else {
    gtid = String(r['Executed_Gtid_Set'] ?? '').replace(/\s+/g, '');
  }
  return { file: String(r['File']), offset: Number(r['Position']), gtid };
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
