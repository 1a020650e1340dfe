/**
 * The unit pipeline of one subtask (DESIGN.md §3): from the task YAML and the source YAML,
 * build the units for the task-mode, in the order the subtask runs them:
 *
 *   all = dump → load → sync,  full = dump → load,  incremental = sync,  dump = dump.
 *
 * The sync unit starts from its own checkpoint when it has one (the unit decides), else from
 * the full phase's hand-off (the `detail` of the last full-phase unit, or the snapshot rows the
 * full phase keeps in the target meta schema), else from the task's `meta`.
 *
 * Also here: the worker side of the etcd-backed binlog operations (`dmctl binlog ...`; the
 * master stores them, src/master/binlog-ops.ts) the sync unit consults through its
 * `onFailedEvent` hook. `start-task --start-time` reaches the sync unit as `start: {time}`,
 * used only when the unit has no checkpoint yet.
 */
import { createHash } from 'node:crypto';
import type { Etcd3, Namespace } from 'etcd3';
import type { Connection } from 'mysql2/promise';
import type { Unit, ProcessResult } from '../units/index.js';
import type { Logger } from '../log/index.js';
import type { Registry } from '../metrics/index.js';
import { dbConnOf, parseSourceConfig, parseTaskConfig, resolveSubtask, type SourceConfig, type SubtaskConfig } from '../config/index.js';
import { DMError, toDMError } from '../errors/index.js';
import { connect, getFlavor, type ConnConfig } from '../sql/index.js';
import type { Flavor, Position } from '../binlog/position.js';
import { formatFilePos } from '../binlog/position.js';
import { operateTrackedSchema, SchemaStore, SyncUnit, type FailedEventDecision, type FailedEventInfo, type SchemaOpRequest, type StartSpec, type SyncConfig } from '../units/sync/index.js';
import { createRouter } from '../filter/index.js';
import { metaNames, type MetaNames } from '../units/dump/index.js';
import { createFullUnits } from '../units/load/index.js';
import { droppedRuleReason, type EventFilterRule } from '../filter/index.js';
import { binlogOpKey, type BinlogOpRecord, type Keys } from '../store/index.js';

// ---- binlog operations ----------------------------------------------------------------------

/** What the sync unit asks when the target rejects an event. */
export interface BinlogOpStore {
  /**
   * The pending operation for the failed event that ends at `pos` (`file:offset`), stored under
   * exactly that position (given with `-b`, or resolved by the master from the error the subtask
   * was paused on). The operation is removed once returned (it applies once); an operation for any
   * other position is left alone, so it never applies to an unrelated error.
   */
  take(pos: string): Promise<BinlogOpRecord | undefined>;
}

type KV = Etcd3 | Namespace;

/** The worker side: binlog operations of one subtask, kept in etcd under binlogOpKey. */
export function etcdBinlogOps(client: KV, keys: Keys, sourceId: string, taskName: string): BinlogOpStore {
  return {
    async take(pos: string): Promise<BinlogOpRecord | undefined> {
      const key = binlogOpKey(keys, sourceId, taskName, pos);
      const text = await client.get(key).string();
      if (text === null) return undefined;
      await client.delete().key(key);
      try {
        return JSON.parse(text) as BinlogOpRecord;
      } catch {
        return undefined;
      }
    },
  };
}

/** The sync unit's onFailedEvent, answering from the operation store. */
export function failedEventHandler(ops: BinlogOpStore, log?: Logger): (info: FailedEventInfo) => Promise<FailedEventDecision> {
  return async (info) => {
    const op = await ops.take(formatFilePos(info.pos));
    if (!op) return { action: 'fail' };
    log?.info({ op: op.op, pos: formatFilePos(info.pos), sql: info.sql }, 'applying binlog operation');
    if (op.op === 'skip') return { action: 'skip' };
    if (op.op === 'replace') return { action: 'replace', sql: op.sqls };
    return { action: 'replace', sql: [...op.sqls, ...info.sql] };
  };
}

// ---- pipeline ---------------------------------------------------------------------------------

