/**
 * The security of the listening ports (issue 16, docs/security.md), on real servers:
 * - a dm-master (embedded etcd with TLS) and a dm-worker with bearer tokens and a cluster token:
 *   every RPC of both services refused without a credential (`unauthenticated`, 49101), a read
 *   token refused on an admin RPC (`permission_denied`, 49102) and allowed on queries, admin
 *   allowed; worker→master (register) and master→worker (config worker) calls authenticate with
 *   the cluster token; /status and /metrics need a credential when configured; a refused
 *   caller is answered (in its protocol) without its body being read;
 * - a preflight from an origin not in `cors-allowed-origins` is refused, without any ACAO header;
 * - errors about a 3 MiB bad input do not echo it back (cut at MAX_ERROR_TEXT);
 * - a 100 MB body and a 1 MB gzip body expanding to 1 GiB are refused in well under a second,
 *   and the process's RSS stays bounded;
 * - mutual TLS: a client certificate whose CN is not in `cert-allowed-cn` is refused;
 * - the embedded etcd with TLS refuses a client without a certificate.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { create, type DescService } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient, type Client } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { Etcd3 } from 'etcd3';
import { freePort, makeTempDir, requireBinary, waitFor } from '../helpers/index.js';
import { makeTestPki } from '../helpers/tls.js';
import { silentLogger } from '../../src/log/index.js';
import { parseMasterConfig, parseWorkerConfig } from '../../src/config/index.js';
import {
  bearerInterceptor,
  createRpcServer,
  createWorkerClient,
  fromConnectError,
  hashToken,
  MAX_ERROR_TEXT,
} from '../../src/rpc/index.js';
import { DMMaster } from '../../src/master/index.js';
import { DMWorker } from '../../src/worker/index.js';
import { ConfigType, MasterService } from '../../src/gen/dm/master/v1/master_pb.js';
import { QueryStatusResponseSchema, WorkerService } from '../../src/gen/dm/worker/v1/worker_pb.js';

const ADMIN = 'admin-token-0123456789abcdef';
const READ = 'read-token-0123456789abcdef';
const CLUSTER = 'cluster-token-0123456789abcdef';

function client<S extends DescService>(svc: S, port: number, token?: string): Client<S> {
  return createClient(
    svc,
    createConnectTransport({
      baseUrl: `http://127.0.0.1:${port}`,
      httpVersion: '1.1',
      defaultTimeoutMs: 10_000,
      ...(token ? { interceptors: [bearerInterceptor(token)] } : {}),
    }),
  );
}

/** Call every method of `svc` with an empty request; returns method name → error (undefined = ok). */
async function callAll<S extends DescService>(svc: S, c: Client<S>): Promise<Map<string, ConnectError | undefined>> {
  const out = new Map<string, ConnectError | undefined>();
  for (const m of svc.methods) {
    const fn = (c as unknown as Record<string, (r: object, o: object) => unknown>)[m.localName];
    assert.ok(fn, m.name);
    try {
      const r = fn.call(c, {}, { timeoutMs: 10_000 });
      if (m.methodKind === 'server_streaming') {
        for await (const _ of r as AsyncIterable<unknown>) break;
      } else await r;
      out.set(m.name, undefined);
    } catch (e) {
      out.set(m.name, ConnectError.from(e));
    }
  }
  return out;
}

