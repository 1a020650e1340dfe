/**
 * The HTTP edge of DM's OpenAPI (`/api/v1/...`): path matching, the body (bounded by the port's
 * request limit), authentication (read role for GET, admin for the rest, as the RPCs), and DM's
 * error body `{"error_code": N, "error_msg": "..."}` for every failure. Routes are a table of
 * `{ method, path, handler }`, with `{name}` segments as path parameters; the spec (spec.ts)
 * lists the same table.
 */
import { DMError } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import { authEnabled, authError, createAuthenticator, type AuthOptions, type HttpRequest, type HttpResponse } from '../../rpc/index.js';
import { fromConnectError } from '../../rpc/index.js';

export const OPENAPI_PREFIX = '/api/v1';

/** What a handler gets: path parameters, the query string, the parsed JSON body, the request's abort signal. */
export interface ApiRequest {
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  signal: AbortSignal;
  /** The caller's `authorization` header, passed on when a call is forwarded. */
  authorization?: string;
}

/** A handler's answer: status and JSON body (undefined: no body, e.g. 204), or raw text. */
export type ApiReply = { status: number; json?: unknown } | { status: number; text: string; contentType: string };

export interface ApiRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Under /api/v1, e.g. `/sources/{source-name}`. */
  path: string;
  summary: string;
  handler: (r: ApiRequest) => Promise<ApiReply>;
}

export interface OpenApiRouterOptions {
  routes: readonly ApiRoute[];
  auth?: AuthOptions | undefined;
  /** Largest accepted body (the port's `rpc-max-request-bytes`). */
  maxRequestBytes: number;
  logger?: Logger;
}

/** DM's error body. */
export function errorBody(e: DMError): { error_code: number; error_msg: string } {
  const cause = e.cause instanceof Error && !e.message.includes(e.cause.message) ? `: ${e.cause.message}` : '';
  return { error_code: e.code, error_msg: `${e.message}${cause}` };
}

function httpStatusOf(e: DMError): number {
  switch (e.codeName) {
    case 'ErrRpcUnauthenticated':
      return 401;
    case 'ErrRpcCertNotAllowed':
    case 'ErrRpcPermissionDenied':
      return 403;
    case 'ErrOpenAPINotFound':
      return 404;
    case 'ErrOpenAPIBodyTooLarge':
      return 413;
    default:
      return 400; // DM answers every API error with 400 Bad Request
  }
}

function write(res: HttpResponse, status: number, body: string | undefined, contentType = 'application/json'): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  if (body === undefined) {
    res.writeHead(status);
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function writeError(res: HttpResponse, e: DMError): void {
  write(res, httpStatusOf(e), JSON.stringify(errorBody(e)));
}

async function readBody(req: HttpRequest, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer | string>) {
    const b = typeof c === 'string' ? Buffer.from(c) : c;
    size += b.length;
    if (size > limit) throw new DMError('ErrOpenAPIBodyTooLarge', `request body is larger than the limit of ${limit} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

interface Compiled {
  route: ApiRoute;
  re: RegExp;
  names: string[];
}

function compile(r: ApiRoute): Compiled {
  const names: string[] = [];
  const pattern = r.path
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const m = /^\{([^}]+)\}$/.exec(part);
      if (!m) return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
      names.push(m[1] ?? '');
      return '([^/]+)';
    })
    .join('');
  return { route: r, re: new RegExp(`^${pattern}/?$`), names };
}

/**
 * The rpc server's `fallback` hook for /api/v1: resolves false for any other path (so the next
 * hook, or the 404, answers it).
 */
export function createOpenApiRouter(o: OpenApiRouterOptions): (req: HttpRequest, res: HttpResponse) => Promise<boolean> {
  const table = o.routes.map(compile);
  const authenticate = o.auth && authEnabled(o.auth) ? createAuthenticator(o.auth) : undefined;
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== OPENAPI_PREFIX && !url.pathname.startsWith(`${OPENAPI_PREFIX}/`)) return false;
    const method = (req.method ?? 'GET').toUpperCase();
    const rel = url.pathname.slice(OPENAPI_PREFIX.length);
    try {
      if (authenticate) {
        const outcome = authenticate(req);
        if (!('principal' in outcome)) throw authError(outcome);
        const p = outcome.principal;
        if (p.role !== 'admin' && method !== 'GET' && method !== 'HEAD') {
          throw new DMError('ErrRpcPermissionDenied', `${p.via} "${p.name}" has role ${p.role}; ${method} ${url.pathname} needs role admin`);
        }
      }
      let match: { c: Compiled; m: RegExpExecArray } | undefined;
      let pathKnown = false;
      for (const c of table) {
        const m = c.re.exec(rel);
        if (!m) continue;
        pathKnown = true;
        if (c.route.method === method || (method === 'HEAD' && c.route.method === 'GET')) {
          match = { c, m };
          break;
        }
      }
      if (!match) {
        throw new DMError('ErrOpenAPINotFound', pathKnown ? `${method} is not allowed on ${url.pathname}` : `${method} ${url.pathname} is not an endpoint`);
      }
      const params: Record<string, string> = {};
      match.c.names.forEach((n, i) => {
        params[n] = decodeURIComponent(match.m[i + 1] ?? '');
      });
      const text = await readBody(req, o.maxRequestBytes);
      let body: unknown;
      if (text.trim() !== '') {
        try {
          body = JSON.parse(text);
        } catch (cause) {
          throw new DMError('ErrOpenAPIInvalidRequest', 'the request body is not valid JSON', { cause });
        }
      }
      const ac = new AbortController();
      res.once('close', () => ac.abort());
      const auth = req.headers['authorization'];
      const reply = await match.c.route.handler({
        params,
        query: url.searchParams,
        body,
        signal: ac.signal,
        ...(typeof auth === 'string' ? { authorization: auth } : {}),
      });
      if ('text' in reply) write(res, reply.status, method === 'HEAD' ? '' : reply.text, reply.contentType);
      else write(res, reply.status, reply.json === undefined ? undefined : method === 'HEAD' ? '' : JSON.stringify(reply.json));
    } catch (err) {
      const e = fromConnectError(err);
      if (httpStatusOf(e) >= 500 || !(err instanceof DMError)) o.logger?.debug({ err, path: url.pathname }, 'openapi request failed');
      writeError(res, e);
    }
    return true;
  };
}
