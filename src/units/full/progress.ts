import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

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
type TxnLabels = LabelNames | 'worker' | 'target_schema' | 'target_table';
type RemainingLabels = LabelNames | 'worker' | 'source_schema' | 'source_table';

/**
 * DM's loader and dumpling metrics (pingcap/tiflow dm/loader/metrics.go; dumpling's
 * `dumpling_dump_*` as DM registers them with task/source_id labels) plus DM.ts's own
 * (`dm_loader_finished_rows`/`_bytes`, `dm_loader_chunk_retries_total`, `dm_dumpling_lock_hold_seconds`).
 */
interface Metrics {
  estRows: Counter<LabelNames>;
  finishedRows: Gauge<LabelNames>;
  loadedRows: Counter<LabelNames>;
  loadedBytes: Counter<LabelNames>;
  progress: Gauge<LabelNames>;
  lockHold: Gauge<LabelNames>;
  retries: Counter<LabelNames>;
  dataSize: Gauge<LabelNames>;
  dataFiles: Gauge<LabelNames>;
  tables: Gauge<LabelNames>;
  txnDuration: Histogram<TxnLabels>;
  remainingTime: Gauge<RemainingLabels>;
}

function getOrCreate<T>(reg: Registry, name: string, make: () => T): T {
  return (reg.getSingleMetric(name) as T | undefined) ?? make();
}

/** DM: ExponentialBuckets(0.000005, 2, 25). */
const TXN_BUCKETS = Array.from({ length: 25 }, (_, i) => 0.000005 * 2 ** i);

function metricsOn(reg: Registry): Metrics {
  const labelNames: LabelNames[] = ['task', 'source_id'];
  const registers = [reg];
  const gauge = (name: string, help: string): Gauge<LabelNames> => getOrCreate(reg, name, () => new Gauge({ name, help, labelNames, registers }));
  const counter = (name: string, help: string): Counter<LabelNames> => getOrCreate(reg, name, () => new Counter({ name, help, labelNames, registers }));
  return {
    estRows: counter('dumpling_dump_estimate_total_rows', 'estimate total rows for dumpling tables'),
    finishedRows: gauge('dumpling_dump_finished_rows', 'counter for dumpling finished rows'),
    loadedRows: counter('dm_loader_finished_rows', 'rows committed to the target'),
    loadedBytes: counter('dm_loader_finished_bytes', 'bytes of SQL values committed to the target'),
    progress: gauge('dm_loader_progress', 'the processing progress of loader (0..1)'),
    lockHold: gauge('dm_dumpling_lock_hold_seconds', 'how long the snapshot lock was held'),
    retries: counter('dm_loader_chunk_retries_total', 'chunk retries after retryable errors'),
    dataSize: gauge('dm_loader_data_size_gauge', 'data size in total (bytes, estimated)'),
    dataFiles: gauge('dm_loader_data_file_gauge', 'data files (chunks) in total'),
    tables: gauge('dm_loader_table_gauge', 'tables in total'),
    txnDuration: getOrCreate(reg, 'dm_loader_txn_duration_time', () => new Histogram<TxnLabels>({ name: 'dm_loader_txn_duration_time', help: 'Bucketed histogram of processing time (s) of a txn.', labelNames: ['task', 'worker', 'source_id', 'target_schema', 'target_table'], buckets: TXN_BUCKETS, registers })),
    remainingTime: getOrCreate(reg, 'dm_loader_remaining_time', () => new Gauge<RemainingLabels>({ name: 'dm_loader_remaining_time', help: 'the remaining time in second to finish load process', labelNames: ['task', 'worker', 'source_id', 'source_schema', 'source_table'], registers })),
  };
}

/** `schema.table` (tableKey) → its two parts (a schema name has no dot in DM's key format; the table may). */
function splitKey(key: string): [string, string] {
  const i = key.indexOf('.');
  return i < 0 ? ['', key] : [key.slice(0, i), key.slice(i + 1)];
}

export class Progress {
  readonly tables = new Map<string, TableProgress>();
  private startedAt = 0;
  private rowsAtStart = 0;
  private bytesAtStart = 0;
  private readonly m: Metrics | undefined;
  private readonly labels: Record<LabelNames, string>;
  private readonly worker: string;
  /** Estimated rows already added to the (monotonic) dumpling_dump_estimate_total_rows. */
  private estReported = 0;
  snapshot: Record<string, unknown> | undefined;
  lockHoldMs = 0;
  retries = 0;
  /** Deferred secondary keys: tables to index after the rows, tables done, tables being indexed now. */
  private readonly index = { tables: 0, done: 0, building: new Set<string>() };

  constructor(task: string, sourceId: string, registry?: Registry, worker = '') {
    this.labels = { task, source_id: sourceId };
    this.worker = worker;
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
    const t = this.totals();
    if (this.m) {
      if (t.estimatedRows > this.estReported) this.m.estRows.inc(this.labels, t.estimatedRows - this.estReported);
      this.estReported = Math.max(this.estReported, t.estimatedRows);
      this.m.finishedRows.set(this.labels, t.rowsDone);
      this.m.lockHold.set(this.labels, this.lockHoldMs / 1000);
      this.m.progress.set(this.labels, this.fraction());
      this.m.dataSize.set(this.labels, t.estimatedBytes);
      this.m.dataFiles.set(this.labels, t.chunksTotal);
      this.m.tables.set(this.labels, this.tables.size);
    }
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

  /** A chunk is committed; `seconds`: its target transaction's duration (dm_loader_txn_duration_time). */
  chunkDone(table: string, seconds?: number): void {
    const t = this.tables.get(table);
    if (t) t.chunksDone++;
    if (!this.m) return;
    this.m.progress.set(this.labels, this.fraction());
    if (!t) return;
    if (seconds !== undefined) {
      const [target_schema, target_table] = splitKey(t.target);
      this.m.txnDuration.observe({ ...this.labels, worker: this.worker, target_schema, target_table }, seconds);
    }
    const [source_schema, source_table] = splitKey(t.table);
    const secs = this.startedAt ? (performance.now() - this.startedAt) / 1000 : 0;
    const rate = secs > 0 ? (this.totals().rowsDone - this.rowsAtStart) / secs : 0;
    const left = t.chunksDone >= t.chunksTotal ? 0 : Math.max(0, t.estimatedRows - t.rowsDone);
    this.m.remainingTime.set({ ...this.labels, worker: this.worker, source_schema, source_table }, left === 0 ? 0 : rate > 0 ? left / rate : 0);
  }

  /** Rows of a chunk that was rolled back (retry/pause) are taken off again. */
  chunkRolledBack(table: string, rows: number, bytes: number): void {
    const t = this.tables.get(table);
    if (t) {
      t.rowsDone -= rows;
      t.bytesDone -= bytes;
    }
    this.m?.finishedRows.dec(this.labels, rows);
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
