import type { Connection } from 'mysql2/promise';
import type { Registry } from 'prom-client';
import type { Logger } from '../../log/index.js';
import type { RouteResult } from '../../filter/types.js';
import { chunkRows, type FullMigrationConfig } from './config.js';
import { closeConn, openConn } from './conn.js';
import { planChunks, type ChunkDef } from './chunk-plan.js';
import type { MasterStatus } from './master-status.js';
import {
  appendSnapshot,
  ensureMetaTables,
  metaNames,
  persistPlan,
  readChunks,
  readSnapshots,
  syncHandOff,
  type ChunkRow,
  type MetaNames,
  type SnapshotRow,
} from './meta-store.js';
import { Progress } from './progress.js';
import { openReplacementConn, takeSnapshot, type SnapshotHandle } from './snapshot.js';
import { listSourceTables, readTableInfo, type SourceTableInfo } from './table-info.js';
import { createTableSelector, type TableSelector } from './table-selector.js';

export interface PlannedTable {
  info: SourceTableInfo;
  route: RouteResult;
}

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

  constructor(cfg: Readonly<FullMigrationConfig>, deps: { log: Logger; registry?: Registry | undefined }) {
    this.cfg = cfg;
    this.log = deps.log;
    this.meta = metaNames(cfg.metaSchema, cfg.taskName);
    this.selector = createTableSelector({ baList: cfg.baList, routes: cfg.routes, caseSensitive: cfg.caseSensitive, sourceId: cfg.sourceId });
    this.progress = new Progress(cfg.taskName, cfg.sourceId, deps.registry);
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

  /** Source tables selected by the block-allow list, in name order. */
  async selectTables(conn: Connection): Promise<{ schema: string; table: string }[]> {
    return (await listSourceTables(conn)).filter((t) => this.selector.matchTable(t.schema, t.table));
  }

  /**
   * Make sure a plan exists in the target and that live snapshot connections can read the
   * pending chunks. Fresh: snapshot, plan, persist atomically. Resume: reuse the live snapshot
   * if this process still holds it, else take a new one and record its position.
   */
  async prepare(signal: AbortSignal): Promise<void> {
    const cfg = this.cfg;
    await this.withMeta((c) => ensureMetaTables(c, this.meta));
    this.snapshots = await this.withMeta((c) => readSnapshots(c, this.meta, cfg.sourceId));
    this.chunks = await this.withMeta((c) => readChunks(c, this.meta, cfg.sourceId));
    const src = await openConn(cfg.source, 'source');
    try {
      if (this.snapshots.length === 0 || this.chunks.length === 0) {
        await this.releaseSnapshot();
        const selected = await this.selectTables(src);
        const snap = await takeSnapshot({ source: cfg.source, consistency: cfg.mydumper.consistency, threads: cfg.mydumper.threads, tables: selected, log: this.log, signal, positionOptional: cfg.taskMode === 'full' });
        this.snapshot = snap;
        await this.loadTableInfos(src, selected);
        const plan: ChunkDef[] = [];
        for (const t of selected) {
          signal.throwIfAborted();
          const info = this.tables.get(tableKey(t.schema, t.table))?.info;
          if (!info) continue;
          if (info.handleKey.length === 0) this.log.warn({ table: tableKey(t.schema, t.table) }, 'table has no primary key or not-null unique key, dumped as one chunk');
          plan.push(...(await planChunks(src, info, chunkRows(cfg))));
        }
        const positions = [snap.position, ...(snap.upperBound ? [snap.upperBound] : [])];
        await this.withMeta((c) => persistPlan(c, this.meta, cfg.sourceId, positions, plan));
        this.snapshots = await this.withMeta((c) => readSnapshots(c, this.meta, cfg.sourceId));
        this.chunks = await this.withMeta((c) => readChunks(c, this.meta, cfg.sourceId));
        this.snapshotSeq = 1;
        this.log.info({ tables: selected.length, chunks: plan.length, position: snap.position }, 'full migration planned');
      } else {
        const pending = this.pendingChunks();
        const names = [...new Map(this.chunks.map((c) => [tableKey(c.schema, c.table), { schema: c.schema, table: c.table }])).values()];
        await this.loadTableInfos(src, names);
        if (pending.length > 0 && !this.snapshot) {
          const pendingTables = [...new Map(pending.map((c) => [tableKey(c.schema, c.table), { schema: c.schema, table: c.table }])).values()];
          const snap = await takeSnapshot({ source: cfg.source, consistency: cfg.mydumper.consistency, threads: cfg.mydumper.threads, tables: pendingTables, log: this.log, signal, positionOptional: cfg.taskMode === 'full' });
          this.snapshot = snap;
          this.snapshotSeq = await this.recordPosition('start', snap.position);
          if (snap.upperBound) await this.recordPosition('bound', snap.upperBound);
          this.log.info({ pendingChunks: pending.length, position: snap.position, seq: this.snapshotSeq }, 'resuming full migration with a new snapshot');
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

  private async loadTableInfos(src: Connection, names: { schema: string; table: string }[]): Promise<void> {
    this.tables.clear();
    for (const t of names) {
      const info = await readTableInfo(src, t.schema, t.table);
      this.tables.set(tableKey(t.schema, t.table), { info, route: this.selector.route(t.schema, t.table) });
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
  async recordPosition(kind: SnapshotRow['kind'], p: MasterStatus): Promise<number> {
    const seq = await this.withMeta((c) => appendSnapshot(c, this.meta, this.cfg.sourceId, kind, p));
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
