import { pino, destination as pinoDestination, type Logger, type LoggerOptions, type DestinationStream } from 'pino';
import { RotatingFile } from './rotating-file.js';
import { textDestination } from './text-format.js';

export type { Logger } from 'pino';

/** Paths pino redacts everywhere: passwords in source/task configs, wherever they appear. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  '*.*.*.password',
  'from.password',
  'config.from.password',
  'target-database.password',
  'targetDatabase.password',
  '*["target-database"].password',
  'secret',
  '*.secret',
  // etcd credentials of dm-master / dm-worker configs, bearer tokens
  'etcdPassword',
  '*.etcdPassword',
  '*["etcd-password"]',
  'authorization',
  '*.authorization',
  'token',
  '*.token',
];

export interface LoggerConfig {
  /**
   * Default: DM_LOG_LEVEL, else `info`. The binaries pass the level of their loaded config, in
   * which DM_LOG_LEVEL already overrides the file and `--log-level` overrides both.
   */
  level?: string;
  /** Log file; default stderr. */
  file?: string;
  /**
   * Rotation of `file`: `[log.file]` of the dm-master / dm-worker config, `max-size` in MB
   * (fractions allowed), `max-days`, `max-backups`. Default: no rotation.
   */
  rotation?: { maxSize?: number; maxDays?: number; maxBackups?: number };
  name?: string;
  /** DM's `log-format`: `text` (DM's layout, the binaries' default) or `json` (one JSON object per line). Default json. */
  format?: 'text' | 'json';
}

/** Log files of this process, reopened together on SIGHUP. */
const openFiles = new Set<RotatingFile>();
let sighupInstalled = false;

/**
 * Reopen every log file of this process under its name (what SIGHUP does, for logrotate's
 * move-then-signal). Lines already written stay in the moved file.
 */
export function reopenLogFiles(): void {
  for (const f of openFiles) {
    try {
      f.reopen();
    } catch {
      // a closed destination: nothing to reopen
    }
  }
}

function trackFile(f: RotatingFile): void {
  openFiles.add(f);
  if (!sighupInstalled) {
    sighupInstalled = true;
    process.on('SIGHUP', reopenLogFiles);
  }
}

/**
 * One JSON object per line with one key per field. pino appends a child's bindings to its
 * parent's, so `child({component: 'scheduler'})` of a `component: 'dm-master'` logger would
 * write `component` twice; parsing keeps the last (innermost) value in the first key's place.
 */
function jsonDestination(out: DestinationStream): DestinationStream {
  return {
    write(line: string): void {
      try {
        out.write(`${JSON.stringify(JSON.parse(line))}\n`);
      } catch {
        out.write(line);
      }
    },
  };
}

/** One root logger per process; components take `root.child({component, task, source})`. */
export function createLogger(cfg: LoggerConfig = {}, destination?: DestinationStream): Logger {
  const opts: LoggerOptions = {
    level: cfg.level ?? process.env['DM_LOG_LEVEL'] ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '******' },
    base: cfg.name ? { name: cfg.name } : {},
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const shaped = (d: DestinationStream): DestinationStream => (cfg.format === 'text' ? textDestination(d) : jsonDestination(d));
  if (destination) return pino(opts, shaped(destination));
  if (cfg.file) {
    const r = cfg.rotation ?? {};
    const file = new RotatingFile(cfg.file, {
      maxBytes: Math.round((r.maxSize ?? 0) * 1024 * 1024),
      maxDays: r.maxDays ?? 0,
      maxBackups: r.maxBackups ?? 0,
    });
    trackFile(file);
    return pino(opts, shaped(file));
  }
  return pino(opts, shaped(pinoDestination(2)));
}

/** A logger that drops everything: for tests and in-process units that are given none. */
export const silentLogger: Logger = pino({ level: 'silent' });
