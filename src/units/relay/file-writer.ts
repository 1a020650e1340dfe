/**
 * The relay's writes to one sub-directory: appends raw events to the current binlog file
 * (one `write` per batch), `fdatasync` before the meta moves, and the crash recovery scan that
 * cuts a partial trailing event off the last file. docs/relay.md "Flush rule" and "Partial
 * trailing event" describe what readers may rely on.
 */
import { closeSync, existsSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readFileSync, readSync, statSync, truncateSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DMError } from '../../errors/index.js';
import { BINLOG_MAGIC, EV, FLAG_ARTIFICIAL, HEADER_LEN, fdeChecksum, readHeader, rotateInfo, TxnTracker } from './events.js';
import { listBinlogFiles, type RelayMetaData } from './layout.js';

function writeError(e: unknown, what: string): DMError {
  return new DMError('ErrRelayWriteFile', `${what}: ${(e as Error).message}`, { cause: e });
}

/** Where the relay of a sub-directory ends after recovery. */
export interface RecoveredEnd {
  /** Last file (undefined: the sub-directory has no file yet). */
  file: string | undefined;
  /** Its size after cutting a partial trailing event. */
  size: number;
  /** The file ended with a ROTATE: the next file to start (pos 4). */
  next: string | undefined;
  checksum: boolean;
  /** Last transaction boundary and the GTID set there (the meta to save). */
  meta: RelayMetaData;
  /** Bytes cut off the last file. */
  cut: number;
}

/**
 * Scan a sub-directory from its meta position (a known event boundary) to the end, feeding the
 * GTID tracker, and truncate the last file at its last complete event. A file shorter than
 * magic + FORMAT_DESCRIPTION (a crash right after creating it) is removed.
 */
export function recoverSubDir(dir: string, meta: RelayMetaData | undefined, tracker: TxnTracker): RecoveredEnd {
  let files = listBinlogFiles(dir);
  // drop trailing files that never got a whole FORMAT_DESCRIPTION
  while (files.length > 0) {
    const last = files[files.length - 1]!;
    const buf = readFileSync(join(dir, last));
    if (buf.length >= 4 + HEADER_LEN && buf.subarray(0, 4).equals(BINLOG_MAGIC) && buf.length >= 4 + readHeader(buf, 4).size) break;
    unlinkSync(join(dir, last));
    files = files.slice(0, -1);
  }
  // the meta must point inside the files (it does unless the disk lost data the meta had seen as
  // durable): otherwise scan the whole sub-directory from its first file
  const metaUsable = meta !== undefined && files.includes(meta.binlogName) && statSync(join(dir, meta.binlogName)).size >= meta.binlogPos;
  if (meta !== undefined && !metaUsable) meta = undefined;
  const startFile = meta ? meta.binlogName : files[0];
  tracker.reset(meta && meta.binlogName === startFile ? meta.binlogGtid : '');
  let boundary: RelayMetaData = { binlogName: startFile ?? meta?.binlogName ?? '', binlogPos: meta && meta.binlogName === startFile ? meta.binlogPos : 4, binlogGtid: tracker.toString() };
  if (startFile === undefined) return { file: undefined, size: 0, next: undefined, checksum: false, meta: boundary, cut: 0 };
  let out: RecoveredEnd = { file: startFile, size: 0, next: undefined, checksum: false, meta: boundary, cut: 0 };
  for (let i = files.indexOf(startFile); i < files.length; i++) {
    const name = files[i]!;
    const buf = readFileSync(join(dir, name));
    const checksum = fdeChecksum(buf.subarray(4, 4 + readHeader(buf, 4).size));
    let p = name === startFile && boundary.binlogPos >= 4 ? boundary.binlogPos : 4;
    let next: string | undefined;
    while (p + HEADER_LEN <= buf.length) {
      const h = readHeader(buf, p);
      if (h.size < HEADER_LEN || p + h.size > buf.length) break;
      const ev = buf.subarray(p, p + h.size);
      const closes = h.type !== EV.FORMAT_DESCRIPTION && tracker.feed(ev, h, checksum);
      p += h.size;
      if (h.type === EV.ROTATE && (h.flags & FLAG_ARTIFICIAL) === 0) next = rotateInfo(ev, checksum).next;
      if (closes || h.type === EV.FORMAT_DESCRIPTION || h.type === EV.ROTATE) {
        boundary = { binlogName: name, binlogPos: p, binlogGtid: tracker.toString() };
      }
    }
    if (next) clearInUse(join(dir, name));
    // p: end of the last complete event
    let cut = 0;
    if (i === files.length - 1 && p < buf.length) {
      cut = buf.length - p;
      truncateSync(join(dir, name), p);
    }
    out = { file: name, size: p, next, checksum, meta: boundary, cut };
  }
  return out;
}

