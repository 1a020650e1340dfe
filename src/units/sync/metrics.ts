/**
 * DM's `dm_syncer_*` metrics on the Registry the unit is given (never the global one): DM's names,
 * types, units (seconds) and label sets (pingcap/tiflow dm/syncer/metrics/metrics.go), so DM's
 * dashboards and alert rules select them as they do against DM. DM.ts's own additions
 * (`dm_syncer_binlog_reader_*`, `dm_syncer_binlog_read_bytes_total`) live in src/binlog/reader-metrics.ts.
 *
 * The stage files observe with one label object (task, source_id, worker, plus `node` / `type` /
 * `target_schema` / `target_table` where the metric has them); each metric takes only the labels
 * DM gives it, so e.g. `dm_syncer_binlog_file` stays {node, task, source_id} as in DM.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

type Labels = Readonly<Record<string, string>>;

function getOr<T>(reg: Registry, name: string, make: () => T): T {
  const m = (reg.getSingleMetric(name) as T | undefined) ?? make();
  // a counter or histogram registered elsewhere first still gets the hook that writes the cells out
  const c = m as { collect?: unknown; type?: string };
  if (c.collect === undefined && (c.type === 'counter' || c.type === 'histogram')) c.collect = flushPending;
  return m;
}

/** `start * factor^i` for i < count (Go's prometheus.ExponentialBuckets). */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start * factor ** i);
}

/** Projects a label object onto a metric's label names (cached per object: the stage files reuse theirs). */
function projector(names: readonly string[]): (l: Labels) => Record<string, string> {
  const cache = new WeakMap<Labels, Record<string, string>>();
  return (l) => {
    let o = cache.get(l);
    if (!o) {
      o = {};
      for (const n of names) {
        const v = l[n];
        if (v !== undefined) o[n] = v;
      }
      cache.set(l, o);
    }
    return o;
  };
}

export interface GaugeOf {
  set(labels: Labels, value: number): void;
}
export interface CounterOf {
  inc(labels: Labels, value?: number): void;
}
export interface HistogramOf {
  observe(labels: Labels, value: number): void;
}

function gaugeOf(g: Gauge, names: readonly string[]): GaugeOf {
  const p = projector(names);
  return { set: (l, v) => g.set(p(l), v) };
}
/**
 * Counters and histograms are touched per rows event / per target transaction, and prom-client
 * hashes and validates the labels on every call (even through a labelled child). So the hot path
 * only adds to a cell per label object; the cells are written to prom-client when the metric is
 * read (its `collect` hook runs before every exposition, `registry.metrics()` and `metric.get()`),
 * so every read sees every increment and observation made before it.
 */
interface Cell {
  queued: boolean;
  flush(): void;
}
/** Per metric object: the cells holding increments not yet written to it. */
const pendingCells = new WeakMap<object, Cell[]>();
function pendingOf(metric: object): Cell[] {
  let l = pendingCells.get(metric);
  if (!l) pendingCells.set(metric, (l = []));
  return l;
}
/** The `collect` hook of every counter and histogram made here. */
function flushPending(this: object): void {
  const l = pendingCells.get(this);
  if (!l || l.length === 0) return;
  for (const c of l.splice(0)) {
    c.queued = false;
    c.flush();
  }
}
function queue(list: Cell[], c: Cell): void {
  if (c.queued) return;
  c.queued = true;
  list.push(c);
}

function counterOf(c: Counter, names: readonly string[]): CounterOf {
  const p = projector(names);
  const list = pendingOf(c);
  const cells = new WeakMap<Labels, Cell & { n: number }>();
  return {
    inc: (l, v = 1) => {
      let cell = cells.get(l);
      if (!cell) {
        const child = c.labels(p(l));
        const k: Cell & { n: number } = {
          queued: false,
          n: 0,
          flush: () => {
            const n = k.n;
            k.n = 0;
            if (n > 0) child.inc(n);
          },
        };
        cells.set(l, (cell = k));
      }
      cell.n += v;
      queue(list, cell);
    },
  };
}

