import { statfsSync } from 'node:fs';
import { Counter, Gauge, Histogram, type Registry } from '../../metrics/index.js';
import { binlogSeq } from './layout.js';

/**
 * The relay's metrics with DM's names and labels (pingcap/tiflow dm/relay/metrics.go): one relay
 * per worker, so no source label, as in DM. `dm_relay_binlog_file` is the numeric suffix of the
 * file (`node` = "master" or "relay"), `dm_relay_space` the relay directory's file system in
 * bytes (`type` = "capacity" or "available").
 */
export class RelayMetrics {
  readonly binlogFile: Gauge<'node'>;
  readonly binlogPos: Gauge<'node'>;
  readonly space: Gauge<'type'>;
  readonly readBinlogCount: Counter;
  readonly writeSize: Histogram;
  readonly writeDuration: Histogram;
  readonly readErrors: Counter;
  readonly writeErrors: Counter;
  readonly exitWithErrors: Counter<'resumable_err'>;
  readonly dataCorruption: Counter;
  readonly purged: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.binlogFile = new Gauge({ name: 'dm_relay_binlog_file', help: 'current binlog file index', labelNames: ['node'], registers });
    this.binlogPos = new Gauge({ name: 'dm_relay_binlog_pos', help: 'current binlog pos in current binlog file', labelNames: ['node'], registers });
    this.space = new Gauge({ name: 'dm_relay_space', help: 'the space of storage for relay component', labelNames: ['type'], registers });
    this.readBinlogCount = new Counter({ name: 'dm_relay_read_binlog_count', help: 'count of binlog events read from the upstream', registers });
    this.writeSize = new Histogram({ name: 'dm_relay_write_size', help: 'bucketed histogram of bytes written by one relay write', buckets: [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304], registers });
    this.writeDuration = new Histogram({ name: 'dm_relay_write_duration', help: 'bucketed histogram of write time (s) of one relay write', buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1], registers });
    this.readErrors = new Counter({ name: 'dm_relay_read_error_count', help: 'number of errors reading binlog from the upstream', registers });
    this.writeErrors = new Counter({ name: 'dm_relay_write_error_count', help: 'number of errors writing relay files', registers });
    this.exitWithErrors = new Counter({ name: 'dm_relay_exit_with_error_count', help: 'number of times the relay stopped with an error', labelNames: ['resumable_err'], registers });
    this.dataCorruption = new Counter({ name: 'dm_relay_data_corruption', help: 'number of relay events that do not continue the relay file', registers });
    this.purged = new Counter({ name: 'dm_relay_purged_file_count', help: 'DM.ts: relay files removed by purge', registers });
    // counters start at 0 so that changes()/increase() see the first error
    for (const c of [this.readErrors, this.writeErrors, this.dataCorruption]) c.inc(0);
    for (const resumable_err of ['true', 'false']) this.exitWithErrors.inc({ resumable_err }, 0);
  }

  readEvents(n: number): void {
    this.readBinlogCount.inc(n);
  }
  wrote(bytes: number, seconds: number): void {
    this.writeSize.observe(bytes);
    this.writeDuration.observe(seconds);
  }
  setFile(name: string, pos: number, node: 'relay' | 'master' = 'relay'): void {
    this.binlogFile.set({ node }, Math.max(0, binlogSeq(name)));
    this.binlogPos.set({ node }, pos);
  }
  /** The relay stopped with an error; `resumable`: it retries by itself (DM's resumable_err). */
  exitWithError(kind: 'read' | 'write' | 'fatal' | 'corruption', resumable: boolean): void {
    this.exitWithErrors.inc({ resumable_err: String(resumable) });
    if (kind === 'read') this.readErrors.inc();
    if (kind === 'write') this.writeErrors.inc();
    if (kind === 'corruption') this.dataCorruption.inc();
  }
  /** Capacity and available bytes of the file system of `dir`. */
  updateSpace(dir: string): { capacity: number; available: number } | undefined {
    try {
      const s = statfsSync(dir);
      const capacity = s.blocks * s.bsize;
      const available = s.bavail * s.bsize;
      this.space.set({ type: 'capacity' }, capacity);
      this.space.set({ type: 'available' }, available);
      return { capacity, available };
    } catch {
      return undefined;
    }
  }
  /** The relay is gone from this worker: its gauges go too. */
  forget(): void {
    this.binlogFile.reset();
    this.binlogPos.reset();
    this.space.reset();
  }
}
