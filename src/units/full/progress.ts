import { Counter, Gauge, type Registry } from 'prom-client';

/** Per-table and total progress of the full phase, for status() and metrics. */
export interface TableProgress {
  table: string;
  target: string;
  chunksTotal: number;
  chunksDone: number;
  rowsDone: number;
  bytesDone: number;
  estimatedRows: number;
  estimatedBytes: number;
}

type LabelNames = 'task' | 'source_id';

interface Metrics {
  estRows: Gauge<LabelNames>;
  finishedRows: Counter<LabelNames>;
  loadedRows: Counter<LabelNames>;
  loadedBytes: Counter<LabelNames>;
  progress: Gauge<LabelNames>;
  lockHold: Gauge<LabelNames>;
  retries: Counter<LabelNames>;
}

function getOrCreate<T>(reg: Registry, name: string, make: () => T): T {
  return (reg.getSingleMetric(name) as T | undefined) ?? make();
}

function metricsOn(reg: Registry): Metrics {
  const labelNames: LabelNames[] = ['task', 'source_id'];
  const registers = [reg];
  return {
    estRows: getOrCreate(reg, 'dm_dumpling_estimate_total_rows', () => new Gauge({ name: 'dm_dumpling_estimate_total_rows', help: 'estimated rows to dump', labelNames, registers })),
    finishedRows: getOrCreate(reg, 'dm_dumpling_finished_rows', () => new Counter({ name: 'dm_dumpling_finished_rows', help: 'rows read from the source', labelNames, registers })),
    loadedRows: getOrCreate(reg, 'dm_loader_finished_rows', () => new Counter({ name: 'dm_loader_finished_rows', help: 'rows committed to the target', labelNames, registers })),
    loadedBytes: getOrCreate(reg, 'dm_loader_finished_bytes', () => new Counter({ name: 'dm_loader_finished_bytes', help: 'bytes of SQL values committed to the target', labelNames, registers })),
    progress: getOrCreate(reg, 'dm_loader_progress', () => new Gauge({ name: 'dm_loader_progress', help: 'fraction of the full phase done (0..1)', labelNames, registers })),
    lockHold: getOrCreate(reg, 'dm_dumpling_lock_hold_seconds', () => new Gauge({ name: 'dm_dumpling_lock_hold_seconds', help: 'how long the snapshot lock was held', labelNames, registers })),
    retries: getOrCreate(reg, 'dm_loader_chunk_retries_total', () => new Counter({ name: 'dm_loader_chunk_retries_total', help: 'chunk retries after retryable errors', labelNames, registers })),
  };
}

export class Progress {
  readonly tables = new Map<string, TableProgress>();
  private startedAt = 0;
  private rowsAtStart = 0;
  private bytesAtStart = 0;
  private readonly m: Metrics | undefined;
  private readonly labels: Record<LabelNames, string>;
  snapshot: Record<string, unknown> | undefined;
  lockHoldMs = 0;
  retries = 0;
  /** Deferred secondary keys: tables to index after the rows, tables done, tables being indexed now. */
  private readonly index = { tables: 0, done: 0, building: new Set<string>() };

  constructor(task: string, sourceId: string, registry?: Registry) {
    this.labels = { task, source_id: sourceId };
    this.m = registry ? metricsOn(registry) : undefined;
  }

  reset(): void {
    this.tables.clear();
  }

  addTable(t: TableProgress): void {
    this.tables.set(t.table, t);
  }

  /** Call when loading (re)starts: rate/ETA are computed from this moment. */
  begin(): void {
    this.startedAt = performance.now();
    this.rowsAtStart = this.totals().rowsDone;
    this.bytesAtStart = this.totals().bytesDone;
    this.m?.estRows.set(this.labels, this.totals().estimatedRows);
    this.m?.lockHold.set(this.labels, this.lockHoldMs / 1000);
    this.m?.progress.set(this.labels, this.fraction());
  }

  chunkRows(table: string, rows: number, bytes: number): void {
    const t = this.tables.get(table);
    if (t) {
      t.rowsDone += rows;
      t.bytesDone += bytes;
    }
    this.m?.finishedRows.inc(this.labels, rows);
    this.m?.loadedRows.inc(this.labels, rows);
    this.m?.loadedBytes.inc(this.labels, bytes);
  }

  chunkDone(table: string): void {
    const t = this.tables.get(table);
    if (t) t.chunksDone++;
    this.m?.progress.set(this.labels, this.fraction());
  }

  /** Rows of a chunk that was rolled back (retry/pause) are taken off again. */
  chunkRolledBack(table: string, rows: number, bytes: number): void {
    const t = this.tables.get(table);
    if (t) {
      t.rowsDone -= rows;
      t.bytesDone -= bytes;
    }
  }

  indexing(tables: number): void {
    this.index.tables = tables;
    this.index.done = 0;
  }

  indexStarted(table: string): void {
    this.index.building.add(table);
  }

  indexFinished(table: string, ok: boolean): void {
    this.index.building.delete(table);
    if (ok) this.index.done++;
  }

  retried(): void {
    this.retries++;
    this.m?.retries.inc(this.labels);
  }

  totals(): { rowsDone: number; bytesDone: number; estimatedRows: number; estimatedBytes: number; chunksDone: number; chunksTotal: number } {
    const s = { rowsDone: 0, bytesDone: 0, estimatedRows: 0, estimatedBytes: 0, chunksDone: 0, chunksTotal: 0 };
    for (const t of this.tables.values()) {
      s.rowsDone += t.rowsDone;
      s.bytesDone += t.bytesDone;
      s.estimatedRows += Math.max(t.estimatedRows, t.rowsDone);
      s.estimatedBytes += Math.max(t.estimatedBytes, t.bytesDone);
      s.chunksDone += t.chunksDone;
      s.chunksTotal += t.chunksTotal;
    }
    return s;
  }

  fraction(): number {
    const t = this.totals();
    if (t.chunksTotal === 0) return 0;
    return t.chunksDone === t.chunksTotal ? 1 : Math.min(0.999, t.estimatedRows > 0 ? t.rowsDone / t.estimatedRows : t.chunksDone / t.chunksTotal);
  }

  status(): Record<string, unknown> {
    const t = this.totals();
    const secs = this.startedAt ? (performance.now() - this.startedAt) / 1000 : 0;
    const rate = secs > 0 ? (t.rowsDone - this.rowsAtStart) / secs : 0;
    const bps = secs > 0 ? (t.bytesDone - this.bytesAtStart) / secs : 0;
    const left = Math.max(0, t.estimatedRows - t.rowsDone);
    return {
      totalRows: t.rowsDone,
      totalBytes: t.bytesDone,
      estimatedRows: t.estimatedRows,
      estimatedBytes: t.estimatedBytes,
      finishedChunks: t.chunksDone,
      totalChunks: t.chunksTotal,
      progress: `${(this.fraction() * 100).toFixed(2)} %`,
      rowsPerSecond: Math.round(rate),
      bytesPerSecond: Math.round(bps),
      etaSeconds: rate > 0 ? Math.round(left / rate) : null,
      lockHoldMs: Math.round(this.lockHoldMs * 1000) / 1000,
      chunkRetries: this.retries,
      ...(this.index.tables > 0
        ? { deferredIndexes: { tables: this.index.tables, done: this.index.done, building: [...this.index.building] } }
        : {}),
      snapshot: this.snapshot ?? null,
      tables: [...this.tables.values()].map((x) => ({ ...x })),
    };
  }
}
