/**
 * The two wrappers the worker puts around each full-phase unit of a subtask (task-mode all/full):
 *
 * - capturingHandOff: keeps the hand-off (`{ startPos, safeModeUntil? }`) a unit's successful
 *   process() returns, for the sync unit of the same pipeline (in process; after a restart the
 *   sync unit reads it from the target instead, src/units/meta-tables.ts readFullPhaseHandOff);
 * - skippedWhenFinished: the unit does nothing when the full phase already finished for good (a
 *   subtask rebuilt after a worker restart or transfer-source goes straight to sync: the Load
 *   unit's checks compare with the source as it is now, which DDL not yet replayed by sync may
 *   have changed).
 */
import { toDMError } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import type { ProcessResult, Unit } from '../unit.js';

/** A binlog position as handed over in a ProcessResult's detail. */
export interface HandOffPos {
  file: string;
  offset: number;
  gtid?: string;
}

/** What a full phase hands to sync, as the `detail` of its last unit's ProcessResult. */
export interface FullPhaseDetail {
  startPos: HandOffPos;
  safeModeUntil?: HandOffPos;
}

/** Shared between the units of one pipeline: the full phase's hand-off to sync. */
export interface HandOffBox {
  detail?: FullPhaseDetail;
}

function isPos(v: unknown): v is HandOffPos {
  const o = v as { file?: unknown; offset?: unknown } | null;
  return typeof o === 'object' && o !== null && typeof o.file === 'string' && typeof o.offset === 'number';
}

/** The hand-off in a ProcessResult's detail, if it holds one. */
export function handOffOf(d: Record<string, unknown> | undefined): FullPhaseDetail | undefined {
  if (!d || !isPos(d['startPos'])) return undefined;
  const until = d['safeModeUntil'];
  return { startPos: d['startPos'], ...(isPos(until) ? { safeModeUntil: until } : {}) };
}

/** `u` with process/resume (and status) replaced; everything else delegated. */
function around(u: Unit, run: (s: AbortSignal, f: (s: AbortSignal) => Promise<ProcessResult>) => Promise<ProcessResult>, status?: () => Record<string, unknown>): Unit {
  return {
    get type() {
      return u.type;
    },
    init: (s) => u.init(s),
    process: (s) => run(s, (x) => u.process(x)),
    pause: () => u.pause(),
    resume: (s) => run(s, (x) => u.resume(x)),
    close: () => u.close(),
    status: status ?? (() => u.status()),
    ...(u.refreshStatus ? { refreshStatus: () => (u.refreshStatus ? u.refreshStatus() : Promise.resolve()) } : {}),
    ...(u.isFreshTask ? { isFreshTask: () => (u.isFreshTask ? u.isFreshTask() : Promise.resolve(true)) } : {}),
  };
}

/** Wraps a full-phase unit to capture the hand-off `detail` its process() returns into `box`. */
export function capturingHandOff(u: Unit, box: HandOffBox): Unit {
  return around(u, async (s, f) => {
    const r = await f(s);
    const h = handOffOf(r.detail);
    if (!r.isCanceled && r.errors.length === 0 && h) box.detail = h;
    return r;
  });
}

/**
 * Wraps a full-phase unit so that it does nothing when `finished` says the full phase already
 * finished (asked at each process()/resume(); see finishedOnce).
 */
export function skippedWhenFinished(u: Unit, finished: () => Promise<boolean>, log: Logger): Unit {
  let skip = false;
  return around(
    u,
    async (s, f) => {
      try {
        skip = await finished();
      } catch (e) {
        return { isCanceled: s.aborted, errors: s.aborted ? [] : [toDMError(e, 'ErrLoadCheckpoint').toJSON()] };
      }
      if (!skip) return f(s);
      log.info({ unit: u.type }, 'full phase already finished: unit skipped, sync starts from its hand-off');
      return { isCanceled: false, errors: [] };
    },
    () => (skip ? { unit: u.type, stage: 'Finished', skipped: 'full phase finished before this subtask was built' } : u.status()),
  );
}

/** `ask` memoised once it answers (asked once per pipeline); a failed answer is asked again next time. */
export function finishedOnce(ask: () => Promise<boolean>): () => Promise<boolean> {
  let finished: Promise<boolean> | undefined;
  return () =>
    (finished ??= ask().catch((e: unknown) => {
      finished = undefined; // asked again at the next attempt
      throw e;
    }));
}