export interface PipelineContext {
  logger: Logger;
  registry: Registry;
  workerName: string;
  relayDir?: string;
  /** etcd-backed binlog operations (skip/replace/inject) for this subtask; see etcdBinlogOps. */
  binlogOps?: BinlogOpStore;
  /** Secret key for encrypted passwords in the YAML texts (default: the built-in key). */
  secretKey?: Buffer;
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
}

/** The start time of a subtask (SubtaskRecord.startTime), if any. */
export function subtaskStartTime(input: PipelineInput): Date | undefined {
  const iso = input.startTime;
  if (!iso) return undefined;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new DMError('ErrWorkerSubtaskConfig', `subtask ${input.taskName} has an invalid start time '${iso}'`);
  return d;
}

/** What a full phase hands to sync, as the `detail` of its last unit's ProcessResult. */
export interface FullPhaseDetail {
  startPos: { file: string; offset: number; gtid?: string };
  safeModeUntil?: { file: string; offset: number; gtid?: string };
}

function isPos(v: unknown): v is { file: string; offset: number; gtid?: string } {
  const o = v as { file?: unknown; offset?: unknown } | null;
  return typeof o === 'object' && o !== null && typeof o.file === 'string' && typeof o.offset === 'number';
}

function asHandOff(d: Record<string, unknown> | undefined): FullPhaseDetail | undefined {
  if (!d || !isPos(d['startPos'])) return undefined;
  const until = d['safeModeUntil'];
  return { startPos: d['startPos'], ...(isPos(until) ? { safeModeUntil: until } : {}) };
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

/** Shared between the units of one pipeline: the full phase's hand-off to sync. */
interface HandOffBox {
  detail?: FullPhaseDetail;
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
 * One read of the full phase's meta tables in the target (names from src/units/dump's
 * metaNames): `fallback` when a table does not exist (no full phase ran, or an older version's).
 */
async function readFullPhaseMeta<T>(sub: SubtaskConfig, fallback: T, read: (c: Connection, m: MetaNames) => Promise<T>): Promise<T> {
  const c = await connect(targetConn(sub));
  try {
    return await read(c, metaNames(sub.metaSchema, sub.name)).catch(() => fallback);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Read the full phase's snapshot rows from the target meta schema (when the detail was lost, e.g. after a restart). */
async function handOffFromMeta(sub: SubtaskConfig): Promise<FullPhaseDetail | undefined> {
  type Row = { f: string; p: string | number; g: string | null };
  const rows = await readFullPhaseMeta<Row[]>(sub, [], async (c, m) => {
    const [r] = await c.query(`SELECT binlog_name AS f, binlog_pos AS p, binlog_gtid AS g FROM ${m.snapshot} WHERE source_id = ? ORDER BY seq`, [sub.sourceId]);
    return r as Row[];
  });
  if (rows.length === 0) return undefined;
  const ps = rows.map((r) => ({ file: r.f, offset: Number(r.p), gtid: r.g ?? '' }));
  const cmp = (a: (typeof ps)[number], b: (typeof ps)[number]): number => (a.file === b.file ? a.offset - b.offset : a.file < b.file ? -1 : 1);
  ps.sort(cmp);
  const lo = ps[0];
  const hi = ps[ps.length - 1];
  if (!lo || !hi) return undefined;
  return cmp(lo, hi) === 0 ? { startPos: lo } : { startPos: lo, safeModeUntil: hi };
}

/**
 * The table structures recorded by the full phase with the snapshot whose position sync starts
 * from (`<task>_load_schema`, SchemaTracker export format): the reader's tracker starts from
 * them instead of the source's current information_schema. Read from the target every time, so a
 * resumed or moved subtask finds them too.
 */
async function startSchemasFromMeta(sub: SubtaskConfig, start: { file: string; offset: number }): Promise<string | undefined> {
  return readFullPhaseMeta<string | undefined>(sub, undefined, async (c, m) => {
    const [r] = await c.query(
      `SELECT x.table_info AS ti FROM ${m.snapshot} s JOIN ${m.schemaInfo} x ON x.source_id = s.source_id AND x.seq = s.seq
        WHERE s.source_id = ? AND s.binlog_name = ? AND s.binlog_pos = ? ORDER BY s.seq LIMIT 1`,
      [sub.sourceId, start.file, start.offset],
    );
    return (r as { ti: string }[])[0]?.ti;
  });
}

/**
 * Whether the full phase of this subtask has finished for good (every chunk and every deferred
 * index done, as recorded in the target meta schema). A subtask rebuilt after that (worker
 * restart, transfer-source) goes straight to sync: the Load unit's checks compare with the
 * source as it is now, which DDL not yet replayed by sync may have changed.
 */
export async function fullPhaseFinished(sub: SubtaskConfig): Promise<boolean> {
  return readFullPhaseMeta(sub, false, async (c, m) => {
    const [r] = await c.query(`SELECT COUNT(*) AS n, COALESCE(SUM(status <> 'done'), 0) AS p FROM ${m.checkpoint} WHERE source_id = ?`, [sub.sourceId]);
    const row = (r as { n: unknown; p: unknown }[])[0];
    if (!row || Number(row.n) === 0 || Number(row.p) > 0) return false;
    const [ix] = await c.query(`SELECT COUNT(*) AS p FROM ${m.index} WHERE source_id = ? AND status <> 'done'`, [sub.sourceId]);
    return Number((ix as { p: unknown }[])[0]?.p ?? 0) === 0;
  });
}

/**
 * The sync unit, built at its first process(): by then the flavor is known (init) and the
 * full phase (if any) has handed over its position.
 */
class PipelineSyncUnit implements Unit {
  readonly type = 'Sync' as const;
  private inner: SyncUnit | undefined;
  private flavor: Flavor | undefined;
  private closed = false;

  constructor(
    private readonly sub: SubtaskConfig,
    private readonly src: SourceConfig,
    private readonly ctx: PipelineContext,
    private readonly box: HandOffBox,
    private readonly afterFullPhase: boolean,
    private readonly startTime?: Date,
  ) {}

  async init(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if (this.src.flavor === 'mysql' || this.src.flavor === 'mariadb') {
      this.flavor = this.src.flavor;
      return;
    }
    const c = await connect(sourceConn(this.src));
    try {
      this.flavor = await getFlavor(c);
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  private async build(): Promise<SyncUnit> {
    if (this.inner) return this.inner;
    if (!this.flavor) throw new DMError('ErrInternal', 'sync unit used before init');
    const sub = this.sub;
    const f = sourceConn(this.src);
    const t = targetConn(sub);
    let start: StartSpec | undefined;
    let safeModeUntil: Position | undefined;
    let startSchemas: string | undefined;
    if (this.afterFullPhase) {
      const shared = asHandOff((this.ctx as { detail?: Record<string, unknown> }).detail);
      const h = this.box.detail ?? shared ?? (await handOffFromMeta(sub));
      if (h) {
        start = { file: h.startPos.file, offset: h.startPos.offset, ...(h.startPos.gtid ? { gtid: h.startPos.gtid } : {}) };
        if (h.safeModeUntil) safeModeUntil = { file: h.safeModeUntil.file, offset: h.safeModeUntil.offset, gtid: h.safeModeUntil.gtid ?? '' };
        startSchemas = await startSchemasFromMeta(sub, h.startPos);
      }
    }
    // --start-time wins over the task's meta; the sync unit uses `start` only without a checkpoint.
    if (!start && this.startTime) start = { time: this.startTime };
    start ??= metaStart(sub, this.src.enableGtid);
    const cfg: SyncConfig = {
      taskName: sub.name,
      sourceId: sub.sourceId,
      source: {
        ...f,
        flavor: this.flavor,
        serverId: this.src.serverId > 0 ? this.src.serverId : readerServerId(this.ctx.workerName, sub.sourceId, sub.name),
      },
      target: t,
      metaSchema: sub.metaSchema,
      enableGtid: this.src.enableGtid,
      caseSensitive: sub.caseSensitive,
      ...(sub.blockAllowList ? { baList: sub.blockAllowList } : {}),
      routes: sub.routeRules,
      filters: usableFilterRules([...this.src.filters, ...sub.filterRules], this.ctx.logger),
      expressionFilters: sub.expressionFilters,
      syncer: {
        workerCount: sub.syncer.workerCount,
        batch: sub.syncer.batch,
        checkpointFlushIntervalMs: sub.syncer.checkpointFlushInterval * 1000,
        // `safe-mode-duration` is in ms in the resolved task; the sync unit wants seconds
        safeModeDurationSec: sub.syncer.safeModeDuration / 1000,
        ...syncerSafeMode(sub),
      },
      ...(start ? { start } : {}),
      ...(safeModeUntil ? { safeModeUntil } : {}),
      ...(startSchemas ? { startSchemas } : {}),
      ...(this.ctx.binlogOps ? { onFailedEvent: failedEventHandler(this.ctx.binlogOps, this.ctx.logger) } : {}),
    };
    const u = new SyncUnit(cfg, { logger: this.ctx.logger, registry: this.ctx.registry });
    this.inner = u;
    return u;
  }

  async process(signal: AbortSignal): Promise<ProcessResult> {
    let u: SyncUnit;
    try {
      u = await this.build();
      if (!this.initedInner) {
        await u.init(signal);
        this.initedInner = true;
      }
    } catch (e) {
      this.inner = undefined;
      return { isCanceled: signal.aborted, errors: signal.aborted ? [] : [toDMError(e, 'ErrInternal').toJSON()] };
    }
    return u.process(signal);
  }

  private initedInner = false;

  /**
   * `dmctl binlog-schema` on this subtask's tracked structures (the subtask checks the stage).
   * Works without the inner unit (e.g. after a worker restart into Paused): it reads and writes the
   * snapshot persisted with the checkpoint over its own connections.
   */
  async operateSchema(req: SchemaOpRequest): Promise<string> {
    const sub = this.sub;
    const router = createRouter(sub.routeRules, { caseSensitive: sub.caseSensitive, sourceId: sub.sourceId });
    const inner = this.inner;
    return operateTrackedSchema(
      {
        store: new SchemaStore(sub.metaSchema, sub.name, sub.sourceId),
        ...(this.flavor ? { flavor: this.flavor } : {}),
        target: () => connect(targetConn(sub)),
        source: () => connect(sourceConn(this.src)),
        route: (schema, table) => router.route(schema, table),
        extractColumns: router.extractColumns,
        ...(inner ? { live: () => inner.liveSchemas() } : {}),
      },
      req,
    );
  }

  pause(): void {
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

  status(): Record<string, unknown> {
    return this.inner ? this.inner.status() : { stage: 'New' };
  }
}

/** The binlog event filter rules DM would use: a rule naming an unknown event type is dropped with a warning, as DM does. */
function usableFilterRules(rules: readonly EventFilterRule[], log: Logger): EventFilterRule[] {
  return rules.filter((rule) => {
    const why = droppedRuleReason(rule);
    if (why !== undefined) log.warn({ rule: { schemaPattern: rule.schemaPattern, tablePattern: rule.tablePattern, events: rule.events, action: rule.action }, reason: why }, 'binlog event filter rule dropped');
    return why === undefined;
  });
}

function syncerSafeMode(sub: SubtaskConfig): { safeMode?: boolean } {
  const s = sub.syncer as { safeMode?: boolean };
  return s.safeMode === undefined ? {} : { safeMode: s.safeMode };
}

/** Wraps a full-phase unit to capture the hand-off `detail` its process() returns. */
function capturing(u: Unit, box: HandOffBox): Unit {
  const grab = (r: ProcessResult): ProcessResult => {
    const h = asHandOff(r.detail);
    if (!r.isCanceled && r.errors.length === 0 && h) box.detail = h;
    return r;
  };
  return {
    get type() {
      return u.type;
    },
    init: (s) => u.init(s),
    process: async (s) => grab(await u.process(s)),
    pause: () => u.pause(),
    resume: async (s) => grab(await u.resume(s)),
    close: () => u.close(),
    status: () => u.status(),
    ...(u.isFreshTask ? { isFreshTask: () => (u.isFreshTask ? u.isFreshTask() : Promise.resolve(true)) } : {}),
  };
}

/**
 * Wraps a full-phase unit so that it does nothing when `finished` says the full phase already
 * finished (asked once per pipeline, at the first full-phase unit's process()).
 */
function skippedWhenFinished(u: Unit, finished: () => Promise<boolean>, log: Logger): Unit {
  let skip = false;
  const run = async (s: AbortSignal, f: (s: AbortSignal) => Promise<ProcessResult>): Promise<ProcessResult> => {
    try {
      skip = await finished();
    } catch (e) {
      return { isCanceled: s.aborted, errors: s.aborted ? [] : [toDMError(e, 'ErrLoadCheckpoint').toJSON()] };
    }
    if (!skip) return f(s);
    log.info({ unit: u.type }, 'full phase already finished: unit skipped, sync starts from its hand-off');
    return { isCanceled: false, errors: [] };
  };
  return {
    get type() {
      return u.type;
    },
    init: (s) => u.init(s),
    process: (s) => run(s, (x) => u.process(x)),
    pause: () => u.pause(),
    resume: (s) => run(s, (x) => u.resume(x)),
    close: () => u.close(),
    status: () => (skip ? { unit: u.type, stage: 'Finished', skipped: 'full phase finished before this subtask was built' } : u.status()),
    ...(u.isFreshTask ? { isFreshTask: () => (u.isFreshTask ? u.isFreshTask() : Promise.resolve(true)) } : {}),
  };
}

/** The full-phase units (dump, load) of a subtask, mapped from the resolved task config. */
export type FullPhaseFactory = (sub: SubtaskConfig, src: SourceConfig, ctx: PipelineContext) => Unit[];

export const defaultFullPhase: FullPhaseFactory = (sub, src, ctx) => {
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
      mydumper: {
        threads: sub.mydumper.threads,
        ...(sub.mydumper.rows !== undefined ? { rows: sub.mydumper.rows } : {}),
        ...(sub.mydumper.where !== undefined ? { where: sub.mydumper.where } : {}),
        extraArgs: sub.mydumper.extraArgs,
      },
      loader: {
        poolSize: sub.loader.poolSize,
        dir: sub.loader.dir,
        onDuplicate: onDup === 'error' || onDup === 'ignore' ? onDup : 'replace',
        // logical/physical/loader/loaddata → LOAD DATA; sql → multi-row INSERTs (src/units/dump/config.ts)
        importMode: sub.loader.importMode,
      },
    },
    { log: ctx.logger, registry: ctx.registry },
  );
  return units;
};

let fullPhaseFactory: FullPhaseFactory = defaultFullPhase;
/** Replace the full-phase factory (tests); `undefined` restores the default. */
export function setFullPhaseFactory(f: FullPhaseFactory | undefined): void {
  fullPhaseFactory = f ?? defaultFullPhase;
}

/** Builds the ordered list of units for one subtask. Throws a config DMError on a bad task/source. */
export function createUnits(input: PipelineInput, ctx: PipelineContext): Unit[] {
  const opts = ctx.secretKey ? { secretKey: ctx.secretKey } : {};
  const task = parseTaskConfig(input.taskYaml, { file: `task ${input.taskName}`, ...opts });
  const src = parseSourceConfig(input.sourceYaml, { file: `source ${input.sourceId}`, ...opts });
  const sub = resolveSubtask(task, input.sourceId);
  // read the TLS files now: a missing one is a config error of the subtask (ErrConfigTLSFile)
  sourceConn(src);
  targetConn(sub);
  const box: HandOffBox = {};
  const units: Unit[] = [];
  const mode = sub.taskMode;
  if (mode !== 'incremental') {
    // task-mode all/full: once recorded finished in the target, the full phase never runs again
    let finished: Promise<boolean> | undefined;
    const once = (): Promise<boolean> =>
      (finished ??= fullPhaseFinished(sub).catch((e: unknown) => {
        finished = undefined; // asked again at the next attempt
        throw e;
      }));
    const resumable = mode === 'all' || mode === 'full';
    // `load&sync` loads the dump files as `load` does, then syncs from their metadata position
    const full: SubtaskConfig = mode === 'load&sync' ? { ...sub, taskMode: 'load' } : sub;
    units.push(...fullPhaseFactory(full, src, ctx).map((u) => capturing(resumable ? skippedWhenFinished(u, once, ctx.logger) : u, box)));
  }
  if (mode === 'all' || mode === 'incremental' || mode === 'load&sync') {
    units.push(new PipelineSyncUnit(sub, src, ctx, box, mode !== 'incremental', subtaskStartTime(input)));
  }
  return units;
}
