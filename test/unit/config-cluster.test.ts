import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DMError } from '../../src/errors/index.js';
import {
  loadMasterConfig,
  loadSourceConfigFile,
  loadWorkerConfig,
  parseMasterConfig,
  parseSourceConfig,
  parseWorkerConfig,
  sourceConfigToYaml,
} from '../../src/config/index.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'config');
const INVALID = join(FIX, 'invalid');

function errOf(fn: () => unknown): DMError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DMError) return e;
    throw e;
  }
  assert.fail('expected a DMError');
}

void test('source.yaml: checker tuning and a per-source relay-dir are refused as not supported, by key; enable-relay is accepted', () => {
  const e = errOf(() => loadSourceConfigFile(join(FIX, 'source.yaml')));
  assert.equal(e.codeName, 'ErrConfigNotSupported');
  assert.doesNotMatch(e.message, /enable-relay/);
  assert.match(e.message, /source\.yaml:14: checker\.backoff-max: .* set it to its default 5m/);
  const rd = errOf(() => parseSourceConfig('source-id: s\nenable-relay: true\nrelay-dir: /data/relay\nfrom: {host: h, user: u}\n'));
  assert.equal(rd.codeName, 'ErrConfigNotSupported');
  assert.match(rd.message, /source\.yaml:3: relay-dir: .*worker/);
  const on = parseSourceConfig('source-id: s\nenable-relay: true\nrelay-binlog-name: mysql-bin.000002\nfrom: {host: h, user: u}\n');
  assert.equal(on.enableRelay, true);
  assert.equal(on.relayBinlogName, 'mysql-bin.000002');
  assert.ok(e.workaround.includes('off value'));
  // the off values are fine
  const off = parseSourceConfig(
    'source-id: s\nenable-relay: false\nfrom: {host: h, user: u}\nchecker: {check-enable: true, backoff-max: 5m, backoff-min: 1s}\n',
  );
  assert.equal(off.enableRelay, false);
  // the source's filters follow the task's case-sensitive: a source-level `true` is refused, not ignored
  const cs = errOf(() => parseSourceConfig('source-id: s\nfrom: {host: h, user: u}\ncase-sensitive: true\n'));
  assert.equal(cs.code, 20601);
  assert.match(cs.message, /source\.yaml:3: case-sensitive: .* set it to false/);
  assert.equal(parseSourceConfig('source-id: s\nfrom: {host: h, user: u}\ncase-sensitive: false\n').sourceId, 's');
});

void test('source.yaml loads with DM defaults', () => {
  const text = readFileSync(join(FIX, 'source.yaml'), 'utf8')
    .replace('enable-relay: true', 'enable-relay: false')
    .replace('checker:\n  backoff-max: 1m\n', '');
  const s = parseSourceConfig(text);
  assert.equal(s.sourceId, 'mysql-replica-01');
  assert.equal(s.flavor, 'mariadb');
  assert.equal(s.enableGtid, true);
  assert.equal(s.enableRelay, false);
  assert.equal(s.relayDir, 'relay-dir');
  assert.equal(s.from.port, 3306);
  assert.equal(s.purge.interval, 3600);
  assert.equal(s.purge.expires, 24);
  assert.equal(s.purge.remainSpace, 15);
  assert.equal(s.checker.checkEnable, true);
  assert.equal(s.checker.backoffMax, 300_000);
  assert.equal(s.checker.backoffRollback, 300_000);
  assert.equal(s.serverId, 0);
  assert.equal(s.filters[0]?.action, 'Ignore');
  assert.ok(Object.isFrozen(s.from));

  const minimal = parseSourceConfig('source-id: s\nfrom: {host: h, user: u}\n');
  const yaml11 = parseSourceConfig(
    'source-id: s\nenable-gtid: yes\nenable-relay: Off\nfrom: {host: h, user: u}\n',
  );
  assert.equal(yaml11.enableGtid, true, 'YAML 1.1 booleans, as DM reads them');
  assert.equal(yaml11.enableRelay, false);
  assert.equal(
    errOf(() => parseSourceConfig('source-id: s\nenable-gtid: maybe\nfrom: {host: h, user: u}\n')).codeName,
    'ErrConfigInvalidValue',
  );
  assert.equal(minimal.flavor, '');
  assert.equal(minimal.enableGtid, false);
  assert.deepEqual(minimal.filters, []);
});

void test("DM's documented source template loads unchanged", () => {
  const s = loadSourceConfigFile(join(FIX, 'dm-source-sample.yaml'));
  assert.equal(s.sourceId, 'mysql-replica-01');
  assert.equal(
    s.from.password,
    'eweLdSi++2sb',
    "DM's ciphertext (AES-CFB under DM's built-in key) is decrypted, as DM does",
  );
  assert.equal(s.from.security?.sslKey, '/path/to/key.pem');
  assert.equal(s.checker.backoffRollback, 300_000);
  assert.deepEqual(s.filters[0]?.sqlPattern, ['alter table .* add column `aaa` int']);
  assert.deepEqual(s.filters[0]?.events, []);
});

