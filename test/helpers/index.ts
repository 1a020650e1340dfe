export * from './services.js';
export * from './mariadb.js';
export * from './etcd.js';
export * from './compare.js';
export { cpuSeconds } from './proc.js';
export { runUnits } from './units.js';
