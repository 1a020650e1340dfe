/**
 * Authentication and authorisation at the RPC edge.
 *
 * Who may call: a caller is identified once per HTTP request, before any handler runs, by
 *   - a bearer token (`Authorization: Bearer <token>`) whose SHA-256 is listed in the token file
 *     (`auth-token-file`) with a role, or equal to the cluster-internal token (`cluster-token-file`,
 *     used by masters and workers calling each other; role `admin`);
 *   - a TLS client certificate (mutual TLS: when `ssl-ca` is set the TLS layer already requires a
 *     certificate signed by it, as DM does) whose subject CN is in `cert-allowed-cn` (role `admin`).
 * Roles: `read` may call the query methods (`isReadMethod`) and GET /status and /metrics; `admin`
 * may call everything.
 *
 * Auth is on when a token file, a cluster token or a `cert-allowed-cn` list is configured; with
 * none of them every caller is admin (DM's behaviour without TLS). The check runs as a Connect
 * interceptor (so every protocol — Connect, gRPC, gRPC-web — gets a proper `unauthenticated` /
 * `permission_denied` with a DM code); the identity is computed at the HTTP layer, where the TLS
 * socket and the headers are. A caller without a valid credential never gets its body read: the
 * server hands Connect the same call with an empty message instead (`withEmptyMessage`), so the
 * refusal leaves in the caller's protocol while nothing it sent is buffered. The body of an
 * authenticated call is bounded by the server's limits.
 *
 * Not covered: token revocation needs a restart (the file is read at start); tokens travel in
 * clear text unless TLS is on.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { createContextKey, type Interceptor } from '@connectrpc/connect';
import type { UniversalServerRequest } from '@connectrpc/connect/protocol';
import { parse } from 'yaml';
import { DMError } from '../errors/index.js';
import type { HttpRequest } from './http-types.js';

export type Role = 'read' | 'admin';

/** Who is calling: set by the server for every request when auth is on. */
export interface Principal {
  /** Token name, certificate CN, or `cluster` for the internal credential. */
  name: string;
  role: Role;
  via: 'token' | 'cert' | 'cluster' | 'none';
}

/** One token file entry: the SHA-256 (hex) of the token, never the token itself. */
export interface TokenEntry {
  name: string;
  role: Role;
  sha256: string;
}

export interface AuthOptions {
  /** Accepted tokens (from `auth-token-file`). */
  tokens?: readonly TokenEntry[];
  /** The cluster-internal token (plain text, from `cluster-token-file`): role admin. */
  clusterToken?: string;
  /** Client certificate CNs allowed (`cert-allowed-cn`); the certificate itself is checked by TLS. */
  allowedCn?: readonly string[];
  /** Require a `read` credential on GET /status and /metrics too (default false). */
  protectHttp?: boolean;
}

/** Why a request has no principal (undefined principal + reason), for the interceptor's error. */
export type AuthOutcome = { principal: Principal } | { reason: 'missing' | 'bad-token' | 'cn' ; detail: string };

/** Context key: the outcome of authenticating the request (set by the server when auth is on). */
export const authOutcomeKey = createContextKey<AuthOutcome | undefined>(undefined, {
  description: 'outcome of authenticating the caller',
});

const READ_PREFIXES = ['Query', 'List', 'Show', 'Watch'];
const READ_METHODS = new Set(['GetClusterInfo', 'GetValidationStatus', 'GetValidationError']);

/**
 * Whether a method only reads (allowed to role `read`): Query*, List*, Show*, Watch* and
 * GetClusterInfo / GetValidationStatus / GetValidationError. Everything else — including
 * GetConfig, GetWorkerCfg and CheckTask (they reveal configs or reach databases) — is admin.
 */
export function isReadMethod(name: string): boolean {
  return READ_METHODS.has(name) || READ_PREFIXES.some((p) => name.startsWith(p));
}

/** Whether any authentication is configured. */
export function authEnabled(o: AuthOptions | undefined): boolean {
  return !!o && ((o.tokens?.length ?? 0) > 0 || !!o.clusterToken || (o.allowedCn?.length ?? 0) > 0);
}

/** SHA-256 hex of a token, as written in the token file (`dmctl` docs: `printf %s TOKEN | sha256sum`). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Read a token file (YAML):
 * ```yaml
 * tokens:
 *   - name: ops
 *     role: admin
 *     sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
 * ```
 */
export function loadTokenFile(path: string): TokenEntry[] {
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new DMError('ErrConfigTokenFile', `cannot read token file ${path}`, { cause });
  }
  const list = (doc as { tokens?: unknown } | null)?.tokens;
  if (!Array.isArray(list) || list.length === 0)
    throw new DMError('ErrConfigTokenFile', `token file ${path}: expected a non-empty \`tokens:\` list`);
  return list.map((t: unknown, i) => {
    const e = (t ?? {}) as Record<string, unknown>;
    const name = typeof e['name'] === 'string' && e['name'] !== '' ? e['name'] : `token #${i + 1}`;
    const role = e['role'];
    const sha = typeof e['sha256'] === 'string' ? e['sha256'].trim().toLowerCase() : '';
    if (role !== 'read' && role !== 'admin')
      throw new DMError('ErrConfigTokenFile', `token file ${path}: tokens[${i}].role must be read or admin`);
    if (!/^[0-9a-f]{64}$/.test(sha))
      throw new DMError('ErrConfigTokenFile', `token file ${path}: tokens[${i}].sha256 must be 64 hex digits (the SHA-256 of the token, not the token)`);
    return { name, role, sha256: sha };
  });
}

