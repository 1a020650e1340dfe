// Public surface of src/rpc: the one-port server, clients, and the error mapping at the RPC edge.
export {
  createRpcServer,
  peerAddressKey,
  type RpcServer,
  type RpcServerOptions,
  type RpcAddress,
  type RpcTlsFiles,
} from './server.js';
export {
  createMasterClient,
  createWorkerClient,
  createServiceClient,
  createRpcTransport,
  toBaseUrl,
  type RpcClientOptions,
  type RpcProtocol,
} from './clients.js';
export {
  toConnectError,
  fromConnectError,
  toProcessError,
  connectCodeOf,
  DM_ERROR_HEADERS,
  capText,
  MAX_ERROR_TEXT,
} from './errors.js';
export {
  errorInterceptor,
  metricsInterceptor,
  rpcMetrics,
  codeLabel,
  type RpcMetrics,
} from './interceptors.js';
export type { CorsOptions } from './cors.js';
export {
  authInterceptor,
  authEnabled,
  authError,
  authorize,
  createAuthenticator,
  bearerInterceptor,
  hashToken,
  isReadMethod,
  loadTokenFile,
  loadClusterToken,
  type AuthOptions,
  type Principal,
  type Role,
  type TokenEntry,
} from './auth.js';
export { inflightBodyBudget, MAX_H2_STREAMS, resolveLimits, type RpcLimits } from './limits.js';
export { processSecurity, type ProcessSecurity, type ProcessSecurityConfig } from './security.js';
export type { HttpRequest, HttpResponse } from './http-types.js';
