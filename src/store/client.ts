import { readFileSync } from 'node:fs';
import { Etcd3, isRecoverableError, type IOptions } from 'etcd3';
import { circuitBreaker, ConsecutiveBreaker, handleWhen } from 'cockatiel';
import { DMError } from '../errors/index.js';

/** Deadline of every unary etcd call (DEPENDENCIES.md: without one a put stalled 7 s). */
export const DEFAULT_UNARY_DEADLINE_MS = 2000;

export interface EtcdClientOptions {
  endpoints: string[];
  /** Deadline per unary call in ms. */
  unaryDeadlineMs?: number;
  dialTimeoutMs?: number;
  /** TLS to etcd (PEM paths): `ca` verifies the members; `cert`+`key` is the client certificate. */
  tls?: EtcdTlsFiles | undefined;
  /** etcd user/password authentication. */
  auth?: { username: string; password: string } | undefined;
}

/** PEM paths of DM.ts's `etcd-ssl-ca` / `etcd-ssl-cert` / `etcd-ssl-key`. */
export interface EtcdTlsFiles {
  ca: string;
  cert?: string | undefined;
  key?: string | undefined;
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (cause) {
    throw new DMError('ErrConfigEtcdTLS', `cannot read etcd ${what} file ${path}`, { cause });
  }
}

/** etcd3 `credentials` from the TLS files. */
export function etcdCredentials(tls: EtcdTlsFiles): NonNullable<IOptions['credentials']> {
  return {
    rootCertificate: readPem(tls.ca, 'ssl-ca'),
    ...(tls.cert ? { certChain: readPem(tls.cert, 'ssl-cert') } : {}),
    ...(tls.key ? { privateKey: readPem(tls.key, 'ssl-key') } : {}),
  };
}

/**
 * Normalise `host:port` or `http://host:port` endpoints to URLs etcd3 accepts; with `tls`,
 * `host:port` and `http://` become `https://`.
 */
export function normaliseEndpoints(endpoints: string[], tls = false): string[] {
  return endpoints
    .flatMap((e) => e.split(','))
    .map((e) => e.trim())
    .filter((e) => e.length > 0)
    .map((e) => (/^https?:\/\//.test(e) ? e : `http://${e}`))
    .map((e) => (tls ? e.replace(/^http:\/\//, 'https://') : e));
}

/** An etcd3 client whose every unary call carries a deadline; streams (watch, keepalive) have none. */
export function createEtcdClient(opts: EtcdClientOptions): Etcd3 {
  const hosts = normaliseEndpoints(opts.endpoints, opts.tls !== undefined);
  if (hosts.length === 0) throw new DMError('ErrEtcdUnavailable', 'no etcd endpoints given');
  const deadline = opts.unaryDeadlineMs ?? DEFAULT_UNARY_DEADLINE_MS;
  const o: IOptions = {
    hosts,
    dialTimeout: opts.dialTimeoutMs ?? 3000,
    ...(opts.tls ? { credentials: etcdCredentials(opts.tls) } : {}),
    ...(opts.auth ? { auth: opts.auth } : {}),
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + deadline }),
    // A dead member is skipped for 1 s (etcd3's default 5 s slows failover down).
    faultHandling: {
      host: () =>
        circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(3) }),
    },
  };
  return new Etcd3(o);
}
