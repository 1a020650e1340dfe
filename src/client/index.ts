/**
 * `dm-ts/client`: what another browser app needs to talk to DM.ts (docs/api.md). The typed
 * client, its error type, and the generated stubs: every message, enum and service of
 * `dm.master.v1` and `dm.common.v1` at the top level, `dm.worker.v1` as the `worker` namespace
 * (its request/response names repeat the master's). Browser-safe: no Node modules.
 */
export { DMClient, createDMClient, DEFAULT_TIMEOUT_MS, type DMClientOptions, type CallOpts, type TokenSource } from './dm-client.js';
export { DMApiError, type SourceOutcome } from './errors.js';
export * from '../gen/dm/master/v1/master_pb.js';
export * from '../gen/dm/common/v1/common_pb.js';
export * as worker from '../gen/dm/worker/v1/worker_pb.js';
export { WorkerService } from '../gen/dm/worker/v1/worker_pb.js';
export { Code, ConnectError } from '@connectrpc/connect';