/** Distinct values a histogram cell holds before it is written out anyway (durations are rarely equal). */
const MAX_PENDING_VALUES = 64;

/** prom-client 15's entry of one label set in a histogram (read only to add a count in one step). */
interface HistogramEntry {
  count: number;
  sum: number;
  bucketValues: Record<string, number>;
}
/**
 * Adds `n` observations of `v` to `h`'s entry for `labels` (which one observe() just created or
 * updated); false when the entry does not have prom-client 15's shape (then the caller observes n times).
 */
function addObservations(h: Histogram, labels: Record<string, string>, v: number, n: number): boolean {
  const internal = h as unknown as { hashMap?: Record<string, HistogramEntry | undefined>; sortedLabelNames?: string[]; upperBounds?: number[] };
  const { hashMap, sortedLabelNames, upperBounds } = internal;
  if (!hashMap || !sortedLabelNames || !upperBounds) return false;
  let hash = '';
  for (const k of sortedLabelNames) if (labels[k] !== undefined) hash += `${k}:${labels[k]},`;
  const e = hashMap[hash];
  if (!e || typeof e.count !== 'number' || typeof e.sum !== 'number' || typeof e.bucketValues !== 'object') return false;
  e.count += n;
  e.sum += v * n;
  const b = upperBounds.find((u) => v <= u);
  if (b !== undefined && Object.prototype.hasOwnProperty.call(e.bucketValues, b)) e.bucketValues[b]! += n;
  return true;
}

function histogramOf(h: Histogram, names: readonly string[]): HistogramOf {
  const p = projector(names);
  const list = pendingOf(h);
  const cells = new WeakMap<Labels, Cell & { values: Map<number, number> }>();
  return {
    observe: (l, v) => {
      let cell = cells.get(l);
      if (!cell) {
        const labels = p(l);
        const child = h.labels(labels);
        const values = new Map<number, number>();
        const k: Cell & { values: Map<number, number> } = {
          queued: false,
          values,
          flush: () => {
            for (const [x, n] of values) {
              child.observe(x);
              if (n > 1 && !addObservations(h, labels, x, n - 1)) for (let i = 1; i < n; i++) child.observe(x);
            }
            values.clear();
          },
        };
        cells.set(l, (cell = k));
      }
      const values = cell.values;
      values.set(v, (values.get(v) ?? 0) + 1);
      if (values.size > MAX_PENDING_VALUES) cell.flush();
      else queue(list, cell);
    },
  };
}

export interface SyncMetrics {
  /** `dm_syncer_replication_lag` (histogram) and `dm_syncer_replication_lag_gauge`, both in seconds. */
  lag: GaugeOf;
  binlogFile: GaugeOf;
  binlogPos: GaugeOf;
  finishedTxn: CounterOf;
  txnDuration: HistogramOf;
  /** DDL statements executed on the target (DM's "query" = DDL). */
  queryDuration: HistogramOf;
  /** Row changes (`type` insert/update/delete) and DDLs (`type` ddl) queued for / applied to the target. */
  addedJobs: CounterOf;
  finishedJobs: CounterOf;
  queueSize: GaugeOf;
  remainingTime: GaugeOf;
  eventRows: HistogramOf;
  /** `dm_syncer_shard_lock_resolving` {task, source_id}: 1 while this source waits for a shard DDL lock to be resolved (shard-mode). */
  shardLockResolving: GaugeOf;
}

const TSW = ['task', 'source_id', 'worker'] as const;
const TS = ['task', 'source_id'] as const;
const NODE = ['node', 'task', 'source_id'] as const;
const JOBS = ['type', 'task', 'queueNo', 'source_id', 'worker', 'target_schema', 'target_table'] as const;
/** DM: ExponentialBuckets(0.000005, 2, 25) for txn/query durations. */
const DURATION_BUCKETS = exponentialBuckets(0.000005, 2, 25);
/** DM: ExponentialBuckets(0.5, 2, 12), 0.5 s to 1024 s. */
const LAG_BUCKETS = exponentialBuckets(0.5, 2, 12);

