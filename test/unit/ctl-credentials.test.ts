import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveGlobals } from '../../src/ctl/program.js';
import { hashToken, isReadMethod, loadTokenFile } from '../../src/rpc/index.js';
import { DMError } from '../../src/errors/index.js';

void test('dmctl credentials: --token wins, then --token-file, then the config file, then $DM_TOKEN', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dmctl-cred-'));
  const saved = process.env['DM_TOKEN'];
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
    if (saved === undefined) delete process.env['DM_TOKEN'];
    else process.env['DM_TOKEN'] = saved;
  });
  delete process.env['DM_TOKEN'];
  writeFileSync(join(dir, 'tok'), 'from-file\n');
  writeFileSync(join(dir, 'cfg.yaml'), `master-addr: 127.0.0.1:1\ntoken-file: ${join(dir, 'tok')}\nssl-ca: ca.pem\n`);
  assert.equal(resolveGlobals({}).token, undefined);
  assert.equal(resolveGlobals({ token: 'flag' }).token, 'flag');
  assert.equal(resolveGlobals({ tokenFile: join(dir, 'tok') }).token, 'from-file');
  const fromCfg = resolveGlobals({ config: join(dir, 'cfg.yaml') });
  assert.equal(fromCfg.token, 'from-file');
  assert.equal(fromCfg.tls.ca, 'ca.pem');
  assert.equal(resolveGlobals({ config: join(dir, 'cfg.yaml'), token: 'flag' }).token, 'flag');
  process.env['DM_TOKEN'] = 'env';
  assert.equal(resolveGlobals({}).token, 'env');
});

void test('token file: hashed tokens with roles; a plain token instead of its hash is refused', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dm-tokens-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const good = join(dir, 'good.yaml');
  writeFileSync(good, `tokens:\n  - name: ops\n    role: admin\n    sha256: ${hashToken('secret')}\n`);
  assert.deepEqual(loadTokenFile(good), [{ name: 'ops', role: 'admin', sha256: hashToken('secret') }]);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'tokens:\n  - name: ops\n    role: admin\n    sha256: secret\n');
  assert.throws(() => loadTokenFile(bad), (e: unknown) => e instanceof DMError && e.code === 20710);
  const role = join(dir, 'role.yaml');
  writeFileSync(role, `tokens:\n  - role: root\n    sha256: ${hashToken('x')}\n`);
  assert.throws(() => loadTokenFile(role), /role must be read or admin/);
});

void test('read role: queries only', () => {
  for (const m of ['QueryStatus', 'ListMember', 'ShowDDLLocks', 'WatchStatus', 'GetClusterInfo', 'QueryValidationStatus']) assert.ok(isReadMethod(m), m);
  for (const m of ['StartTask', 'OperateTask', 'OperateSource', 'GetConfig', 'GetWorkerCfg', 'CheckTask', 'Encrypt', 'RegisterWorker', 'OfflineMember']) assert.ok(!isReadMethod(m), m);
});