/** LOG_EVENT_BINLOG_IN_USE_F: set in the first FORMAT_DESCRIPTION while the server writes the file. */
const FLAG_IN_USE = 0x1;
const FDE_FLAGS_AT = 4 + 17;

/** Clear the in-use flag of a closed binlog file's FORMAT_DESCRIPTION (no-op when clear). */
export function clearInUse(path: string): void {
  try {
    const fd = openSync(path, 'r+');
    try {
      const b = Buffer.alloc(2);
      if (readSync(fd, b, 0, 2, FDE_FLAGS_AT) === 2) {
        const flags = b.readUInt16LE(0);
        if (flags & FLAG_IN_USE) {
          b.writeUInt16LE(flags & ~FLAG_IN_USE, 0);
          writeSync(fd, b, 0, 2, FDE_FLAGS_AT);
        }
      }
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw writeError(e, `mark relay file ${path} closed`);
  }
}

/** Appends to one binlog file of the relay. */
export class RelayFile {
  private fd: number;
  size: number;
  private dirty = false;

  private constructor(
    readonly path: string,
    readonly name: string,
    fd: number,
    size: number,
  ) {
    this.fd = fd;
    this.size = size;
  }

  /** Open (create when missing) for appending; a new file gets the magic. */
  static open(dir: string, name: string): RelayFile {
    const path = join(dir, name);
    try {
      const existed = existsSync(path);
      const fd = openSync(path, existed ? 'r+' : 'w+');
      let size = fstatSync(fd).size;
      if (size < 4) {
        ftruncateSync(fd, 0);
        writeSync(fd, BINLOG_MAGIC, 0, 4, 0);
        size = 4;
      }
      return new RelayFile(path, name, fd, size);
    } catch (e) {
      throw writeError(e, `open relay file ${path}`);
    }
  }

  /** Append bytes at the end; on error the file is cut back to its size before the call. */
  append(chunks: Buffer[]): void {
    if (chunks.length === 0) return;
    const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    let off = 0;
    try {
      while (off < data.length) off += writeSync(this.fd, data, off, data.length - off, this.size + off);
      this.size += data.length;
      this.dirty = true;
    } catch (e) {
      try {
        ftruncateSync(this.fd, this.size);
      } catch {
        // recovery at the next start cuts the partial event anyway
      }
      throw writeError(e, `write relay file ${this.path}`);
    }
  }

  sync(): void {
    if (!this.dirty) return;
    try {
      fdatasyncSync(this.fd);
      this.dirty = false;
    } catch (e) {
      throw writeError(e, `fsync relay file ${this.path}`);
    }
  }

  close(): void {
    if (this.fd < 0) return;
    try {
      this.sync();
    } finally {
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  /**
   * The upstream closed this file (its ROTATE is written): clear LOG_EVENT_BINLOG_IN_USE_F in the
   * FORMAT_DESCRIPTION header, as the server does in its own file when closing it (the event's
   * checksum is computed with the flag clear, so the CRC stays valid).
   */
  markClosed(): void {
    clearInUse(this.path);
  }

  /** Read `len` bytes at `pos` (duplicate checks). */
  read(pos: number, len: number): Buffer {
    const b = Buffer.alloc(len);
    const fd = openSync(this.path, 'r');
    try {
      let got = 0;
      while (got < len) {
        const n = readSync(fd, b, got, len - got, pos + got);
        if (n <= 0) break;
        got += n;
      }
      return b.subarray(0, got);
    } finally {
      closeSync(fd);
    }
  }
}