void test('source errors name file, line and key path', () => {
  const e = errOf(() => loadSourceConfigFile(join(INVALID, 'source-unknown-key.yaml')));
  assert.equal(e.codeName, 'ErrConfigUnknownKey');
  assert.match(
    e.message,
    /^source-unknown-key\.yaml:5: from\.pasword: unknown key "pasword" \(did you mean "password"\?\)/,
  );
  const f = errOf(() => parseSourceConfig('source-id: s\nflavor: percona\nfrom: {host: h, user: u}\n'));
  assert.equal(f.codeName, 'ErrConfigInvalidValue');
  assert.match(f.message, /^source\.yaml:2: flavor: .*allowed: "", "mysql", "mariadb"/);
  const g = errOf(() =>
    parseSourceConfig(
      'source-id: s\nfrom: {host: h, user: u}\nchecker:\n  backoff-min: 10m\n  backoff-max: 1m\n',
    ),
  );
  assert.equal(g.codeName, 'ErrConfigCrossField');
  assert.match(g.message, /^source\.yaml:5: checker\.backoff-max: /);
});

void test('sourceConfigToYaml keeps the password encrypted and loads back equal', () => {
  const key = Buffer.alloc(32, 5);
  const s = parseSourceConfig(
    'source-id: s\nfrom: {host: h, user: u, password: hunter2}\nenable-gtid: true\n',
    { secretKey: key },
  );
  const text = sourceConfigToYaml(s, { secretKey: key });
  assert.doesNotMatch(text, /hunter2/);
  assert.match(text, /^source-id: s$/m);
  assert.deepEqual(parseSourceConfig(text, { secretKey: key }), s);
});

void test('dm-master.yaml: file, defaults and flag overrides', () => {
  const m = loadMasterConfig(join(FIX, 'dm-master.yaml'));
  assert.equal(m.name, 'master1');
  assert.equal(m.masterAddr, ':8261');
  assert.equal(m.advertiseAddr, '127.0.0.1:8261');
  assert.equal(m.rpcTimeout, 30_000); // other values are refused (20601): DM.ts's calls to workers have fixed timeouts
  assert.equal(m.initialCluster, 'master1=http://127.0.0.1:8291');
  assert.equal(m.initialClusterState, 'new');
  assert.equal(m.dataDir, '/var/lib/dm-master');
  assert.deepEqual(m.etcdEndpoints, []);

  const d = parseMasterConfig('', {
    overrides: {
      name: 'm2',
      'master-addr': ':18261',
      'etcd-endpoints': 'http://127.0.0.1:2379,http://127.0.0.1:2380',
    },
  });
  assert.equal(d.name, 'm2');
  assert.equal(d.advertiseAddr, '127.0.0.1:18261');
  assert.equal(d.peerUrls, 'http://127.0.0.1:8291');
  assert.equal(d.dataDir, 'default.m2');
  assert.equal(d.keepaliveTtl, 10_000);
  assert.equal(d.logLevel, 'info');
  assert.deepEqual(d.etcdEndpoints, ['http://127.0.0.1:2379', 'http://127.0.0.1:2380']);

  const e = errOf(() => loadMasterConfig(join(INVALID, 'dm-master-bad-duration.yaml')));
  assert.equal(e.codeName, 'ErrConfigInvalidValue');
  assert.match(e.message, /^dm-master-bad-duration\.yaml:2: rpc-timeout: not a duration/);
  const u = errOf(() => parseMasterConfig('master-adr: ":8261"\n'));
  assert.equal(u.codeName, 'ErrConfigUnknownKey');
  assert.match(u.message, /did you mean "master-addr"/);
});

void test('dm-worker.yaml: file, defaults and required join', () => {
  const w = loadWorkerConfig(join(FIX, 'dm-worker.yaml'));
  assert.equal(w.name, 'worker1');
  assert.equal(w.advertiseAddr, '127.0.0.1:8262');
  assert.deepEqual(w.join, ['127.0.0.1:8261', '127.0.0.2:8261']);
  assert.equal(w.keepaliveTtl, 5_000);
  assert.equal(w.relayKeepaliveTtl, 1_800_000);
  assert.equal(w.logLevel, 'debug');

  const d = parseWorkerConfig('', { overrides: { join: '127.0.0.1:8261' } });
  assert.equal(d.workerAddr, ':8262');
  assert.equal(d.keepaliveTtl, 10_000);

  const e = errOf(() => loadWorkerConfig(join(INVALID, 'dm-worker-missing-join.yaml')));
  assert.equal(e.codeName, 'ErrConfigMissingKey');
  assert.match(e.message, /^dm-worker-missing-join\.yaml:\d+: join: /);
  const f = errOf(() => parseWorkerConfig('join: a:1\nlog-level: loud\n'));
  assert.match(
    f.message,
    /^dm-worker\.yaml:2: log-level: .*allowed: "debug", "info", "warn", "error", "fatal"/,
  );
});

