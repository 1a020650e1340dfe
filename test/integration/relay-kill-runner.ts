/**
 * Child process for relay-writer.test.ts: runs a Relay (options as JSON in argv[2]) until killed,
 * printing `started`.
 */
import { Relay } from '../../src/units/relay/index.js';
import { createLogger, silentLogger } from '../../src/log/index.js';

const o = JSON.parse(process.argv[2] ?? '{}');
// DM_RELAY_RUNNER_LOG=<file>: the relay's log, for debugging a failed run
const logFile = process.env['DM_RELAY_RUNNER_LOG'];
const relay = new Relay({ ...o, logger: logFile ? createLogger({ level: 'info', file: logFile }) : silentLogger });
relay.start();
process.stdout.write('started\n');

process.on('SIGTERM', () => void relay.close().then(() => process.exit(0)));
