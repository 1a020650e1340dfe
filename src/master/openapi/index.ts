/**
 * DM 2.x's OpenAPI on the master port (`openapi: true` or `experimental.openapi: true`).
 * One call builds the rpc server's fallback hook for /api/v1; see docs/openapi.md.
 */
import type { Logger } from '../../log/index.js';
import type { AuthOptions, HttpRequest, HttpResponse } from '../../rpc/index.js';
import type { MasterImpl } from '../handlers/index.js';
import type { MasterCore } from '../master-core.js';
import { rpcCaller } from './rpc-call.js';
import { createOpenApiRouter } from './router.js';
import { openApiRoutes } from './routes.js';
import { openApiSpec } from './spec.js';

export { OPENAPI_PREFIX, errorBody } from './router.js';
export { openApiSpec } from './spec.js';
export { sourceJsonToYaml, sourceYamlToJson } from './source-json.js';
export { taskJsonToYaml, taskYamlToJson } from './task-json.js';

export interface OpenApiOptions {
  /** The master's MasterService implementation (the object the Connect router serves). */
  impl: MasterImpl;
  core: MasterCore;
  /** The port's auth (undefined or empty: no auth, as the RPCs). */
  auth?: AuthOptions | undefined;
  /** The port's `rpc-max-request-bytes`. */
  maxRequestBytes: number;
  logger?: Logger;
}

/** The /api/v1 handler: resolves false for other paths. */
export function createOpenApi(o: OpenApiOptions): (req: HttpRequest, res: HttpResponse) => Promise<boolean> {
  let spec: Record<string, unknown> | undefined;
  const routes = openApiRoutes({ rpc: rpcCaller(o.impl), core: o.core, spec: () => (spec ??= openApiSpec(routes)) });
  return createOpenApiRouter({ routes, auth: o.auth, maxRequestBytes: o.maxRequestBytes, ...(o.logger ? { logger: o.logger } : {}) });
}
