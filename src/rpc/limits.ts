import {
  DEFAULT_RPC_HEADER_TIMEOUT_MS,
  DEFAULT_RPC_IDLE_TIMEOUT_MS,
  DEFAULT_RPC_MAX_CONNECTIONS,
  DEFAULT_RPC_MAX_REQUEST_BYTES,
} from '../config/index.js';

/**
 * Limits of one listening port (dm-master / dm-worker keys `rpc-max-request-bytes`,
 * `rpc-max-connections`, `rpc-header-timeout`, `rpc-idle-timeout`). On by default: a server
 * created without them gets the defaults of src/config.
 */
export interface RpcLimits {
  /**
   * Largest request body in bytes, and largest message after decompression (Connect's
   * `readMaxBytes`): a declared-too-large body is refused before it is read, a chunked one as
   * soon as it passes the limit, a gzip/brotli body as soon as its output does.
   */
  maxRequestBytes: number;
  /** Concurrent TCP connections; more are accepted and closed at once. */
  maxConnections: number;
  /** Time to send the request headers (HTTP/1.1) or the first bytes of a connection. */
  headerTimeoutMs: number;
  /** Idle keep-alive connections (HTTP/1.1) and idle HTTP/2 sessions are closed after this. */
  idleTimeoutMs: number;
}

/**
 * Concurrent streams (requests) per HTTP/2 connection, advertised in SETTINGS (node's default
 * is 2^32-1): with `maxConnections` it bounds the requests in flight, and so the request bodies
 * held in memory (at most `maxRequestBytes` each).
 */
export const MAX_H2_STREAMS = 100;

/**
 * Request bodies one server holds at a time, all requests together, in multiples of
 * `maxRequestBytes` (at least 64 MiB): a request whose body would pass it is refused with
 * resource_exhausted instead of being read further. Keeps the memory of many large requests in
 * flight (connections × streams × body limit) bounded.
 */
export const INFLIGHT_BODY_FACTOR = 16;
export const MIN_INFLIGHT_BODY_BYTES = 64 * 1024 * 1024;

/** Total request-body bytes a server with these limits holds at a time. */
export function inflightBodyBudget(l: RpcLimits): number {
  return Math.max(MIN_INFLIGHT_BODY_BYTES, INFLIGHT_BODY_FACTOR * l.maxRequestBytes);
}

/** The limits with every unset field defaulted. */
export function resolveLimits(l: Partial<RpcLimits> | undefined): RpcLimits {
  return {
    maxRequestBytes: l?.maxRequestBytes ?? DEFAULT_RPC_MAX_REQUEST_BYTES,
    maxConnections: l?.maxConnections ?? DEFAULT_RPC_MAX_CONNECTIONS,
    headerTimeoutMs: l?.headerTimeoutMs ?? DEFAULT_RPC_HEADER_TIMEOUT_MS,
    idleTimeoutMs: l?.idleTimeoutMs ?? DEFAULT_RPC_IDLE_TIMEOUT_MS,
  };
}
