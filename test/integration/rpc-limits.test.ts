/**
 * The connection and timeout limits of the one-port RPC server (src/rpc/limits.ts:
 * `rpc-max-connections`, `rpc-header-timeout`, `rpc-idle-timeout`) on real loopback sockets:
 * - a client over the connection limit is refused (closed without an answer) while the others
 *   are served; once one leaves, a new client is served again;
 * - an HTTP/1.1 keep-alive connection and an HTTP/2 (h2c) session left idle are closed by the
 *   server after the idle timeout (a server with the default timeout keeps them meanwhile);
 * - a client that sends part of its request headers and stops (slowloris), and one that sends
 *   nothing at all, are closed after the header timeout;
 * - with TLS (ALPN h2 + http/1.1) the same idle and header limits hold.
 * The timeouts in these tests are short (hundreds of ms); assertions are "closed by the server
 * within a generous bound", never exact durations.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { createRpcServer, inflightBodyBudget, MAX_H2_STREAMS, resolveLimits, type RpcLimits } from '../../src/rpc/index.js';
import { QueryStatusResponseSchema, WorkerService } from '../../src/gen/dm/worker/v1/worker_pb.js';
import { makeTempDir, removeTempDir } from '../helpers/index.js';

/** Generous bound for "closed after the timeout" under a loaded test machine. */
const CLOSE_WITHIN_MS = 15_000;

async function startServer(t: TestContext, limits: Partial<RpcLimits>, tlsFiles?: { cert: string; key: string }): Promise<number> {
  const server = createRpcServer({ routes: () => {}, status: () => ({ name: 'limits-test' }), limits, ...(tlsFiles ? { tls: tlsFiles } : {}) });
  const { port } = await server.listen(0, '127.0.0.1');
  t.after(() => server.close(AbortSignal.timeout(5000)));
  return port;
}

/** A raw client socket that records what the server sent and when it closed the connection. */
class RawConn {
  data = '';
  closed = false;
  private readonly done: Promise<void>;
  constructor(readonly sock: net.Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (this.data += d));
    sock.on('error', () => {});
    this.done = new Promise((r) => sock.once('close', () => r()));
    void this.done.then(() => (this.closed = true));
  }
  static open(port: number, secure = false): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = secure ? tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }) : net.connect(port, '127.0.0.1');
      s.once(secure ? 'secureConnect' : 'connect', () => resolve(new RawConn(s)));
      s.once('error', reject);
    });
  }
  /** GET /status with keep-alive; resolves once the whole response is in. */
  async status(): Promise<void> {
    const before = this.data.length;
    this.sock.write('GET /status HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    const end = Date.now() + CLOSE_WITHIN_MS;
    while (!/limits-test/.test(this.data.slice(before))) {
      if (this.closed) throw new Error(`closed before an answer (got ${JSON.stringify(this.data.slice(before))})`);
      if (Date.now() > end) throw new Error('no answer');
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  /** Resolves true when the server closes the connection within `ms`, false otherwise. */
  closedWithin(ms: number): Promise<boolean> {
    return Promise.race([this.done.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(this.closed), ms).unref())]);
  }
  destroy(): void {
    this.sock.destroy();
  }
}

