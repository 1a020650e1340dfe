import { Code, ConnectError, type Interceptor, type StreamResponse } from '@connectrpc/connect';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../log/index.js';
import { DMError } from '../errors/index.js';
import { toConnectError } from './errors.js';

/** Lower-case snake name of a Connect code as used in metrics labels ("ok" for success). */
export function codeLabel(code: Code | undefined): string {
  if (code === undefined) return 'ok';
  const name = Code[code];
  return name.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

/**
 * Server interceptor: whatever a handler throws (also while streaming) leaves as a ConnectError
 * built by `toConnectError`, so a DMError keeps its DM code. Non-DM, non-Connect errors are
 * logged (they are bugs or unclassified failures).
 */
export function errorInterceptor(logger?: Logger): Interceptor {
  const note = (e: unknown, method: string): void => {
    if (logger && !(e instanceof DMError) && !(e instanceof ConnectError))
      logger.warn({ err: e, method }, 'rpc handler failed with an unclassified error');
  };
  return (next) => async (req) => {
    try {
      const res = await next(req);
      if (!res.stream) return res;
      const inner = res.message;
      const wrapped: StreamResponse = {
        ...res,
        message: (async function* () {
          try {
            yield* inner;
          } catch (e) {
            note(e, req.method.name);
            throw toConnectError(e);
          }
        })(),
      };
      return wrapped;
    } catch (e) {
      note(e, req.method.name);
      throw toConnectError(e);
    }
  };
}

/** The RPC metrics of one registry. */
export interface RpcMetrics {
  requests: Counter<'service' | 'method' | 'code'>;
  duration: Histogram<'service' | 'method'>;
}

const REQUESTS = 'dm_rpc_requests_total';
const DURATION = 'dm_rpc_duration_seconds';

/** Get (or register once) the RPC metrics on a registry. */
export function rpcMetrics(registry: Registry): RpcMetrics {
  const requests =
    (registry.getSingleMetric(REQUESTS) as Counter<'service' | 'method' | 'code'> | undefined) ??
    new Counter({
      name: REQUESTS,
      help: 'RPC requests handled, by service, method and result code (ok or the Connect code)',
      labelNames: ['service', 'method', 'code'] as const,
      registers: [registry],
    });
  const duration =
    (registry.getSingleMetric(DURATION) as Histogram<'service' | 'method'> | undefined) ??
    new Histogram({
      name: DURATION,
      help: 'RPC handling time in seconds (for server streams: until the stream ends)',
      labelNames: ['service', 'method'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    });
  return { requests, duration };
}

/**
 * Server interceptor recording `dm_rpc_requests_total{service,method,code}` and
 * `dm_rpc_duration_seconds{service,method}`. Put it outside `errorInterceptor` so it sees the
 * final Connect code.
 */
export function metricsInterceptor(registry: Registry): Interceptor {
  const m = rpcMetrics(registry);
  return (next) => async (req) => {
    const labels = { service: req.service.typeName, method: req.method.name };
    const stop = m.duration.startTimer(labels);
    const done = (e?: unknown): void => {
      stop();
      m.requests.inc({ ...labels, code: e === undefined ? 'ok' : codeLabel(ConnectError.from(e).code) });
    };
    let res;
    try {
      res = await next(req);
    } catch (e) {
      done(e);
      throw e;
    }
    if (!res.stream) {
      done();
      return res;
    }
    const inner = res.message;
    return {
      ...res,
      message: (async function* () {
        let recorded = false;
        const once = (e?: unknown): void => {
          if (recorded) return;
          recorded = true;
          done(e);
        };
        try {
          yield* inner;
          once();
        } catch (e) {
          once(e);
          throw e;
        } finally {
          // Reached without the above only when the client went away mid-stream.
          once(new ConnectError('stream abandoned by the client', Code.Canceled));
        }
      })(),
    };
  };
}
