/**
 * The unit pipeline of one subtask (DESIGN.md §3), a factory only: from the task YAML and the
 * source YAML, build the units for the task-mode, in the order the subtask runs them:
 *
 *   all = dump → load → sync,  full = dump → load,  incremental = sync,  dump = dump.
 *
 * The units and their wrappers live with their owners: the full phase in src/units/full (the
 * hand-off capture and the finished-phase skip in unit-wrappers.ts), the sync unit built at its
 * first process() in src/units/sync/deferred-sync-unit.ts, the meta tables read here in
 * src/units/meta-tables.ts, the binlog operations in ./binlog-ops.ts. This file maps the resolved
 * task and source configs onto them.
 *
 * The sync unit starts from its own checkpoint when it has one (the unit decides), else from
 * the full phase's hand-off (the `detail` of the last full-phase unit, or the snapshot rows the
 * full phase keeps in the target meta schema), else from `start-task --start-time` (`start:
 * {time}`), else from the task's `meta`.
 */
import { createHash } from 'node:crypto';
import type { Connection } from 'mysql2/promise';
import { readFullPhaseFinished, readFullPhaseHandOff, readSnapshotSchemasAt, readSyncCheckpoint, type Unit } from '../units/index.js';
import type { Logger } from '../log/index.js';
import type { Registry } from '../metrics/index.js';
import {
  compileSubtask,
  dbConnOf,
  parseSourceConfig,
  DEFAULT_BINLOG_QUEUE_BYTES,
  DEFAULT_BINLOG_QUEUE_EVENTS,
  DEFAULT_CONSISTENCY,
  DEFAULT_LOAD_RETRY_ATTEMPTS,
  onlineDDLRulesOf,
  DEFAULT_LOAD_RETRY_INITIAL_DELAY_MS,
  DEFAULT_LOAD_RETRY_MAX_DELAY_MS,
  DEFAULT_SYNC_RETRY_TIMEOUT_MS,
  DEFAULT_SHARD_HOLD_DISK_BYTES,
  DEFAULT_SHARD_HOLD_MEM_BYTES,
  DEFAULT_SHARD_HOLD_MIN_FREE_BYTES,
  type SourceConfig,
  type SubtaskConfig,
} from '../config/index.js';
import { DMError } from '../errors/index.js';
import { connect, getFlavor, type ConnConfig } from '../sql/index.js';
import { compareFilePos, type Position } from '../binlog/position.js';
import { DeferredSyncUnit, SchemaStore, relayOrNetworkFactory, targetConnConfig, type ShardConfig, type ShardDDLClient, type StartSpec, type SyncConfig } from '../units/sync/index.js';
import { ContinuousValidator, validatorSettings } from '../units/validate/index.js';
import type { RelayNeedsSink } from '../binlog/index.js';
import { createRouter } from '../filter/index.js';
import { capturingHandOff, createFullUnits, finishedOnce, handOffOf, skippedWhenFinished, type DumperConfig, type FullPhaseDetail, type HandOffBox } from '../units/full/index.js';
import { parseExtraArgs } from '../config/extra-args.js';
import { droppedRuleReason, type EventFilterRule } from '../filter/index.js';
import { failedEventHandler, type BinlogOpStore } from './binlog-ops.js';
import type { RelayHolder, StoredNeed } from './relay-holder.js';

export interface PipelineContext {
  logger: Logger;
  registry: Registry;
  workerName: string;
  relayDir?: string;
  /** The worker's relay purger registry (src/units/relay/needed.ts): relay readers register what they still need. */
  relayNeeds?: RelayNeedsSink;
  /** Whether the worker runs the relay of this subtask's source now (`enable-relay`, or `start-relay`). */
  relayRunning?: () => boolean;
  /**
   * The worker's relay holder (docs/relay.md "In-process interface"): a relay reader follows
   * `relay.current` (onWrite) and registers the earliest relay file it still needs with
   * `relay.registerNeed`, so purge never removes it.
   */
  relay?: RelayHolder;
  /** etcd-backed binlog operations (skip/replace/inject) for this subtask; see etcdBinlogOps. */
  binlogOps?: BinlogOpStore;
  /** The shard DDL records in etcd (src/worker/shardddl-client.ts), for tasks with `shard-mode`. */
  shardDDL?: ShardDDLClient;
  /** Secret key for encrypted passwords in the YAML texts (default: the built-in key). */
  secretKey?: Buffer;
  /** Set by createUnits: the continuous validator the sync unit tells of its applied changes. */
  validator?: ContinuousValidator;
}

