export { VERSION, versionText } from './version.js';
export { sleepAbortable, throwIfAborted, rootController } from './abort.js';
export { Waker } from './wake.js';
