export { DMWorker, type DMWorkerOptions } from './server.js';
export { Subtask, AUTO_RESUME_MIN_MS, AUTO_RESUME_MAX_MS, type SubtaskStatus, type SubtaskOptions, type SubtaskPipelineContext } from './subtask.js';
export { WorkerSession } from './session.js';
export { Converger, type ConvergerOptions } from './converger.js';
export { createWorkerService, type WorkerServiceDeps } from './service.js';
export { WorkerMetrics, STAGE_NUMBER } from './metrics.js';
export { RelayHolder, relayServerId, type DesiredRelayStage, type RelayHolderOptions } from './relay-holder.js';
