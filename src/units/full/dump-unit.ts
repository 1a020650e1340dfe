import type { Registry } from 'prom-client';
import type { Logger } from '../../log/index.js';
import { writeDumpFiles } from './dump-files.js';
import { retryPolicy } from './config.js';
import type { FullSession } from './full-session.js';
import { FullPhaseUnit } from './full-phase-unit.js';

/**
 * DM's Dump unit. task-mode full/all: take the consistent snapshot (or, on resume, a new one),
 * plan the chunks and persist the plan in the target meta-schema; the snapshot connections stay
 * open in the shared FullSession and the Load unit streams from them. task-mode dump: write
 * DM/mydumper-style files to the loader `dir`.
 */
export class DumpUnit extends FullPhaseUnit {
  readonly type = 'Dump' as const;

  constructor(session: FullSession, deps: { log?: Logger; registry?: Registry } = {}) {
    super(session, deps, 'dump', 'ErrDumpSnapshotFailed');
  }

  protected async run(sig: AbortSignal): Promise<Record<string, unknown>> {
    const s = this.session;
    const policy = retryPolicy(s.cfg.loader);
    policy.onRetry((r) => this.log.warn({ delayMs: r.delay }, 'dump retrying after retryable error'));
    if (s.cfg.taskMode === 'dump') {
      const md = await policy.execute(() => writeDumpFiles(s, sig), sig);
      return { startPos: md.position, ...(md.upperBound ? { safeModeUntil: md.upperBound } : {}), dir: s.cfg.loader.dir };
    }
    if (s.cfg.taskMode === 'load') return {};
    await policy.execute(() => s.prepare(sig), sig);
    return { ...(s.handOff() ?? {}), pendingChunks: s.pendingChunks().length };
  }

  status(): Record<string, unknown> {
    const st = this.session.progress.status();
    return {
      unit: 'Dump',
      stage: this.stage,
      snapshot: st['snapshot'],
      lockHoldMs: st['lockHoldMs'],
      totalTables: this.session.tables.size,
      totalChunks: st['totalChunks'],
      estimatedRows: st['estimatedRows'],
      estimatedBytes: st['estimatedBytes'],
      ...(this.lastError ? { error: this.lastError.toJSON() } : {}),
    };
  }
}
