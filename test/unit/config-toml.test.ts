/**
 * DM's TOML config files: DM's own samples (test/fixtures/config/dm-toml: the templates of DM's
 * docs and the samples shipped in pingcap/tiflow) load into the same typed config as YAML, and
 * problems name file, line and key as for YAML.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DMError } from '../../src/errors/index.js';
import {
  clusterYamlToToml,
  loadMasterConfig,
  loadWorkerConfig,
  masterConfigToYaml,
  parseMasterConfig,
  parseWorkerConfig,
  workerConfigToYaml,
} from '../../src/config/index.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'config', 'dm-toml');

function errOf(fn: () => unknown): DMError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DMError) return e;
    throw e;
  }
  assert.fail('expected a DMError');
}

/** The fixture without its `ssl-*` lines: `cert-allowed-cn` then has no mutual TLS to check. */
function withoutSsl(name: string): string {
  return readFileSync(join(FIX, name), 'utf8').replace(/^ssl-(ca|cert|key) = .*$/gm, '');
}

void test("cert-allowed-cn without ssl-* is refused by line (it checks client certificates)", () => {
  const e = errOf(() => parseMasterConfig(withoutSsl('dm-master.toml'), { file: 'dm-master.toml' }));
  assert.match(e.message, /^dm-master\.toml:24: cert-allowed-cn: /);
});

void test("DM's sample dm-master.toml (tiflow) loads with every key", () => {
  const m = loadMasterConfig(join(FIX, 'tiflow-dm-master.toml'));
  assert.equal(m.name, 'dm-master');
  assert.equal(m.logFile, 'dm-master.log');
  assert.equal(m.logLevel, 'info');
  assert.equal(m.masterAddr, ':8261');
  assert.equal(m.advertiseAddr, '127.0.0.1:8261');
  assert.equal(m.dataDir, 'default.dm-master');
  assert.equal(m.peerUrls, 'http://127.0.0.1:8291');
  assert.equal(m.advertisePeerUrls, 'http://127.0.0.1:8291');
  assert.equal(m.initialCluster, 'dm-master=http://127.0.0.1:8291');
  assert.equal(m.join, '');
  assert.equal(m.rpcTimeout, 30_000);
  assert.equal(m.rpcRateBurst, 40);
  assert.equal(m.rpcRateLimit, 10);
  assert.equal(m.openapi, false);
});

void test("DM's sample dm-worker.toml (tiflow) loads with every key", () => {
  const w = loadWorkerConfig(join(FIX, 'tiflow-dm-worker.toml'));
  assert.equal(w.logFile, 'dm-worker.log');
  assert.equal(w.workerAddr, ':8262');
  assert.equal(w.advertiseAddr, '127.0.0.1:8262');
  assert.deepEqual(w.join, ['127.0.0.1:8261']);
  assert.equal(w.relayDir, '/tmp/relay');
});

void test("DM's documented dm-master.toml template: every key maps, cert-allowed-cn included", () => {
  const m = loadMasterConfig(join(FIX, 'dm-master.toml'));
  assert.deepEqual(m.certAllowedCn, ['dm']);
  assert.equal(m.name, 'dm-master');
  assert.equal(m.logFile, 'dm-master.log');
  assert.equal(m.masterAddr, ':8261');
  assert.equal(m.advertiseAddr, '127.0.0.1:8261');
  assert.equal(m.peerUrls, 'http://127.0.0.1:8291');
  assert.equal(m.initialCluster, 'master1=http://127.0.0.1:8291,master2=http://127.0.0.1:8292,master3=http://127.0.0.1:8293');
  assert.equal(m.sslCa, '/path/to/ca.pem');
  assert.equal(m.sslCert, '/path/to/cert.pem');
  assert.equal(m.sslKey, '/path/to/key.pem');
  assert.equal(m.secretKeyPath, '/path/to/secret/key');
  assert.equal(m.dataDir, 'default.dm-master');
});

void test("DM's documented dm-worker.toml template: every key maps (keepalive-ttl in seconds), cert-allowed-cn included", () => {
  const w = loadWorkerConfig(join(FIX, 'dm-worker.toml'));
  assert.deepEqual(w.certAllowedCn, ['dm']);
  assert.equal(w.name, 'worker1');
  assert.equal(w.logFile, 'dm-worker.log');
  assert.equal(w.redactInfoLog, false);
  assert.equal(w.workerAddr, ':8262');
  assert.deepEqual(w.join, ['http://127.0.0.1:8261', 'http://127.0.0.1:8361', 'http://127.0.0.1:8461']);
  assert.equal(w.keepaliveTtl, 60_000);
  assert.equal(w.relayKeepaliveTtl, 1_800_000);
  assert.equal(w.sslKey, '/path/to/key.pem');
});

void test('TOML and YAML of the same keys give the same config', () => {
  const toml = parseMasterConfig(
    'name = "m1"\nmaster-addr = "127.0.0.1:8261"\nrpc-timeout = "30s"\nkeepalive-ttl = "5s"\nlog-format = "json"\n\n[experimental]\nopenapi = false\n\n[log.file]\nmax-size = 10\nmax-backups = 3\n',
    { file: 'm.toml' },
  );
  const yaml = parseMasterConfig(
    'name: m1\nmaster-addr: 127.0.0.1:8261\nrpc-timeout: 30s\nkeepalive-ttl: 5s\nlog-format: json\nexperimental:\n  openapi: false\nlog:\n  file:\n    max-size: 10\n    max-backups: 3\n',
    { file: 'm.yaml' },
  );
  assert.deepEqual(toml, yaml);
  assert.equal(toml.log.file.maxSize, 10);
  assert.equal(toml.log.file.maxDays, 0);
  assert.equal(toml.log.file.maxBackups, 3);
});

