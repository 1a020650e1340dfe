/**
 * The worker's relay holder (DM's relayHolder + purger): runs the relay of the bound source when
 * the desired relay stage says so, and purges its files by the source's `purge` policy.
 *
 * A new relay (no relay in `relay-dir` yet) starts at `relay-binlog-name` / `relay-binlog-gtid`,
 * else, as DM, at the earliest upstream file the source's tasks need (their stored checkpoints,
 * given by the converger), else at the upstream's current file.
 *
 * Desired stage (level-triggered, from the converger): `source/relay-stage/<source>` when present
 * (start-relay / pause-relay / resume-relay / stop-relay write it), else `Running` when the source
 * config has `enable-relay: true`, else no relay. The relay lives in the worker's `relay-dir`
 * (docs/relay.md); one worker holds at most one relay (its bound source's).
 *
 * Subtasks that read the relay register the earliest position they still need
 * (`registerNeed`); purge (automatic or purge-relay) never removes such a file. A subtask of the
 * source whose reader is not running (paused, waiting for an auto-resume, in its full phase, or
 * not started yet after a worker restart) needs the relay from its stored checkpoint: the worker
 * gives those through `setStoredNeeds`, read at every purge. A subtask whose position cannot be
 * known (full phase before its snapshot, target unreachable) stops every purge, as DM forbids
 * purge while a subtask is in its Load unit: purge-relay answers ErrRelayPurgeNeeded naming it,
 * the automatic purge skips its round.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { DMError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { Registry } from '../metrics/index.js';
import { dbConnOf, parseSourceConfig, type SourceConfig } from '../config/index.js';
import { needOfPosition, purgeRelay, Relay, RelayMetrics, type PurgeRequest, type RelayFileRef, type RelayNeed, type RelayStatusSnapshot } from '../units/relay/index.js';

export type DesiredRelayStage = 'Running' | 'Paused' | 'Stopped';

/**
 * What a subtask without a running relay reader needs: the upstream position of its stored
 * checkpoint (or full-phase hand-off), or why it is not known; undefined: nothing (no sync unit).
 */
export type StoredNeed = { task: string; pos: { file: string; offset: number } } | { task: string; unknown: string };

export interface RelayHolderOptions {
  workerName: string;
  relayDir: string;
  logger: Logger;
  registry: Registry;
  secretKey?: Buffer;
}

/** Server id of a worker's relay dump (stable per worker and source, distinct from the readers'). */
export function relayServerId(workerName: string, sourceId: string): number {
  const h = createHash('sha256').update(`relay\u0000${workerName}\u0000${sourceId}`).digest();
  return 2_000_000_000 + (h.readUInt32BE(0) % 1_000_000_000);
}

export class RelayHolder {
  private relay: Relay | undefined;
  private source: string | undefined;
  private configText: string | undefined;
  private cfg: SourceConfig | undefined;
  private readonly needs = new Map<string, () => RelayNeed | undefined>();
  private storedNeeds: (() => Promise<StoredNeed[]>) | undefined;
  /** The earliest upstream file the bound source's tasks need (where a new relay starts, as DM). */
  private tasksStartFile: (() => Promise<string | undefined>) | undefined;
  private readonly metrics: RelayMetrics;
  private purgeTimer: NodeJS.Timeout | undefined;
  /** An automatic purge round is reading the stored needs (rounds never overlap). */
  private purging = false;
  private readonly log: Logger;

  constructor(private readonly o: RelayHolderOptions) {
    this.metrics = new RelayMetrics(o.registry);
    this.log = o.logger.child({ component: 'relay-holder' });
  }

  get dir(): string {
    return resolve(this.o.relayDir);
  }

  /** The running relay of the bound source, if any (the relay reader subscribes to it). */
  get current(): Relay | undefined {
    return this.relay;
  }

  /**
   * Converge to the desired state: `source` bound with `sourceYaml`, the relay stage record
   * (undefined = no key: follow `enable-relay`).
   */
  async converge(source: string | undefined, sourceYaml: string | undefined, stageKey: DesiredRelayStage | undefined, tasksStartFile?: () => Promise<string | undefined>): Promise<void> {
    if (source === undefined || sourceYaml === undefined) return this.stop('unbound');
    this.tasksStartFile = tasksStartFile;
    let cfg = this.cfg;
    if (source !== this.source || sourceYaml !== this.configText) {
      cfg = parseSourceConfig(sourceYaml, { file: `source ${source}`, ...(this.o.secretKey ? { secretKey: this.o.secretKey } : {}) });
    }
    const desired: DesiredRelayStage = stageKey ?? (cfg!.enableRelay ? 'Running' : 'Stopped');
    if (desired === 'Stopped') return this.stop('relay stage Stopped');
    const changed = source !== this.source || sourceYaml !== this.configText;
    if (this.relay && changed) await this.stop('source config changed');
    if (!this.relay) {
      this.source = source;
      this.configText = sourceYaml;
      this.cfg = cfg;
      const c = cfg!;
      this.relay = new Relay({
        sourceId: source,
        conn: dbConnOf(c.from, `source ${source}: from`),
        enableGtid: c.enableGtid,
        relayDir: this.dir,
        serverId: relayServerId(this.o.workerName, source),
        ...(c.relayBinlogName ? { relayBinlogName: c.relayBinlogName } : {}),
        ...(c.relayBinlogGtid ? { relayBinlogGtid: c.relayBinlogGtid } : {}),
        startFile: async () => {
          try {
            return await this.tasksStartFile?.();
          } catch (e) {
            this.log.warn({ err: e }, "reading the tasks' checkpoints for the relay start failed");
            return undefined;
          }
        },
        logger: this.o.logger,
        metrics: this.metrics,
      });
      this.log.info({ source, dir: this.dir }, 'relay starting');
      this.relay.start();
      this.schedulePurge();
    }
    const st = this.relay.status();
    if (desired === 'Paused' && !st.userPaused) this.relay.pause();
    if (desired === 'Running' && st.userPaused) this.relay.resume();
  }

