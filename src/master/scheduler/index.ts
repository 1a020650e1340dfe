export { Scheduler, bindingOps, readClusterView, type SchedulerOptions, type ClusterView, type WorkerView, type WorkerStageName } from './scheduler.js';