/** Read the cluster-internal token file: the token is the file's text, trimmed (at least 16 characters). */
export function loadClusterToken(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (cause) {
    throw new DMError('ErrConfigTokenFile', `cannot read cluster token file ${path}`, { cause });
  }
  if (text.length < 16 || /\s/.test(text))
    throw new DMError('ErrConfigTokenFile', `cluster token file ${path} must hold one token of at least 16 characters without spaces`);
  return text;
}

function header(req: HttpRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function peerCn(req: HttpRequest): string | undefined {
  const sock = req.socket as Partial<TLSSocket> | undefined;
  if (!sock || typeof sock.getPeerCertificate !== 'function' || !sock.authorized) return undefined;
  const cn: unknown = sock.getPeerCertificate().subject?.CN;
  if (Array.isArray(cn)) return typeof cn[0] === 'string' ? cn[0] : undefined;
  return typeof cn === 'string' ? cn : undefined;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A request authenticator for one server (the token table is indexed once). */
export function createAuthenticator(o: AuthOptions): (req: HttpRequest) => AuthOutcome {
  const byHash = new Map((o.tokens ?? []).map((t) => [t.sha256, t] as const));
  const cns = new Set(o.allowedCn ?? []);
  return (req) => {
    const auth = header(req, 'authorization');
    if (auth !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
      const token = m?.[1];
      if (token) {
        if (o.clusterToken && sameText(token, o.clusterToken)) return { principal: { name: 'cluster', role: 'admin', via: 'cluster' } };
        const t = byHash.get(hashToken(token));
        if (t) return { principal: { name: t.name, role: t.role, via: 'token' } };
      }
      return { reason: 'bad-token', detail: 'the bearer token is not valid here' };
    }
    const cn = peerCn(req);
    if (cn !== undefined) {
      if (cns.size === 0 || cns.has(cn)) return { principal: { name: cn, role: 'admin', via: 'cert' } };
      return { reason: 'cn', detail: `client certificate CN "${cn.slice(0, 64)}" is not in cert-allowed-cn` };
    }
    return { reason: 'missing', detail: 'no credential given (bearer token or client certificate)' };
  };
}

const ENVELOPED = /^application\/(?:connect\+|grpc(?:-web)?(?:\+|$))/i;
const GRPC_WEB_TEXT = /^application\/grpc-web-text/i;

/**
 * `req` with its body replaced by one empty message in the codec and framing its content type
 * names (`{}` for JSON, zero bytes for protobuf; a 5-byte envelope for gRPC, gRPC-web and Connect
 * streaming), and without the headers that describe the real body (length, compression). Used for
 * calls whose caller is already refused: Connect parses the empty message and the auth
 * interceptor answers `unauthenticated` in the caller's protocol, while the real body — up to
 * `rpc-max-request-bytes` per connection — is never read (the server drops an HTTP/1.1 connection
 * whose body is left unread).
 */
export function withEmptyMessage(req: UniversalServerRequest): UniversalServerRequest {
  const type = req.header.get('content-type') ?? '';
  const json = /json/i.test(type);
  const payload = json ? new TextEncoder().encode('{}') : new Uint8Array(0);
  const header = new Headers(req.header);
  for (const h of ['content-length', 'content-encoding', 'connect-content-encoding', 'grpc-encoding']) header.delete(h);
  let bytes = payload;
  if (ENVELOPED.test(type) || GRPC_WEB_TEXT.test(type)) {
    bytes = new Uint8Array(5 + payload.length);
    new DataView(bytes.buffer).setUint32(1, payload.length);
    bytes.set(payload, 5);
    if (GRPC_WEB_TEXT.test(type)) bytes = new TextEncoder().encode(Buffer.from(bytes).toString('base64'));
  } else if (json) {
    return { ...req, header, body: {} };
  }
  const body = (async function* () {
    if (bytes.length > 0) yield bytes;
  })();
  return { ...req, header, body };
}

/** The error for a request without a principal. */
export function authError(o: Exclude<AuthOutcome, { principal: Principal }>): DMError {
  return new DMError(o.reason === 'cn' ? 'ErrRpcCertNotAllowed' : 'ErrRpcUnauthenticated', o.detail);
}

/** Whether `p` may call `method`; throws ErrRpcPermissionDenied when not. */
export function authorize(p: Principal, method: string): void {
  if (p.role === 'admin' || isReadMethod(method)) return;
  throw new DMError('ErrRpcPermissionDenied', `${p.via} "${p.name}" has role ${p.role}; ${method} needs role admin`);
}

/**
 * Server interceptor enforcing the outcome the HTTP layer stored under `authOutcomeKey`:
 * unauthenticated → ErrRpcUnauthenticated / ErrRpcCertNotAllowed (Connect `unauthenticated`),
 * a role below the method's → ErrRpcPermissionDenied (`permission_denied`).
 */
export function authInterceptor(): Interceptor {
  return (next) => async (req) => {
    const o = req.contextValues.get(authOutcomeKey);
    if (o !== undefined) {
      if (!('principal' in o)) throw authError(o);
      authorize(o.principal, req.method.name);
    }
    return next(req);
  };
}

/** A client interceptor adding `Authorization: Bearer <token>` to every call. */
export function bearerInterceptor(token: string): Interceptor {
  return (next) => async (req) => {
    req.header.set('authorization', `Bearer ${token}`);
    return next(req);
  };
}
