import type { Registry } from 'prom-client';
import { DMError, toDMError } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import { canceledResult, errorResult, okResult, type ProcessResult, type Unit } from '../unit.js';
import { writeDumpFiles } from './dump-files.js';
import { retryPolicy } from './config.js';
import type { FullSession } from './session.js';

/**
 * DM's Dump unit. task-mode full/all: take the consistent snapshot (or, on resume, a new one),
 * plan the chunks and persist the plan in the target meta-schema; the snapshot connections stay
 * open in the shared FullSession and the Load unit streams from them. task-mode dump: write
 * DM/mydumper-style files to the loader `dir`.
 */
export class DumpUnit implements Unit {
  readonly type = 'Dump' as const;
  private readonly session: FullSession;
  private readonly log: Logger;
  private pauseCtl: AbortController | undefined;
  private running: Promise<ProcessResult> | undefined;
  private stage: 'New' | 'Running' | 'Paused' | 'Finished' | 'Stopped' = 'New';
  private lastError: DMError | undefined;
  private closed = false;

  constructor(session: FullSession, deps: { log?: Logger; registry?: Registry } = {}) {
    this.session = session;
    this.log = (deps.log ?? session.log).child({ unit: 'dump' });
  }

  async init(_signal: AbortSignal): Promise<void> {}

  process(signal: AbortSignal): Promise<ProcessResult> {
    const ctl = new AbortController();
    this.pauseCtl = ctl;
    const sig = AbortSignal.any([signal, ctl.signal]);
    this.stage = 'Running';
    this.lastError = undefined;
    const s = this.session;
    const policy = retryPolicy(s.cfg.loader);
    policy.onRetry((r) => this.log.warn({ delayMs: r.delay }, 'dump retrying after retryable error'));
    const work = async (): Promise<Record<string, unknown>> => {
      if (s.cfg.taskMode === 'dump') {
        const md = await policy.execute(() => writeDumpFiles(s, sig), sig);
        return { startPos: md.position, ...(md.upperBound ? { safeModeUntil: md.upperBound } : {}), dir: s.cfg.loader.dir };
      }
      if (s.cfg.taskMode === 'load') return {};
      await policy.execute(() => s.prepare(sig), sig);
      return { ...(s.handOff() ?? {}), pendingChunks: s.pendingChunks().length };
    };
    const p = work().then(
      (detail) => {
        this.stage = 'Finished';
        return okResult(detail);
      },
      async (e: unknown) => {
        await s.releaseSnapshot();
        this.stage = 'Paused';
        if (sig.aborted) return canceledResult();
        const d = toDMError(e, 'ErrDumpSnapshotFailed');
        this.lastError = d;
        this.log.error({ err: d, code: d.code }, 'dump failed');
        return errorResult(d.toJSON());
      },
    );
    this.running = p;
    return p;
  }

  pause(): void {
    this.pauseCtl?.abort(new DMError('ErrCanceled', 'dump paused'));
  }

  async resume(signal: AbortSignal): Promise<ProcessResult> {
    if (this.running) await this.running.catch(() => undefined);
    return this.process(signal);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pause();
    if (this.running) await this.running.catch(() => undefined);
    this.stage = 'Stopped';
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
      ...(this.lastError ? { error: this.lastError.toJSON() } : {}),
    };
  }
}
