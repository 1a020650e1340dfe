/**
 * Relay purge (DM's purger: by time, by space, by file name, inactive), which never removes a
 * file a reader still needs. A file is *inactive* when it is before the active file (the relay's
 * last) and before the earliest position any registered reader still needs. Files are removed
 * oldest first, then the sub-directories left without a binlog file (and their index lines).
 */
import { readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { DMError } from '../../errors/index.js';
import { binlogSeq, listBinlogFiles, readIndex, writeIndex } from './layout.js';

/** A relay position a reader still needs: this file of this sub-directory and everything after. */
export interface RelayNeed {
  subDir: string;
  file: string;
  /** Who needs it (a task name), for the refusal message. */
  by?: string;
}

export interface RelayFileRef {
  subDir: string;
  file: string;
  path: string;
  mtimeMs: number;
}

export type PurgeRequest = { kind: 'inactive' } | { kind: 'time'; before: Date } | { kind: 'filename'; file: string; subDir?: string } | { kind: 'expires'; hours: number } | { kind: 'space' };

/** Every relay file in order (index order, then file sequence). */
export function relayFiles(relayDir: string): RelayFileRef[] {
  const out: RelayFileRef[] = [];
  for (const subDir of readIndex(relayDir)) {
    for (const file of listBinlogFiles(join(relayDir, subDir))) {
      const path = join(relayDir, subDir, file);
      out.push({ subDir, file, path, mtimeMs: statSync(path).mtimeMs });
    }
  }
  return out;
}

function cmp(subDirs: string[], a: { subDir: string; file: string }, b: { subDir: string; file: string }): number {
  const d = subDirs.indexOf(a.subDir) - subDirs.indexOf(b.subDir);
  if (d !== 0) return d;
  return binlogSeq(a.file) - binlogSeq(b.file);
}

/**
 * Purge files; returns the removed ones. `needs`: the readers' earliest needed positions. A
 * `filename` request that would remove a needed (or the active) file is refused with
 * ErrRelayPurgeNeeded and removes nothing.
 */
export function purgeRelay(relayDir: string, req: PurgeRequest, needs: RelayNeed[], now = Date.now()): RelayFileRef[] {
  const subDirs = readIndex(relayDir);
  const files = relayFiles(relayDir);
  if (files.length === 0) return [];
  const active = files[files.length - 1]!;
  let limit: { subDir: string; file: string } = active;
  for (const n of needs) {
    if (subDirs.includes(n.subDir) && cmp(subDirs, n, limit) < 0) limit = n;
  }
  const inactive = files.filter((f) => cmp(subDirs, f, limit) < 0);
  let victims: RelayFileRef[];
  switch (req.kind) {
    case 'inactive':
    case 'space':
      victims = inactive;
      break;
    case 'time':
      victims = inactive.filter((f) => f.mtimeMs < req.before.getTime());
      break;
    case 'expires':
      victims = req.hours > 0 ? inactive.filter((f) => f.mtimeMs < now - req.hours * 3_600_000) : [];
      break;
    case 'filename': {
      const subDir = req.subDir || active.subDir;
      if (!subDirs.includes(subDir)) throw new DMError('ErrRelayPurgeArgs', `relay sub-directory ${subDir} is not in ${relayDir}/server-uuid.index (${subDirs.join(', ')})`);
      const target = { subDir, file: req.file };
      if (cmp(subDirs, target, limit) > 0) {
        const who = (limit as RelayNeed).by;
        const why = limit === active ? `${active.subDir}/${active.file} is the active relay file` : `${who ? `task ${who}` : 'a task'} still needs ${limit.subDir}/${limit.file}`;
        throw new DMError('ErrRelayPurgeNeeded', `purge-relay --filename ${req.file}: ${why}`);
      }
      victims = files.filter((f) => cmp(subDirs, f, target) < 0);
      break;
    }
  }
  // oldest first, and only a prefix of the relay (never leave a hole)
  const removed: RelayFileRef[] = [];
  for (const f of files) {
    if (!victims.includes(f)) break;
    unlinkSync(f.path);
    removed.push(f);
  }
  // drop sub-directories (not the last) left without binlog files
  const keep: string[] = [];
  subDirs.forEach((s, i) => {
    const left = listBinlogFiles(join(relayDir, s));
    if (left.length === 0 && i < subDirs.length - 1) {
      rmSync(join(relayDir, s), { recursive: true, force: true });
    } else keep.push(s);
  });
  if (keep.length !== subDirs.length) writeIndex(relayDir, keep);
  return removed;
}

/**
 * The relay file a task needs when all that is known of it is an upstream position (its stored
 * checkpoint: the task is paused, waiting for an auto-resume, in its full phase, or its worker
 * restarted and its reader has not started). Relay files keep the upstream's names, so the file
 * is looked up by name, in the *earliest* sub-directory that has it (after an upstream switch a
 * name can be in two: keeping the earlier one keeps more). A position the relay does not hold
 * is kept conservatively: before the relay's first file, or not comparable with it (another
 * base name), keeps every file; after its last file (the task is ahead), nothing. Undefined:
 * the task needs no relay file now.
 */
export function needOfPosition(relayDir: string, pos: { file: string }, by?: string): RelayNeed | undefined {
  const files = relayFiles(relayDir);
  const first = files[0];
  const last = files[files.length - 1];
  if (!first || !last) return undefined;
  const hit = files.find((f) => f.file === pos.file);
  const tag = by !== undefined ? { by } : {};
  if (hit) return { subDir: hit.subDir, file: hit.file, ...tag };
  const base = (f: string): string => f.slice(0, f.lastIndexOf('.'));
  if (base(pos.file) === base(last.file) && binlogSeq(pos.file) > binlogSeq(last.file)) return undefined;
  return { subDir: first.subDir, file: first.file, ...tag };
}

/** Bytes used by the relay directory (for status and logs). */
export function relaySize(relayDir: string): number {
  let n = 0;
  for (const s of readIndex(relayDir)) {
    try {
      for (const f of readdirSync(join(relayDir, s))) n += statSync(join(relayDir, s, f)).size;
    } catch {
      // purged meanwhile
    }
  }
  return n;
}
