/**
 * Reader-side `dm_syncer_*` metrics on the caller's Registry (never the global one). Several
 * readers may share one registry (one per task/source): metrics are registered once and each
 * reader writes only its own label values, removed at close().
 *
 * Nothing here runs per binlog event: reads are counted in plain fields and folded into the
 * counters when the registry is scraped (the counters' `collect`) or by `flush()` (the reader
 * calls it from a timer); queue fill is read at scrape time; the syncer position is kept and
 * written by `flush()`.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { binlogFileIndex, type Position } from './position.js';

const LABELS = ['task', 'source_id'] as const;

/** Live readers per registry, flushed by the scrape-time `collect` of the metrics they share. */
const live = new WeakMap<Registry, Set<ReaderMetrics>>();

function flushAll(reg: Registry): void {
  for (const m of live.get(reg) ?? []) m.flush();
}

function gauge(reg: Registry, name: string, help: string, extra: string[] = [], collect?: () => void): Gauge {
  const m = reg.getSingleMetric(name);
  if (m) return m as Gauge;
  return new Gauge({ name, help, labelNames: [...LABELS, ...extra], registers: [reg], ...(collect ? { collect } : {}) });
}

function counter(reg: Registry, name: string, help: string, collect?: () => void): Counter {
  const m = reg.getSingleMetric(name);
  if (m) return m as Counter;
  return new Counter({ name, help, labelNames: [...LABELS], registers: [reg], ...(collect ? { collect } : {}) });
}

export interface QueueFill {
  queueEvents: number;
  queueBytes: number;
}

export class ReaderMetrics {
  private readonly file: Gauge;
  private readonly pos: Gauge;
  private readonly events: Counter;
  private readonly bytes: Counter;
  private readonly queueEvents: Gauge;
  private readonly queueBytes: Gauge;
  private readonly reconnects: Counter;
  private readonly l: { task: string; source_id: string };
  private readonly lNode: { master: Record<string, string>; syncer: Record<string, string> };
  private pendingEvents = 0;
  private pendingBytes = 0;
  private syncerPos: Pick<Position, 'file' | 'offset'> | undefined;
  private syncerFile = '';
  private syncerFileIdx = NaN;

  constructor(
    private readonly reg: Registry,
    labels: { task?: string; source_id?: string },
    private readonly fill: () => QueueFill = () => ({ queueEvents: 0, queueBytes: 0 }),
  ) {
    this.l = { task: labels.task ?? '', source_id: labels.source_id ?? '' };
    this.lNode = { master: { ...this.l, node: 'master' }, syncer: { ...this.l, node: 'reader' } };
    const collect = (): void => flushAll(reg);
    this.file = gauge(reg, 'dm_syncer_binlog_file', 'binlog file index (the number in mysql-bin.NNNNNN): node=master upstream, node=reader read, node=syncer applied', ['node']);
    this.pos = gauge(reg, 'dm_syncer_binlog_pos', 'binlog offset: node=master upstream, node=reader read, node=syncer applied', ['node']);
    this.events = counter(reg, 'dm_syncer_binlog_read_events_total', 'binlog events read from the upstream', collect);
    this.bytes = counter(reg, 'dm_syncer_binlog_read_bytes_total', 'binlog bytes read from the upstream', collect);
    this.queueEvents = gauge(reg, 'dm_syncer_binlog_reader_queue_size', 'events waiting in the reader queue', [], collect);
    this.queueBytes = gauge(reg, 'dm_syncer_binlog_reader_queue_bytes', 'bytes waiting in the reader queue', [], collect);
    this.reconnects = counter(reg, 'dm_syncer_binlog_reader_reconnects_total', 'reconnects of the binlog reader after an upstream error');
    let set = live.get(reg);
    if (!set) live.set(reg, (set = new Set()));
    set.add(this);
  }

  /** Count one binlog event of `bytes` bytes (folded into the counters at flush). */
  read(bytes: number): void {
    this.pendingEvents++;
    this.pendingBytes += bytes;
  }

  /** The reader's last boundary (written to the gauges at flush). */
  syncer(p: Pick<Position, 'file' | 'offset'>): void {
    this.syncerPos = p;
  }

  position(node: 'master' | 'syncer', p: Pick<Position, 'file' | 'offset'>): void {
    let idx: number;
    if (node === 'syncer' && p.file === this.syncerFile) idx = this.syncerFileIdx;
    else {
      idx = binlogFileIndex(p.file);
      if (node === 'syncer') {
        this.syncerFile = p.file;
        this.syncerFileIdx = idx;
      }
    }
    if (Number.isFinite(idx)) this.file.set(this.lNode[node], idx);
    this.pos.set(this.lNode[node], p.offset);
  }

  /** Write what was counted since the last flush; cheap, call it from a timer and before reads of the registry. */
  flush(): void {
    if (this.pendingEvents > 0) {
      this.events.inc(this.l, this.pendingEvents);
      this.bytes.inc(this.l, this.pendingBytes);
      this.pendingEvents = 0;
      this.pendingBytes = 0;
    }
    const f = this.fill();
    this.queueEvents.set(this.l, f.queueEvents);
    this.queueBytes.set(this.l, f.queueBytes);
    const p = this.syncerPos;
    if (p) {
      this.syncerPos = undefined;
      this.position('syncer', p);
    }
  }

  reconnect(): void {
    this.reconnects.inc(this.l, 1);
  }

  remove(): void {
    live.get(this.reg)?.delete(this);
    for (const node of ['master', 'syncer'] as const) {
      this.file.remove(this.lNode[node]);
      this.pos.remove(this.lNode[node]);
    }
    for (const m of [this.events, this.bytes, this.reconnects]) m.remove(this.l);
    for (const m of [this.queueEvents, this.queueBytes]) m.remove(this.l);
  }
}
