export { VERSION, versionText } from './version.js';
export { sleepAbortable, throwIfAborted, rootController, aborted, untilDoneOrAborted } from './abort.js';
export { Waker } from './wake.js';
export { Backoff, retryPolicy, retryWithin, exponentialBackoff, SYNC_TARGET_BACKOFF, BINLOG_RECONNECT_BACKOFF, AUTO_RESUME_MIN_MS, AUTO_RESUME_MAX_MS, type BackoffSpec, type RetryPolicy } from './retry.js';
