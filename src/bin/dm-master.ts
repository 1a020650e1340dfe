#!/usr/bin/env node
/** dm-master: flags (same names as dm-master.yaml keys; flags win), config, wiring, signals. */
import { Command } from 'commander';
import { configOverrides, loadMasterConfig } from '../config/index.js';
import { createLogger } from '../log/index.js';
import { DMError } from '../errors/index.js';
import { rootController, versionText } from '../util/index.js';
import { DMMaster, setCheckTaskHandler, setTaskPrecheck } from '../master/index.js';
import { checkTaskReply, taskPrecheck } from '../checker/index.js';

const program = new Command('dm-master')
  .description('DM.ts dm-master: cluster brain (etcd member, election, scheduler, API)')
  .option('--config <file>', 'dm-master.yaml')
  .option('--name <name>', 'unique name of this master')
  .option('--master-addr <addr>', 'RPC listen address, e.g. :8261')
  .option('--advertise-addr <addr>', 'RPC address others use to reach this master')
  .option('--peer-urls <urls>', 'embedded etcd peer listen URL, e.g. http://127.0.0.1:8291')
  .option('--advertise-peer-urls <urls>', 'embedded etcd peer URL advertised to other members')
  .option('--initial-cluster <list>', 'name=peer-url,... of all initial masters')
  .option('--initial-cluster-state <state>', 'new | existing')
  .option('--join <addrs>', 'join a running cluster through these masters (host:port or etcd client URL)')
  .option('--data-dir <dir>', 'embedded etcd data directory')
  .option('--etcd-endpoints <urls>', 'use this external etcd cluster instead of an embedded member')
  .option('--etcd-client-urls <url>', 'embedded etcd client URL (default: master port + 10)')
  .option('--etcd-prefix <prefix>', 'cluster key prefix in etcd (default /dm/)')
  .option('--keepalive-ttl <duration>', 'liveness lease TTL of masters and workers (e.g. 10s or 10)')
  .option('--secret-key-path <file>', 'file holding the 64-hex-digit password encryption key')
  .option('--log-level <level>', 'debug | info | warn | error')
  .option('--log-file <file>', 'log file (default stderr)')
  .option('--ssl-ca <file>', 'TLS CA')
  .option('--ssl-cert <file>', 'TLS certificate')
  .option('--ssl-key <file>', 'TLS key')
  .option('-V, --version', 'print the version and exit');

program.parse(process.argv);
const flags = program.opts<Record<string, string | boolean | undefined>>();
if (flags['version']) {
  process.stdout.write(versionText('dm-master'));
  process.exit(0);
}


async function main(): Promise<void> {
  // --log-level > DM_LOG_LEVEL > the file's log-level > info
  const overrides = configOverrides(program.options, flags, process.env);
  const configPath = typeof flags['config'] === 'string' ? flags['config'] : undefined;
  const cfg = loadMasterConfig(configPath, { overrides });
  const logger = createLogger({ level: cfg.logLevel, format: cfg.logFormat, ...(cfg.logFile ? { file: cfg.logFile } : {}), rotation: cfg.log.file, name: cfg.name });
  const holder: { master?: DMMaster } = {};
  const ac = rootController((sig) => logger.info({ signal: sig }, 'shutting down'));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception');
    process.stderr.write(`dm-master: uncaught exception: ${err.stack ?? err.message}\n`);
    process.exit(1);
  });
  const fatal = (e: unknown): void => {
    const text = e instanceof DMError ? e.toString() : e instanceof Error ? e.message : String(e);
    logger.fatal({ err: e }, 'dm-master failed');
    process.stderr.write(`dm-master: ${text}\n`);
    void (holder.master?.close() ?? Promise.resolve()).finally(() => process.exit(1));
  };
  // Prechecks of start-task and the check-task RPC (src/checker).
  setTaskPrecheck(taskPrecheck);
  setCheckTaskHandler(checkTaskReply);
  const master = new DMMaster({ config: cfg, logger, onFatal: fatal });
  holder.master = master;
  ac.signal.addEventListener('abort', () => {
    void master.close().then(() => process.exit(0));
  });
  try {
    await master.start();
  } catch (e) {
    fatal(e);
  }
}

main().catch((e: unknown) => {
  const text = e instanceof DMError ? e.toString() : e instanceof Error ? e.message : String(e);
  process.stderr.write(`dm-master: ${text}\n`);
  process.exit(1);
});
