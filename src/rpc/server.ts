import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import {
  Code,
  ConnectError,
  createConnectRouter,
  createContextKey,
  createContextValues,
  type ConnectRouter,
  type ContextValues,
  type Interceptor,
} from '@connectrpc/connect';
import type { UniversalHandler } from '@connectrpc/connect/protocol';
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from '@connectrpc/connect-node';
import type { Registry } from 'prom-client';
import { DMError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { applyCors, isForeignOrigin, isPreflight, writePreflight, type CorsOptions } from './cors.js';
import { errorInterceptor, metricsInterceptor } from './interceptors.js';
import {
  authEnabled,
  authInterceptor,
  authOutcomeKey,
  createAuthenticator,
  withEmptyMessage,
  type AuthOptions,
} from './auth.js';
import { inflightBodyBudget, MAX_H2_STREAMS, resolveLimits, type RpcLimits } from './limits.js';
import { serveStatic } from './static.js';
import type { HttpRequest, HttpResponse } from './http-types.js';

/** TLS files (PEM paths), DM's `ssl-ca` / `ssl-cert` / `ssl-key`. */
export interface RpcTlsFiles {
  /** CA used to verify client certificates (and sent to clients as the chain). */
  ca?: string;
  /** Server certificate. */
  cert: string;
  /** Server private key. */
  key: string;
  /** Require and verify client certificates against `ca` (mutual TLS, as DM does). Default false. */
  requireClientCert?: boolean;
}

export interface RpcServerOptions {
  /**
   * Registers the services: `router.service(MasterService, impl)`. Called twice (once for the
   * router of unary methods, once for server streams, which are aborted first at shutdown),
   * so it must only register, not create state.
   */
  routes: (router: ConnectRouter) => void;
  /** prom-client registry: RPC metrics are registered on it and it is served at GET /metrics. */
  registry?: Registry;
  /** Served as JSON at GET /status (an `uptime` in seconds is added unless present). */
  status?: () => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Serve TLS (ALPN h2 + http/1.1) instead of cleartext h2c + HTTP/1.1. */
  tls?: RpcTlsFiles;
  /** URL prefix → directory of static files, e.g. `{ '/dashboard/': '/usr/share/dm/web' }`. */
  staticDir?: Record<string, string>;
  /**
   * Hook for extra HTTP routes, tried after /metrics, /status and static files. Return true when
   * the request was answered; false gives 404.
   */
  fallback?: (req: HttpRequest, res: HttpResponse) => boolean | Promise<boolean>;
  /** CORS policy; default: no other origin allowed (same origin only). */
  cors?: CorsOptions;
  /** Who may call (tokens, certificate CNs); default: everyone (no auth). */
  auth?: AuthOptions;
  /** Request size, connection and timeout limits; each unset field takes its default. */
  limits?: Partial<RpcLimits>;
  /** Extra server interceptors (run inside the metrics and error interceptors). */
  interceptors?: Interceptor[];
  /** Context values handed to handlers (`ctx.values`). */
  contextValues?: (req: HttpRequest) => ContextValues;
  logger?: Logger;
}

export interface RpcAddress {
  host: string;
  port: number;
  /** `http://host:port` or `https://host:port`. */
  url: string;
}

export interface RpcServer {
  /** Listen (port 0 picks a free port); resolves with the bound address. */
  listen(port: number, host?: string): Promise<RpcAddress>;
  /**
   * Graceful close: stop accepting connections and requests, abort server streams (their
   * handlers see `ctx.signal` aborted with Unavailable), wait for in-flight calls to finish, then
   * close every connection. When `signal` aborts first, unary handlers are aborted too and
   * connections are cut. Idempotent.
   */
  close(signal?: AbortSignal): Promise<void>;
  /** The bound address, once listening. */
  readonly address: RpcAddress | undefined;
}

/** Context key holding the caller's IP address (`ctx.values.get(peerAddressKey)`). */
export const peerAddressKey = createContextKey<string>('', {
  description: 'remote IP address of the caller',
});

const H2_PREFACE = Buffer.from('PRI');
/** A connection that sends nothing for this long before its first request is dropped. */
const FIRST_BYTES_TIMEOUT_MS = 30_000;
const HARD_CLOSE_GRACE_MS = 200;
const SESSION_CLOSE_GRACE_MS = 1000;

/**
 * How often node looks for connections over the header/request timeout (its default, 30 s,
 * would let a slow client hold a socket up to 30 s past `rpc-header-timeout`).
 */
function checkingInterval(l: RpcLimits): number {
  return Math.max(50, Math.min(1000, Math.floor(l.headerTimeoutMs / 2)));
}

/** Create the one-port server of a dm-master or dm-worker (see docs/api.md). */
export function createRpcServer(opts: RpcServerOptions): RpcServer {
  const log = opts.logger;
  const streamStop = new AbortController();
  const hardStop = new AbortController();
  const limits = resolveLimits(opts.limits);
  const authOn = authEnabled(opts.auth);
  const authenticate = authOn && opts.auth ? createAuthenticator(opts.auth) : undefined;
  const interceptors: Interceptor[] = [
    ...(opts.registry ? [metricsInterceptor(opts.registry)] : []),
    errorInterceptor(log),
    ...(authOn ? [authInterceptor()] : []),
    ...(opts.interceptors ?? []),
  ];
  const routerOpts = {
    interceptors,
    acceptCompression: [compressionGzip, compressionBrotli],
    requireConnectProtocolHeader: false,
    // Bounds the body as sent and every message after decompression (gzip/br bombs).
    readMaxBytes: limits.maxRequestBytes,
  };
  const unaryRouter = createConnectRouter({ ...routerOpts, shutdownSignal: hardStop.signal });
  const streamRouter = createConnectRouter({
    ...routerOpts,
    shutdownSignal: AbortSignal.any([streamStop.signal, hardStop.signal]),
  });
  opts.routes(unaryRouter);
  opts.routes(streamRouter);
  const paths = new Map<string, UniversalHandler>();
  for (const h of unaryRouter.handlers) if (h.method.methodKind === 'unary') paths.set(h.requestPath, h);
  for (const h of streamRouter.handlers) if (h.method.methodKind !== 'unary') paths.set(h.requestPath, h);

  const startedAt = Date.now();
  let closing = false;
  let closePromise: Promise<void> | undefined;
  let active = 0;
  /** Request-body bytes read by requests still being handled (bounded by `bodyBudget`). */
  let bodyBytes = 0;
  const bodyBudget = inflightBodyBudget(limits);
  let drainWaiters: Array<() => void> = [];
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();

  const requestEnded = (): void => {
    active--;
    if (active === 0) {
      const w = drainWaiters;
      drainWaiters = [];
      for (const f of w) f();
    }
  };

  const answer = (
    res: HttpResponse,
    status: number,
    body: string,
    contentType = 'text/plain; charset=utf-8',
  ): void => {
    if (res.headersSent) {
      res.end();
      return;
    }
    res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  /** /status and /metrics with `protectHttp`: 401 without a credential, 403 for a bad certificate. */
  function httpRefused(req: HttpRequest, res: HttpResponse): boolean {
    if (!authenticate || !opts.auth?.protectHttp) return false;
    const o = authenticate(req);
    if ('principal' in o) return false;
    answer(res, o.reason === 'cn' ? 403 : 401, `${o.detail}\n`);
    return true;
  }

  async function handleHttp(req: HttpRequest, res: HttpResponse, path: string): Promise<void> {
    const method = req.method ?? 'GET';
    if ((path === '/metrics' || path === '/status') && httpRefused(req, res)) return;
    if (path === '/metrics' && opts.registry && (method === 'GET' || method === 'HEAD')) {
      const text = await opts.registry.metrics();
      answer(res, 200, method === 'HEAD' ? '' : text, opts.registry.contentType);
      return;
    }
    if (path === '/status' && (method === 'GET' || method === 'HEAD')) {
      const s = opts.status ? await opts.status() : {};
      const body = JSON.stringify({
        ...s,
        uptime: s['uptime'] ?? Math.round((Date.now() - startedAt) / 1000),
      });
      answer(res, 200, method === 'HEAD' ? '' : body, 'application/json');
      return;
    }
    if (opts.staticDir && (method === 'GET' || method === 'HEAD')) {
      for (const [prefix, dir] of Object.entries(opts.staticDir)) {
        if (path === prefix.replace(/\/$/, '')) {
          res.writeHead(301, { location: prefix });
          res.end();
          return;
        }
        if (path.startsWith(prefix) && (await serveStatic(req, res, dir, path.slice(prefix.length)))) return;
      }
    }
    if (opts.fallback && (await opts.fallback(req, res))) return;
    answer(res, 404, 'not found\n');
  }

  /**
   * `body` counted against the server-wide body budget while its request is handled; `release`
   * gives the bytes back. Past the budget the read fails with resource_exhausted (Connect answers
   * the caller in its protocol; the unread rest is dropped with the connection).
   */
  function budgeted(body: AsyncIterable<Uint8Array>): { body: AsyncIterable<Uint8Array>; release: () => void } {
    let held = 0;
    return {
      body: (async function* () {
        for await (const chunk of body) {
          if (bodyBytes + chunk.length > bodyBudget)
            throw new ConnectError(`the server already holds ${bodyBytes} bytes of request bodies (limit ${bodyBudget}); retry later`, Code.ResourceExhausted);
          bodyBytes += chunk.length;
          held += chunk.length;
          yield chunk;
        }
      })(),
      release: () => {
        bodyBytes -= held;
        held = 0;
      },
    };
  }

  function onRequest(req: HttpRequest, res: HttpResponse): void {
    active++;
    let ended = false;
    let releaseBody: (() => void) | undefined;
    const end = (): void => {
      if (ended) return;
      ended = true;
      releaseBody?.();
      requestEnded();
    };
    res.once('close', end);
    res.once('finish', () => {
      end();
      // A body left unread (refused as too large, or never wanted): do not drain it, drop the
      // HTTP/1.1 connection instead (HTTP/2 streams are reset by the session).
      if (!req.complete && req.httpVersionMajor === 1) req.socket?.destroy();
    });
    applyCors(req, res, opts.cors);
    if (closing) {
      if (req.httpVersionMajor === 1) res.setHeader('connection', 'close');
      answer(res, 503, 'server is shutting down\n');
      return;
    }
    if (isPreflight(req)) {
      writePreflight(req, res, opts.cors);
      return;
    }
    if (isForeignOrigin(req, opts.cors)) {
      answer(res, 403, 'origin not allowed\n');
      return;
    }
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const handler = paths.get(path);
    // An RPC whose declared body is too large is refused by Connect (readMaxBytes) before it
    // reads a byte of it, with resource_exhausted; any other route gets 413 here.
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limits.maxRequestBytes && req.httpVersionMajor === 1) res.setHeader('connection', 'close');
    if (!handler && declared > limits.maxRequestBytes) {
      answer(res, 413, `request body of ${declared} bytes is larger than the limit of ${limits.maxRequestBytes} bytes\n`);
      return;
    }
    if (!handler) {
      handleHttp(req, res, path).catch((err: unknown) => {
        log?.warn({ err, path }, 'http route failed');
        answer(res, 500, 'internal error\n');
      });
      return;
    }
    const values = opts.contextValues?.(req) ?? createContextValues();
    values.set(peerAddressKey, req.socket.remoteAddress ?? '');
    const outcome = authenticate?.(req);
    if (outcome) values.set(authOutcomeKey, outcome);
    let uReq = universalRequestFromNodeRequest(req, res, undefined, values);
    // A caller already known to be refused: its body is never read (see withEmptyMessage).
    if (outcome && !('principal' in outcome) && req.method !== 'GET') uReq = withEmptyMessage(uReq);
    else if (typeof uReq.body === 'object' && uReq.body !== null && Symbol.asyncIterator in uReq.body) {
      const b = budgeted(uReq.body);
      releaseBody = b.release;
      uReq = { ...uReq, body: b.body };
    }
    handler(uReq)
      .then((uRes) => universalResponseToNodeResponse(uRes, res))
      .catch((err: unknown) => {
        if (ConnectError.from(err).code === Code.Aborted) return;
        log?.debug({ err, rpc: `${handler.service.typeName}/${handler.method.name}` }, 'rpc response failed');
      });
  }

  // ---- transports ------------------------------------------------------------------------
  let server: net.Server;
  /** The HTTP/1.1 server of the cleartext port (it gets its connections from `server`). */
  let h1Server: http.Server | undefined;
  if (opts.tls) {
    const t = opts.tls;
    let files: { ca?: Buffer; cert: Buffer; key: Buffer };
    try {
      files = {
        cert: readFileSync(t.cert),
        key: readFileSync(t.key),
        ...(t.ca ? { ca: readFileSync(t.ca) } : {}),
      };
    } catch (cause) {
      throw new DMError(
        'ErrRpcTLSConfig',
        `cannot read TLS files (cert ${t.cert}, key ${t.key}${t.ca ? `, ca ${t.ca}` : ''})`,
        { cause },
      );
    }
    const secure = http2.createSecureServer(
      {
        ...files,
        allowHTTP1: true,
        ALPNProtocols: ['h2', 'http/1.1'],
        requestCert: t.requireClientCert ?? false,
        rejectUnauthorized: t.requireClientCert ?? false,
        maxSessionMemory: 10,
        settings: { maxConcurrentStreams: MAX_H2_STREAMS },
      },
      onRequest,
    );
    secure.maxConnections = limits.maxConnections;
    // HTTP/1.1 over TLS (allowHTTP1) is served by node's http connection handling, which reads
    // these from the server object; http2.createSecureServer does not take them as options.
    Object.assign(secure, {
      headersTimeout: limits.headerTimeoutMs,
      keepAliveTimeout: limits.idleTimeoutMs,
      requestTimeout: Math.max(60_000, limits.headerTimeoutMs),
      connectionsCheckingInterval: checkingInterval(limits),
    });
    secure.on('session', (s: http2.ServerHttp2Session) => trackSession(s));
    secure.on('connection', (s: net.Socket) => trackSocket(s));
    secure.on('tlsClientError', (err: Error) => log?.debug({ err }, 'tls handshake failed'));
    server = secure;
  } else {
    const h1 = http.createServer(
      {
        headersTimeout: limits.headerTimeoutMs,
        keepAliveTimeout: limits.idleTimeoutMs,
        requestTimeout: Math.max(60_000, limits.headerTimeoutMs),
        connectionsCheckingInterval: checkingInterval(limits),
      },
      onRequest,
    );
    h1Server = h1;
    const h2 = http2.createServer({ maxSessionMemory: 10, settings: { maxConcurrentStreams: MAX_H2_STREAMS } }, onRequest);
    h2.on('session', (s: http2.ServerHttp2Session) => trackSession(s));
    const plain = net.createServer((socket) => {
      trackSocket(socket);
      if (closing) {
        socket.destroy();
        return;
      }
      let buf: Buffer = Buffer.alloc(0);
      const onTimeout = (): void => {
        socket.destroy();
      };
      socket.setTimeout(Math.min(FIRST_BYTES_TIMEOUT_MS, limits.headerTimeoutMs), onTimeout);
      const onData = (chunk: Buffer): void => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        if (buf.length < H2_PREFACE.length) return;
        socket.off('data', onData);
        socket.setTimeout(0);
        socket.off('timeout', onTimeout);
        socket.pause();
        socket.unshift(buf);
        if (buf.subarray(0, H2_PREFACE.length).equals(H2_PREFACE)) {
          h2.emit('connection', socket);
        } else {
          h1.emit('connection', socket);
          socket.resume();
        }
      };
      socket.on('data', onData);
    });
    plain.maxConnections = limits.maxConnections;
    // node enforces headersTimeout/requestTimeout from a timer an http.Server starts when it
    // listens; h1 never listens (the TCP server hands it the connections), so start it here:
    // without it a client that stops in the middle of its headers would hold the socket forever.
    plain.on('listening', () => h1.emit('listening'));
    server = plain;
  }
  server.on('error', (err) => log?.error({ err }, 'rpc server error'));

  function trackSocket(s: net.Socket): void {
    sockets.add(s);
    s.on('error', () => {}); // reset peers are normal; the request/session reports what matters
    s.once('close', () => sockets.delete(s));
  }
  function trackSession(s: http2.ServerHttp2Session): void {
    sessions.add(s);
    s.on('error', () => {});
    s.once('close', () => sessions.delete(s));
    // An HTTP/2 session without any frame for this long is closed gracefully (open streams finish).
    s.setTimeout(limits.idleTimeoutMs, () => s.close());
    if (closing) s.close();
  }

  let address: RpcAddress | undefined;

  return {
    get address() {
      return address;
    },

    listen(port: number, host = '127.0.0.1'): Promise<RpcAddress> {
      return new Promise<RpcAddress>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException): void => {
          reject(
            new DMError('ErrRpcListen', `cannot listen on ${host}:${port}: ${err.code ?? err.message}`, {
              cause: err,
            }),
          );
        };
        server.once('error', onError);
        server.listen(port, host, () => {
          server.off('error', onError);
          const a = server.address() as net.AddressInfo;
          const h = a.family === 'IPv6' ? `[${a.address}]` : a.address;
          address = { host: a.address, port: a.port, url: `${opts.tls ? 'https' : 'http'}://${h}:${a.port}` };
          resolve(address);
        });
      });
    },

    close(signal?: AbortSignal): Promise<void> {
      closePromise ??= (async () => {
        closing = true;
        const closed = new Promise<void>((resolve) => {
          if (!server.listening) {
            resolve();
            return;
          }
          server.close(() => resolve());
        });
        for (const s of sessions) s.close();
        streamStop.abort(new ConnectError('server is shutting down', Code.Unavailable));
        // Idle HTTP/1 keep-alive sockets and sockets that never sent a byte.
        const drained = new Promise<void>((resolve) => {
          if (active === 0) resolve();
          else drainWaiters.push(resolve);
        });
        if (signal) {
          const aborted = new Promise<void>((resolve) => {
            if (signal.aborted) resolve();
            else signal.addEventListener('abort', () => resolve(), { once: true });
          });
          await Promise.race([drained, aborted]);
          if (active > 0) {
            hardStop.abort(new ConnectError('server is shutting down', Code.Unavailable));
            await Promise.race([drained, new Promise((r) => setTimeout(r, HARD_CLOSE_GRACE_MS).unref())]);
          }
        } else {
          await drained;
        }
        hardStop.abort(new ConnectError('server is shutting down', Code.Unavailable));
        // Let HTTP/2 sessions (already sent GOAWAY) flush their last frames and close by themselves.
        if (sessions.size > 0) {
          const allClosed = Promise.all([...sessions].map((s) => new Promise((r) => s.once('close', r))));
          await Promise.race([allClosed, new Promise((r) => setTimeout(r, SESSION_CLOSE_GRACE_MS).unref())]);
        }
        for (const s of sessions) s.destroy();
        for (const s of sockets) s.destroy();
        // stops h1's header-timeout timer (it never listened: the "not running" error is expected)
        h1Server?.close(() => {});
        await closed;
      })();
      return closePromise;
    },
  };
}
