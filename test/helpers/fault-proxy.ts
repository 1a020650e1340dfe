/**
 * A fault-injecting TCP proxy for tests, as in the etcd3 client's tests: it listens on a free
 * loopback port and forwards every connection to a target, so a test points a client (the sync
 * unit's target, the binlog reader's source, ...) at the proxy and breaks the network between
 * them without killing either server.
 *
 * Faults (all apply to open and new connections until changed):
 * - `pause()`: hold all traffic, both directions; new connections wait for their upstream. Nothing
 *   is lost: `resume()` lets the held bytes through (a network partition that heals).
 * - `blackhole()`: swallow all traffic; new connections are accepted and swallowed too. The
 *   connections that lost bytes are broken for good: `resume()` resets them.
 * - `refuse()`: reset every open connection and every new one (the server is gone).
 * - `reset()`: reset (TCP RST) every open connection once; new connections work.
 * - `setLatency({ up, down })`: delay every chunk by `up` ms client→target and `down` ms
 *   target→client, order kept (timer resolution ~1 ms: 0.5 ms is at least that).
 * - `resume()`: back to plain forwarding (latency is kept; `setLatency({})` clears it).
 * `close()` resets every connection, stops listening and clears all timers.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

export type ProxyMode = 'forward' | 'paused' | 'blackhole' | 'refuse';

export interface ProxyStats {
  /** Connections accepted since start. */
  accepted: number;
  /** Connections open now. */
  open: number;
  /** Connections reset by the proxy. */
  resets: number;
  /** Bytes forwarded client→target and target→client. */
  bytesUp: number;
  bytesDown: number;
  /** Bytes swallowed by blackhole(). */
  bytesDropped: number;
}

interface Pipe {
  client: Socket;
  upstream?: Socket;
  /** The upstream connect, deferred while paused. */
  pendingConnect: boolean;
  /** Bytes were dropped (blackhole): the stream is corrupt. */
  tainted: boolean;
  /** When the last delayed chunk per direction is due (keeps order under latency). */
  dueUp: number;
  dueDown: number;
  timers: Set<NodeJS.Timeout>;
}

export class FaultProxy {
  readonly host = '127.0.0.1';
  private readonly server: Server;
  private readonly pipes = new Set<Pipe>();
  private mode: ProxyMode = 'forward';
  private latency = { up: 0, down: 0 };
  private closed = false;
  private readonly counters: ProxyStats = { accepted: 0, open: 0, resets: 0, bytesUp: 0, bytesDown: 0, bytesDropped: 0 };

  private constructor(
    readonly target: { host: string; port: number },
    server: Server,
  ) {
    this.server = server;
  }

  /** Listen on a free loopback port, forwarding to `target`. */
  static async start(target: { host?: string; port: number }): Promise<FaultProxy> {
    const server = createServer();
    const p = new FaultProxy({ host: target.host ?? '127.0.0.1', port: target.port }, server);
    server.on('connection', (s) => p.accept(s));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return p;
  }

  get port(): number {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('proxy not listening');
    return a.port;
  }

  /** `{ host, port }` of the proxy, to put where the target's address would go. */
  get address(): { host: string; port: number } {
    return { host: this.host, port: this.port };
  }

  get currentMode(): ProxyMode {
    return this.mode;
  }

  stats(): ProxyStats {
    return { ...this.counters, open: this.pipes.size };
  }

  pause(): void {
    this.mode = 'paused';
    for (const p of this.pipes) {
      p.client.pause();
      p.upstream?.pause();
    }
  }

  blackhole(): void {
    this.setFlowing();
    this.mode = 'blackhole';
  }

  refuse(): void {
    this.mode = 'refuse';
    this.reset();
  }

  /** Reset every open connection (new ones are served as the mode says). */
  reset(): void {
    for (const p of [...this.pipes]) this.kill(p);
  }

  setLatency(ms: { up?: number; down?: number }): void {
    this.latency = { up: ms.up ?? 0, down: ms.down ?? 0 };
  }

