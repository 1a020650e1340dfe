import type { Connection } from 'mysql2/promise';
import type { Registry } from 'prom-client';
import type { Logger } from '../../log/index.js';
import { DMError } from '../../errors/index.js';
import { SchemaTracker } from '../../binlog/index.js';
import type { RouteResult } from '../../filter/types.js';
import { chunkRows, type FullMigrationConfig } from './config.js';
import { classifyMySQLError, closeConnection as closeConn, connectSide as openConn, quoteTable } from '../../sql/index.js';
import { planChunks, type ChunkDef } from './chunk-plan.js';
import type { MasterStatus } from '../../sql/index.js';
import {
  appendSnapshot,
  ensureMetaTables,
  persistPlan,
  readChunks,
  readSnapshots,
  readSnapshotSchemas,
  replanTable,
  type ChunkRow,
} from './meta-store.js';
import { metaNames, syncHandOff, type MetaNames, type SnapshotRow } from '../meta-tables.js';
import { Progress } from './progress.js';
import { openReplacementConn, takeSnapshot, type SnapshotHandle } from './snapshot.js';
import { listSourceTables, readTableInfo, type SourceTableInfo } from './dump-table-info.js';
import { createTableSelector, type TableSelector } from './table-selector.js';
import { inParallel } from './in-parallel.js';
import { dumpArgsKeepTable } from '../../config/extra-args.js';

export interface PlannedTable {
  info: SourceTableInfo;
  route: RouteResult;
}

/** Column type text compared across servers: lower case, integer display widths dropped. */
function normType(t: string): string {
  return t
    .toLowerCase()
    .replace(/^(tinyint|smallint|mediumint|int|integer|bigint)\(\d+\)/, '$1')
    .trim();
}

/** Below this many tables per connection, reading structures on more connections does not pay. */
const TABLES_PER_CONN = 16;

export function tableKey(schema: string, table: string): string {
  return `${schema}.${table}`;
}

/**
 * The state shared by the Dump and Load units of one subtask (in-process streaming, no
 * intermediate files): the live snapshot connections, the chunk plan and progress.
 * `prepare()` is the Dump unit's work: take (or, on resume, re-take) the snapshot and make sure
 * the plan is persisted in the target meta-schema. The Load unit streams the pending chunks.
 */
export class FullSession {
  readonly cfg: Readonly<FullMigrationConfig>;
  readonly log: Logger;
  readonly meta: MetaNames;
  readonly selector: TableSelector;
  readonly progress: Progress;
  snapshot: SnapshotHandle | undefined;
  /** seq of the snapshot row the live snapshot connections read at. */
  snapshotSeq = 0;
  tables = new Map<string, PlannedTable>();
  chunks: ChunkRow[] = [];
  snapshots: SnapshotRow[] = [];
  private metaLock: Promise<unknown> = Promise.resolve();

  constructor(cfg: Readonly<FullMigrationConfig>, deps: { log: Logger; registry?: Registry | undefined; workerName?: string | undefined }) {
    this.cfg = cfg;
    this.log = deps.log;
    this.meta = metaNames(cfg.metaSchema, cfg.taskName);
    this.selector = createTableSelector({ baList: cfg.baList, routes: cfg.routes, caseSensitive: cfg.caseSensitive, sourceId: cfg.sourceId, onlineDDL: cfg.onlineDDL });
    this.progress = new Progress(cfg.taskName, cfg.sourceId, deps.registry, deps.workerName ?? '');
  }