void test('TOML problems name file, line and key as for YAML', () => {
  const unknown = errOf(() => parseMasterConfig('name = "m1"\n\nmaster-adr = ":8261"\n', { file: 'dm-master.toml' }));
  assert.equal(unknown.codeName, 'ErrConfigUnknownKey');
  assert.match(unknown.message, /^dm-master\.toml:3: master-adr: unknown key "master-adr" \(did you mean "master-addr"\?\)/);
  const nested = errOf(() => parseMasterConfig('name = "m1"\n[experimental]\n# a comment\nopenapi = 5\n', { file: 'dm-master.toml' }));
  assert.equal(nested.codeName, 'ErrConfigInvalidValue');
  assert.match(nested.message, /^dm-master\.toml:4: experimental\.openapi: /);
  const nestedUnknown = errOf(() => parseMasterConfig('[experimental]\nfoo = 1\n', { file: 'dm-master.toml' }));
  assert.match(nestedUnknown.message, /^dm-master\.toml:2: experimental\.foo: unknown key "foo"/);
  const dotted = errOf(() => parseMasterConfig('name = "m1"\nlog.file.max-size = 0\n', { file: 'dm-master.toml' }));
  assert.equal(dotted.codeName, 'ErrConfigInvalidValue');
  assert.match(dotted.message, /^dm-master\.toml:2: log\.file\.max-size: /);
  const table = errOf(() => parseWorkerConfig('join = "127.0.0.1:8261"\n[worker]\nname = "w"\n', { file: 'dm-worker.toml' }));
  assert.equal(table.codeName, 'ErrConfigUnknownKey');
  assert.match(table.message, /^dm-worker\.toml:2: worker: unknown key "worker"/);
  const badValue = errOf(() => parseWorkerConfig('join = "127.0.0.1:8261"\nkeepalive-ttl = "soon"\n', { file: 'dm-worker.toml' }));
  assert.equal(badValue.codeName, 'ErrConfigInvalidValue');
  assert.match(badValue.message, /^dm-worker\.toml:2: keepalive-ttl: /);
  const syntax = errOf(() => parseMasterConfig('name = "m1"\nmaster-addr = \n', { file: 'dm-master.toml' }));
  assert.equal(syntax.codeName, 'ErrConfigTomlParse');
  assert.equal(syntax.code, 20801);
  assert.match(syntax.message, /^dm-master\.toml:2: /);
});

void test('TOML content is recognised in a file of any other name; YAML stays YAML', () => {
  const m = parseMasterConfig('name = "m1"\nmaster-addr = ":8261"\n', { file: 'dm-master.conf' });
  assert.equal(m.name, 'm1');
  assert.equal(parseMasterConfig('name: m2\n', { file: 'dm-master.yaml' }).name, 'm2');
  const redact = errOf(() => parseWorkerConfig('join = "127.0.0.1:8261"\nredact-info-log = true\n', { file: 'w.toml' }));
  assert.equal(redact.codeName, 'ErrConfigNotSupported');
  assert.match(redact.message, /^w\.toml:2: redact-info-log: /);
  // DM's deprecated log-rotate is accepted and ignored, as DM does
  assert.equal(parseWorkerConfig('join = "127.0.0.1:8261"\nlog-rotate = "day"\n', { file: 'w.toml' }).logRotate, 'day');
});

void test('config master|worker output (DM keys and units) loads back to an equal config, as YAML and as TOML', () => {
  const master = parseMasterConfig(
    'name: m1\nmaster-addr: 127.0.0.1:8261\nkeepalive-ttl: 10s\nrpc-timeout: 30s\nlog-format: json\nlog:\n  file:\n    max-size: 10\netcd-endpoints: http://127.0.0.1:2379\n',
  );
  const yaml = masterConfigToYaml(master);
  assert.doesNotMatch(yaml, /[a-z][A-Z]/, 'no camelCase key');
  assert.match(yaml, /^keepalive-ttl: 10$/m);
  assert.match(yaml, /^rpc-timeout: 30s$/m);
  assert.match(yaml, /^master-addr: 127\.0\.0\.1:8261$/m);
  assert.deepEqual(parseMasterConfig(yaml, { file: 'x.yaml' }), master);
  const toml = clusterYamlToToml(yaml);
  assert.match(toml, /^rpc-timeout = "30s"$/m);
  assert.match(toml, /^\[log\.file\]$/m);
  assert.deepEqual(parseMasterConfig(toml, { file: 'x.toml' }), master);

  const worker = parseWorkerConfig('name: w1\njoin: 127.0.0.1:8261,127.0.0.1:8361\nkeepalive-ttl: 1500ms\nrelay-keepalive-ttl: 30m\n');
  const wy = workerConfigToYaml(worker);
  assert.match(wy, /^join: 127\.0\.0\.1:8261,127\.0\.0\.1:8361$/m);
  assert.match(wy, /^keepalive-ttl: 1s500ms$/m);
  assert.match(wy, /^relay-keepalive-ttl: 1800$/m);
  assert.deepEqual(parseWorkerConfig(wy, { file: 'w.yaml' }), worker);
  assert.deepEqual(parseWorkerConfig(clusterYamlToToml(wy), { file: 'w.toml' }), worker);
  // DM's own sample, loaded and written back, loads to the same config
  const sample = loadMasterConfig(join(FIX, 'tiflow-dm-master.toml'));
  assert.deepEqual(parseMasterConfig(clusterYamlToToml(masterConfigToYaml(sample)), { file: 'back.toml' }), sample);
});