/** Send `body` with raw HTTP/1.1 and resolve with the status line and the time to the first response byte. */
function rawPost(port: number, path: string, headers: Record<string, string>, body: Buffer): Promise<{ status: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const sock = net.connect(port, '127.0.0.1');
    let done = false;
    const finish = (status: string): void => {
      if (done) return;
      done = true;
      resolve({ status, ms: performance.now() - t0 });
      sock.destroy();
    };
    sock.on('data', (d) => finish(d.toString('latin1').split('\r\n')[0] ?? ''));
    sock.on('error', () => finish('socket error'));
    sock.on('close', () => finish('closed'));
    sock.on('connect', () => {
      const head = Object.entries({ host: `127.0.0.1:${port}`, 'content-length': String(body.length), ...headers })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      sock.write(`POST ${path} HTTP/1.1\r\n${head}\r\n`);
      let off = 0;
      const pump = (): void => {
        while (off < body.length && !done) {
          const chunk = body.subarray(off, off + 256 * 1024);
          off += chunk.length;
          if (!sock.write(chunk)) {
            sock.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
  });
}

/**
 * Send the headers of a POST declaring a `declared`-byte body, then only its first KiB; resolve
 * with what the server answered within `waitMs` (status line, headers, start of the body) and
 * the time to the first byte. A server that waits for the body answers nothing.
 */
function partialPost(port: number, path: string, headers: Record<string, string>, declared: number, waitMs = 5000): Promise<{ text: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const sock = net.connect(port, '127.0.0.1');
    let text = '';
    let first = 0;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ text, ms: first });
      sock.destroy();
    };
    const timer = setTimeout(finish, waitMs);
    sock.on('data', (d) => {
      if (text === '') first = performance.now() - t0;
      text += d.toString('latin1');
      setTimeout(finish, 200); // the rest of a small answer
    });
    sock.on('error', finish);
    sock.on('close', finish);
    sock.on('connect', () => {
      const head = Object.entries({ host: `127.0.0.1:${port}`, 'content-length': String(declared), ...headers })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      sock.write(`POST ${path} HTTP/1.1\r\n${head}\r\n`);
      sock.write(Buffer.alloc(1024, 0x7b));
    });
  });
}