  /** Run fn with the target meta connection, one at a time. */
  async withMeta<T>(fn: (c: Connection) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      const c = await openConn(this.cfg.target, 'target');
      try {
        return await fn(c);
      } finally {
        await closeConn(c);
      }
    };
    const p = this.metaLock.then(run, run);
    this.metaLock = p.catch(() => undefined);
    return p;
  }

  pendingChunks(): ChunkRow[] {
    return this.chunks.filter((c) => !c.done);
  }

  /** Source tables selected by the block-allow list (and `extra-args` -B / -T), in name order. */
  async selectTables(conn: Connection): Promise<{ schema: string; table: string }[]> {
    const only = this.cfg.mydumper.only ?? {};
    return (await listSourceTables(conn)).filter((t) => this.selector.matchTable(t.schema, t.table) && dumpArgsKeepTable(only, t.schema, t.table));
  }

  /**
   * Make sure a plan exists in the target and that live snapshot connections can read the
   * pending chunks. Fresh: snapshot, plan, persist atomically. Resume: reuse the live snapshot
   * if this process still holds it, else take a new one and record its position.
   */
  async prepare(signal: AbortSignal): Promise<void> {
    const cfg = this.cfg;
    // one target connection for the three, while the source connection opens (round trips
    // before the first rows: each connection costs a handshake, each wait a wake-up on a busy box)
    const srcP = openConn(cfg.source, 'source');
    srcP.catch(() => undefined); // its error is thrown by the await below
    try {
      await this.withMeta(async (c) => {
        await ensureMetaTables(c, this.meta);
        this.snapshots = await readSnapshots(c, this.meta, cfg.sourceId);
        this.chunks = await readChunks(c, this.meta, cfg.sourceId);
      });
    } catch (e) {
      await srcP.then((c) => closeConn(c)).catch(() => undefined);
      throw e;
    }
    const src = await srcP;
    try {
      if (this.snapshots.length === 0 || this.chunks.length === 0) {
        await this.releaseSnapshot();
        const selected = await this.selectTables(src);
        const snap = await takeSnapshot({ source: cfg.source, consistency: cfg.mydumper.consistency, threads: cfg.mydumper.threads, tables: selected, log: this.log, signal, positionOptional: cfg.taskMode === 'full' });
        this.snapshot = snap;
        const rows = chunkRows(cfg);
        const plans = await this.withSourceConns(src, selected.length, async (conns) => {
          await this.loadTableInfos(conns, selected, signal);
          // small tables are one chunk without a query (isSmallTable); the others walk their key
          return inParallel(conns, selected, signal, async (c, t) => {
            const info = this.tables.get(tableKey(t.schema, t.table))?.info;
            if (!info) return [];
            if (info.handleKey.length === 0) this.log.warn({ table: tableKey(t.schema, t.table) }, 'table has no primary key or not-null unique key, dumped as one chunk');
            return planChunks(c, info, rows);
          });
        });
        const plan: ChunkDef[] = plans.flat();
        const positions = [snap.position, ...(snap.upperBound ? [snap.upperBound] : [])];
        await this.withMeta(async (c) => {
          await persistPlan(c, this.meta, cfg.sourceId, positions, plan, snap.schemas);
          this.snapshots = await readSnapshots(c, this.meta, cfg.sourceId);
          this.chunks = await readChunks(c, this.meta, cfg.sourceId);
        });
        this.snapshotSeq = 1;
        this.log.info({ tables: selected.length, chunks: plan.length, position: snap.position }, 'full migration planned');
      } else {
        const pending = this.pendingChunks();
        const names = [...new Map(this.chunks.map((c) => [tableKey(c.schema, c.table), { schema: c.schema, table: c.table }])).values()];
        await this.withSourceConns(src, names.length, (conns) => this.loadTableInfos(conns, names, signal));
        if (pending.length > 0 && !this.snapshot) {
          const pendingTables = [...new Map(pending.map((c) => [tableKey(c.schema, c.table), { schema: c.schema, table: c.table }])).values()];
          const snap = await takeSnapshot({ source: cfg.source, consistency: cfg.mydumper.consistency, threads: cfg.mydumper.threads, tables: pendingTables, log: this.log, signal, positionOptional: cfg.taskMode === 'full' });
          this.snapshot = snap;
          const recorded = await this.withMeta((c) => readSnapshotSchemas(c, this.meta, cfg.sourceId));
          this.snapshotSeq = await this.recordPosition('start', snap.position, snap.schemas);
          if (snap.upperBound) await this.recordPosition('bound', snap.upperBound);
          this.log.info({ pendingChunks: pending.length, position: snap.position, seq: this.snapshotSeq }, 'resuming full migration with a new snapshot');
          await this.replanChanged(src, pendingTables, recorded, snap.schemas, signal);
        }
      }
    } finally {
      await closeConn(src);
    }
    if (this.snapshot) {
      this.progress.lockHoldMs = this.snapshot.lockHoldMs;
    }
    this.progress.snapshot = { ...syncHandOff(this.snapshots), lock: this.snapshot?.lock ?? null, snapshots: this.snapshots.length };
    this.fillProgress();
  }

  /**
   * A resume took a new snapshot: a pending table whose structure there differs from one recorded
   * with an earlier snapshot (a DDL ran while the full phase was down) and from its target table
   * is copied again from the start under the new snapshot: the target table is dropped and
   * re-created with the new structure, its chunks re-planned. Sync replays the DDL from the
   * earliest snapshot position and finds its effect present. A target table that holds rows this
   * copy did not write (e.g. merged shards) is not dropped: ErrLoadTableChangedOnResume.
   */
  private async replanChanged(
    src: Connection,
    pendingTables: { schema: string; table: string }[],
    recorded: Map<number, string>,
    now: string,
    signal: AbortSignal,
  ): Promise<void> {
    const load = (json: string): SchemaTracker => {
      const t = new SchemaTracker();
      t.importSchemas(json);
      return t;
    };
    const nowT = load(now);
    const older = [...recorded.values()].map(load);
    const shape = (t: SchemaTracker, schema: string, table: string): string | undefined => {
      const x = t.get(schema, table);
      if (x === undefined || x === 'unknown') return undefined;
      return JSON.stringify(x.columns.map((c) => [c.name, c.columnType, c.generated]));
    };
    let changed = false;
    for (const p of pendingTables) {
      signal.throwIfAborted();
      const after = shape(nowT, p.schema, p.table);
      if (after === undefined || !older.some((t) => { const b = shape(t, p.schema, p.table); return b !== undefined && b !== after; })) continue;
      const k = tableKey(p.schema, p.table);
      const planned = this.tables.get(k);
      if (!planned) continue;
      const info = await readTableInfo(src, p.schema, p.table);
      const route = planned.route;
      const copied = this.chunks.filter((c) => tableKey(c.schema, c.table) === k && c.done).reduce((a, c) => a + c.rowsLoaded, 0);
      const anyDone = this.chunks.some((c) => tableKey(c.schema, c.table) === k && c.done);
      const redo = await this.withMeta(async (c) => {
        try {
          const [cols] = await c.query('SELECT COLUMN_NAME AS n, COLUMN_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION', [route.schema, route.table]);
          const extracted = new Set(route.extracted.map((x) => x.column.toLowerCase()));
          const tgt = (cols as { n: string; t: string }[]).filter((r) => !extracted.has(r.n.toLowerCase())).map((r) => [r.n.toLowerCase(), normType(r.t)]);
          if (tgt.length === 0) return anyDone; // no target table: rows already copied are gone with it
          const want = info.columns.map((x) => [x.name.toLowerCase(), normType(x.type)]);
          if (JSON.stringify(tgt) === JSON.stringify(want)) return false; // already re-created for this structure
          const [cnt] = await c.query(`SELECT COUNT(*) AS n FROM ${quoteTable(route.schema, route.table)}`);
          const n = Number((cnt as { n: unknown }[])[0]?.n ?? 0);
          if (n !== copied)
            throw new DMError(
              'ErrLoadTableChangedOnResume',
              `source table ${k} changed structure while the full phase was stopped, and target table ${tableKey(route.schema, route.table)} holds ${n} rows where this copy wrote ${copied}: it is not dropped`,
            );
          await c.query(`DROP TABLE ${quoteTable(route.schema, route.table)}`);
          return true;
        } catch (e) {
          throw e instanceof DMError ? e : classifyMySQLError(e, 'target', `re-create target table ${tableKey(route.schema, route.table)}`);
        }
      });
      this.tables.set(k, { info, route });
      if (!redo) continue;
      const plan = await planChunks(src, info, chunkRows(this.cfg));
      await this.withMeta((c) => replanTable(c, this.meta, this.cfg.sourceId, p.schema, p.table, plan, route));
      changed = true;
      this.log.warn({ table: k, target: tableKey(route.schema, route.table), chunks: plan.length }, 'table structure changed while the full phase was stopped: copying it again under the new snapshot');
    }
    if (changed) this.chunks = await this.withMeta((c) => readChunks(c, this.meta, this.cfg.sourceId));
  }

  /** Read the source tables' structures, on several connections at once, in `names` order. */
  private async loadTableInfos(conns: Connection[], names: { schema: string; table: string }[], signal: AbortSignal): Promise<void> {
    const infos = await inParallel(conns, names, signal, (c, t) => readTableInfo(c, t.schema, t.table));
    this.tables.clear();
    for (const info of infos) this.tables.set(tableKey(info.schema, info.table), { info, route: this.selector.route(info.schema, info.table) });
  }

  /**
   * `src` and, for many tables, up to `mydumpers.threads - 1` more plain source connections
   * (no snapshot transaction: structures and chunk boundaries need none), closed after `fn`.
   */
  private async withSourceConns<T>(src: Connection, tables: number, fn: (conns: Connection[]) => Promise<T>): Promise<T> {
    const extra = Math.min(this.cfg.mydumper.threads, Math.ceil(tables / TABLES_PER_CONN)) - 1;
    const more: Connection[] = [];
    try {
      for (let i = 0; i < extra; i++) more.push(await openConn(this.cfg.source, 'source'));
      return await fn([src, ...more]);
    } finally {
      await Promise.all(more.map((c) => closeConn(c)));
    }
  }

  private fillProgress(): void {
    this.progress.reset();
    for (const [k, t] of this.tables) {
      const cs = this.chunks.filter((c) => tableKey(c.schema, c.table) === k);
      const rowsDone = cs.reduce((a, c) => a + (c.done ? c.rowsLoaded : 0), 0);
      const avgRow = t.info.estimatedRows > 0 ? t.info.estimatedBytes / t.info.estimatedRows : 0;
      this.progress.addTable({
        table: k,
        target: tableKey(t.route.schema, t.route.table),
        chunksTotal: cs.length,
        chunksDone: cs.filter((c) => c.done).length,
        rowsDone,
        bytesDone: Math.round(rowsDone * avgRow),
        estimatedRows: t.info.estimatedRows,
        estimatedBytes: t.info.estimatedBytes,
      });
    }
  }

  /** Record a snapshot position (new snapshot or upper bound) in the target; returns its seq. */
  async recordPosition(kind: SnapshotRow['kind'], p: MasterStatus, schemas?: string): Promise<number> {
    const seq = await this.withMeta((c) => appendSnapshot(c, this.meta, this.cfg.sourceId, kind, p, schemas));
    this.snapshots.push({ ...p, seq, kind });
    this.progress.snapshot = { ...syncHandOff(this.snapshots), lock: this.snapshot?.lock ?? null, snapshots: this.snapshots.length };
    return seq;
  }

  /**
   * A source connection to replace one that died (its snapshot is gone): a fresh consistent
   * snapshot, whose position is recorded as an upper bound before any row read from it is committed.
   */
  async replacementConn(): Promise<{ conn: Connection; seq: number }> {
    const transactional = this.snapshot?.transactional ?? this.cfg.mydumper.consistency !== 'none';
    const { conn, upperBound } = await openReplacementConn(this.cfg.source, transactional, this.cfg.taskMode === 'full');
    try {
      const seq = await this.recordPosition('bound', upperBound);
      return { conn, seq };
    } catch (e) {
      await closeConn(conn);
      throw e;
    }
  }

  handOff(): { startPos: MasterStatus; safeModeUntil?: MasterStatus } | undefined {
    return syncHandOff(this.snapshots);
  }

  async releaseSnapshot(): Promise<void> {
    const s = this.snapshot;
    this.snapshot = undefined;
    if (s) await Promise.all(s.conns.map((c) => closeConn(c)));
  }
}
