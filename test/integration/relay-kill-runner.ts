/**
 * Child process for relay-writer.test.ts: runs a Relay (options as JSON in argv[2]) until killed,
 * printing `started`, and a status line every 200 ms.
 */
import { Relay } from '../../src/units/relay/index.js';
import { silentLogger } from '../../src/log/index.js';

const o = JSON.parse(process.argv[2] ?? '{}');
const relay = new Relay({ ...o, logger: silentLogger });
relay.start();
process.stdout.write('started\n');
setInterval(() => process.stdout.write(`${JSON.stringify(relay.status())}\n`), 200);
process.on('SIGTERM', () => void relay.close().then(() => process.exit(0)));
