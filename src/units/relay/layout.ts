/**
 * The relay directory's files (docs/relay.md "On-disk layout", DM's layout): `server-uuid.index`,
 * the `<server-uuid>.<n>` sub-directories, their binlog files and `relay.meta` (TOML). Every
 * rewrite of the index or the meta is atomic (temp file, fsync, rename), so a kill -9 leaves
 * either the old or the new content.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DMError } from '../../errors/index.js';

export const INDEX_FILE = 'server-uuid.index';
export const META_FILE = 'relay.meta';
/** DM.ts: the source id the relay directory belongs to (hidden; not part of DM's layout). */
export const SOURCE_MARK_FILE = '.dm-source';

/**
 * Make `relayDir` the relay of `sourceId`: a relay left there by another source (the worker was
 * bound to it before) is removed (its index and the sub-directories it lists), as DM purges the
 * relay directory of a previous source. Returns the removed sub-directories.
 */
export function claimRelayDir(relayDir: string, sourceId: string): string[] {
  ensureDir(relayDir);
  const mark = join(relayDir, SOURCE_MARK_FILE);
  const owner = existsSync(mark) ? readFileSync(mark, 'utf8').trim() : undefined;
  let removed: string[] = [];
  if (owner !== undefined && owner !== sourceId) {
    removed = readIndex(relayDir);
    for (const sub of removed) {
      parseSubDir(sub); // never remove anything that is not a relay sub-directory
      rmSync(join(relayDir, sub), { recursive: true, force: true });
    }
    rmSync(join(relayDir, INDEX_FILE), { force: true });
  }
  if (owner !== sourceId) writeFileAtomic(relayDir, SOURCE_MARK_FILE, `${sourceId}\n`);
  return removed;
}

export interface RelayMetaData {
  binlogName: string;
  binlogPos: number;
  binlogGtid: string;
}

/** Write a file atomically: temp file, fsync, rename, fsync of the directory. */
export function writeFileAtomic(dir: string, name: string, text: string): void {
  const tmp = join(dir, `.${name}.tmp`);
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, name));
  } catch (e) {
    throw new DMError('ErrRelayWriteFile', `write ${join(dir, name)}: ${(e as Error).message}`, { cause: e });
  }
  fsyncDir(dir);
}

export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // some file systems refuse fsync on a directory: the rename is still atomic
  }
}

export function readIndex(relayDir: string): string[] {
  const p = join(relayDir, INDEX_FILE);
  if (!existsSync(p)) return [];
  return readFileSync(p, 'utf8')
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function writeIndex(relayDir: string, subDirs: readonly string[]): void {
  writeFileAtomic(relayDir, INDEX_FILE, subDirs.map((s) => `${s}\n`).join(''));
}

/** `<uuid>.<n>` → parts; throws ErrRelayLayout on a bad name. */
export function parseSubDir(name: string): { uuid: string; n: number } {
  const m = /^(.+)\.(\d{6})$/.exec(name);
  if (!m) throw new DMError('ErrRelayLayout', `relay sub-directory ${JSON.stringify(name)} is not <server-uuid>.<NNNNNN>`);
  return { uuid: m[1]!, n: Number(m[2]) };
}

export function subDirName(uuid: string, n: number): string {
  return `${uuid}.${String(n).padStart(6, '0')}`;
}

/** TOML as DM writes it (BurntSushi/toml of LocalMeta). */
export function metaToToml(m: RelayMetaData): string {
  return `binlog-name = ${JSON.stringify(m.binlogName)}\nbinlog-pos = ${m.binlogPos}\nbinlog-gtid = ${JSON.stringify(m.binlogGtid)}\n`;
}

export function parseMetaToml(text: string, where: string): RelayMetaData {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z-]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    let v = m[2]!;
    if (v.startsWith('"')) {
      try {
        v = JSON.parse(v) as string;
      } catch {
        throw new DMError('ErrRelayLayout', `${where}: bad value of ${m[1]}`);
      }
    }
    out[m[1]!] = v;
  }
  const pos = Number(out['binlog-pos'] ?? '4');
  if (!Number.isInteger(pos) || pos < 0) throw new DMError('ErrRelayLayout', `${where}: binlog-pos must be a non-negative integer`);
  return { binlogName: out['binlog-name'] ?? '', binlogPos: pos, binlogGtid: out['binlog-gtid'] ?? '' };
}

export function readMeta(subDirPath: string): RelayMetaData | undefined {
  const p = join(subDirPath, META_FILE);
  if (!existsSync(p)) return undefined;
  return parseMetaToml(readFileSync(p, 'utf8'), p);
}

export function writeMeta(subDirPath: string, m: RelayMetaData): void {
  writeFileAtomic(subDirPath, META_FILE, metaToToml(m));
}

/** Numeric suffix of a binlog file name (`mysql-bin.000012` → 12), for ordering. */
export function binlogSeq(name: string): number {
  const m = /\.(\d+)$/.exec(name);
  return m ? Number(m[1]) : -1;
}

/** Binlog files of a sub-directory, in order. */
export function listBinlogFiles(subDirPath: string): string[] {
  if (!existsSync(subDirPath)) return [];
  return readdirSync(subDirPath)
    .filter((f) => /\.\d+$/.test(f) && !f.startsWith('.'))
    .sort((a, b) => binlogSeq(a) - binlogSeq(b) || a.localeCompare(b));
}

export function ensureDir(p: string): void {
  try {
    mkdirSync(p, { recursive: true });
  } catch (e) {
    throw new DMError('ErrRelayWriteFile', `create relay directory ${p}: ${(e as Error).message}`, { cause: e });
  }
}
