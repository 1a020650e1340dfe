/**
 * A binlog location. Always has file+offset; carries the GTID set executed up to and
 * including this point when the source uses GTIDs. The GTID set types (MySQL uuid:ranges,
 * MariaDB domain-server-seq lists) live in gtid-*.ts and share the `GtidSet` interface.
 * Plain data: serialisable to JSON for checkpoints and etcd.
 */
export type Flavor = 'mysql' | 'mariadb';

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
    const na = Number(a.file.slice(a.file.lastIndexOf('.') + 1));
    const nb = Number(b.file.slice(b.file.lastIndexOf('.') + 1));
    if (Number.isFinite(na) && Number.isFinite(nb) && na !== nb) return na - nb;
    return a.file < b.file ? -1 : 1;
  }
  return a.offset - b.offset;
}
