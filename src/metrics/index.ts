export { createRegistry } from './registry.js';
export { Registry, Counter, Gauge, Histogram } from 'prom-client';
