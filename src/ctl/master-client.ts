/**
 * A MasterService client for one dm-master address (Connect protocol over HTTP/1.1, or HTTPS
 * with the given CA/cert/key). Thin adapter kept in dmctl's area; the RPC area's client
 * factory can replace it without touching the commands.
 */
import { readFileSync } from 'node:fs';
import { createClient, type Client } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { DMError } from '../errors/index.js';
import { MasterService } from '../gen/dm/master/v1/master_pb.js';
import { bearerInterceptor } from '../rpc/index.js';

export type MasterClient = Client<typeof MasterService>;

export interface CtlTLS {
  ca?: string;
  cert?: string;
  key?: string;
}

function readPem(path: string | undefined, what: string): Buffer | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (e) {
    throw new DMError('ErrCtlFileRead', `cannot read ${what} file ${path}`, { cause: e });
  }
}

/** `host:port` (or a full URL) → base URL. */
export function baseUrlOf(addr: string, tls: boolean): string {
  if (/^https?:\/\//.test(addr)) return addr.replace(/\/+$/, '');
  const a = addr.startsWith(':') ? `127.0.0.1${addr}` : addr;
  return `${tls ? 'https' : 'http'}://${a}`;
}

/** A client of the dm-master at `addr`; `token` is sent as `Authorization: Bearer` on every call. */
export function createCtlMasterClient(addr: string, tls?: CtlTLS, token?: string): MasterClient {
  const useTls = !!(tls?.ca || tls?.cert || tls?.key) || addr.startsWith('https://');
  const ca = readPem(tls?.ca, 'ssl-ca');
  const cert = readPem(tls?.cert, 'ssl-cert');
  const key = readPem(tls?.key, 'ssl-key');
  const transport = createConnectTransport({
    baseUrl: baseUrlOf(addr, useTls),
    httpVersion: '1.1',
    ...(token ? { interceptors: [bearerInterceptor(token)] } : {}),
    ...(useTls ? { nodeOptions: { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) } } : {}),
  });
  return createClient(MasterService, transport);
}