  resume(): void {
    const was = this.mode;
    this.mode = 'forward';
    if (was === 'blackhole') for (const p of [...this.pipes]) if (p.tainted) this.kill(p);
    this.setFlowing();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.reset();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private setFlowing(): void {
    for (const p of this.pipes) {
      p.client.resume();
      p.upstream?.resume();
      if (p.pendingConnect) this.connectUpstream(p);
    }
  }

  private accept(client: Socket): void {
    this.counters.accepted++;
    if (this.closed || this.mode === 'refuse') {
      this.counters.resets++;
      client.resetAndDestroy();
      return;
    }
    client.setNoDelay(true);
    const p: Pipe = { client, pendingConnect: true, tainted: false, dueUp: 0, dueDown: 0, timers: new Set() };
    this.pipes.add(p);
    client.on('data', (chunk: Buffer) => this.forward(p, 'up', chunk));
    client.on('end', () => this.afterDue(p, 'up', () => p.upstream?.end()));
    client.on('error', () => this.drop(p, true));
    client.on('close', () => this.afterDue(p, 'up', () => this.drop(p, false)));
    if (this.mode === 'paused') client.pause();
    else this.connectUpstream(p);
  }

  private connectUpstream(p: Pipe): void {
    p.pendingConnect = false;
    const u = connect({ host: this.target.host, port: this.target.port });
    u.setNoDelay(true);
    p.upstream = u;
    u.on('data', (chunk: Buffer) => this.forward(p, 'down', chunk));
    u.on('end', () => this.afterDue(p, 'down', () => p.client.end()));
    u.on('error', () => this.drop(p, true));
    u.on('close', () => this.afterDue(p, 'down', () => this.drop(p, false)));
    if (this.mode === 'paused') u.pause();
  }

  private forward(p: Pipe, dir: 'up' | 'down', chunk: Buffer): void {
    if (this.mode === 'blackhole') {
      p.tainted = true;
      this.counters.bytesDropped += chunk.length;
      return;
    }
    const to = dir === 'up' ? p.upstream : p.client;
    const write = (): void => {
      if (!to || to.destroyed) return;
      if (dir === 'up') this.counters.bytesUp += chunk.length;
      else this.counters.bytesDown += chunk.length;
      to.write(chunk);
    };
    const delay = dir === 'up' ? this.latency.up : this.latency.down;
    const prevDue = dir === 'up' ? p.dueUp : p.dueDown;
    if (delay <= 0 && prevDue <= performance.now()) {
      write();
      return;
    }
    const due = Math.max(performance.now() + delay, prevDue);
    if (dir === 'up') p.dueUp = due;
    else p.dueDown = due;
    this.at(p, due, write);
  }

  /** Run `fn` once every chunk delayed in direction `dir` has been written (keeps FIN behind data). */
  private afterDue(p: Pipe, dir: 'up' | 'down', fn: () => void): void {
    const due = dir === 'up' ? p.dueUp : p.dueDown;
    if (due <= performance.now()) fn();
    else this.at(p, due, fn);
  }

  private at(p: Pipe, due: number, fn: () => void): void {
    const t = setTimeout(() => {
      p.timers.delete(t);
      fn();
    }, Math.max(0, due - performance.now()));
    p.timers.add(t);
  }

  /** Reset both sides of a connection (a fault the proxy injects). */
  private kill(p: Pipe): void {
    if (!this.pipes.has(p)) return;
    this.counters.resets++;
    this.drop(p, true);
  }

  /**
   * Forget a connection and close both sides: with a reset after an error or an injected fault,
   * plainly when one side closed after its FIN went through.
   */
  private drop(p: Pipe, rst: boolean): void {
    if (!this.pipes.delete(p)) return;
    for (const t of p.timers) clearTimeout(t);
    p.timers.clear();
    for (const s of [p.client, p.upstream]) {
      if (!s || s.destroyed) continue;
      if (rst) s.resetAndDestroy();
      else s.destroy();
    }
  }
}
