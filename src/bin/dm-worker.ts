#!/usr/bin/env node
/** dm-worker: flags (same names as dm-worker.yaml keys; flags win), config, wiring, signals. */
import { Command } from 'commander';
import { configOverrides, loadWorkerConfig } from '../config/index.js';
import { createLogger } from '../log/index.js';
import { DMError } from '../errors/index.js';
import { rootController, versionText } from '../util/index.js';
import { DMWorker } from '../worker/index.js';

const program = new Command('dm-worker')
  .description('DM.ts dm-worker: runs the subtasks of the source bound to it')
  .option('--config <file>', 'dm-worker.yaml')
  .option('--name <name>', 'unique name of this worker')
  .option('--worker-addr <addr>', 'RPC listen address, e.g. :8262')
  .option('--advertise-addr <addr>', 'RPC address masters use to reach this worker')
  .option('--join <addrs>', 'dm-master addresses, comma-separated')
  .option('--keepalive-ttl <duration>', 'liveness lease TTL (default 10s; a number means seconds)')
  .option('--relay-dir <dir>', 'relay log directory')
  .option('--etcd-endpoints <urls>', 'etcd endpoints (default: the ones the master returns)')
  .option('--secret-key-path <file>', "the masters' password encryption key file (same as their secret-key-path)")
  .option('--log-level <level>', 'debug | info | warn | error')
  .option('--log-file <file>', 'log file (default stderr)')
  .option('--ssl-ca <file>', 'TLS CA')
  .option('--ssl-cert <file>', 'TLS certificate')
  .option('--ssl-key <file>', 'TLS key')
  .option('-V, --version', 'print the version and exit');

program.parse(process.argv);
const flags = program.opts<Record<string, string | boolean | undefined>>();
if (flags['version']) {
  process.stdout.write(versionText('dm-worker'));
  process.exit(0);
}


function text(e: unknown): string {
  return e instanceof DMError ? e.toString() : e instanceof Error ? e.message : String(e);
}

async function main(): Promise<void> {
  // --log-level > DM_LOG_LEVEL > the file's log-level > info
  const overrides = configOverrides(program.options, flags, process.env);
  const cfg = loadWorkerConfig(typeof flags['config'] === 'string' ? flags['config'] : undefined, { overrides });
  const logger = createLogger({ level: cfg.logLevel, format: cfg.logFormat, ...(cfg.logFile ? { file: cfg.logFile } : {}), rotation: cfg.log.file, name: cfg.name });
  const worker = new DMWorker({ config: cfg, logger });
  const ac = rootController((sig) => logger.info({ signal: sig }, 'shutting down'));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception');
    process.stderr.write(`dm-worker: uncaught exception: ${err.stack ?? err.message}\n`);
    process.exit(1);
  });
  ac.signal.addEventListener('abort', () => {
    void worker.close().then(() => process.exit(0));
  });
  try {
    await worker.start();
  } catch (e) {
    logger.fatal({ err: e }, 'dm-worker failed');
    process.stderr.write(`dm-worker: ${text(e)}\n`);
    await worker.close();
    process.exit(1);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`dm-worker: ${text(e)}\n`);
  process.exit(1);
});
