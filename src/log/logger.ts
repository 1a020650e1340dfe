import { pino, destination as pinoDestination, type Logger, type LoggerOptions, type DestinationStream } from 'pino';
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
  name?: string;
  /** DM's `log-format`: `text` (DM's layout, the binaries' default) or `json` (one JSON object per line). Default json. */
  format?: 'text' | 'json';
}

/** One root logger per process; components take `root.child({component, task, source})`. */
export function createLogger(cfg: LoggerConfig = {}, destination?: DestinationStream): Logger {
  const opts: LoggerOptions = {
    level: cfg.level ?? process.env['DM_LOG_LEVEL'] ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '******' },
    base: cfg.name ? { name: cfg.name } : {},
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const shaped = (d: DestinationStream): DestinationStream => (cfg.format === 'text' ? textDestination(d) : d);
  if (destination) return pino(opts, shaped(destination));
  if (cfg.file) return pino(opts, shaped(pinoDestination({ dest: cfg.file, mkdir: true, sync: false })));
  return pino(opts, shaped(pinoDestination(2)));
}

/** A logger that drops everything: for tests and in-process units that are given none. */
export const silentLogger: Logger = pino({ level: 'silent' });
