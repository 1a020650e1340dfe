export { VERSION, versionText } from './version.js';
export { sleepAbortable, throwIfAborted, rootController, aborted, untilDoneOrAborted } from './abort.js';
export { Waker } from './wake.js';
