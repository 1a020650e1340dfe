import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One Registry per process instance (several masters/workers may share a test process).
 * Metric names follow `dm_<subsystem>_<name>`; labels `task`, `source_id`, `worker`; seconds.
 */
export function createRegistry(opts: { defaultMetrics?: boolean; labels?: Record<string, string> } = {}): Registry {
  const reg = new Registry();
  if (opts.labels) reg.setDefaultLabels(opts.labels);
  if (opts.defaultMetrics) collectDefaultMetrics({ register: reg, prefix: 'dm_process_' });
  return reg;
}
