import { readFileSync } from 'node:fs';
import type { DescService } from '@bufbuild/protobuf';
import { createClient, type Client, type Interceptor, type Transport } from '@connectrpc/connect';
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from '@connectrpc/connect-node';
import { DMError } from '../errors/index.js';
import { MasterService } from '../gen/dm/master/v1/master_pb.js';
import { WorkerService } from '../gen/dm/worker/v1/worker_pb.js';

/** Wire protocol of a client: Connect (default), gRPC (HTTP/2) or gRPC-web (HTTP/1.1). */
export type RpcProtocol = 'connect' | 'grpc' | 'grpc-web';

export interface RpcClientOptions {
  /** TLS files (PEM paths): `ca` to verify the server; `cert`+`key` for mutual TLS. Implies https. */
  tls?: { ca?: string; cert?: string; key?: string };
  /** Default deadline of every call in ms (a call may pass its own `timeoutMs`). */
  timeoutMs?: number;
  /** Wire protocol; default 'connect' (over HTTP/1.1). */
  protocol?: RpcProtocol;
  /** Client interceptors. */
  interceptors?: Interceptor[];
}

/** `127.0.0.1:8261` → `http://127.0.0.1:8261` (https with TLS); full URLs are kept. */
export function toBaseUrl(addr: string, tls = false): string {
  if (/^https?:\/\//i.test(addr)) return addr.replace(/\/+$/, '');
  return `${tls ? 'https' : 'http'}://${addr}`;
}

function readTls(tls: NonNullable<RpcClientOptions['tls']>): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const out: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  for (const k of ['ca', 'cert', 'key'] as const) {
    const p = tls[k];
    if (!p) continue;
    try {
      out[k] = readFileSync(p);
    } catch (cause) {
      throw new DMError('ErrRpcTLSConfig', `cannot read TLS ${k} file ${p}`, { cause });
    }
  }
  return out;
}

/** A transport to a dm-master or dm-worker at `addr` ("host:port" or a URL). */
export function createRpcTransport(addr: string, opts: RpcClientOptions = {}): Transport {
  const baseUrl = toBaseUrl(addr, opts.tls !== undefined);
  const nodeOptions = opts.tls ? readTls(opts.tls) : {};
  const common = {
    baseUrl,
    ...(opts.timeoutMs !== undefined ? { defaultTimeoutMs: opts.timeoutMs } : {}),
    ...(opts.interceptors ? { interceptors: opts.interceptors } : {}),
  };
  switch (opts.protocol ?? 'connect') {
    case 'grpc':
      return createGrpcTransport({ ...common, nodeOptions });
    case 'grpc-web':
      return createGrpcWebTransport({ ...common, httpVersion: '1.1', nodeOptions });
    case 'connect':
      return createConnectTransport({ ...common, httpVersion: '1.1', nodeOptions });
  }
}

/** A typed client of any DM.ts service at `addr`. */
export function createServiceClient<S extends DescService>(
  service: S,
  addr: string,
  opts: RpcClientOptions = {},
): Client<S> {
  return createClient(service, createRpcTransport(addr, opts));
}

/** A MasterService client for the dm-master at `addr` (e.g. "127.0.0.1:8261"). */
export function createMasterClient(addr: string, opts: RpcClientOptions = {}): Client<typeof MasterService> {
  return createServiceClient(MasterService, addr, opts);
}

/** A WorkerService client for the dm-worker at `addr` (e.g. "127.0.0.1:8262"). */
export function createWorkerClient(addr: string, opts: RpcClientOptions = {}): Client<typeof WorkerService> {
  return createServiceClient(WorkerService, addr, opts);
}