void test('dm-master / dm-worker: keys not implemented yet are refused; a non-map file is refused', () => {
  const cases: [() => unknown, RegExp][] = [
    [() => parseMasterConfig('v1-sources-path: /tmp/v1\n'), /^dm-master\.yaml:1: v1-sources-path: /],
    [() => parseMasterConfig('rpc-timeout: 10s\n'), /^dm-master\.yaml:1: rpc-timeout: .* set it to its default "30s"/],
    [() => parseMasterConfig('rpc-rate-limit: 5\n'), /^dm-master\.yaml:1: rpc-rate-limit: /],
    [() => parseMasterConfig('rpc-rate-burst: 5\n'), /^dm-master\.yaml:1: rpc-rate-burst: /],
  ];
  for (const [fn, re] of cases) {
    const e = errOf(fn);
    assert.equal(e.codeName, 'ErrConfigNotSupported', e.message);
    assert.match(e.message, re);
  }
  assert.equal(parseMasterConfig('openapi: false\nexperimental: {openapi: false}\n').openapi, false);
  // the OpenAPI is served (src/master/openapi/): both keys are accepted
  assert.equal(parseMasterConfig('openapi: true\n').openapi, true);
  assert.equal(parseMasterConfig('experimental:\n  openapi: true\n').experimental.openapi, true);

  const scalar = errOf(() => parseMasterConfig('just some words\n'));
  assert.equal(scalar.codeName, 'ErrConfigFileFormat');
  assert.match(scalar.message, /expected a YAML map of keys/);
});

void test('dm-master / dm-worker security keys: defaults, cert-allowed-cn needs mutual TLS', () => {
  const m = parseMasterConfig('');
  assert.deepEqual(m.corsAllowedOrigins, []);
  assert.equal(m.rpcMaxRequestBytes, 4 * 1024 * 1024);
  assert.equal(m.authHttpEndpoints, false);
  assert.equal(m.authTokenFile, undefined);
  const w = parseWorkerConfig('join: 127.0.0.1:8261\ncors-allowed-origins: "https://a.example, https://b.example"\nrpc-idle-timeout: 30s\n');
  assert.deepEqual(w.corsAllowedOrigins, ['https://a.example', 'https://b.example']);
  assert.equal(w.rpcIdleTimeout, 30_000);
  for (const fn of [() => parseMasterConfig('cert-allowed-cn: [dm]\n'), () => parseWorkerConfig('join: 127.0.0.1:8261\ncert-allowed-cn: [dm]\n')]) {
    const e = errOf(fn);
    assert.equal(e.codeName, 'ErrConfigCrossField', e.message);
    assert.match(e.message, /cert-allowed-cn: .*ssl-ca, ssl-cert and ssl-key/);
  }
  const tls = parseMasterConfig('cert-allowed-cn: [dm]\nssl-ca: ca.pem\nssl-cert: c.pem\nssl-key: k.pem\n');
  assert.deepEqual(tls.certAllowedCn, ['dm']);
});

void test('relay keys that would do nothing are refused: relay-binlog-gtid without enable-gtid, relay-keepalive-ttl other than DM\'s default', () => {
  const g = errOf(() => parseSourceConfig('source-id: s\nenable-relay: true\nrelay-binlog-gtid: 0-1-42\nfrom: {host: h, user: u}\n'));
  assert.equal(g.codeName, 'ErrConfigCrossField');
  assert.match(g.message, /relay-binlog-gtid: .*enable-gtid/);
  const withGtid = parseSourceConfig('source-id: s\nenable-gtid: true\nenable-relay: true\nrelay-binlog-gtid: 0-1-42\nfrom: {host: h, user: u}\n');
  assert.equal(withGtid.relayBinlogGtid, '0-1-42');
  const k = errOf(() => parseWorkerConfig('name: w1\njoin: 127.0.0.1:8261\nrelay-keepalive-ttl: 10m\n'));
  assert.equal(k.codeName, 'ErrConfigNotSupported');
  assert.match(k.message, /relay-keepalive-ttl: .*keepalive-ttl/);
  assert.equal(parseWorkerConfig('name: w1\njoin: 127.0.0.1:8261\nrelay-keepalive-ttl: 30m\n').relayKeepaliveTtl, 1_800_000, "DM's default is accepted");
});
