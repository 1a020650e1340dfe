import { cors } from '@connectrpc/connect';
import { DM_ERROR_HEADERS } from './errors.js';
import type { HttpRequest, HttpResponse } from './http-types.js';

/** Which browser origins may call the API. */
export interface CorsOptions {
  /** Allowed origins (exact `scheme://host:port`), or '*' for any (the default). */
  allowedOrigins?: readonly string[] | '*';
  /** Preflight cache time in seconds (default 7200). */
  maxAgeSeconds?: number;
}

const EXPOSED = [...cors.exposedHeaders, ...Object.values(DM_ERROR_HEADERS)].join(', ');
const ALLOWED_HEADERS = [...cors.allowedHeaders].join(', ');
const ALLOWED_METHODS = [...cors.allowedMethods, 'OPTIONS'].join(', ');

function headerOf(req: HttpRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function allowedOrigin(req: HttpRequest, o: CorsOptions | undefined): string | undefined {
  const origin = headerOf(req, 'origin');
  if (!origin) return undefined;
  const allowed = o?.allowedOrigins ?? '*';
  if (allowed === '*' || allowed.includes(origin)) return origin;
  return undefined;
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

/** Answer a preflight: 204 with the methods and headers Connect, gRPC-web and gRPC need. */
export function writePreflight(req: HttpRequest, res: HttpResponse, o: CorsOptions | undefined): void {
  const origin = allowedOrigin(req, o);
  const headers: Record<string, string> = {};
  if (origin) {
    const requested = headerOf(req, 'access-control-request-headers');
    headers['access-control-allow-methods'] = ALLOWED_METHODS;
    headers['access-control-allow-headers'] = requested
      ? `${ALLOWED_HEADERS}, ${requested}`
      : ALLOWED_HEADERS;
    headers['access-control-max-age'] = String(o?.maxAgeSeconds ?? 7200);
  }
  res.writeHead(204, headers);
  res.end();
}
