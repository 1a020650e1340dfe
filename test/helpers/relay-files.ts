/**
 * A relay directory in DM's layout (src/binlog/relay-layout.ts) filled with a real MariaDB
 * server's own binlog files, for testing the relay reader without the relay writer: the relay
 * files are the upstream's byte for byte, so copying the server's binlog files (or appending
 * what the server wrote since the last copy, to simulate a live relay) is real relay data.
 */
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { MariaDBServer } from './mariadb.js';

export class RelayDirFixture {
  /** Bytes copied so far per `<subDir>/<file>`. */
  private readonly copied = new Map<string, number>();
  private readonly subDirs: string[] = [];

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** Add `<uuid>.<seq>` to server-uuid.index (and create it); returns its name. */
  addSubDir(uuid: string, seq: number): string {
    const name = `${uuid}.${String(seq).padStart(6, '0')}`;
    mkdirSync(join(this.dir, name), { recursive: true });
    this.subDirs.push(name);
    writeFileSync(join(this.dir, 'server-uuid.index'), this.subDirs.map((s) => `${s}\n`).join(''));
    return name;
  }

  /** The server's binlog files, oldest first (from its mysql-bin.index). */
  static serverBinlogs(db: MariaDBServer): string[] {
    const index = readFileSync(join(db.dataDir, 'mysql-bin.index'), 'utf8');
    return index
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .map((l) => (l.startsWith('/') ? l : join(db.dataDir, basename(l))));
  }

  /**
   * Append to `subDir` what the server wrote to `files` (names, default all) since the last call,
   * at most `limit` more bytes in all (to cut the relay inside an event).
   */
  mirror(db: MariaDBServer, subDir: string, opts: { files?: string[]; limit?: number } = {}): number {
    let budget = opts.limit ?? Infinity;
    let total = 0;
    for (const path of RelayDirFixture.serverBinlogs(db)) {
      const name = basename(path);
      if (opts.files && !opts.files.includes(name)) continue;
      const key = `${subDir}/${name}`;
      const done = this.copied.get(key) ?? 0;
      const size = statSync(path).size;
      const n = Math.min(size - done, budget);
      if (n <= 0) {
        if (!existsSync(join(this.dir, subDir, name)) && size === 0) writeFileSync(join(this.dir, subDir, name), '');
        continue;
      }
      const buf = Buffer.alloc(n);
      const fd = openSync(path, 'r');
      try {
        readSync(fd, buf, 0, n, done);
      } finally {
        closeSync(fd);
      }
      appendFileSync(join(this.dir, subDir, name), buf);
      this.copied.set(key, done + n);
      budget -= n;
      total += n;
      if (budget <= 0) break;
    }
    return total;
  }

  /** Write the writer's `relay.meta` of `subDir` (DM's TOML). */
  writeMeta(subDir: string, name: string, pos: number, gtid: string): void {
    writeFileSync(join(this.dir, subDir, 'relay.meta'), `binlog-name = "${name}"\nbinlog-pos = ${pos}\nbinlog-gtid = "${gtid}"\n`);
  }
}
