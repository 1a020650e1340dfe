import type { DMErrorJSON } from '../errors/index.js';
import { DMError, toDMError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { Registry } from '../metrics/index.js';
import type { Stage, Unit, UnitType } from '../units/index.js';
import type { SchemaOpRequest } from '../units/sync/index.js';
import { createUnits, type PipelineContext, type PipelineInput } from './pipeline.js';
import { Backoff, aborted } from '../util/index.js';
import type { ContinuousValidator, DesiredValidation, ValidatorStatus } from '../units/validate/index.js';
import { DEFAULT_CHECKER_BACKOFF_MAX_MS, DEFAULT_CHECKER_BACKOFF_MIN_MS } from '../config/index.js';

/** Auto-resume backoff bounds: src/config's (source.yaml `checker.backoff-min` / `backoff-max` defaults, DM's). */
export const AUTO_RESUME_MIN_MS = DEFAULT_CHECKER_BACKOFF_MIN_MS;
export const AUTO_RESUME_MAX_MS = DEFAULT_CHECKER_BACKOFF_MAX_MS;

export interface SubtaskStatus {
  name: string;
  source: string;
  worker: string;
  stage: Stage;
  unit: UnitType | '';
  errors: DMErrorJSON[];
  /** Who paused it: the user (desired stage) or an error. */
  pausedBy: 'user' | 'error' | '';
  units: { type: UnitType; status: Record<string, unknown> }[];
  /** Auto-resumes done by the task checker. */
  autoResumes: number;
  updatedAt: Date;
  /** The continuous validator (subtasks with a sync unit). */
  validator?: ValidatorStatus;
}

export interface SubtaskOptions {
  input: PipelineInput;
  logger: Logger;
  registry: Registry;
  workerName: string;
  relayDir?: string;
  /** Builds the units (default: createUnits of src/worker/pipeline.ts). */
  unitsFactory?: (input: PipelineInput, ctx: SubtaskPipelineContext) => Unit[];
  /** Extra context for the pipeline (binlog operations, secret key). */
  pipelineExtras?: Partial<PipelineContext>;
  /** Called on every stage change (metrics). */
  onStage?: (stage: Stage) => void;
  /** Called when a unit ends with errors (metrics: DM's `*_exit_with_error_count`). */
  onUnitError?: (unit: UnitType, errors: DMErrorJSON[]) => void;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** Context handed to createUnits: PipelineContext plus the detail handed from unit to unit. */
export type SubtaskPipelineContext = PipelineContext & { detail: Record<string, unknown> };

/**
 * One subtask (a task on one source): runs the units of `createUnits` in order.
 *
 * Stage machine: New → Running → Paused → Running → Stopped | Finished.
 * - a unit's errors pause the subtask (errors kept for query-status); when every error is
 *   retryable the task checker resumes it with backoff 1 s → 5 min; a user pause is never auto-resumed;
 * - each unit's ProcessResult.detail is merged into `ctx.detail` for the next unit;
 * - with no units (pipeline not wired yet) the subtask stays Running until paused or stopped.
 */
export class Subtask {
  private stage: Stage = 'New';
  private units: Unit[] = [];
  private idx = 0;
  private readonly inited = new Set<number>();
  private processedOnce = new Set<number>();
  private ac: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private errors: DMErrorJSON[] = [];
  private pausedBy: 'user' | 'error' | '' = '';
  private readonly backoff: Backoff;
  private retryTimer: NodeJS.Timeout | undefined;
  private autoResumes = 0;
  private updatedAt = new Date();
  private readonly ctx: SubtaskPipelineContext;
  private readonly log: Logger;

  constructor(private readonly o: SubtaskOptions) {
    this.log = o.logger.child({ component: 'subtask', task: o.input.taskName, source: o.input.sourceId });
    this.backoff = new Backoff({ initialDelayMs: o.minBackoffMs ?? AUTO_RESUME_MIN_MS, maxDelayMs: o.maxBackoffMs ?? AUTO_RESUME_MAX_MS, jitter: false });
    this.ctx = {
      logger: this.log,
      registry: o.registry,
      workerName: o.workerName,
      ...(o.relayDir ? { relayDir: o.relayDir } : {}),
      ...(o.pipelineExtras ?? {}),
      detail: {},
    };
  }

  get name(): string {
    return this.o.input.taskName;
  }
  /** The task and source this subtask was built from. */
  get input(): PipelineInput {
    return this.o.input;
  }
  get stageName(): Stage {
    return this.stage;
  }
  /** Paused because the desired stage says so (not by an error). */
  get isUserPaused(): boolean {
    return this.stage === 'Paused' && this.pausedBy === 'user';
  }

  private setStage(s: Stage): void {
    if (this.stage === s) return;
    this.log.info({ from: this.stage, to: s }, 'subtask stage');
    this.stage = s;
    this.updatedAt = new Date();
    this.o.onStage?.(s);
  }

  /** The continuous validator of the subtask (built with the sync unit), if any. */
  get validator(): ContinuousValidator | undefined {
    return this.ctx.validator;
  }

  private desiredValidation: DesiredValidation | undefined;
  private validationOp: Promise<void> = Promise.resolve();

  /**
   * What the leader asks of the validator (`task/validator/<source>/<task>`), or undefined: the
   * task config's `validators` mode decides. Applied in order, after the units are built.
   */
  setValidation(d: DesiredValidation | undefined): Promise<void> {
    this.desiredValidation = d;
    const v = this.ctx.validator;
    if (!v) return Promise.resolve();
    this.validationOp = this.validationOp.then(() => v.setDesired(this.desiredValidation ?? v.configured())).catch((err: unknown) => this.log.warn({ err }, 'validator stage not applied'));
    return this.validationOp;
  }

  /** Build the units and enter `initial` (Running runs them; Paused waits for resume). */
  start(initial: 'Running' | 'Paused'): void {
    if (this.stage !== 'New') return;
    try {
      this.units = (this.o.unitsFactory ?? createUnits)(this.o.input, this.ctx);
      void this.setValidation(this.desiredValidation);
    } catch (e) {
      this.errors = [toDMError(e, 'ErrWorkerSubtaskConfig').toJSON()];
      this.pausedBy = 'error';
      this.setStage('Paused');
      return;
    }
    if (initial === 'Paused') {
      this.pausedBy = 'user';
      this.setStage('Paused');
      return;
    }
    this.runFrom();
  }

  private runFrom(): void {
    this.errors = [];
    this.pausedBy = '';
    this.setStage('Running');
    const ac = new AbortController();
    this.ac = ac;
    this.loop = this.run(ac.signal);
  }

  private async run(signal: AbortSignal): Promise<void> {
    if (this.units.length === 0) {
      await aborted(signal);
      return;
    }
    while (this.idx < this.units.length) {
      const unit = this.units[this.idx];
      if (!unit) break;
      try {
        if (!this.inited.has(this.idx)) {
          await unit.init(signal);
          this.inited.add(this.idx);
        }
      } catch (e) {
        if (signal.aborted) return;
        const errs = [toDMError(e, 'ErrInternal').toJSON()];
        this.o.onUnitError?.(unit.type, errs);
        this.onErrors(errs);
        return;
      }
      const first = !this.processedOnce.has(this.idx);
      this.processedOnce.add(this.idx);
      let r;
      try {
        r = first ? await unit.process(signal) : await unit.resume(signal);
      } catch (e) {
        r = { isCanceled: false, errors: [toDMError(e, 'ErrInternal').toJSON()] };
      }
      if (r.isCanceled || signal.aborted) return;
      if (r.errors.length > 0) {
        this.o.onUnitError?.(unit.type, r.errors);
        this.onErrors(r.errors);
        return;
      }
      if (r.detail) Object.assign(this.ctx.detail, r.detail);
      this.backoff.reset();
      this.idx++;
    }
    this.setStage('Finished');
  }

  private onErrors(errors: DMErrorJSON[]): void {
    this.errors = errors;
    this.pausedBy = 'error';
    this.setStage('Paused');
    this.log.warn({ errors }, 'subtask paused by an error');
    const retryable = errors.every((e) => e.retryable);
    if (retryable) {
      const wait = this.backoff.next();
      this.log.info({ inMs: wait }, 'task checker: auto-resume scheduled');
      const fire = (): void => {
        this.retryTimer = undefined;
        // a binlog-schema update/delete in flight finishes first: the resumed unit reads what it wrote
        if (this.schemaOp) {
          void this.schemaOp.then(fire, fire);
          return;
        }
        if (this.stage === 'Paused' && this.pausedBy === 'error') {
          this.autoResumes++;
          this.runFrom();
        }
      };
      this.retryTimer = setTimeout(fire, wait);
      this.retryTimer.unref();
    }
  }

  private async haltLoop(): Promise<void> {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.units[this.idx]?.pause();
    this.ac?.abort();
    await this.loop;
    this.loop = undefined;
  }

  /** User pause (desired stage Paused). */
  async pause(): Promise<void> {
    if (this.stage === 'Paused') {
      this.pausedBy = 'user';
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      return;
    }
    if (this.stage !== 'Running') return;
    this.pausedBy = 'user';
    await this.haltLoop();
    this.setStage('Paused');
  }

  /**
   * Stop the running unit and resume it at once, so it opens its binlog reader again (the worker's
   * relay was stopped: a sync unit reading the relay goes on from the upstream). Only while Running.
   */
  async restartUnit(): Promise<void> {
    if (this.stage !== 'Running') return;
    await this.haltLoop();
    if (this.stage === 'Running') this.runFrom();
  }

  /** User resume (desired stage Running). */
  async resume(): Promise<void> {
    if (this.stage === 'New') return this.start('Running');
    if (this.schemaOp) await this.schemaOp.catch(() => undefined);
    if (this.stage !== 'Paused') return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.runFrom();
  }

  /**
   * `dmctl binlog-schema` (DM's SubTask.OperateSchema): `get` at any stage; `set`/`remove` only
   * while Paused (ErrWorkerNotPausedStage), as the sync unit reloads the structures when it resumes.
   * Returns the reply message (the CREATE TABLE statement for `get`).
   */
  async operateSchema(req: SchemaOpRequest): Promise<string> {
    const unit: (Unit & { operateSchema?: (r: SchemaOpRequest) => Promise<string> }) | undefined = this.units.find((u) => u.type === 'Sync');
    if (!unit?.operateSchema) throw new DMError('ErrWorkerOperSyncUnitOnly', `subtask ${this.name} has no sync unit (task-mode full, or its units could not be built: see query-status)`);
    if (req.op !== 'get' && this.stage !== 'Paused') {
      throw new DMError('ErrWorkerNotPausedStage', `subtask ${this.name} on source ${this.o.input.sourceId} is ${this.stage}; binlog-schema ${req.op === 'set' ? 'update' : 'delete'} needs it Paused`);
    }
    if (req.op === 'get') return unit.operateSchema(req);
    while (this.schemaOp) await this.schemaOp.catch(() => undefined);
    const p = unit.operateSchema(req);
    this.schemaOp = p;
    try {
      const msg = await p;
      this.log.info({ op: req.op, database: req.database, table: req.table }, 'tracked table structure changed by hand');
      return msg;
    } finally {
      this.schemaOp = undefined;
    }
  }

  /** A binlog-schema update/delete in flight (resume waits for it). */
  private schemaOp: Promise<string> | undefined;

  /** Stop for good: abort the running unit, close every unit. Idempotent. */
  async stop(): Promise<void> {
    if (this.stage === 'Stopped') return;
    await this.haltLoop();
    await Promise.allSettled(this.units.map((u) => u.close()));
    await this.validationOp;
    await this.ctx.validator?.close();
    this.setStage('Stopped');
  }

  /** Before status(): the current unit re-reads what its status compares against (Unit.refreshStatus). */
  async refreshStatus(): Promise<void> {
    const unit = this.units[Math.min(this.idx, this.units.length - 1)];
    await unit?.refreshStatus?.().catch(() => undefined);
  }

  status(): SubtaskStatus {
    const unit = this.units[Math.min(this.idx, this.units.length - 1)];
    return {
      name: this.o.input.taskName,
      source: this.o.input.sourceId,
      worker: this.o.workerName,
      stage: this.stage,
      unit: unit?.type ?? '',
      errors: this.errors,
      pausedBy: this.pausedBy,
      units: this.units.map((u) => {
        let status: Record<string, unknown>;
        try {
          status = u.status();
        } catch (e) {
          status = { error: (e as Error).message };
        }
        return { type: u.type, status };
      }),
      autoResumes: this.autoResumes,
      updatedAt: this.updatedAt,
      ...(this.ctx.validator?.active() ? { validator: this.ctx.validator.status() } : {}),
    };
  }
}
