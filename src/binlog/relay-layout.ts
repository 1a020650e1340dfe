/**
 * DM's on-disk relay layout, as the relay writer leaves it and the relay reader reads it
 * (the contract between them; DM's dm/relay and dm/pkg/utils' UUID index):
 *
 *   <relay-dir>/server-uuid.index          one sub-directory name per line, oldest first
 *   <relay-dir>/<server-uuid>.<nnnnnn>/    one per upstream (n = 000001, 000002, ... on switches)
 *       <upstream binlog file names>       the upstream's binlog files byte-for-byte: magic
 *                                          0xfe 'bin', FORMAT_DESCRIPTION first, ROTATE last
 *       relay.meta                         TOML: binlog-name, binlog-pos, binlog-gtid
 *
 * Pure file-system helpers and the binlog event framing (header fields, magic, checksum
 * algorithm of a FORMAT_DESCRIPTION event), no decoding: what the events mean is zongji's
 * (src/binlog/relay-decode.ts) and the transaction shaper's.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { DMError } from '../errors/index.js';
import { binlogFileIndex } from './position.js';

/** The index file naming the sub-directories, oldest first. */
export const RELAY_INDEX_FILE = 'server-uuid.index';
/** The writer's position file in each sub-directory. */
export const RELAY_META_FILE = 'relay.meta';
/** 0xfe 'b' 'i' 'n' */
export const BINLOG_MAGIC = Buffer.from([0xfe, 0x62, 0x69, 0x6e]);
/** v4 common header: timestamp 4, type 1, server id 4, event length 4, next position 4, flags 2. */
export const EVENT_HEADER_LEN = 19;
/** Binlog events larger than this are refused as corrupt (max_allowed_packet is at most 1 GiB). */
export const MAX_EVENT_LEN = 1 << 30;

/** Event type codes the relay reader looks at without decoding. */
export const EV = {
  QUERY: 2,
  STOP: 3,
  ROTATE: 4,
  FORMAT_DESCRIPTION: 15,
  XID: 16,
  TABLE_MAP: 19,
  WRITE_ROWS_V1: 23,
  UPDATE_ROWS_V1: 24,
  DELETE_ROWS_V1: 25,
  HEARTBEAT: 27,
  WRITE_ROWS: 30,
  UPDATE_ROWS: 31,
  DELETE_ROWS: 32,
  GTID: 33,
  ANONYMOUS_GTID: 34,
  PREVIOUS_GTIDS: 35,
  GTID_TAGGED: 42,
  MARIADB_ANNOTATE_ROWS: 160,
  MARIADB_BINLOG_CHECKPOINT: 161,
  MARIADB_GTID: 162,
  MARIADB_GTID_LIST: 163,
} as const;

/** Events that open a transaction (event group) of their own. */
export const GTID_EVENT_TYPES: ReadonlySet<number> = new Set([EV.GTID, EV.ANONYMOUS_GTID, EV.GTID_TAGGED, EV.MARIADB_GTID]);

export interface EventHeader {
  timestamp: number;
  type: number;
  serverId: number;
  length: number;
  nextPos: number;
  flags: number;
}

/** The common header of the event starting at `at` (the caller checked 19 bytes are there). */
export function readEventHeader(b: Buffer, at: number): EventHeader {
  return {
    timestamp: b.readUInt32LE(at),
    type: b[at + 4]!,
    serverId: b.readUInt32LE(at + 5),
    length: b.readUInt32LE(at + 9),
    nextPos: b.readUInt32LE(at + 13),
    flags: b.readUInt16LE(at + 17),
  };
}

/**
 * Whether the events after this FORMAT_DESCRIPTION event (whole event, `len` bytes at `at`)
 * carry a 4-byte CRC32: its checksum-algorithm byte sits 5 bytes before its end (1 = CRC32).
 */
export function formatDescriptionHasChecksum(b: Buffer, at: number, len: number): boolean {
  return b[at + len - 5] === 1;
}

/** One sub-directory of the relay (one upstream). */
export interface RelaySubDir {
  /** `<server-uuid>.<nnnnnn>` */
  name: string;
  uuid: string;
  /** 1, 2, ... (the order of upstream switches) */
  seq: number;
  path: string;
}

/** `<uuid>.<000001>` → its uuid and number; undefined when the name has no numeric suffix. */
export function parseSubDirName(name: string): { uuid: string; seq: number } | undefined {
  const m = /^(.+)\.(\d{6,})$/.exec(name);
  if (!m) return undefined;
  return { uuid: m[1]!, seq: Number(m[2]) };
}

/** The sub-directories listed in `server-uuid.index`, oldest first ([] when the index does not exist yet). */
export async function readRelayIndex(relayDir: string): Promise<RelaySubDir[]> {
  let text: string;
  try {
    text = await readFile(join(relayDir, RELAY_INDEX_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new DMError('ErrRelayIndexRead', `cannot read the relay index ${join(relayDir, RELAY_INDEX_FILE)}`, { cause: e });
  }
  const out: RelaySubDir[] = [];
  for (const raw of text.split('\n')) {
    const name = raw.trim();
    if (name === '') continue;
    const p = parseSubDirName(name);
    if (!p) throw new DMError('ErrRelayIndexRead', `the relay index ${join(relayDir, RELAY_INDEX_FILE)} names '${name}', not a <server-uuid>.<nnnnnn> sub-directory`);
    out.push({ name, uuid: p.uuid, seq: p.seq, path: join(relayDir, name) });
  }
  return out;
}

/** Whether `name` is a binlog file name (`<base>.<digits>`), not the meta or an index. */
export function isBinlogFileName(name: string): boolean {
  return /^[^/\\]+\.\d+$/.test(name);
}

/** The binlog files of a sub-directory, in binlog order ([] when it does not exist yet). */
export async function listRelayFiles(subDirPath: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(subDirPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names.filter(isBinlogFileName).sort(compareBinlogNames);
}

/** Binlog order of two file names of one server (`mysql-bin.000002` < `mysql-bin.000010`). */
export function compareBinlogNames(a: string, b: string): number {
  const na = binlogFileIndex(a);
  const nb = binlogFileIndex(b);
  if (Number.isFinite(na) && Number.isFinite(nb) && na !== nb) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Size of a file, or -1 when it does not exist. */
export async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return -1;
    throw e;
  }
}

/** The writer's position in a sub-directory (`relay.meta`, DM's TOML). */
export interface RelayMeta {
  binlogName: string;
  binlogPos: number;
  binlogGtid: string;
}

/** `relay.meta` of a sub-directory, or undefined when there is none yet. */
export async function readRelayMeta(subDirPath: string): Promise<RelayMeta | undefined> {
  let text: string;
  try {
    text = await readFile(join(subDirPath, RELAY_META_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const t = parseToml(text) as Record<string, unknown>;
    return {
      binlogName: typeof t['binlog-name'] === 'string' ? t['binlog-name'] : '',
      binlogPos: typeof t['binlog-pos'] === 'number' || typeof t['binlog-pos'] === 'bigint' ? Number(t['binlog-pos']) : 0,
      binlogGtid: typeof t['binlog-gtid'] === 'string' ? t['binlog-gtid'] : '',
    };
  } catch (e) {
    throw new DMError('ErrRelayIndexRead', `cannot parse ${join(subDirPath, RELAY_META_FILE)}`, { cause: e });
  }
}
