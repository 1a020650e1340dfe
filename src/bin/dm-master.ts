#!/usr/bin/env node
/** dm-master: flags (same names as dm-master.yaml keys; flags win), config, wiring, signals. */
import { Command } from 'commander';
import { loadMasterConfig } from '../config/index.js';
import { DMMaster } from '../master/index.js';
import { checkTaskReply, taskPrecheck } from '../checker/index.js';
import { runServer } from './server-main.js';

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
  .option('--secret-key-path <file>', 'file holding the 64-hex-digit password encryption key');

runServer({
  role: 'dm-master',
  program,
  load: (path, overrides) => loadMasterConfig(path, { overrides }),
  // the prechecks of start-task and the body of check-task come from src/checker
  build: (config, logger, onFatal) => new DMMaster({ config, logger, onFatal, precheck: taskPrecheck, checkTask: checkTaskReply }),
});
