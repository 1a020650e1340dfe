import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { flagOverrides } from '../../src/config/index.js';

test('every given flag becomes the config key of the same name; --config and --version do not', () => {
  const p = new Command()
    .option('--config <file>')
    .option('--master-addr <addr>')
    .option('--initial-cluster <list>')
    .option('--keepalive-ttl <duration>')
    .option('--log-level <level>')
    .option('-V, --version');
  p.parse(['node', 'dm-master', '--config', 'm.yaml', '--master-addr', '127.0.0.1:8261', '--keepalive-ttl', '3', '-V']);
  assert.deepEqual(flagOverrides(p.options, p.opts()), { 'master-addr': '127.0.0.1:8261', 'keepalive-ttl': 3 });
  p.parse(['node', 'dm-master', '--keepalive-ttl', '1m', '--initial-cluster', 'a=http://h:8291']);
  assert.deepEqual(flagOverrides(p.options, p.opts()), {
    'keepalive-ttl': '1m',
    'initial-cluster': 'a=http://h:8291',
  });
});
