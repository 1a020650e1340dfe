/**
 * The start-up dm-master and dm-worker share (not an entry point): the common trailing flags,
 * `--version`, flags + environment → config, the process logger, the root AbortController
 * (SIGINT/SIGTERM → close → exit 0), last-resort handlers for unhandled errors, and "a fatal
 * error → log, stderr, close, exit 1". Each entry point names its own flags and builds its server.
 */
import type { Command } from 'commander';
import { configOverrides, type MasterConfig } from '../config/index.js';
import { createLogger, type Logger } from '../log/index.js';
import { DMError } from '../errors/index.js';
import { rootController, versionText } from '../util/index.js';

/** What a server process is to its entry point. */
export interface ServerProcess {
  start(): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

type ServerConfig = Pick<MasterConfig, 'name' | 'logLevel' | 'logFormat' | 'logFile' | 'log'>;

export interface ServerMainOptions<C extends ServerConfig> {
  role: 'dm-master' | 'dm-worker';
  /** The command with the role's own flags; the common ones are added by `runServer`. */
  program: Command;
  /** Load the config file (if any) with the flag and environment overrides on top. */
  load: (configPath: string | undefined, overrides: Record<string, unknown>) => C;
  /** Build (not start) the server; `onFatal` ends the process when it cannot go on. */
  build: (cfg: C, logger: Logger, onFatal: (e: unknown) => void) => ServerProcess;
}

function errorText(e: unknown): string {
  return e instanceof DMError ? e.toString() : e instanceof Error ? e.message : String(e);
}

/** Parse argv and run the server until a signal or a fatal error ends the process. */
export function runServer<C extends ServerConfig>(o: ServerMainOptions<C>): void {
  const { role, program } = o;
  program
    .option('--log-level <level>', 'debug | info | warn | error')
    .option('--log-file <file>', 'log file (default stderr)')
    .option('--ssl-ca <file>', 'TLS CA')
    .option('--ssl-cert <file>', 'TLS certificate')
    .option('--ssl-key <file>', 'TLS key')
    .option('-V, --version', 'print the version and exit');
  program.parse(process.argv);
  const flags = program.opts<Record<string, string | boolean | undefined>>();
  if (flags['version']) {
    process.stdout.write(versionText(role));
    process.exit(0);
  }

  async function main(): Promise<void> {
    // --log-level > DM_LOG_LEVEL > the file's log-level > info
    const overrides = configOverrides(program.options, flags, process.env);
    const cfg = o.load(typeof flags['config'] === 'string' ? flags['config'] : undefined, overrides);
    const logger = createLogger({ level: cfg.logLevel, format: cfg.logFormat, ...(cfg.logFile ? { file: cfg.logFile } : {}), rotation: cfg.log.file, name: cfg.name });
    const holder: { server?: ServerProcess } = {};
    const ac = rootController((sig) => logger.info({ signal: sig }, 'shutting down'));
    process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
    process.on('uncaughtException', (err) => {
      logger.fatal({ err }, 'uncaught exception');
      process.stderr.write(`${role}: uncaught exception: ${err.stack ?? err.message}\n`);
      process.exit(1);
    });
    const fatal = (e: unknown): void => {
      logger.fatal({ err: e }, `${role} failed`);
      process.stderr.write(`${role}: ${errorText(e)}\n`);
      void (holder.server?.close() ?? Promise.resolve()).finally(() => process.exit(1));
    };
    const server = o.build(cfg, logger, fatal);
    holder.server = server;
    ac.signal.addEventListener('abort', () => {
      void server.close().then(() => process.exit(0));
    });
    try {
      await server.start();
    } catch (e) {
      fatal(e);
    }
  }

  main().catch((e: unknown) => {
    process.stderr.write(`${role}: ${errorText(e)}\n`);
    process.exit(1);
  });
}
