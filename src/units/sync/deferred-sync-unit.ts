/**
 * The sync unit as a subtask's pipeline holds it: the SyncUnit itself is built at the first
 * process(), because its configuration is known only then: the source's flavor (read at init)
 * and the position the full phase (if any) handed over. `dmctl binlog-schema` works before that
 * too (e.g. after a worker restart into Paused): it reads and writes the structures persisted
 * with the checkpoint over its own connections.
 */
import type { Flavor } from '../../binlog/position.js';
import { DMError, toDMError } from '../../errors/index.js';
import type { ProcessResult, Unit } from '../unit.js';
import { operateTrackedSchema, type SchemaOpContext, type SchemaOpRequest } from './binlog-schema.js';
import type { SyncConfig } from './config.js';
import { SyncUnit, type SyncUnitDeps } from './sync-unit.js';

export interface DeferredSyncUnitOptions {
  /** The source's flavor, at init (the source config's, or asked from the source). */
  flavor: (signal: AbortSignal) => Promise<Flavor>;
  /** The sync unit's configuration, at the first process(). */
  config: (flavor: Flavor) => Promise<SyncConfig>;
  /** What `dmctl binlog-schema` works on, the running unit's live structures aside. */
  schemaOps: (flavor: Flavor | undefined) => Omit<SchemaOpContext, 'live'>;
  deps: SyncUnitDeps;
}

export class DeferredSyncUnit implements Unit {
  readonly type = 'Sync' as const;
  private inner: SyncUnit | undefined;
  private initedInner = false;
  private flavor: Flavor | undefined;
  private closed = false;
  /**
   * Aborted by pause() while process() is still building or initialising the SyncUnit (it has no
   * run to stop yet): that process() then ends canceled instead of starting a run nobody stops.
   */
  private starting: AbortController | undefined;

  constructor(private readonly opts: DeferredSyncUnitOptions) {}

  async init(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    this.flavor = await this.opts.flavor(signal);
  }

  private async build(): Promise<SyncUnit> {
    if (this.inner) return this.inner;
    if (!this.flavor) throw new DMError('ErrInternal', 'sync unit used before init');
    const u = new SyncUnit(await this.opts.config(this.flavor), this.opts.deps);
    this.inner = u;
    return u;
  }

  async process(signal: AbortSignal): Promise<ProcessResult> {
    let u: SyncUnit;
    const starting = new AbortController();
    this.starting = starting;
    const stop = AbortSignal.any([signal, starting.signal]);
    try {
      u = await this.build();
      if (!this.initedInner) {
        await u.init(stop);
        this.initedInner = true;
      }
    } catch (e) {
      // a unit built but not initialised is dropped, its connections with it (the next process() builds again)
      const dropped = this.inner;
      this.inner = undefined;
      await dropped?.close().catch(() => undefined);
      return { isCanceled: stop.aborted, errors: stop.aborted ? [] : [toDMError(e, 'ErrInternal').toJSON()] };
    } finally {
      if (this.starting === starting) this.starting = undefined;
    }
    // paused while starting: no run (resume() starts one)
    if (stop.aborted) return { isCanceled: true, errors: [] };
    return u.process(signal);
  }

  /** `dmctl binlog-schema` on this subtask's tracked structures (the subtask checks the stage). */
  async operateSchema(req: SchemaOpRequest): Promise<string> {
    const inner = this.inner;
    // --sync only matters to an optimistic shard lock (DM ignores it otherwise); not sent yet: refused
    if (req.op === 'set' && req.sync && inner?.shardMode === 'optimistic') {
      throw new DMError('ErrMasterBinlogSchemaSyncUnsupported', `binlog-schema update of ${req.database}.${req.table} with --sync (the default) in an optimistic shard task: DM.ts does not send the structure to the shard DDL lock yet; add --sync=false`);
    }
    return operateTrackedSchema({ ...this.opts.schemaOps(this.flavor), ...(inner ? { live: () => inner.liveSchemas() } : {}) }, req);
  }

  pause(): void {
    this.starting?.abort(new DMError('ErrCanceled', 'sync unit paused'));
    this.inner?.pause();
  }

  async resume(signal: AbortSignal): Promise<ProcessResult> {
    if (!this.inner || !this.initedInner) return this.process(signal);
    return this.inner.resume(signal);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.inner?.close();
  }

  refreshStatus(): Promise<void> {
    return this.inner ? this.inner.refreshStatus() : Promise.resolve();
  }

  status(): Record<string, unknown> {
    return this.inner ? this.inner.status() : { stage: 'New' };
  }
}
