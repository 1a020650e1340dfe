import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One Registry per process instance (several masters/workers may share a test process).
 * Metric names follow `dm_<subsystem>_<name>`; labels `task`, `source_id`, `worker`; seconds.
 *
 * With `defaultMetrics` the registry also carries Node's standard process metrics under their
 * usual names, unprefixed (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
 * `nodejs_eventloop_lag_seconds`, `nodejs_heap_size_used_bytes`, ...), so stock Node.js / process
 * dashboards and alert rules work against DM.ts as they do against any other Node service.
 * Each registry gets its own collectors, so two instances in one process do not clash.
 */
export function createRegistry(opts: { defaultMetrics?: boolean; labels?: Record<string, string> } = {}): Registry {
  const reg = new Registry();
  if (opts.labels) reg.setDefaultLabels(opts.labels);
  if (opts.defaultMetrics) collectDefaultMetrics({ register: reg });
  return reg;
}