export interface PipelineInput {
  taskName: string;
  sourceId: string;
  /** task YAML text */
  taskYaml: string;
  /** source YAML text (password may be encrypted) */
  sourceYaml: string;
  /** `start-task --start-time` as an ISO instant (SubtaskRecord.startTime), passed by the converger. */
  startTime?: string;
  /** Safe mode for this many seconds when the sync unit starts (SubtaskRecord.safeModeSeconds). */
  safeModeSeconds?: number;
}

/** The start time of a subtask (SubtaskRecord.startTime), if any. */
export function subtaskStartTime(input: PipelineInput): Date | undefined {
  const iso = input.startTime;
  if (!iso) return undefined;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new DMError('ErrWorkerSubtaskConfig', `subtask ${input.taskName} has an invalid start time '${iso}'`);
  return d;
}

/** A deterministic server id for the binlog reader (source `server-id: 0` = pick one). */
export function readerServerId(workerName: string, sourceId: string, taskName: string): number {
  const h = createHash('sha256').update(`${workerName}\u0000${sourceId}\u0000${taskName}`).digest();
  return 1_000_000 + (h.readUInt32BE(0) % 1_000_000_000);
}

/** The task's `meta` as the sync unit's start. */
export function metaStart(sub: SubtaskConfig, enableGtid: boolean): StartSpec | undefined {
  const m = sub.meta;
  if (!m) return undefined;
  if (enableGtid && m.binlogGtid) return m.binlogName ? { file: m.binlogName, offset: m.binlogPos ?? 4, gtid: m.binlogGtid } : { gtid: m.binlogGtid };
  if (m.binlogName) return { file: m.binlogName, offset: m.binlogPos ?? 4 };
  // `binlog-gtid: ""` alone: the empty GTID set, i.e. from the oldest binlog the source has
  if (m.binlogGtid !== undefined) return { gtid: m.binlogGtid };
  return undefined;
}

/** `from` of the source, resolved (TLS files read once per loaded config). */
function sourceConn(src: SourceConfig): ConnConfig {
  return dbConnOf(src.from, `source ${src.sourceId}: from`);
}

/** `target-database` of the task, resolved (TLS files read once per loaded config). */
function targetConn(sub: SubtaskConfig): ConnConfig {
  return dbConnOf(sub.targetDatabase, `task ${sub.name}: target-database`);
}

/**
 * One read of the meta tables in the target (src/units/meta-tables.ts): `fallback` when it fails
 * (a table does not exist: no full phase ran, or an older version's).
 */