export function syncMetrics(reg: Registry): SyncMetrics {
  const registers = [reg];
  const gauge = (name: string, help: string, labelNames: readonly string[]): Gauge =>
    getOr(reg, name, () => new Gauge({ name, help, labelNames, registers }));
  const counter = (name: string, help: string, labelNames: readonly string[]): Counter =>
    getOr(reg, name, () => new Counter({ name, help, labelNames, registers, collect: flushPending }));
  const histogram = (name: string, help: string, labelNames: readonly string[], buckets: number[]): Histogram =>
    getOr(reg, name, () => new Histogram({ name, help, labelNames, buckets, registers, collect: flushPending }));

  const lagHist = histogramOf(histogram('dm_syncer_replication_lag', 'replication lag histogram in second between mysql and syncer', TSW, LAG_BUCKETS), TSW);
  const lagGauge = gaugeOf(gauge('dm_syncer_replication_lag_gauge', 'replication lag gauge in second between mysql and syncer', TSW), TSW);
  return {
    lag: {
      set: (l, v) => {
        lagGauge.set(l, v);
        lagHist.observe(l, v);
      },
    },
    binlogFile: gaugeOf(gauge('dm_syncer_binlog_file', 'current binlog file index', NODE), NODE),
    binlogPos: gaugeOf(gauge('dm_syncer_binlog_pos', 'current binlog pos', NODE), NODE),
    finishedTxn: counterOf(counter('dm_syncer_finished_transaction_total', 'total number of finished transaction', TSW), TSW),
    txnDuration: histogramOf(histogram('dm_syncer_txn_duration_time', 'Bucketed histogram of processing time (s) of a txn.', TSW, DURATION_BUCKETS), TSW),
    queryDuration: histogramOf(histogram('dm_syncer_query_duration_time', 'Bucketed histogram of query time (s).', TSW, DURATION_BUCKETS), TSW),
    addedJobs: counterOf(counter('dm_syncer_added_jobs_total', 'total number of added jobs', JOBS), JOBS),
    finishedJobs: counterOf(counter('dm_syncer_finished_jobs_total', 'total number of finished jobs', JOBS), JOBS),
    queueSize: gaugeOf(gauge('dm_syncer_queue_size', 'row changes waiting for or being applied', TS), TS),
    remainingTime: gaugeOf(gauge('dm_syncer_remaining_time', 'the remaining time in second to catch up master', TSW), TSW),
    eventRows: histogramOf(histogram('dm_syncer_binlog_event_row', 'number of rows in a binlog event', ['worker', 'task', 'source_id'], [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]), TSW),
    shardLockResolving: gaugeOf(gauge('dm_syncer_shard_lock_resolving', 'waiting shard DDL lock to be resolved', TS), TS),
  };
}

const jobLabelCache = new WeakMap<Labels, Map<string, Map<string, Map<string, Labels>>>>();

/**
 * Labels of one job kind on one target table (`queueNo` is always "0": DM.ts has one causality
 * scheduler, not numbered queues). The same object is returned for the same job kind and table, so
 * the hot path allocates nothing once a table has been seen (nested maps: no key string per call).
 */
export function jobLabels(base: Labels, type: string, targetSchema: string, targetTable: string): Labels {
  let byType = jobLabelCache.get(base);
  if (!byType) jobLabelCache.set(base, (byType = new Map()));
  let bySchema = byType.get(type);
  if (!bySchema) byType.set(type, (bySchema = new Map()));
  let byTable = bySchema.get(targetSchema);
  if (!byTable) bySchema.set(targetSchema, (byTable = new Map()));
  let l = byTable.get(targetTable);
  if (!l) byTable.set(targetTable, (l = { ...base, type, queueNo: '0', target_schema: targetSchema, target_table: targetTable }));
  return l;
}

/** `mysql-bin.000012` → 12 */
export function fileIndex(file: string): number {
  const n = Number(file.slice(file.lastIndexOf('.') + 1));
  return Number.isFinite(n) ? n : 0;
}
