/**
 * Reader-side `dm_syncer_*` metrics on the caller's Registry (never the global one). Several
 * readers may share one registry (one per task/source): metrics are registered once and each
 * reader writes only its own label values, removed at close().
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { binlogFileIndex, type Position } from './position.js';

const LABELS = ['task', 'source_id'] as const;

function gauge(reg: Registry, name: string, help: string, extra: string[] = []): Gauge {
  const m = reg.getSingleMetric(name);
  if (m) return m as Gauge;
  return new Gauge({ name, help, labelNames: [...LABELS, ...extra], registers: [reg] });
}

function counter(reg: Registry, name: string, help: string): Counter {
  const m = reg.getSingleMetric(name);
  if (m) return m as Counter;
  return new Counter({ name, help, labelNames: [...LABELS], registers: [reg] });
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

  constructor(reg: Registry, labels: { task?: string; source_id?: string }) {
    this.l = { task: labels.task ?? '', source_id: labels.source_id ?? '' };
    this.file = gauge(reg, 'dm_syncer_binlog_file', 'binlog file index (the number in mysql-bin.NNNNNN) of the master and of the syncer (reader)', ['node']);
    this.pos = gauge(reg, 'dm_syncer_binlog_pos', 'binlog offset of the master and of the syncer (reader)', ['node']);
    this.events = counter(reg, 'dm_syncer_binlog_read_events_total', 'binlog events read from the upstream');
    this.bytes = counter(reg, 'dm_syncer_binlog_read_bytes_total', 'binlog bytes read from the upstream');
    this.queueEvents = gauge(reg, 'dm_syncer_binlog_reader_queue_size', 'events waiting in the reader queue');
    this.queueBytes = gauge(reg, 'dm_syncer_binlog_reader_queue_bytes', 'bytes waiting in the reader queue');
    this.reconnects = counter(reg, 'dm_syncer_binlog_reader_reconnects_total', 'reconnects of the binlog reader after an upstream error');
  }

  read(bytes: number): void {
    this.events.inc(this.l, 1);
    this.bytes.inc(this.l, bytes);
  }

  queue(events: number, bytes: number): void {
    this.queueEvents.set(this.l, events);
    this.queueBytes.set(this.l, bytes);
  }

  position(node: 'master' | 'syncer', p: Pick<Position, 'file' | 'offset'>): void {
    const idx = binlogFileIndex(p.file);
    if (Number.isFinite(idx)) this.file.set({ ...this.l, node }, idx);
    this.pos.set({ ...this.l, node }, p.offset);
  }

  reconnect(): void {
    this.reconnects.inc(this.l, 1);
  }

  remove(): void {
    for (const node of ['master', 'syncer']) {
      this.file.remove({ ...this.l, node });
      this.pos.remove({ ...this.l, node });
    }
    for (const m of [this.events, this.bytes, this.reconnects]) m.remove(this.l);
    for (const m of [this.queueEvents, this.queueBytes]) m.remove(this.l);
  }
}
