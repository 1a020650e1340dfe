import type { Client } from '@connectrpc/connect';
import { createMasterClient, createWorkerClient } from '../rpc/index.js';
import type { MasterService } from '../gen/dm/master/v1/master_pb.js';
import type { WorkerService } from '../gen/dm/worker/v1/worker_pb.js';

const masterClients = new Map<string, Client<typeof MasterService>>();
const workerClients = new Map<string, Client<typeof WorkerService>>();

/** A (cached) client of a dm-master at `host:port`. */
export function masterClient(addr: string): Client<typeof MasterService> {
  let c = masterClients.get(addr);
  if (!c) {
    c = createMasterClient(addr);
    masterClients.set(addr, c);
  }
  return c;
}

/** A (cached) client of a dm-worker at `host:port`. */
export function workerClient(addr: string): Client<typeof WorkerService> {
  let c = workerClients.get(addr);
  if (!c) {
    c = createWorkerClient(addr);
    workerClients.set(addr, c);
  }
  return c;
}
