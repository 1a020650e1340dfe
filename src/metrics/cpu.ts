import { Gauge, type Registry } from 'prom-client';

/**
 * DM's `dm_master_cpu_usage` / `dm_worker_cpu_usage`: CPU used by this process since the previous
 * scrape, in percent of one core (100 = one core busy), as DM reports it. Computed at scrape time.
 */
export function cpuUsageGauge(registry: Registry, name: string, help: string): Gauge {
  let last = { at: process.hrtime.bigint(), cpu: process.cpuUsage() };
  return new Gauge({
    name,
    help,
    registers: [registry],
    collect(this: Gauge) {
      const now = { at: process.hrtime.bigint(), cpu: process.cpuUsage() };
      const wallUs = Number(now.at - last.at) / 1000;
      const cpuUs = now.cpu.user - last.cpu.user + (now.cpu.system - last.cpu.system);
      last = now;
      if (wallUs > 0) this.set((cpuUs / wallUs) * 100);
    },
  });
}
