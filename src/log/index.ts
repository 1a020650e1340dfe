export { createLogger, silentLogger, reopenLogFiles, REDACT_PATHS, type Logger, type LoggerConfig } from './logger.js';
export { RotatingFile, type RotationOptions } from './rotating-file.js';
