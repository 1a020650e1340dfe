/**
 * A binlog location. Always has file+offset; carries the GTID set executed up to and
 * including this point when the source uses GTIDs. The GTID set types (MySQL uuid:ranges,
 * MariaDB domain-server-seq lists) live in gtid-*.ts and share the `GtidSet` interface.
 * Plain data: serialisable to JSON for checkpoints and etcd.
 */
import { DMError } from '../errors/index.js';
import type { Flavor, GtidSet } from './gtid-set.js';
import { MysqlGtidSet } from './gtid-mysql.js';
import { MariadbGtidSet } from './gtid-mariadb.js';

export type { Flavor } from './gtid-set.js';

export interface Position {
  /** Binlog file name, e.g. `mysql-bin.000003`. */
  file: string;
  /** Byte offset in that file. */
  offset: number;
  /** Executed GTID set at this point in its flavor's text form; '' when not tracked. */
  gtid: string;
}

/** `mysql-bin.000003:1234` */
export function formatFilePos(p: Pick<Position, 'file' | 'offset'>): string {
  return `${p.file}:${p.offset}`;
}

/** Compare two file+offset positions of the same server: <0, 0, >0. */
export function compareFilePos(a: Pick<Position, 'file' | 'offset'>, b: Pick<Position, 'file' | 'offset'>): number {
  if (a.file !== b.file) {
    const na = binlogFileIndex(a.file);
    const nb = binlogFileIndex(b.file);
    if (Number.isFinite(na) && Number.isFinite(nb) && na !== nb) return na - nb;
    return a.file < b.file ? -1 : 1;
  }
  return a.offset - b.offset;
}

/** The file number of `mysql-bin.000003` (3), or NaN. */
export function binlogFileIndex(file: string): number {
  const i = file.lastIndexOf('.');
  return i < 0 ? NaN : Number(file.slice(i + 1));
}

/** Parse a GTID set of the given flavor ('' = empty set). Throws ErrBinlogInvalidPosition. */
export function parseGtidSet(text: string, flavor: Flavor): GtidSet {
  return flavor === 'mysql' ? MysqlGtidSet.parse(text) : MariadbGtidSet.parse(text);
}

/** An empty GTID set of the given flavor. */
export function emptyGtidSet(flavor: Flavor): GtidSet {
  return flavor === 'mysql' ? MysqlGtidSet.empty() : MariadbGtidSet.empty();
}

const FILE_POS_RE = /^\s*\(?\s*([^\s:,()]+\.\d+)\s*[:,]\s*(\d+)\s*\)?\s*$/;

/**
 * Parse a position as a user writes it: `mysql-bin.000003:1234` (also `(mysql-bin.000003, 1234)`),
 * or a GTID set of `flavor` (MySQL `uuid:1-10`, MariaDB `0-1-10`). A GTID-only position has
 * `file: ''` and `offset: 0`. The GTID text is returned in canonical form.
 */
export function parsePosition(text: string, flavor: Flavor): Position {
  const fp = FILE_POS_RE.exec(text);
  if (fp) {
    const offset = Number(fp[2]);
    if (!Number.isSafeInteger(offset) || offset < 4) {
      throw new DMError('ErrBinlogInvalidPosition', `invalid binlog position ${JSON.stringify(text)}: offset must be >= 4`);
    }
    return { file: fp[1] ?? '', offset, gtid: '' };
  }
  if (text.trim() === '') throw new DMError('ErrBinlogInvalidPosition', 'empty binlog position');
  return { file: '', offset: 0, gtid: parseGtidSet(text, flavor).toString() };
}

/** Where a reader starts: a file+offset, a GTID set (the transactions already executed), or a time. */
export type StartPoint = { file: string; offset: number } | { gtid: string } | { time: Date };

/** The StartPoint for a parsed position: by GTID when it has one and no file, else by file+offset. */
export function startPointOf(p: Position): StartPoint {
  if (p.file !== '') return { file: p.file, offset: p.offset };
  return { gtid: p.gtid };
}
