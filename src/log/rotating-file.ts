/**
 * `log-file` with rotation, the way DM's logger (pingcap/log on lumberjack) does it:
 *
 * - when a write would take the file past `maxBytes` (`[log.file] max-size`, MB), the file is
 *   renamed to `<name>-<UTC time>.<ext>` (`dm-master-2026-12-07T14-30-00.123.log`) and a new
 *   file is opened under the original name;
 * - after each rotation, backups older than `maxDays` days (by the time in their name) are
 *   removed, then all but the newest `maxBackups` (0 = no limit for either);
 * - `reopen()` (SIGHUP, see logger.ts) closes and reopens the file under its name, so an
 *   external logrotate that moved the file away gets a fresh one.
 *
 * Writes go through pino's SonicBoom destination in synchronous mode (as lumberjack writes): each
 * line is in the file when `write` returns, so a rotation splits the stream exactly at a line
 * boundary, no file exceeds `maxBytes` (unless one line does), and nothing is lost at exit.
 */
import { readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { destination as pinoDestination, type DestinationStream } from 'pino';

export interface RotationOptions {
  /** Rotate when the file would exceed this many bytes (0 = never by size). */
  maxBytes: number;
  /** Remove backups older than this many days (0 = keep). */
  maxDays: number;
  /** Keep at most this many backups (0 = keep all). */
  maxBackups: number;
}

type SonicBoomLike = DestinationStream & {
  reopen(file?: string): void;
  flushSync(): void;
  end(): void;
  setMaxListeners(n: number): void;
};

const BACKUP_TIME = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})\.(\d{3})$/;

/** `2026-12-07T14-30-00.123` (UTC; sortable, no `:` so it is a valid name everywhere). */
function backupStamp(d: Date): string {
  return d.toISOString().replace(/:/g, '-').replace(/Z$/, '');
}

export class RotatingFile implements DestinationStream {
  private readonly out: SonicBoomLike;
  private size: number;
  private readonly prefix: string;
  private readonly ext: string;
  private readonly dir: string;
  private lastRotationMs = 0;

  constructor(
    readonly path: string,
    private readonly opts: RotationOptions,
  ) {
    this.out = pinoDestination({ dest: path, mkdir: true, sync: true });
    // each reopen waits one tick for `ready` to close the old descriptor; a burst of rotations
    // (a tiny max-size) queues more than the default 10 such listeners, briefly
    this.out.setMaxListeners(0);
    this.size = fileSize(path);
    this.dir = dirname(path);
    this.ext = extname(path);
    this.prefix = `${basename(path, this.ext)}-`;
  }

  write(line: string): void {
    const n = Buffer.byteLength(line);
    if (this.opts.maxBytes > 0 && this.size > 0 && this.size + n > this.opts.maxBytes) this.rotate();
    this.out.write(line);
    this.size += n;
  }

  /** Reopen the file under its name (after an external tool moved it). */
  reopen(): void {
    this.out.reopen();
    this.size = fileSize(this.path);
  }

  flushSync(): void {
    try {
      this.out.flushSync();
    } catch {
      /* nothing buffered, or the stream is not ready yet */
    }
  }

  /** Rotated files of this log, oldest first. */
  backups(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    return names
      .filter((n) => n.startsWith(this.prefix) && n.endsWith(this.ext) && BACKUP_TIME.test(n.slice(this.prefix.length, n.length - this.ext.length)))
      .sort()
      .map((n) => join(this.dir, n));
  }

  private rotate(): void {
    // two rotations within one millisecond: keep both files
    const ms = Math.max(Date.now(), this.lastRotationMs + 1);
    this.lastRotationMs = ms;
    const stamp = backupStamp(new Date(ms));
    try {
      renameSync(this.path, join(this.dir, `${this.prefix}${stamp}${this.ext}`));
    } catch {
      // the file is gone (moved by hand): just start a new one
    }
    this.out.reopen();
    this.size = 0;
    this.prune();
  }

  private prune(): void {
    let files = this.backups();
    if (this.opts.maxDays > 0) {
      const cutoff = Date.now() - this.opts.maxDays * 86_400_000;
      const old = files.filter((f) => {
        const stamp = basename(f).slice(this.prefix.length, basename(f).length - this.ext.length);
        const m = BACKUP_TIME.exec(stamp);
        return m !== null && Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`) < cutoff;
      });
      for (const f of old) rmSync(f, { force: true });
      files = files.filter((f) => !old.includes(f));
    }
    if (this.opts.maxBackups > 0 && files.length > this.opts.maxBackups) {
      for (const f of files.slice(0, files.length - this.opts.maxBackups)) rmSync(f, { force: true });
    }
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
