/**
 * Where a run of the sync unit starts, and what it starts with: the hand-off from the checkpoint,
 * or — when the target has none yet — from the full phase or the task's `meta` / start time.
 *
 * Order of precedence (each run):
 * 1. The checkpoint in the target (checkpoint.ts): its GTID set with `enable-gtid`, else its
 *    file:offset; the table structures stored with it.
 * 2. Else SyncConfig.start: the full phase's snapshot position (with its recorded structures,
 *    SyncConfig.startSchemas), the task's `meta`, or a start time; an empty GTID set means
 *    "from the oldest binlog the source has".
 * 3. Else ErrSyncNoStartPosition (36004).
 *
 * Also decided here, once per run: automatic safe mode for `safe-mode-duration` after a start
 * that follows an unclean exit (DM's rule), and the reader's options (src/binlog's reader, through
 * binlog-source.ts), including where structures come from when none were stored (the downstream
 * tables, as DM does; docs/sync.md).
 */
import type { Logger } from 'pino';
import type { Pool } from 'mysql2/promise';
import type { Registry } from 'prom-client';
import type { Position } from '../../binlog/position.js';
import { DMError } from '../../errors/index.js';
import type { SyncReaderOptions } from './binlog-source.js';
import type { LoadedCheckpoint } from './checkpoint.js';
import type { SyncConfig, SyncerSettings } from './config.js';
import { downstreamSchemas } from './downstream-schemas.js';
import type { SyncFilters } from './filters.js';

/** How a run starts. */
export interface StartPlan {
  /** What the reader is asked to start from. */
  start: SyncReaderOptions['start'];
  /** The low-water mark before the first event (the checkpoint, or the start as a position). */
  startPos: Position;
  /** Structures valid at the start (stored with the checkpoint, or the full phase's), if any. */
  schemas: string | undefined;
  /** The last run did not exit cleanly (a crash): automatic safe mode applies. */
  unclean: boolean;
}

export function startPlan(cfg: SyncConfig, cp: LoadedCheckpoint): StartPlan {
  const start = startSpec(cfg, cp.pos);
  const startPos: Position =
    cp.pos ??
    ('file' in start
      ? { file: start.file, offset: start.offset, gtid: '' }
      : { file: '', offset: 0, gtid: 'gtid' in start ? start.gtid : '' });
  const schemas = cp.pos && cp.schemas ? cp.schemas : !cp.pos && cfg.startSchemas ? cfg.startSchemas : undefined;
  // DM: automatic safe mode for safe-mode-duration after a start that follows an unclean exit
  const unclean = cp.pos !== undefined && !cp.cleanExit;
  return { start, startPos, schemas, unclean };
}

function startSpec(cfg: SyncConfig, cp: Position | undefined): SyncReaderOptions['start'] {
  if (cp) {
    if (cfg.enableGtid && cp.gtid) return { gtid: cp.gtid };
    return { file: cp.file, offset: cp.offset };
  }
  const s = cfg.start;
  if (!s)
    throw new DMError(
      'ErrSyncNoStartPosition',
      `no checkpoint and no start position for source ${cfg.sourceId}`,
    );
  if ('time' in s) return { time: s.time };
  if ('file' in s && s.file) {
    if (cfg.enableGtid && s.gtid) return { gtid: s.gtid };
    return { file: s.file, offset: s.offset };
  }
  // an empty GTID set is a start too: everything from the oldest binlog the source has
  if ('gtid' in s && typeof s.gtid === 'string' && !('file' in s)) return { gtid: s.gtid };
  throw new DMError('ErrSyncNoStartPosition', `empty start position for source ${cfg.sourceId}`);
}

/** What readerOptions() needs besides the config. */
export interface ReaderOptionsDeps {
  settings: SyncerSettings;
  filters: SyncFilters;
  heartbeatMs: number;
  log: Logger;
  registry: Registry;
  /** The target pool (for the downstream structures). */
  pool: () => Pool;
}

export function readerOptions(cfg: SyncConfig, plan: StartPlan, d: ReaderOptionsDeps): SyncReaderOptions {
  const src = cfg.source;
  return {
    connection: { host: src.host, port: src.port, user: src.user, password: src.password, ...(src.ssl ? { ssl: { ...src.ssl } } : {}) },
    flavor: src.flavor,
    serverId: src.serverId,
    start: plan.start,
    includeTable: (s, t) => d.filters.includeTable(s, t),
    maxQueueEvents: d.settings.maxQueueEvents,
    maxQueueBytes: d.settings.maxQueueBytes,
    heartbeatMs: d.heartbeatMs,
    logger: d.log,
    registry: d.registry,
    labels: { task: cfg.taskName, source_id: cfg.sourceId },
    // no structures saved for the start position: DM's way, the downstream tables' (docs/sync.md)
    seedSchemas: (source) => downstreamSchemas(source, d.pool(), d.filters, d.log),
    structureFromTarget: true,
    ...(plan.schemas !== undefined ? { schemas: plan.schemas } : {}),
  };
}
