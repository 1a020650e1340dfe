/**
 * A dm-master's or dm-worker's security keys → what its RPC server and its RPC clients need.
 * The one place where `ssl-*`, `cert-allowed-cn`, `auth-token-file`, `cluster-token-file`,
 * `auth-http-endpoints`, `cors-allowed-origins` and the `rpc-*` limits are interpreted, so the
 * master's and the worker's wiring stay one call each (docs/security.md).
 */
import type { Interceptor } from '@connectrpc/connect';
import { bearerInterceptor, loadClusterToken, loadTokenFile, type AuthOptions } from './auth.js';
import type { RpcClientOptions } from './clients.js';
import type { CorsOptions } from './cors.js';
import type { RpcLimits } from './limits.js';
import type { RpcTlsFiles } from './server.js';

/** The config fields read here (camelCase, as the loaded dm-master / dm-worker config has them). */
export interface ProcessSecurityConfig {
  sslCa?: string | undefined;
  sslCert?: string | undefined;
  sslKey?: string | undefined;
  certAllowedCn?: readonly string[] | undefined;
  authTokenFile?: string | undefined;
  clusterTokenFile?: string | undefined;
  authHttpEndpoints?: boolean | undefined;
  corsAllowedOrigins?: readonly string[] | undefined;
  rpcMaxRequestBytes?: number | undefined;
  rpcMaxConnections?: number | undefined;
  rpcHeaderTimeout?: number | undefined;
  rpcIdleTimeout?: number | undefined;
}

export interface ProcessSecurity {
  /** Server options: spread into `createRpcServer`. */
  server: { tls?: RpcTlsFiles; auth: AuthOptions; cors: CorsOptions; limits: Partial<RpcLimits> };
  /** Options of the clients this process uses to call its peers (TLS client cert, cluster token). */
  peer: RpcClientOptions;
}

/**
 * Read the token files (throws ErrConfigTokenFile) and compile the settings. DM semantics for
 * TLS: with `ssl-ca` set, a client certificate signed by it is required (mutual TLS), and its
 * CN must be in `cert-allowed-cn` when that list is given.
 */
export function processSecurity(cfg: ProcessSecurityConfig): ProcessSecurity {
  const tls: RpcTlsFiles | undefined =
    cfg.sslCert && cfg.sslKey
      ? { cert: cfg.sslCert, key: cfg.sslKey, ...(cfg.sslCa ? { ca: cfg.sslCa, requireClientCert: true } : {}) }
      : undefined;
  const clusterToken = cfg.clusterTokenFile ? loadClusterToken(cfg.clusterTokenFile) : undefined;
  const auth: AuthOptions = {
    ...(cfg.authTokenFile ? { tokens: loadTokenFile(cfg.authTokenFile) } : {}),
    ...(clusterToken ? { clusterToken } : {}),
    ...(cfg.certAllowedCn && cfg.certAllowedCn.length > 0 ? { allowedCn: cfg.certAllowedCn } : {}),
    protectHttp: cfg.authHttpEndpoints ?? false,
  };
  const origins = cfg.corsAllowedOrigins ?? [];
  const cors: CorsOptions = { allowedOrigins: origins.includes('*') ? '*' : origins };
  const limits: Partial<RpcLimits> = {
    ...(cfg.rpcMaxRequestBytes !== undefined ? { maxRequestBytes: cfg.rpcMaxRequestBytes } : {}),
    ...(cfg.rpcMaxConnections !== undefined ? { maxConnections: cfg.rpcMaxConnections } : {}),
    ...(cfg.rpcHeaderTimeout !== undefined ? { headerTimeoutMs: cfg.rpcHeaderTimeout } : {}),
    ...(cfg.rpcIdleTimeout !== undefined ? { idleTimeoutMs: cfg.rpcIdleTimeout } : {}),
  };
  const pair = Boolean(cfg.sslCert && cfg.sslKey);
  const interceptors: Interceptor[] = clusterToken ? [bearerInterceptor(clusterToken)] : [];
  const peer: RpcClientOptions = {
    ...(cfg.sslCa || pair
      ? { tls: { ...(cfg.sslCa ? { ca: cfg.sslCa } : {}), ...(pair ? { cert: cfg.sslCert, key: cfg.sslKey } : {}) } }
      : {}),
    ...(interceptors.length ? { interceptors } : {}),
  };
  return { server: { ...(tls ? { tls } : {}), auth, cors, limits }, peer };
}
