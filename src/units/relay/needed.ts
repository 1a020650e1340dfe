/**
 * What the relay purger must keep: the earliest relay position each reader of the relay still
 * needs. A relay reader (src/binlog/relay-reader.ts) registers its start position and moves it
 * forward at every checkpoint its sync unit writes (a restart resumes from the checkpoint, so
 * nothing before it is needed again); it unregisters when it closes. A purge (automatic or
 * `purge-relay`) asks `mayPurge` for each file it would remove.
 *
 * One registry per dm-worker process (a worker holds one source's relay); tasks' readers are
 * independent entries. In-process only: a subtask whose reader is not running (paused, waiting
 * for an auto-resume, in its full phase, or not started yet after a worker restart) has no entry
 * here; the relay holder reads its stored checkpoint instead (src/worker/relay-holder.ts
 * `setStoredNeeds`, src/worker/pipeline.ts `storedRelayNeed`).
 *
 * Order of positions: sub-directories by their `server-uuid.index` order (the caller passes it),
 * files by binlog number inside a sub-directory, then offsets.
 */
import { compareFilePos, type RelayNeededPosition, type RelayNeedsSink } from '../../binlog/index.js';

export type { RelayNeededPosition, RelayNeedsSink };

export class RelayNeeds implements RelayNeedsSink {
  private readonly byReader = new Map<string, RelayNeededPosition>();

  set(id: string, pos: RelayNeededPosition | undefined): void {
    if (pos === undefined) this.byReader.delete(id);
    else this.byReader.set(id, { ...pos });
  }

  /** Every reader's need, by reader id. */
  list(): Map<string, RelayNeededPosition> {
    return new Map(this.byReader);
  }

  /** The earliest needed position over all readers (`subDirs`: the index order), undefined when none is registered. */
  earliest(subDirs: readonly string[]): RelayNeededPosition | undefined {
    let min: RelayNeededPosition | undefined;
    for (const p of this.byReader.values()) if (min === undefined || compareNeeded(p, min, subDirs) < 0) min = p;
    return min;
  }

  /**
   * Whether `file` of `subDir` may be removed: every registered reader needs only later files
   * (a file holding a needed position, or any later one, is kept).
   */
  mayPurge(subDir: string, file: string, subDirs: readonly string[]): boolean {
    const e = this.earliest(subDirs);
    if (e === undefined) return true;
    return compareNeeded({ subDir, file, offset: Number.MAX_SAFE_INTEGER }, e, subDirs) < 0;
  }
}

/** <0, 0, >0 in relay order (an unknown sub-directory sorts first: kept conservative by mayPurge's caller order). */
export function compareNeeded(a: RelayNeededPosition, b: RelayNeededPosition, subDirs: readonly string[]): number {
  if (a.subDir !== b.subDir) return subDirs.indexOf(a.subDir) - subDirs.indexOf(b.subDir);
  return compareFilePos(a, b);
}