  private async stop(reason: string): Promise<void> {
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    this.purgeTimer = undefined;
    const r = this.relay;
    this.relay = undefined;
    this.source = undefined;
    this.configText = undefined;
    this.cfg = undefined;
    if (r) {
      this.log.info({ reason }, 'relay stopping');
      await r.close();
      this.metrics.forget();
    }
  }

  /** A reader says which relay file it still needs; the returned function unregisters it. */
  registerNeed(name: string, need: () => RelayNeed | undefined): () => void {
    this.needs.set(name, need);
    return () => this.needs.delete(name);
  }

  /** The worker's subtasks without a running relay reader: their stored positions (read at every purge). */
  setStoredNeeds(fn: () => Promise<StoredNeed[]>): void {
    this.storedNeeds = fn;
  }

  private currentNeeds(): RelayNeed[] {
    const out: RelayNeed[] = [];
    for (const [name, fn] of this.needs) {
      try {
        const n = fn();
        if (n) out.push(n);
      } catch (e) {
        this.log.warn({ err: e, reader: name }, 'relay need callback failed');
      }
    }
    return out;
  }

  /**
   * purge-relay: refused (ErrRelayNotRunning) when this worker has no relay, and
   * (ErrRelayPurgeNeeded) while a subtask's position is unknown or a `filename` purge would remove
   * a needed file.
   */
  async purge(req: PurgeRequest): Promise<RelayFileRef[]> {
    if (!this.relay) throw new DMError('ErrRelayNotRunning', `worker ${this.o.workerName} has no relay running`);
    const stored = this.storedNeeds ? await this.storedNeeds() : [];
    const needs = this.currentNeeds();
    for (const s of stored) {
      if ('unknown' in s) {
        throw new DMError('ErrRelayPurgeNeeded', `no relay file is purged while the position task ${s.task} needs is not known: ${s.unknown}`);
      }
      const n = needOfPosition(this.dir, s.pos, s.task);
      if (n) needs.push(n);
    }
    if (!this.relay) throw new DMError('ErrRelayNotRunning', `worker ${this.o.workerName} has no relay running`);
    const removed = purgeRelay(this.dir, req, needs);
    this.metrics.purged.inc(removed.length);
    if (removed.length > 0) this.log.info({ files: removed.map((f) => `${f.subDir}/${f.file}`), req: req.kind }, 'relay files purged');
    return removed;
  }

  /** Automatic purge every `purge.interval` seconds: by `expires` and by `remain-space`. */
  private schedulePurge(): void {
    const p = this.cfg?.purge;
    if (!p || p.interval <= 0) return;
    this.purgeTimer = setInterval(() => void this.autoPurge(), p.interval * 1000);
    this.purgeTimer.unref();
  }

  /** One automatic purge round (also called by tests through `autoPurge`); never throws. */
  async autoPurge(): Promise<RelayFileRef[]> {
    const p = this.cfg?.purge;
    if (!p || !this.relay || this.purging) return [];
    this.purging = true;
    const removed: RelayFileRef[] = [];
    try {
      if (p.expires > 0) removed.push(...(await this.purge({ kind: 'expires', hours: p.expires })));
      const space = this.metrics.updateSpace(this.dir);
      if (space && p.remainSpace > 0 && space.available < p.remainSpace * 1024 ** 3) {
        this.log.warn({ availableBytes: space.available, remainSpaceGB: p.remainSpace }, 'relay space low: purging inactive relay files');
        removed.push(...(await this.purge({ kind: 'space' })));
      }
    } catch (e) {
      this.log.warn({ err: e }, 'automatic relay purge skipped');
    } finally {
      this.purging = false;
    }
    return removed;
  }

  status(): RelayStatusSnapshot | undefined {
    return this.relay?.status();
  }

  async close(): Promise<void> {
    await this.stop('worker closing');
  }
}
