#!/usr/bin/env node
/** dm-worker: flags (same names as dm-worker.yaml keys; flags win), config, wiring, signals. */
import { Command } from 'commander';
import { loadWorkerConfig } from '../config/index.js';
import { DMWorker } from '../worker/index.js';
import { runServer } from './server-main.js';
import { applyWorkerHeapPolicy } from './worker-heap.js';

// bounded old-generation growth (./worker-heap.ts); kept when node was given its own flag
const heapGrowingPercent = applyWorkerHeapPolicy();

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
  .option('--secret-key-path <file>', "the masters' password encryption key file (same as their secret-key-path)");

runServer({
  role: 'dm-worker',
  program,
  load: (path, overrides) => loadWorkerConfig(path, { overrides }),
  build: (config, logger) => {
    logger.info({ heapGrowingPercent }, 'V8 heap growth after a full GC (percent of the live heap; "operator": node flag given)');
    return new DMWorker({ config, logger });
  },
});
