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
}

/** Normalise `host:port` or `http://host:port` endpoints to URLs etcd3 accepts. */
export function normaliseEndpoints(endpoints: string[]): string[] {
  return endpoints
    .flatMap((e) => e.split(','))
    .map((e) => e.trim())
    .filter((e) => e.length > 0)
    .map((e) => (/^https?:\/\//.test(e) ? e : `http://${e}`));
}

/** An etcd3 client whose every unary call carries a deadline; streams (watch, keepalive) have none. */
export function createEtcdClient(opts: EtcdClientOptions): Etcd3 {
  const hosts = normaliseEndpoints(opts.endpoints);
  if (hosts.length === 0) throw new DMError('ErrEtcdUnavailable', 'no etcd endpoints given');
  const deadline = opts.unaryDeadlineMs ?? DEFAULT_UNARY_DEADLINE_MS;
  const o: IOptions = {
    hosts,
    dialTimeout: opts.dialTimeoutMs ?? 3000,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + deadline }),
    // A dead member is skipped for 1 s (etcd3's default 5 s slows failover down).
    faultHandling: {
      host: () =>
        circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(3) }),
    },
  };
  return new Etcd3(o);
}
