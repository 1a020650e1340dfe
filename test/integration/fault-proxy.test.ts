/**
 * The fault proxy itself (test/helpers/fault-proxy.ts), with plain sockets against an echo server:
 * forwarding, pause/resume, blackhole, reset, refuse, latency, and a clean close.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { waitFor } from '../helpers/index.js';

/** An echo server on a free loopback port; `sockets` are its open server-side connections. */
async function echoServer(): Promise<{ server: Server; port: number; sockets: Set<Socket>; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.pipe(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('no address');
  return {
    server,
    port: a.port,
    sockets,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A client that collects what it receives and how its connection ended. */
async function client(port: number): Promise<{ s: Socket; got: () => string; ended: Promise<string> }> {
  const s = connect({ host: '127.0.0.1', port });
  let buf = '';
  s.on('data', (d: Buffer) => (buf += d.toString()));
  const ended = new Promise<string>((resolve) => {
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    s.on('close', () => resolve('close'));
  });
  await once(s, 'connect');
  return { s, got: () => buf, ended };
}

async function setup(t: { after: (fn: () => Promise<void>) => void }): Promise<{ proxy: FaultProxy; echo: Awaited<ReturnType<typeof echoServer>> }> {
  const echo = await echoServer();
  const proxy = await FaultProxy.start({ port: echo.port });
  t.after(async () => {
    await proxy.close();
    await echo.close();
  });
  return { proxy, echo };
}

void test('fault proxy: forwards both ways and counts bytes; close() resets clients and stops listening', async (t) => {
  const { proxy } = await setup(t);
  const c = await client(proxy.port);
  c.s.write('hello');
  await waitFor('echo', async () => c.got() === 'hello');
  assert.deepEqual({ ...proxy.stats(), open: 1 }, { accepted: 1, open: 1, resets: 0, bytesUp: 5, bytesDown: 5, bytesDropped: 0 });
  const port = proxy.port;
  await proxy.close();
  assert.equal(await c.ended, 'ECONNRESET');
  const refused = connect({ host: '127.0.0.1', port });
  const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'ECONNREFUSED');
});

void test('fault proxy: pause holds traffic (old and new connections) and resume delivers all of it', async (t) => {
  const { proxy, echo } = await setup(t);
  const c = await client(proxy.port);
  c.s.write('a');
  await waitFor('echo a', async () => c.got() === 'a');
  proxy.pause();
  c.s.write('b');
  const late = await client(proxy.port); // accepted, upstream not connected yet
  late.s.write('x');
  await sleep(200);
  assert.equal(c.got(), 'a');
  assert.equal(late.got(), '');
  assert.equal(echo.sockets.size, 1, 'no upstream connection while paused');
  proxy.resume();
  await waitFor('held bytes delivered', async () => c.got() === 'ab' && late.got() === 'x');
  late.s.destroy();
  c.s.destroy();
});

void test('fault proxy: blackhole swallows bytes; resume resets the broken connections, new ones work', async (t) => {
  const { proxy } = await setup(t);
  const c = await client(proxy.port);
  proxy.blackhole();
  c.s.write('lost');
  const other = await client(proxy.port);
  other.s.write('also lost');
  await sleep(200);
  assert.equal(c.got(), '');
  assert.equal(other.got(), '');
  assert.equal(proxy.stats().bytesDropped, 'lost'.length + 'also lost'.length);
  proxy.resume();
  assert.equal(await c.ended, 'ECONNRESET');
  assert.equal(await other.ended, 'ECONNRESET');
  const fresh = await client(proxy.port);
  fresh.s.write('ok');
  await waitFor('fresh echo', async () => fresh.got() === 'ok');
  fresh.s.destroy();
});

void test('fault proxy: reset() breaks open connections once; refuse() resets new ones until resume()', async (t) => {
  const { proxy, echo } = await setup(t);
  const c = await client(proxy.port);
  c.s.write('1');
  await waitFor('echo', async () => c.got() === '1');
  proxy.reset();
  assert.equal(await c.ended, 'ECONNRESET');
  await waitFor('server side closed', async () => echo.sockets.size === 0);
  const again = await client(proxy.port);
  again.s.write('2');
  await waitFor('new connection works', async () => again.got() === '2');
  proxy.refuse();
  assert.equal(await again.ended, 'ECONNRESET');
  const refused = connect({ host: '127.0.0.1', port: proxy.port });
  const ended = await new Promise<string>((resolve) => {
    refused.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    refused.on('close', () => resolve('close'));
  });
  assert.equal(ended, 'ECONNRESET');
  proxy.resume();
  const back = await client(proxy.port);
  back.s.write('3');
  await waitFor('works after resume', async () => back.got() === '3');
  back.s.destroy();
  assert.ok(proxy.stats().resets >= 3);
});

void test('fault proxy: latency per direction delays each chunk and keeps their order', async (t) => {
  const { proxy } = await setup(t);
  const c = await client(proxy.port);
  proxy.setLatency({ up: 40, down: 30 });
  const t0 = performance.now();
  const parts = Array.from({ length: 50 }, (_, i) => `${i},`);
  for (const p of parts) {
    c.s.write(p);
    await sleep(1);
  }
  const want = parts.join('');
  await waitFor('all echoed', async () => c.got().length >= want.length, { intervalMs: 5 });
  assert.equal(c.got(), want, 'order kept');
  assert.ok(performance.now() - t0 >= 70, 'at least up + down latency');
  proxy.setLatency({});
  c.s.end();
  assert.equal(await c.ended, 'close');
});