describe('rpc limits on a real server', () => {
  void it('refuses a client over rpc-max-connections, serves again once one leaves', async (t) => {
    const port = await startServer(t, { maxConnections: 3 });
    const conns = await Promise.all([0, 1, 2].map(() => RawConn.open(port)));
    t.after(() => conns.forEach((c) => c.destroy()));
    for (const c of conns) await c.status(); // three clients, each served and kept open
    const over = await RawConn.open(port); // the kernel accepts the TCP connection ...
    t.after(() => over.destroy());
    over.sock.write('GET /status HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(await over.closedWithin(CLOSE_WITHIN_MS), true, 'the fourth client is closed by the server');
    assert.equal(over.data, '', '... without an answer');
    for (const c of conns) await c.status(); // the three are still served
    conns[0]!.destroy();
    await conns[0]!.closedWithin(CLOSE_WITHIN_MS);
    // the server counts the closed one out (its close is seen asynchronously): a new client gets in
    let served = false;
    for (let i = 0; i < 50 && !served; i++) {
      const next = await RawConn.open(port);
      t.after(() => next.destroy());
      served = await next.status().then(
        () => true,
        () => false,
      );
      if (!served) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(served, 'a new client is served once one left');
  });

  void it('closes an idle HTTP/1.1 keep-alive connection and an idle h2c session after rpc-idle-timeout', async (t) => {
    const short = await startServer(t, { idleTimeoutMs: 400 });
    const long = await startServer(t, {}); // default idle timeout (minutes)
    const a = await RawConn.open(short);
    const b = await RawConn.open(long);
    t.after(() => [a, b].forEach((c) => c.destroy()));
    await a.status();
    await b.status();
    assert.equal(await a.closedWithin(CLOSE_WITHIN_MS), true, 'the idle keep-alive connection is closed');
    assert.equal(b.closed, false, 'the server with the default idle timeout kept its connection meanwhile');
    await b.status(); // and it still serves

    const h2 = http2.connect(`http://127.0.0.1:${short}`);
    h2.on('error', () => {});
    t.after(() => h2.destroy());
    const closed = new Promise<void>((r) => h2.once('close', () => r()));
    const got = await new Promise<string>((resolve, reject) => {
      const req = h2.request({ ':path': '/status' });
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => resolve(body));
      req.on('error', reject);
    });
    assert.match(got, /limits-test/);
    const won = await Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('open'), CLOSE_WITHIN_MS).unref())]);
    assert.equal(won, 'closed', 'the idle h2c session is closed by the server');
  });

  void it(`allows at most ${MAX_H2_STREAMS} concurrent streams per HTTP/2 connection (h2c and TLS)`, async (t) => {
    const dir = makeTempDir('limits-h2');
    t.after(() => removeTempDir(dir));
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    for (const [scheme, port] of [['http', await startServer(t, {})], ['https', await startServer(t, {}, { cert, key })]] as const) {
      const s = http2.connect(`${scheme}://127.0.0.1:${port}`, { rejectUnauthorized: false });
      s.on('error', () => {});
      t.after(() => s.destroy());
      const settings = await new Promise<http2.Settings>((r) => s.once('remoteSettings', r));
      assert.equal(settings.maxConcurrentStreams, MAX_H2_STREAMS, scheme);
    }
  });

  void it('refuses a request body past the server-wide body budget, and serves again once bodies are released', async (t) => {
    const server = createRpcServer({
      routes: (r) => r.service(WorkerService, { queryStatus: () => create(QueryStatusResponseSchema, { result: true, msg: 'ok' }) }),
    });
    const { port } = await server.listen(0, '127.0.0.1');
    t.after(() => server.close(AbortSignal.timeout(5000)));
    const limits = resolveLimits({});
    const budget = inflightBodyBudget(limits);
    const per = limits.maxRequestBytes - 1024; // under the per-request limit
    const path = '/dm.worker.v1.WorkerService/QueryStatus';
    const head = `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${per}\r\n\r\n`;
    // bodies that never finish, together just under the budget
    const holders: RawConn[] = [];
    t.after(() => holders.forEach((c) => c.destroy()));
    const chunk = Buffer.alloc(per - 1, 0x20);
    for (let i = 0; i < Math.floor(budget / per); i++) {
      const c = await RawConn.open(port);
      holders.push(c);
      c.sock.write(head);
      await new Promise<void>((r) => c.sock.write(chunk, () => r()));
    }
    await new Promise((r) => setTimeout(r, 1000)); // the server has read them
    assert.ok(holders.every((c) => c.data === '' && !c.closed), 'the bodies under the budget are waited for');
    const over = await RawConn.open(port);
    holders.push(over);
    over.sock.write(head);
    over.sock.write(chunk);
    const until = Date.now() + CLOSE_WITHIN_MS;
    while (over.data === '' && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.match(over.data, /^HTTP\/1\.1 429 /, `the request past the budget is refused: ${over.data.slice(0, 200)}`);
    assert.ok(holders.slice(0, -1).every((c) => c.data === ''), 'the others are still waited for');
    assert.match(over.data, /resource_exhausted/);
    // the holders go away: their bytes are released, a new request is served
    for (const c of holders) c.destroy();
    await new Promise((r) => setTimeout(r, 500));
    const ok = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(ok.status, 200, await ok.text());
  });

  void it('closes a client that stops in the middle of its headers, or sends nothing, after rpc-header-timeout', async (t) => {
    const port = await startServer(t, { headerTimeoutMs: 500 });
    const partial = await RawConn.open(port);
    const silent = await RawConn.open(port);
    t.after(() => [partial, silent].forEach((c) => c.destroy()));
    partial.sock.write('GET /status HTTP/1.1\r\nHost: x\r\nX-Slow: '); // ... and nothing more
    const [p, s] = await Promise.all([partial.closedWithin(CLOSE_WITHIN_MS), silent.closedWithin(CLOSE_WITHIN_MS)]);
    assert.equal(p, true, 'the slow-headers client is closed');
    assert.equal(s, true, 'the silent client is closed');
    assert.match(partial.data, /^HTTP\/1\.1 408 /, 'it is answered 408 Request Timeout, never served');
    assert.equal(silent.data, '', 'the silent one is closed without a word');
  });

  void it('with TLS: idle keep-alive connections and slow headers are closed too', async (t) => {
    const dir = makeTempDir('limits-tls');
    t.after(() => removeTempDir(dir));
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    const port = await startServer(t, { idleTimeoutMs: 400, headerTimeoutMs: 500 }, { cert, key });
    const idle = await RawConn.open(port, true);
    const partial = await RawConn.open(port, true);
    t.after(() => [idle, partial].forEach((c) => c.destroy()));
    await idle.status();
    partial.sock.write('GET /status HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const [i, p] = await Promise.all([idle.closedWithin(CLOSE_WITHIN_MS), partial.closedWithin(CLOSE_WITHIN_MS)]);
    assert.equal(i, true, 'the idle TLS keep-alive connection is closed');
    assert.equal(p, true, 'the slow-headers TLS client is closed');
  });
});
