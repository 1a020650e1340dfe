export { createRegistry } from './registry.js';
export { cpuUsageGauge } from './cpu.js';
export { Registry, Counter, Gauge, Histogram } from 'prom-client';
