import type { Client } from '@connectrpc/connect';
import { createMasterClient, createWorkerClient, type RpcClientOptions } from '../rpc/index.js';
import type { MasterService } from '../gen/dm/master/v1/master_pb.js';
import type { WorkerService } from '../gen/dm/worker/v1/worker_pb.js';

/** A process's TLS settings (DM's `ssl-ca` / `ssl-cert` / `ssl-key`, PEM paths). */
export interface ProcessTls {
  sslCa?: string | undefined;
  sslCert?: string | undefined;
  sslKey?: string | undefined;
}

/**
 * Client TLS options for calls a master/worker makes to its peers, from its own ssl-* settings:
 * `ssl-ca` verifies the peer, `ssl-cert`+`ssl-key` are presented as the client certificate.
 * Undefined (cleartext http) when neither a CA nor a cert+key pair is configured.
 */
export function peerTls(cfg: ProcessTls): RpcClientOptions['tls'] {
  const pair = Boolean(cfg.sslCert && cfg.sslKey);
  if (!cfg.sslCa && !pair) return undefined;
  return {
    ...(cfg.sslCa ? { ca: cfg.sslCa } : {}),
    ...(pair ? { cert: cfg.sslCert, key: cfg.sslKey } : {}),
  };
}

/** Cached clients of peer masters/workers, all created with one TLS setting. */
export interface PeerClients {
  /** A (cached) client of a dm-master at `host:port`. */
  masterClient: (addr: string) => Client<typeof MasterService>;
  /** A (cached) client of a dm-worker at `host:port`. */
  workerClient: (addr: string) => Client<typeof WorkerService>;
}

/**
 * A client cache whose clients use `tls` (https) when given, else cleartext http; `more` adds
 * client options such as the cluster-token interceptor (rpc/security.ts `peer`).
 */
export function createPeerClients(tls?: RpcClientOptions['tls'], more: RpcClientOptions = {}): PeerClients {
  const opts: RpcClientOptions = { ...more, ...(tls ? { tls } : {}) };
  const masters = new Map<string, Client<typeof MasterService>>();
  const workers = new Map<string, Client<typeof WorkerService>>();
  return {
    masterClient: (addr) => {
      let c = masters.get(addr);
      if (!c) {
        c = createMasterClient(addr, opts);
        masters.set(addr, c);
      }
      return c;
    },
    workerClient: (addr) => {
      let c = workers.get(addr);
      if (!c) {
        c = createWorkerClient(addr, opts);
        workers.set(addr, c);
      }
      return c;
    },
  };
}

const plain = createPeerClients();

/** A (cached) cleartext client of a dm-master at `host:port`. */
export function masterClient(addr: string): Client<typeof MasterService> {
  return plain.masterClient(addr);
}

/** A (cached) cleartext client of a dm-worker at `host:port`. */
export function workerClient(addr: string): Client<typeof WorkerService> {
  return plain.workerClient(addr);
}