async function readMeta<T>(sub: SubtaskConfig, fallback: T, read: (c: Connection) => Promise<T>): Promise<T> {
  const c = await connect(targetConn(sub));
  try {
    return await read(c).catch(() => fallback);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * Whether the full phase of this subtask has finished for good (every chunk and every deferred
 * index done, as recorded in the target meta schema). A subtask rebuilt after that (worker
 * restart, transfer-source) goes straight to sync: the Load unit's checks compare with the
 * source as it is now, which DDL not yet replayed by sync may have changed.
 */
export async function fullPhaseFinished(sub: SubtaskConfig): Promise<boolean> {
  return readMeta(sub, false, (c) => readFullPhaseFinished(c, sub.metaSchema, sub.name, sub.sourceId));
}

/**
 * Where sync starts after the full phase: the hand-off of this pipeline's full phase, else the
 * one recorded in the target (after a restart), with the table structures recorded at its
 * snapshot (`<task>_load_schema`: the reader's tracker starts from them instead of the source's
 * current information_schema; read from the target every time, so a resumed or moved subtask
 * finds them too).
 */
async function fullPhaseStart(sub: SubtaskConfig, inProcess: FullPhaseDetail | undefined): Promise<{ start: StartSpec; safeModeUntil?: Position; startSchemas?: string } | undefined> {
  const h = inProcess ?? (await readMeta(sub, undefined, (c) => readFullPhaseHandOff(c, sub.metaSchema, sub.name, sub.sourceId)));
  if (!h) return undefined;
  const startSchemas = await readMeta(sub, undefined, (c) => readSnapshotSchemasAt(c, sub.metaSchema, sub.name, sub.sourceId, h.startPos));
  return {
    start: { file: h.startPos.file, offset: h.startPos.offset, ...(h.startPos.gtid ? { gtid: h.startPos.gtid } : {}) },
    ...(h.safeModeUntil ? { safeModeUntil: { file: h.safeModeUntil.file, offset: h.safeModeUntil.offset, gtid: h.safeModeUntil.gtid ?? '' } } : {}),
    ...(startSchemas ? { startSchemas } : {}),
  };
}

/** The sync unit's configuration for a source of `flavor`; `afterFullPhase`: start from the full phase's hand-off. */
async function syncConfig(sub: SubtaskConfig, src: SourceConfig, ctx: PipelineContext, flavor: SyncConfig['source']['flavor'], handOff: FullPhaseDetail | undefined, afterFullPhase: boolean, startTime?: Date, startSafeModeSec = 0): Promise<SyncConfig> {
  const full = afterFullPhase ? await fullPhaseStart(sub, handOff) : undefined;
  let start = full?.start;
  // --start-time wins over the task's meta; the sync unit uses `start` only without a checkpoint.
  if (!start && startTime) start = { time: startTime };
  start ??= metaStart(sub, src.enableGtid);
  const shard = shardConfig(sub, ctx);
  return {
    taskName: sub.name,
    sourceId: sub.sourceId,
    source: {
      ...sourceConn(src),
      flavor,
      serverId: src.serverId > 0 ? src.serverId : readerServerId(ctx.workerName, sub.sourceId, sub.name),
    },
    target: targetConn(sub),
    metaSchema: sub.metaSchema,
    enableGtid: src.enableGtid,
    caseSensitive: sub.caseSensitive,
    ...(sub.blockAllowList ? { baList: sub.blockAllowList } : {}),
    routes: sub.routeRules,
    filters: usableFilterRules([...src.filters, ...sub.filterRules], ctx.logger),
    expressionFilters: sub.expressionFilters,
    ...onlineDDLOf(sub),
    syncer: {
      workerCount: sub.syncer.workerCount,
      batch: sub.syncer.batch,
      checkpointFlushIntervalMs: sub.syncer.checkpointFlushInterval * 1000,
      // `safe-mode-duration` is in ms in the resolved task; the sync unit wants seconds
      safeModeDurationSec: sub.syncer.safeModeDuration / 1000,
      ...(startSafeModeSec > 0 ? { startSafeModeSec } : {}),
      safeMode: sub.syncer.safeMode,
      // not task keys (yet): src/config's named defaults
      retryTimeoutMs: DEFAULT_SYNC_RETRY_TIMEOUT_MS,
      maxQueueEvents: DEFAULT_BINLOG_QUEUE_EVENTS,
      maxQueueBytes: DEFAULT_BINLOG_QUEUE_BYTES,
    },
    ...(start ? { start } : {}),
    ...(full?.safeModeUntil ? { safeModeUntil: full.safeModeUntil } : {}),
    ...(full?.startSchemas ? { startSchemas: full.startSchemas } : {}),
    ...(ctx.binlogOps ? { onFailedEvent: failedEventHandler(ctx.binlogOps, ctx.logger) } : {}),
    ...(shard ? { shard } : {}),
  };
}

/** The task's online-DDL rules (DM's defaults filled in), as the units take them; nothing when `online-ddl: false`. */
function onlineDDLOf(sub: SubtaskConfig): { onlineDDL?: { shadowTableRules: readonly string[]; trashTableRules: readonly string[] } } {
  const r = onlineDDLRulesOf(sub);
  return r ? { onlineDDL: r } : {};
}

/**
 * Where the relay of `src` lives: the worker's `relay-dir` when set (DM >= 5.4: it takes
 * precedence over the source's), else the source's `relay-dir`.
 */
export function relayDirOf(src: SourceConfig, workerRelayDir: string | undefined): string {
  return workerRelayDir ?? src.relayDir;
}

/** `shard-mode` (or DM 1.0's `is-sharding: true`, folded into it by src/config): the coordination through etcd. */
export function shardConfig(sub: SubtaskConfig, ctx: Pick<PipelineContext, 'shardDDL'>): ShardConfig | undefined {
  if (sub.shardMode === '') return undefined;
  if (!ctx.shardDDL) throw new DMError('ErrWorkerSubtaskConfig', `task ${sub.name}: shard-mode ${sub.shardMode} needs the dm-master's lock keeper (etcd), which this subtask was built without`);
  // the spill file of held-back rows goes to os.tmpdir(): the worker has no data directory of its own
  return { mode: sub.shardMode, client: ctx.shardDDL, maxHoldBytes: DEFAULT_SHARD_HOLD_DISK_BYTES, memHoldBytes: DEFAULT_SHARD_HOLD_MEM_BYTES, minFreeDiskBytes: DEFAULT_SHARD_HOLD_MIN_FREE_BYTES, strictOptimistic: sub.strictOptimisticShardMode };
}

/** The sync unit of a subtask, built at its first process() (src/units/sync/deferred-sync-unit.ts). */
function syncUnit(sub: SubtaskConfig, src: SourceConfig, ctx: PipelineContext, box: HandOffBox, afterFullPhase: boolean, startTime?: Date, startSafeModeSec = 0): Unit {
  // the continuous validator: told of every applied change (src/units/sync/applied-sink.ts); its
  // stage comes from the leader or the task's `validators` mode (src/worker/subtask.ts setValidation)
  const validator = new ContinuousValidator({
    taskName: sub.name,
    sourceId: sub.sourceId,
    metaSchema: sub.metaSchema,
    target: targetConnConfig(targetConn(sub)),
    settings: validatorSettings(sub.validator),
    logger: ctx.logger,
    registry: ctx.registry,
  });
  ctx.validator = validator;
  const router = createRouter(sub.routeRules, { caseSensitive: sub.caseSensitive, sourceId: sub.sourceId });
  return new DeferredSyncUnit({
    flavor: async () => {
      if (src.flavor === 'mysql' || src.flavor === 'mariadb') return src.flavor;
      const c = await connect(sourceConn(src));
      try {
        return await getFlavor(c);
      } finally {
        await c.end().catch(() => undefined);
      }
    },
    config: (flavor) => {
      const shared = handOffOf((ctx as { detail?: Record<string, unknown> }).detail);
      return syncConfig(sub, src, ctx, flavor, box.detail ?? shared, afterFullPhase, startTime, startSafeModeSec);
    },
    schemaOps: (flavor) => ({
      store: new SchemaStore(sub.metaSchema, sub.name, sub.sourceId),
      ...(flavor ? { flavor } : {}),
      target: () => connect(targetConn(sub)),
      source: () => connect(sourceConn(src)),
      route: (schema, table) => router.route(schema, table),
      extractColumns: router.extractColumns,
    }),
    deps: {
      logger: ctx.logger,
      registry: ctx.registry,
      workerName: ctx.workerName,
      appliedSink: validator,
      // while the worker runs the source's relay (`enable-relay: true` or start-relay, not
      // stop-relay; without a relay holder: the flag), read its files instead of the binlog
      readerFactory: relayOrNetworkFactory(() => (ctx.relayRunning ? ctx.relayRunning() : src.enableRelay), { dir: relayDirOf(src, ctx.relayDir), ...(ctx.relayNeeds ? { needs: ctx.relayNeeds } : {}) }),
    },
  });
}

/** The binlog event filter rules DM would use: a rule naming an unknown event type is dropped with a warning, as DM does. */
function usableFilterRules(rules: readonly EventFilterRule[], log: Logger): EventFilterRule[] {
  return rules.filter((rule) => {
    const why = droppedRuleReason(rule);
    if (why !== undefined) log.warn({ rule: { schemaPattern: rule.schemaPattern, tablePattern: rule.tablePattern, events: rule.events, action: rule.action }, reason: why }, 'binlog event filter rule dropped');
    return why === undefined;
  });
}

/**
 * The dump settings of a subtask: the `mydumpers` keys, then the `extra-args` flags DM.ts
 * understands (they win, as in DM; the config check refused any other flag).
 */
export function dumperSettings(m: SubtaskConfig['mydumper']): DumperConfig {
  const x = parseExtraArgs(m.extraArgs).args;
  return {
    threads: x.threads ?? m.threads,
    // unset `rows` = DM.ts's chunk size (DEFAULT_CHUNK_ROWS), unset `where` = every row
    rows: x.rows ?? m.rows ?? 0,
    where: x.where ?? m.where ?? '',
    consistency: x.consistency ?? DEFAULT_CONSISTENCY,
    extraArgs: m.extraArgs,
    ...(x.databases || x.tables ? { only: { ...(x.databases ? { databases: x.databases } : {}), ...(x.tables ? { tables: x.tables } : {}) } } : {}),
  };
}

/** The full-phase units (dump, load) of a subtask (src/units/full), mapped from the resolved task config. */
function fullPhaseUnits(sub: SubtaskConfig, src: SourceConfig, ctx: PipelineContext): Unit[] {
  const f = sourceConn(src);
  const t = targetConn(sub);
  const onDup = sub.loader.onDuplicateLogical;
  const { units } = createFullUnits(
    {
      taskName: sub.name,
      sourceId: sub.sourceId,
      taskMode: sub.taskMode as 'all' | 'full' | 'dump' | 'load',
      source: f,
      target: t,
      metaSchema: sub.metaSchema,
      caseSensitive: sub.caseSensitive,
      ...(sub.blockAllowList ? { baList: sub.blockAllowList } : {}),
      routes: sub.routeRules,
      ...onlineDDLOf(sub),
      // complete: the full phase applies none of its own defaults to what the worker gives it
      mydumper: dumperSettings(sub.mydumper),
      loader: {
        poolSize: sub.loader.poolSize,
        dir: sub.loader.dir,
        onDuplicate: onDup === 'error' || onDup === 'ignore' ? onDup : 'replace',
        // logical/physical/loader/loaddata → LOAD DATA; sql → multi-row INSERTs (src/units/full/config.ts)
        importMode: sub.loader.importMode,
        cleanDumpFile: sub.cleanDumpFile,
        retryAttempts: DEFAULT_LOAD_RETRY_ATTEMPTS,
        retryInitialDelayMs: DEFAULT_LOAD_RETRY_INITIAL_DELAY_MS,
        retryMaxDelayMs: DEFAULT_LOAD_RETRY_MAX_DELAY_MS,
      },
    },
    { log: ctx.logger, registry: ctx.registry, workerName: ctx.workerName },
  );
  return units;
}

/**
 * What the relay purger must keep for a subtask whose relay reader is not running (paused,
 * waiting for an auto-resume, in its full phase, not started yet after a worker restart): the
 * position its sync unit will start from, read from the target — its checkpoint, else the full
 * phase's hand-off, else the task's `meta` file. Undefined: the subtask has no sync unit (task-mode
 * full/dump/load). `unknown`: the position cannot be known now (full phase before its snapshot,
 * a start by GTID or time, the target unreachable): the purger then removes nothing.
 */
export async function storedRelayNeed(input: PipelineInput, secretKey?: Buffer): Promise<StoredNeed | undefined> {
  const task = input.taskName;
  const opts = secretKey ? { secretKey } : {};
  let sub: SubtaskConfig;
  try {
    sub = compileSubtask(input.taskYaml, input.sourceId, { file: `task ${task}`, ...opts });
  } catch (e) {
    return { task, unknown: `its config cannot be compiled (${e instanceof Error ? e.message : String(e)})` };
  }
  const mode = sub.taskMode;
  if (mode !== 'all' && mode !== 'incremental' && mode !== 'load&sync') return undefined;
  let c: Connection | undefined;
  try {
    c = await connect(targetConn(sub));
    const cp = await readSyncCheckpoint(c, sub.metaSchema, sub.name, sub.sourceId);
    if (cp) return { task, pos: cp };
    if (mode !== 'incremental') {
      const h = await readFullPhaseHandOff(c, sub.metaSchema, sub.name, sub.sourceId).catch((e: unknown) => {
        if ((e as { errno?: number }).errno === 1146) return undefined; // ER_NO_SUCH_TABLE: the full phase has not started
        throw e;
      });
      if (h) return { task, pos: { file: h.startPos.file, offset: h.startPos.offset } };
      return { task, unknown: 'its full phase has not recorded its binlog position yet' };
    }
    const src = parseSourceConfig(input.sourceYaml, { file: `source ${input.sourceId}`, ...opts });
    const m = metaStart(sub, src.enableGtid);
    if (m && 'file' in m && m.file) return { task, pos: { file: m.file, offset: m.offset } };
    return { task, unknown: 'it has no checkpoint yet and its start is not a binlog file' };
  } catch (e) {
    return { task, unknown: `its checkpoint cannot be read from the target (${e instanceof Error ? e.message : String(e)})` };
  } finally {
    await c?.end().catch(() => undefined);
  }
}

/**
 * The earliest upstream binlog file the subtasks `inputs` need (their stored positions, see
 * storedRelayNeed); undefined when none is known. Where a new relay starts (DM's rule).
 */
export async function earliestStoredFile(inputs: readonly PipelineInput[], secretKey?: Buffer): Promise<string | undefined> {
  let best: string | undefined;
  for (const input of inputs) {
    const n = await storedRelayNeed(input, secretKey).catch(() => undefined);
    if (!n || !('pos' in n)) continue;
    if (best === undefined || compareFilePos({ file: n.pos.file, offset: 0 }, { file: best, offset: 0 }) < 0) best = n.pos.file;
  }
  return best;
}

/** Builds the ordered list of units for one subtask. Throws a config DMError on a bad task/source. */
export function createUnits(input: PipelineInput, ctx: PipelineContext): Unit[] {
  const opts = ctx.secretKey ? { secretKey: ctx.secretKey } : {};
  // the one compile of this subtask's config: the units get this typed object, never the text
  const sub = compileSubtask(input.taskYaml, input.sourceId, { file: `task ${input.taskName}`, ...opts });
  const src = parseSourceConfig(input.sourceYaml, { file: `source ${input.sourceId}`, ...opts });
  // read the TLS files now: a missing one is a config error of the subtask (ErrConfigTLSFile)
  sourceConn(src);
  targetConn(sub);
  const box: HandOffBox = {};
  const units: Unit[] = [];
  const mode = sub.taskMode;
  if (mode !== 'incremental') {
    // task-mode all/full: once recorded finished in the target, the full phase never runs again
    const once = finishedOnce(() => fullPhaseFinished(sub));
    const resumable = mode === 'all' || mode === 'full';
    // `load&sync` loads the dump files as `load` does, then syncs from their metadata position
    const full: SubtaskConfig = mode === 'load&sync' ? { ...sub, taskMode: 'load' } : sub;
    units.push(...fullPhaseUnits(full, src, ctx).map((u) => capturingHandOff(resumable ? skippedWhenFinished(u, once, ctx.logger) : u, box)));
  }
  if (mode === 'all' || mode === 'incremental' || mode === 'load&sync') {
    units.push(syncUnit(sub, src, ctx, box, mode !== 'incremental', subtaskStartTime(input), input.safeModeSeconds ?? 0));
  }
  return units;
}
