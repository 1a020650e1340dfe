/**
 * What the Dump and Load units share: the lifecycle around their work on the one FullSession of
 * a subtask (`New → Running → Paused → Finished | Stopped`). process() runs the unit's work under
 * a signal that pause() aborts; a failure releases the snapshot connections, pauses the unit and
 * shows as its error (a cancellation shows as canceled, not as an error); close() pauses and
 * awaits the work.
 */
import type { Registry } from 'prom-client';
import { DMError, toDMError, type ErrorCodeName } from '../../errors/index.js';
import { silentLogger, type Logger } from '../../log/index.js';
import { canceledResult, errorResult, okResult, type ProcessResult, type Unit } from '../unit.js';
import type { FullSession } from './full-session.js';

export type FullPhaseStage = 'New' | 'Running' | 'Paused' | 'Finished' | 'Stopped';

export abstract class FullPhaseUnit implements Unit {
  abstract readonly type: 'Dump' | 'Load';
  protected readonly session: FullSession;
  protected readonly log: Logger;
  protected stage: FullPhaseStage = 'New';
  protected lastError: DMError | undefined;
  private pauseCtl: AbortController | undefined;
  private running: Promise<ProcessResult> | undefined;
  private closed = false;

  /**
   * @param name `dump` | `load`: the logger's `unit` field and the words of its messages
   * @param failure the code of an error that has none of its own
   */
  protected constructor(
    session: FullSession,
    deps: { log?: Logger; registry?: Registry },
    private readonly name: 'dump' | 'load',
    private readonly failure: ErrorCodeName,
  ) {
    this.session = session;
    this.log = (deps.log ?? session.log ?? silentLogger).child({ unit: name });
  }

  /** The unit's work; resolves to its result detail. */
  protected abstract run(signal: AbortSignal): Promise<Record<string, unknown>>;

  async init(_signal: AbortSignal): Promise<void> {}

  process(signal: AbortSignal): Promise<ProcessResult> {
    const ctl = new AbortController();
    this.pauseCtl = ctl;
    const sig = AbortSignal.any([signal, ctl.signal]);
    this.stage = 'Running';
    this.lastError = undefined;
    const p = this.run(sig).then(
      (detail) => {
        this.stage = 'Finished';
        return okResult(detail);
      },
      async (e: unknown) => {
        await this.session.releaseSnapshot();
        this.stage = 'Paused';
        if (sig.aborted) return canceledResult();
        const d = toDMError(e, this.failure);
        this.lastError = d;
        this.log.error({ err: d, code: d.code }, this.name === 'dump' ? 'dump failed' : 'load failed');
        return errorResult(d.toJSON());
      },
    );
    this.running = p;
    return p;
  }

  pause(): void {
    this.pauseCtl?.abort(new DMError('ErrCanceled', this.name === 'dump' ? 'dump paused' : 'load paused'));
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
    await this.releaseAtClose();
    this.stage = 'Stopped';
  }

  /** What the unit releases at close, after its work ended. */
  protected async releaseAtClose(): Promise<void> {}

  abstract status(): Record<string, unknown>;
}
