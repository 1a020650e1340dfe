/**
 * Child process for relay-writer.test.ts: runs a Relay (options as JSON in argv[2]) until killed,
 * printing `started`, and a status line every 200 ms.
 */
import { Relay } from '../../src/units/relay/index.js';
import { createLogger } from '../../src/log/index.js';

const o = JSON.parse(process.argv[2] ?? '{}');
const relay = new Relay({ ...o, logger: createLogger({ level: 'info', file: `${o.relayDir}.log` }) });
relay.start();
process.stdout.write('started\n');

process.on('SIGTERM', () => void relay.close().then(() => process.exit(0)));
