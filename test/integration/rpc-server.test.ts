// The one-port RPC server on real loopback sockets: gRPC (h2c), gRPC-web and Connect over
// HTTP/1.1, plain fetch, server streams, /metrics, /status, CORS, errors, graceful close, TLS.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import { Registry } from 'prom-client';
import { DMError } from '../../src/errors/index.js';
import { Stage, UnitType, SubTaskStatusSchema } from '../../src/gen/dm/common/v1/common_pb.js';
import {
  WorkerService,
  WatchStatusResponseSchema,
  QueryStatusResponseSchema,
  GetWorkerCfgResponseSchema,
} from '../../src/gen/dm/worker/v1/worker_pb.js';
import {
  createRpcServer,
  createWorkerClient,
  fromConnectError,
  peerAddressKey,
  type RpcProtocol,
  type RpcServerOptions,
} from '../../src/rpc/index.js';

/** A partial WorkerService: QueryStatus, WatchStatus and GetWorkerCfg; the rest is unimplemented. */
function testRoutes(router: ConnectRouter): void {
  router.service(WorkerService, {
    queryStatus(req, ctx) {
      if (req.name === 'no-leader') throw new DMError('ErrMasterNoLeader', 'no leader for the test');
      if (req.name === 'bad-config')
        throw new DMError('ErrConfigUnknownKey', 'unknown key `foo` in task.yaml');
      if (req.name === 'bug') throw new TypeError('plain bug');
      return create(QueryStatusResponseSchema, {
        result: true,
        msg: `peer ${ctx.values.get(peerAddressKey)}`,
        subTaskStatus: [
          create(SubTaskStatusSchema, {
            name: req.name || 'task1',
            stage: Stage.RUNNING,
            unit: UnitType.SYNC,
            rowsDone: 42n,
          }),
        ],
      });
    },
    async *watchStatus(req, ctx) {
      const ms = req.interval ? Number(req.interval.seconds) * 1000 + req.interval.nanos / 1e6 : 1000;
      let n = 0;
      while (!ctx.signal.aborted) {
        n++;
        yield create(WatchStatusResponseSchema, {
          result: true,
          subTaskStatus: [
            create(SubTaskStatusSchema, { name: req.name, stage: Stage.RUNNING, rowsDone: BigInt(n) }),
          ],
        });
        try {
          await sleep(ms, undefined, { signal: ctx.signal });
        } catch {
          return;
        }
      }
    },
    async getWorkerCfg(_req, ctx) {
      // A slow unary call that does not watch its signal: graceful close must wait for it.
      await sleep(Number(ctx.requestHeader.get('x-delay-ms') ?? 300));
      return create(GetWorkerCfgResponseSchema, { result: true, cfg: 'name: w1\n' });
    },
  });
}

async function startServer(t: TestContext, extra: Partial<RpcServerOptions> = {}) {
  const registry = new Registry();
  const server = createRpcServer({
    routes: testRoutes,
    registry,
    status: () => ({ name: 'w1', role: 'worker', leader: '', version: '0.1.0-test' }),
    ...extra,
  });
  const addr = await server.listen(0, '127.0.0.1');
  t.after(() => server.close());
  return { server, addr, registry, hostPort: `127.0.0.1:${addr.port}` };
}

