/**
 * CORS: which browser origins may call the API. Default: none — only pages served by the process
 * itself (same origin, e.g. the dashboard) may call it; a preflight from any other origin is
 * refused with 403 and no `Access-Control-Allow-*` header, and an actual request that carries a
 * foreign `Origin` (a "simple" cross-site POST needs no preflight) is refused too. Callers that
 * are not browsers send no `Origin` and are not affected.
 */
import { cors } from '@connectrpc/connect';
import { DM_ERROR_HEADERS } from './errors.js';
import type { HttpRequest, HttpResponse } from './http-types.js';

/** Which browser origins may call the API. */
export interface CorsOptions {
  /**
   * Allowed origins (exact `scheme://host[:port]`), or '*' for any. Default: none (same origin
   * only; DM.ts key `cors-allowed-origins`).
   */
  allowedOrigins?: readonly string[] | '*';
  /** Preflight cache time in seconds (default 7200). */
  maxAgeSeconds?: number;
}

const EXPOSED = [...cors.exposedHeaders, ...Object.values(DM_ERROR_HEADERS)].join(', ');
const ALLOWED_HEADERS = [...cors.allowedHeaders, 'Authorization'].join(', ');
const ALLOWED_METHODS = [...cors.allowedMethods, 'OPTIONS'].join(', ');

function headerOf(req: HttpRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Whether `origin` names the server itself (the Host / :authority the request was sent to). */
function sameOrigin(req: HttpRequest, origin: string): boolean {
  const host = headerOf(req, 'host') ?? headerOf(req, ':authority');
  if (!host) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

function allowedOrigin(req: HttpRequest, o: CorsOptions | undefined): string | undefined {
  const origin = headerOf(req, 'origin');
  if (!origin) return undefined;
  const allowed = o?.allowedOrigins ?? [];
  if (allowed === '*' || allowed.includes(origin)) return origin;
  return undefined;
}

/**
 * Whether the request comes from a browser page of another origin that is not allowed: it must
 * be refused (403) before it reaches a handler.
 */
export function isForeignOrigin(req: HttpRequest, o: CorsOptions | undefined): boolean {
  const origin = headerOf(req, 'origin');
  if (!origin) return false;
  return allowedOrigin(req, o) === undefined && !sameOrigin(req, origin);
}

/** Set the CORS headers of an actual (non-preflight) response when the origin is allowed. */
export function applyCors(req: HttpRequest, res: HttpResponse, o: CorsOptions | undefined): void {
  const origin = allowedOrigin(req, o);
  if (!origin) return;
  res.setHeader('access-control-allow-origin', origin);
  res.setHeader('vary', 'Origin');
  res.setHeader('access-control-expose-headers', EXPOSED);
}

/** Whether the request is a CORS preflight. */
export function isPreflight(req: HttpRequest): boolean {
  return req.method === 'OPTIONS';
}

/**
 * Answer a preflight: 204 with the methods and headers Connect, gRPC-web and gRPC need when the
 * origin is allowed; 403 without any `Access-Control-Allow-*` header when it is not.
 */
export function writePreflight(req: HttpRequest, res: HttpResponse, o: CorsOptions | undefined): void {
  const origin = allowedOrigin(req, o);
  if (!origin) {
    res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', vary: 'Origin' });
    res.end('origin not allowed\n');
    return;
  }
  const requested = headerOf(req, 'access-control-request-headers');
  res.writeHead(204, {
    'access-control-allow-methods': ALLOWED_METHODS,
    'access-control-allow-headers': requested ? `${ALLOWED_HEADERS}, ${requested}` : ALLOWED_HEADERS,
    'access-control-max-age': String(o?.maxAgeSeconds ?? 7200),
  });
  res.end();
}