test('dm-master + dm-worker with tokens, cluster token and etcd TLS: auth, CORS, limits', { timeout: 180_000 }, async (t) => {
  requireBinary('etcd');
  const pki = makeTestPki();
  const dir = makeTempDir('rpc-sec');
  const tokens = join(dir, 'tokens.yaml');
  writeFileSync(tokens, `tokens:\n  - name: ops\n    role: admin\n    sha256: ${hashToken(ADMIN)}\n  - name: grafana\n    role: read\n    sha256: ${hashToken(READ)}\n`);
  const clusterToken = join(dir, 'cluster.token');
  writeFileSync(clusterToken, `${CLUSTER}\n`);
  const [mport, wport, peer, etcdClient] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const etcdTls = { 'etcd-ssl-ca': pki.caCert, 'etcd-ssl-cert': pki.clientCert, 'etcd-ssl-key': pki.clientKey };
  const common = { 'auth-token-file': tokens, 'cluster-token-file': clusterToken, ...etcdTls };
  const master = new DMMaster({
    config: parseMasterConfig('', {
      overrides: {
        ...common,
        // the embedded member serves with the server certificate
        'etcd-ssl-cert': pki.serverCert,
        'etcd-ssl-key': pki.serverKey,
        name: 'm1',
        'master-addr': `127.0.0.1:${mport}`,
        'data-dir': join(dir, 'm1'),
        'peer-urls': `http://127.0.0.1:${peer}`,
        'etcd-client-urls': `http://127.0.0.1:${etcdClient}`,
        'cors-allowed-origins': 'http://dashboard.example:8080',
        'secret-key-path': join(dir, 'keys', 'secret.key'),
      },
    }),
    logger: silentLogger,
  });
  const worker = new DMWorker({
    config: parseWorkerConfig('', {
      overrides: { ...common, name: 'w1', 'worker-addr': `127.0.0.1:${wport}`, join: `127.0.0.1:${mport}`, 'auth-http-endpoints': true },
    }),
    logger: silentLogger,
    registerTimeoutMs: 30_000,
  });
  t.after(async () => {
    await worker.close();
    await master.close();
  });
  await master.start();
  await worker.start(); // registers through the master with the cluster token

  const admin = client(MasterService, mport, ADMIN);
  await waitFor('w1 listed', async () => {
    const r = await admin.listMember({ worker: true });
    return r.workers.some((w) => w.name === 'w1');
  }, { timeoutMs: 30_000 });

  // ---- every RPC of both services refused without a credential ----
  for (const [svc, port] of [[MasterService, mport], [WorkerService, wport]] as const) {
    const res = await callAll(svc as DescService, client(svc as DescService, port));
    for (const [name, err] of res) {
      assert.equal(err?.code, Code.Unauthenticated, `${svc.typeName}/${name} without credential: ${err?.message ?? 'ok'}`);
      assert.equal(fromConnectError(err).code, 49101, name);
    }
  }
  // a wrong token is refused as well
  const wrong = await client(MasterService, mport, 'not-a-token').listMember({}).catch((e: unknown) => ConnectError.from(e));
  assert.ok(wrong instanceof ConnectError && wrong.code === Code.Unauthenticated);

  // ---- a refused caller's body is never read: answered at once though most of it never comes ----
  const declared = 3 * 1024 * 1024; // under rpc-max-request-bytes
  const st = '/dm.master.v1.MasterService/StartTask';
  const cj = await partialPost(mport, st, { 'content-type': 'application/json' }, declared);
  assert.match(cj.text, /^HTTP\/1\.1 401 /, `Connect JSON: ${cj.text.slice(0, 300)}`);
  assert.match(cj.text, /"code":"unauthenticated"/);
  assert.ok(cj.ms < 1000, `answered after ${cj.ms} ms`);
  const cb = await partialPost(mport, st, { 'content-type': 'application/proto', 'content-encoding': 'gzip', authorization: 'Bearer not-a-token' }, declared);
  assert.match(cb.text, /^HTTP\/1\.1 401 /, `Connect proto + gzip, wrong token: ${cb.text.slice(0, 300)}`);
  const gw = await partialPost(mport, st, { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1' }, declared);
  assert.match(gw.text, /^HTTP\/1\.1 200 /, `gRPC-web: ${gw.text.slice(0, 300)}`);
  assert.match(gw.text, /grpc-status: ?16\b/i, `gRPC-web answers unauthenticated: ${gw.text.slice(0, 300)}`);
  const ws = await partialPost(mport, '/dm.master.v1.MasterService/WatchCluster', { 'content-type': 'application/connect+json' }, declared);
  assert.match(ws.text, /"code":"unauthenticated"/, `Connect server stream: ${ws.text.slice(0, 300)}`);
  // with an admin token the same partial body is waited for (nothing is answered yet)
  const authed = await partialPost(mport, st, { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }, declared, 1500);
  assert.equal(authed.text, '', 'an authenticated call reads its body');

  // ---- read token: queries yes, changes no ----
  const reader = client(MasterService, mport, READ);
  const lm = await reader.listMember({ master: true });
  assert.ok(lm.masters.some((m) => m.name === 'm1'));
  await reader.queryStatus({});
  for (const call of [() => reader.startTask({ task: 'name: t\n' }), () => reader.operateLeader({}), () => reader.getConfig({ type: ConfigType.MASTER, name: 'm1' })]) {
    const e = await call().then(() => undefined, (x: unknown) => ConnectError.from(x));
    assert.equal(e?.code, Code.PermissionDenied, e?.message);
    assert.equal(fromConnectError(e).code, 49102);
  }
  // read token on the worker directly
  const wreader = client(WorkerService, wport, READ);
  await wreader.queryStatus({});
  const we = await wreader.getWorkerCfg({}).then(() => undefined, (x: unknown) => ConnectError.from(x));
  assert.equal(we?.code, Code.PermissionDenied);

  // ---- admin: allowed; master→worker call (config worker) carries the cluster token ----
  const cfgW = await admin.getConfig({ type: ConfigType.WORKER, name: 'w1' });
  assert.equal(cfgW.result, true, cfgW.msg);
  assert.match(cfgW.cfg, /w1/);
  const bad = await admin.startTask({ task: 'not: [valid' }).then(() => undefined, (x: unknown) => ConnectError.from(x));
  assert.notEqual(bad?.code, Code.Unauthenticated);
  assert.notEqual(bad?.code, Code.PermissionDenied);

  // ---- a large bad input is not echoed back: every error text is cut at MAX_ERROR_TEXT ----
  const huge = 3 * 1024 * 1024;
  const rest = 'target-database: {host: 127.0.0.1, port: 3306, user: root, password: ""}\nmysql-instances: [{source-id: s1}]\n';
  for (const [what, task] of [
    // the config checks name the bad value (3 MiB of it) in their messages
    ['a 3 MiB task-mode', `name: t1\ntask-mode: ${'x'.repeat(huge)}\n${rest}`],
    ['a 3 MiB online-ddl-scheme', `name: t1\ntask-mode: all\n${rest}online-ddl-scheme: "${'z'.repeat(huge)}"\n`],
    ['an unterminated 3 MiB string', `name: "${'x'.repeat(huge)}\n`],
  ] as const) {
    // characters of text the reply carries: message, headers, error details (bytes)
    const sent = await admin.startTask({ task }).then(
      (r) => [r.msg, ...r.sources.map((x) => x.msg)].join('').length,
      (e: unknown) => {
        const ce = ConnectError.from(e);
        let n = ce.rawMessage.length;
        ce.metadata.forEach((v) => (n += v.length));
        for (const d of ce.details) n += 'value' in d && d.value instanceof Uint8Array ? d.value.length : JSON.stringify(d).length;
        return n;
      },
    );
    assert.ok(sent > 0, what);
    // the message, the workaround and the message again in a header and in the DM error detail
    assert.ok(sent < 4 * MAX_ERROR_TEXT, `${what}: ${sent} characters sent back`);
  }

  // ---- /status and /metrics: open on the master (default), need a credential on the worker ----
  assert.equal((await fetch(`http://127.0.0.1:${mport}/status`)).status, 200);
  assert.equal((await fetch(`http://127.0.0.1:${wport}/status`)).status, 401);
  assert.equal((await fetch(`http://127.0.0.1:${wport}/metrics`)).status, 401);
  assert.equal((await fetch(`http://127.0.0.1:${wport}/metrics`, { headers: { authorization: `Bearer ${READ}` } })).status, 200);

  // ---- CORS ----
  const rpcUrl = `http://127.0.0.1:${mport}/dm.master.v1.MasterService/ListMember`;
  const evil = await fetch(rpcUrl, { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });
  assert.equal(evil.status, 403);
  assert.equal(evil.headers.get('access-control-allow-origin'), null);
  assert.equal(evil.headers.get('access-control-allow-headers'), null);
  const simple = await fetch(rpcUrl, { method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }, body: '{}' });
  assert.equal(simple.status, 403, 'a request from a foreign origin is refused even with a token');
  const good = await fetch(rpcUrl, { method: 'OPTIONS', headers: { origin: 'http://dashboard.example:8080', 'access-control-request-method': 'POST' } });
  assert.equal(good.status, 204);
  assert.equal(good.headers.get('access-control-allow-origin'), 'http://dashboard.example:8080');

  // ---- limits: 100 MB body and gzip bomb refused fast, RSS bounded ----
  const big = Buffer.alloc(100 * 1024 * 1024, 0x61);
  const bomb = gzipSync(Buffer.alloc(1024 * 1024 * 1024, 0x20), { level: 9 });
  assert.ok(bomb.length < 2 * 1024 * 1024, `bomb is ${bomb.length} bytes`);
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const startTask = '/dm.master.v1.MasterService/StartTask';
  for (const token of [undefined, ADMIN]) {
    const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    // without a credential: 401 before the body is looked at; with one: too large (429)
    const refused = token ? /^HTTP\/1\.1 429 / : /^HTTP\/1\.1 401 /;
    const r1 = await rawPost(mport, startTask, { 'content-type': 'application/json', ...auth }, big);
    assert.match(r1.status, refused, r1.status);
    assert.ok(r1.ms < 1000, `100 MB refused after ${r1.ms} ms`);
    const r2 = await rawPost(mport, startTask, { 'content-type': 'application/json', 'content-encoding': 'gzip', ...auth }, bomb);
    assert.match(r2.status, refused, r2.status);
    assert.ok(r2.ms < 1000, `gzip bomb refused after ${r2.ms} ms`);
  }
  const grown = (process.memoryUsage().rss - rss0) / 1024 / 1024;
  assert.ok(grown < 64, `RSS grew by ${grown.toFixed(1)} MiB`);
  // ...and the server still answers
  assert.equal((await admin.listMember({ master: true })).result, true);

  // ---- etcd: TLS with client-cert auth ----
  const etcdUrl = `https://127.0.0.1:${etcdClient}`;
  const { readFileSync } = await import('node:fs');
  const noCert = new Etcd3({ hosts: etcdUrl, credentials: { rootCertificate: readFileSync(pki.caCert) }, dialTimeout: 2000, defaultCallOptions: () => ({ deadline: Date.now() + 3000 }) });
  const plain = new Etcd3({ hosts: `http://127.0.0.1:${etcdClient}`, dialTimeout: 2000, defaultCallOptions: () => ({ deadline: Date.now() + 3000 }) });
  const withCert = new Etcd3({ hosts: etcdUrl, credentials: { rootCertificate: readFileSync(pki.caCert), certChain: readFileSync(pki.clientCert), privateKey: readFileSync(pki.clientKey) } });
  t.after(() => {
    noCert.close();
    plain.close();
    withCert.close();
  });
  await assert.rejects(noCert.get('/dm/x').string(), 'etcd without a client certificate is refused');
  await assert.rejects(plain.get('/dm/x').string(), 'cleartext etcd is refused');
  assert.ok((await withCert.getAll().prefix('/dm/').keys()).length > 0, 'a client with a certificate reads the cluster keys');
});

test('mutual TLS: a client certificate whose CN is not in cert-allowed-cn is refused', { timeout: 60_000 }, async (t) => {
  const pki = makeTestPki();
  const routes = (r: Parameters<NonNullable<Parameters<typeof createRpcServer>[0]['routes']>>[0]): void => {
    r.service(WorkerService, { queryStatus: () => create(QueryStatusResponseSchema, { result: true, msg: 'ok' }) });
  };
  const start = async (allowedCn: string[]) => {
    const s = createRpcServer({
      routes,
      tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert, requireClientCert: true },
      auth: { allowedCn },
    });
    t.after(() => s.close());
    return s.listen(0);
  };
  const tls = { ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey };
  const denied = await start(['dm-master-1']);
  for (const protocol of ['connect', 'grpc', 'grpc-web'] as const) {
    const e = await createWorkerClient(`127.0.0.1:${denied.port}`, { tls, protocol }).queryStatus({}).then(() => undefined, (x: unknown) => ConnectError.from(x));
    assert.equal(e?.code, Code.Unauthenticated, protocol);
    assert.equal(fromConnectError(e).codeName, 'ErrRpcCertNotAllowed', protocol);
  }
  // without any client certificate the TLS handshake itself fails
  await assert.rejects(createWorkerClient(`127.0.0.1:${denied.port}`, { tls: { ca: pki.caCert } }).queryStatus({}));
  const allowed = await start(['dmts-test-client']);
  const ok = await createWorkerClient(`127.0.0.1:${allowed.port}`, { tls }).queryStatus({});
  assert.equal(ok.msg, 'ok');
});