void describe('rpc server on one port', () => {
  for (const protocol of ['grpc', 'grpc-web', 'connect'] as RpcProtocol[]) {
    void it(`serves unary calls over ${protocol}`, async (t) => {
      const { hostPort } = await startServer(t);
      const client = createWorkerClient(hostPort, { protocol, timeoutMs: 5000 });
      const res = await client.queryStatus({ name: 'orders' });
      assert.equal(res.result, true);
      assert.equal(res.msg, 'peer 127.0.0.1');
      assert.equal(res.subTaskStatus[0]?.name, 'orders');
      assert.equal(res.subTaskStatus[0]?.stage, Stage.RUNNING);
      assert.equal(res.subTaskStatus[0]?.rowsDone, 42n);
    });
  }

  void it('answers Connect JSON from a plain fetch POST (no client library)', async (t) => {
    const { addr } = await startServer(t);
    const r = await fetch(`${addr.url}/dm.worker.v1.WorkerService/QueryStatus`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'curl-task' }),
    });
    assert.equal(r.status, 200);
    const body = (await r.json()) as {
      result: boolean;
      msg: string;
      subTaskStatus: Array<{ name: string; stage: string; rowsDone: string }>;
    };
    assert.equal(body.result, true);
    assert.equal(body.msg, 'peer 127.0.0.1');
    assert.deepEqual(body.subTaskStatus[0], {
      name: 'curl-task',
      stage: 'STAGE_RUNNING',
      unit: 'UNIT_TYPE_SYNC',
      rowsDone: '42',
    });
  });

  void it('serves the server-streaming WatchStatus over gRPC and gRPC-web', async (t) => {
    const { hostPort } = await startServer(t);
    for (const protocol of ['grpc', 'grpc-web'] as RpcProtocol[]) {
      const client = createWorkerClient(hostPort, { protocol });
      const got: bigint[] = [];
      for await (const snap of client.watchStatus({
        name: 'stream-task',
        interval: { seconds: 0n, nanos: 20_000_000 },
      })) {
        assert.equal(snap.subTaskStatus[0]?.name, 'stream-task');
        got.push(snap.subTaskStatus[0]?.rowsDone ?? -1n);
        if (got.length === 3) break;
      }
      assert.deepEqual(got, [1n, 2n, 3n], protocol);
    }
  });

  void it('serves /metrics with per-method RPC counters and /status as JSON', async (t) => {
    const { addr, hostPort } = await startServer(t);
    const client = createWorkerClient(hostPort);
    await client.queryStatus({ name: 'x' });
    await assert.rejects(client.queryStatus({ name: 'no-leader' }));
    const metrics = await (await fetch(`${addr.url}/metrics`)).text();
    assert.match(
      metrics,
      /dm_rpc_requests_total\{service="dm.worker.v1.WorkerService",method="QueryStatus",code="ok"\} 1/,
    );
    assert.match(
      metrics,
      /dm_rpc_requests_total\{service="dm.worker.v1.WorkerService",method="QueryStatus",code="unavailable"\} 1/,
    );
    assert.match(
      metrics,
      /dm_rpc_duration_seconds_count\{service="dm.worker.v1.WorkerService",method="QueryStatus"\} 2/,
    );
    const r = await fetch(`${addr.url}/status`);
    assert.equal(r.headers.get('content-type'), 'application/json');
    const status = (await r.json()) as Record<string, unknown>;
    assert.equal(status['name'], 'w1');
    assert.equal(status['role'], 'worker');
    assert.equal(status['version'], '0.1.0-test');
    assert.equal(typeof status['uptime'], 'number');
    assert.equal((await fetch(`${addr.url}/nope`)).status, 404);
  });

  void it('answers a CORS preflight with 204 and the headers browsers need', async (t) => {
    // CORS allows no other origin by default (docs/security.md): allow the dashboard's.
    const { addr } = await startServer(t, { cors: { allowedOrigins: ['http://dashboard.example:8261'] } });
    const r = await fetch(`${addr.url}/dm.worker.v1.WorkerService/QueryStatus`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://dashboard.example:8261',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-grpc-web',
      },
    });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('access-control-allow-origin'), 'http://dashboard.example:8261');
    assert.match(r.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.match(r.headers.get('access-control-allow-headers') ?? '', /connect-protocol-version/i);
    assert.match(r.headers.get('access-control-allow-headers') ?? '', /x-grpc-web/i);
    // The actual call carries the CORS headers too, exposing the gRPC-web status headers.
    const call = await fetch(`${addr.url}/dm.worker.v1.WorkerService/QueryStatus`, {
      method: 'POST',
      headers: { origin: 'http://dashboard.example:8261', 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(call.headers.get('access-control-allow-origin'), 'http://dashboard.example:8261');
    assert.match(call.headers.get('access-control-expose-headers') ?? '', /grpc-status/i);
  });

  void it('restricts CORS to the configured origins', async (t) => {
    const { addr } = await startServer(t, { cors: { allowedOrigins: ['http://ok.example'] } });
    const r = await fetch(`${addr.url}/dm.worker.v1.WorkerService/QueryStatus`, {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(r.headers.get('access-control-allow-origin'), null);
  });

  void it('answers methods the service does not implement with Unimplemented', async (t) => {
    const { hostPort } = await startServer(t);
    for (const protocol of ['grpc', 'connect'] as RpcProtocol[]) {
      const client = createWorkerClient(hostPort, { protocol });
      const err = await client.purgeRelay({ inactive: true }).then(
        () => assert.fail('purgeRelay should be unimplemented'),
        (e: unknown) => ConnectError.from(e),
      );
      assert.equal(err.code, Code.Unimplemented, protocol);
      assert.equal(fromConnectError(err).codeName, 'ErrNotImplemented');
    }
  });

  void it('delivers a DMError thrown by a handler with its DM code, workaround and retryability', async (t) => {
    const { addr, hostPort } = await startServer(t);
    for (const protocol of ['grpc', 'grpc-web', 'connect'] as RpcProtocol[]) {
      const client = createWorkerClient(hostPort, { protocol });
      const err = await client.queryStatus({ name: 'no-leader' }).then(
        () => assert.fail('should fail'),
        (e: unknown) => ConnectError.from(e),
      );
      assert.equal(err.code, Code.Unavailable, protocol);
      assert.match(
        err.rawMessage,
        /^\[code=38002:class=dm-master:scope=internal:level=high\], Message: no leader for the test, Workaround: /,
      );
      const dm = fromConnectError(err);
      assert.equal(dm.code, 38002, protocol);
      assert.equal(dm.codeName, 'ErrMasterNoLeader');
      assert.equal(dm.retryable, true);
      assert.equal(dm.message, 'no leader for the test');
      assert.match(dm.workaround, /election/);

      const bad = await client.queryStatus({ name: 'bad-config' }).then(
        () => assert.fail('should fail'),
        (e: unknown) => ConnectError.from(e),
      );
      assert.equal(bad.code, Code.InvalidArgument);
      assert.equal(fromConnectError(bad).codeName, 'ErrConfigUnknownKey');
      assert.equal(fromConnectError(bad).retryable, false);

      const bug = await client.queryStatus({ name: 'bug' }).then(
        () => assert.fail('should fail'),
        (e: unknown) => ConnectError.from(e),
      );
      assert.equal(bug.code, Code.Internal);
    }
    // Plain HTTP clients see the code in the JSON error and in a response header.
    const r = await fetch(`${addr.url}/dm.worker.v1.WorkerService/QueryStatus`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'no-leader' }),
    });
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('dm-error-code'), '38002');
    const body = (await r.json()) as { code: string; message: string };
    assert.equal(body.code, 'unavailable');
    assert.match(body.message, /code=38002/);
  });

  void it('closes gracefully: ends open streams, drains in-flight unary calls, refuses new connections', async (t) => {
    const { server, hostPort, addr } = await startServer(t);
    const grpc = createWorkerClient(hostPort, { protocol: 'grpc' });
    const web = createWorkerClient(hostPort, { protocol: 'grpc-web' });
    const consume = async (client: typeof grpc): Promise<{ n: number; code: Code | undefined }> => {
      let n = 0;
      try {
        for await (const _ of client.watchStatus({ name: 's', interval: { seconds: 60n, nanos: 0 } })) n++;
        return { n, code: undefined };
      } catch (e) {
        return { n, code: ConnectError.from(e).code };
      }
    };
    const s1 = consume(grpc);
    const s2 = consume(web);
    await sleep(100); // both streams got their first snapshot and now wait 60 s for the next
    const slow = grpc.getWorkerCfg({});
    await sleep(50);
    await server.close(AbortSignal.timeout(10_000));
    const cfg = await slow;
    assert.equal(cfg.cfg, 'name: w1\n', 'the in-flight unary call was drained, not cut');
    for (const s of [await s1, await s2]) {
      assert.equal(s.n, 1);
      assert.ok(s.code === undefined || s.code === Code.Unavailable, `stream ended with ${s.code}`);
    }
    await assert.rejects(fetch(`${addr.url}/status`));
    await server.close(); // idempotent
  });

  void it('cuts in-flight calls when the close deadline passes', async (t) => {
    const { server, hostPort } = await startServer(t);
    const client = createWorkerClient(hostPort, { protocol: 'connect' });
    // The handler ignores its signal and would run 1.5 s; close gives it 20 ms (+ grace).
    const slow = client.getWorkerCfg({}, { headers: { 'x-delay-ms': '1500' } }).then(
      () => 'done',
      (e: unknown) => ConnectError.from(e).code,
    );
    await sleep(50);
    await server.close(AbortSignal.timeout(20));
    assert.notEqual(await slow, 'done');
  });

  void it('serves static files and the fallback hook', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dm-rpc-static-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(path.join(dir, 'css'));
    writeFileSync(path.join(dir, 'index.html'), '<h1>DM.ts</h1>');
    writeFileSync(path.join(dir, 'css', 'a.css'), 'body{}');
    writeFileSync(path.join(path.dirname(dir), path.basename(dir) + '-secret.txt'), 'secret');
    t.after(() => rmSync(path.join(path.dirname(dir), path.basename(dir) + '-secret.txt'), { force: true }));
    const { addr } = await startServer(t, {
      staticDir: { '/dashboard/': dir },
      fallback: (req, res) => {
        if (req.url !== '/hello') return false;
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('hi');
        return true;
      },
    });
    const index = await fetch(`${addr.url}/dashboard/`);
    assert.equal(index.status, 200);
    assert.equal(await index.text(), '<h1>DM.ts</h1>');
    assert.match(index.headers.get('content-type') ?? '', /text\/html/);
    assert.equal(await (await fetch(`${addr.url}/dashboard/css/a.css`)).text(), 'body{}');
    assert.equal((await fetch(`${addr.url}/dashboard`, { redirect: 'manual' })).status, 301);
    assert.equal((await fetch(`${addr.url}/dashboard/..%2f${path.basename(dir)}-secret.txt`)).status, 404);
    assert.equal((await fetch(`${addr.url}/dashboard/missing.js`)).status, 404);
    assert.equal(await (await fetch(`${addr.url}/hello`)).text(), 'hi');
  });

  void it('refuses a port in use with a coded error', async (t) => {
    const { addr } = await startServer(t);
    const other = createRpcServer({ routes: testRoutes });
    t.after(() => other.close());
    await assert.rejects(
      other.listen(addr.port, '127.0.0.1'),
      (e: unknown) => e instanceof DMError && e.codeName === 'ErrRpcListen',
    );
  });

  void it('serves TLS with ALPN h2 and http/1.1 (self-signed cert from openssl)', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dm-rpc-tls-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const { addr, hostPort } = await startServer(t, { tls: { cert, key, ca: cert } });
    assert.match(addr.url, /^https:\/\//);
    for (const protocol of ['grpc', 'grpc-web', 'connect'] as RpcProtocol[]) {
      const client = createWorkerClient(hostPort, { protocol, tls: { ca: cert } });
      const res = await client.queryStatus({ name: 'tls' });
      assert.equal(res.subTaskStatus[0]?.name, 'tls', protocol);
      let n = 0;
      for await (const _ of client.watchStatus({ name: 'tls', interval: { seconds: 0n, nanos: 10_000_000 } }))
        if (++n === 2) break;
      assert.equal(n, 2);
    }
    // A client that does not trust the certificate is refused.
    const untrusting = createWorkerClient(addr.url, { protocol: 'connect' });
    await assert.rejects(
      untrusting.queryStatus({ name: 'tls' }),
      (e: unknown) => fromConnectError(e).codeName !== undefined,
    );
    // Mutual TLS (DM's ssl-ca on the server): a client without a certificate is refused.
    const mtls = await startServer(t, { tls: { cert, key, ca: cert, requireClientCert: true } });
    const anonymous = createWorkerClient(mtls.hostPort, { protocol: 'grpc', tls: { ca: cert } });
    await assert.rejects(anonymous.queryStatus({ name: 'mtls' }));
    const withCert = createWorkerClient(mtls.hostPort, { protocol: 'grpc', tls: { ca: cert, cert, key } });
    assert.equal((await withCert.queryStatus({ name: 'mtls' })).subTaskStatus[0]?.name, 'mtls');
    // Unreadable TLS files are a coded error.
    assert.throws(
      () => createRpcServer({ routes: testRoutes, tls: { cert: path.join(dir, 'missing.pem'), key } }),
      (e: unknown) => e instanceof DMError && e.codeName === 'ErrRpcTLSConfig',
    );
  });
});
