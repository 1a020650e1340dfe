import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { join } from 'node:path';
import { once } from 'node:events';
import { DMError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { silentLogger } from '../log/index.js';
import { sleepAbortable } from '../util/index.js';
import { createEtcdClient } from '../store/index.js';
import { GRPCUnavailableError } from 'etcd3';
import { findEtcdBinary } from './etcd-binary.js';

/** How long `--join` keeps retrying a member add that etcd refuses while the cluster is reconfiguring. */
const MEMBER_ADD_RETRY_MS = 60_000;

export interface EmbeddedEtcdOptions {
  name: string;
  /** etcd data lives here (`member/` inside once initialised). */
  dataDir: string;
  /** URL etcd listens on for clients, e.g. http://127.0.0.1:8271. */
  clientUrl: string;
  /** URL advertised to clients (defaults to clientUrl). */
  advertiseClientUrl?: string;
  /** e.g. http://127.0.0.1:8291 */
  peerUrl: string;
  advertisePeerUrl?: string;
  /** `name=peerUrl,...`; default: this member alone. Ignored when the data dir is initialised. */
  initialCluster?: string;
  /** etcd client endpoints of a running cluster to join (member add first). */
  joinEndpoints?: string[];
  /**
   * DM `initial-cluster-state`: `existing` starts an uninitialised member into a running cluster
   * that already lists it (`etcdctl member add`), with `initialCluster` naming every member. Default
   * `new`; ignored once the data dir is initialised (etcd's own rule) and with joinEndpoints.
   */
  initialClusterState?: 'new' | 'existing';
  /** Restarts allowed within `restartWindowMs` before giving up. */
  maxRestarts?: number;
  restartWindowMs?: number;
  etcdBinary?: string;
  logger?: Logger;
  /** dm-master's etcd limits (`max-txn-ops`, `max-request-bytes`, `quota-backend-bytes`, auto-compaction). */
  limits?: EmbeddedEtcdLimits;
  /**
   * TLS for client and peer traffic (`etcd-ssl-ca` / `etcd-ssl-cert` / `etcd-ssl-key`): every
   * `http://` URL becomes `https://`, and with a CA clients and peers must present a certificate
   * signed by it (etcd's `--client-cert-auth` / `--peer-client-cert-auth`).
   */
  tls?: { ca?: string; cert: string; key: string };
  /** etcd user/password of the clients this supervisor makes (member add). */
  auth?: { username: string; password: string };
}

/** `http://` → `https://` in a URL list (`name=url,...` too) when TLS is on. */
export function etcdUrls(urls: string, tls: boolean): string {
  return tls ? urls.replace(/http:\/\//g, 'https://') : urls;
}

/** The dm-master keys that DM passes to its embedded etcd, passed on as etcd flags. */
export interface EmbeddedEtcdLimits {
  maxTxnOps: number;
  maxRequestBytes: number;
  quotaBackendBytes: number;
  autoCompactionMode: 'periodic' | 'revision';
  autoCompactionRetention: string;
}

/**
 * Supervises one etcd member as a child process (DM's embedded etcd).
 * States: New → Running → (child crashed → restarted, bounded) → Stopped | Failed.
 * `onFatal` is called once when the child keeps crashing: the master exits with that error.
 */
export class EmbeddedEtcd {
  private child: ChildProcess | undefined;
  private closed = false;
  private restarts: number[] = [];
  private args: string[] = [];
  private readonly log: Logger;
  private fatalHandler: ((e: DMError) => void) | undefined;
  private readonly bin: string;

  constructor(private readonly opts: EmbeddedEtcdOptions) {
    this.log = (opts.logger ?? silentLogger).child({ component: 'embedded-etcd' });
    this.bin = findEtcdBinary(opts.etcdBinary);
  }

  /** The URL clients use (https when TLS is on). */
  get clientUrl(): string {
    return etcdUrls(this.opts.advertiseClientUrl ?? this.opts.clientUrl, this.tlsOn);
  }

  private get tlsOn(): boolean {
    return this.opts.tls !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  onFatal(fn: (e: DMError) => void): void {
    this.fatalHandler = fn;
  }

  /** True once the data dir holds an initialised member (restart: initial-* flags are ignored). */
  initialised(): boolean {
    return existsSync(join(this.opts.dataDir, 'member'));
  }

  async start(signal?: AbortSignal): Promise<void> {
    const o = this.opts;
    mkdirSync(o.dataDir, { recursive: true });
    const tls = this.tlsOn;
    const advPeer = etcdUrls(o.advertisePeerUrl ?? o.peerUrl, tls);
    let initialCluster = etcdUrls(o.initialCluster ?? `${o.name}=${advPeer}`, tls);
    let state: 'new' | 'existing' = o.initialClusterState ?? 'new';
    if (!this.initialised() && o.joinEndpoints && o.joinEndpoints.length > 0) {
      initialCluster = await this.memberAdd(o.joinEndpoints.map((e) => etcdUrls(e, tls)), advPeer, signal);
      state = 'existing';
    }
    this.args = [
      '--name', o.name,
      '--data-dir', o.dataDir,
      '--listen-client-urls', etcdUrls(o.clientUrl, tls),
      '--advertise-client-urls', this.clientUrl,
      '--listen-peer-urls', etcdUrls(o.peerUrl, tls),
      '--initial-advertise-peer-urls', advPeer,
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', state,
      '--initial-cluster-token', 'dm-ts-cluster',
      '--heartbeat-interval', '100',
      '--election-timeout', '1000',
      '--auto-compaction-mode', o.limits?.autoCompactionMode ?? 'periodic',
      '--auto-compaction-retention', o.limits?.autoCompactionRetention ?? '1h',
      ...(o.limits
        ? [
            '--max-txn-ops', String(o.limits.maxTxnOps),
            '--max-request-bytes', String(o.limits.maxRequestBytes),
            '--quota-backend-bytes', String(o.limits.quotaBackendBytes),
          ]
        : []),
      ...(o.tls
        ? [
            '--cert-file', o.tls.cert, '--key-file', o.tls.key,
            '--peer-cert-file', o.tls.cert, '--peer-key-file', o.tls.key,
            ...(o.tls.ca
              ? ['--trusted-ca-file', o.tls.ca, '--client-cert-auth', '--peer-trusted-ca-file', o.tls.ca, '--peer-client-cert-auth']
              : []),
          ]
        : []),
    ];
    this.spawnChild();
    await this.waitListening(signal);
  }

  /** `etcd member add` through a running member; returns the initial-cluster to start with. */
  private async memberAdd(endpoints: string[], advPeer: string, signal?: AbortSignal): Promise<string> {
    const client = createEtcdClient({ endpoints, unaryDeadlineMs: 5000, ...this.clientAccess() });
    try {
      let members = (await client.cluster.memberList({})).members ?? [];
      const mine = members.find((m) => (m.peerURLs ?? []).includes(advPeer));
      if (!mine) {
        // etcd refuses a member add while the cluster is reconfiguring (e.g. right after another
        // master joined: "unhealthy cluster", UNAVAILABLE); wait for it instead of failing the join.
        const deadline = Date.now() + MEMBER_ADD_RETRY_MS;
        for (;;) {
          try {
            members = (await client.cluster.memberAdd({ peerURLs: [advPeer] })).members ?? [];
            break;
          } catch (e) {
            if (!(e instanceof GRPCUnavailableError) || Date.now() > deadline) throw e;
            this.log.info({ err: e.message }, 'etcd cluster not ready for a member add yet, retrying');
            if (!(await sleepAbortable(1000, signal))) throw e;
          }
        }
      }
      signal?.throwIfAborted();
      const parts: string[] = [];
      for (const m of members) {
        const isMe = (m.peerURLs ?? []).includes(advPeer);
        const name = isMe ? this.opts.name : m.name;
        if (!name) continue;
        for (const u of m.peerURLs ?? []) parts.push(`${name}=${u}`);
      }
      return parts.join(',');
    } catch (e) {
      throw new DMError('ErrMasterEtcdJoin', `cannot add member ${this.opts.name} (${advPeer}) through ${endpoints.join(',')}`, { cause: e });
    } finally {
      client.close();
    }
  }

  /** TLS files and auth for clients of this member (member add). */
  private clientAccess(): { tls?: { ca: string; cert: string; key: string }; auth?: { username: string; password: string } } {
    const t = this.opts.tls;
    return {
      ...(t?.ca ? { tls: { ca: t.ca, cert: t.cert, key: t.key } } : {}),
      ...(this.opts.auth ? { auth: this.opts.auth } : {}),
    };
  }

  /** A child left running by a master killed with -9 still holds the ports: kill it. */
  private killStale(): void {
    const pidFile = join(this.opts.dataDir, 'etcd.pid');
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    rmSync(pidFile, { force: true });
    if (!Number.isInteger(pid) || pid <= 0) return;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes('etcd') && cmd.includes(this.opts.dataDir)) {
        process.kill(pid, 'SIGKILL');
        this.log.warn({ pid }, 'killed a stale embedded etcd left by a previous dm-master');
      }
    } catch {
      /* not running */
    }
  }

  private spawnChild(): void {
    this.killStale();
    const logPath = join(this.opts.dataDir, 'etcd.log');
    const fd = openSync(logPath, 'a');
    const child = spawn(this.bin, this.args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.child = child;
    if (child.pid !== undefined) writeFileSync(join(this.opts.dataDir, 'etcd.pid'), String(child.pid));
    this.log.info({ pid: child.pid, args: this.args.join(' ') }, 'embedded etcd started');
    child.once('exit', (code, sig) => {
      if (this.child === child) this.child = undefined;
      if (this.closed) return;
      this.log.error({ code, signal: sig, log: logPath }, 'embedded etcd exited');
      const now = Date.now();
      const windowMs = this.opts.restartWindowMs ?? 60_000;
      this.restarts = this.restarts.filter((t) => now - t < windowMs);
      if (this.restarts.length >= (this.opts.maxRestarts ?? 5)) {
        this.closed = true;
        this.fatalHandler?.(
          new DMError('ErrMasterEtcdExited', `embedded etcd exited (code ${code}, signal ${sig}) ${this.restarts.length + 1} times within ${windowMs} ms; see ${logPath}`),
        );
        return;
      }
      this.restarts.push(now);
      setTimeout(() => {
        if (!this.closed) this.spawnChild();
      }, 500).unref();
    });
  }

  /** Wait until the member answers HTTP on its client URL (a lone member of a 3-cluster has no quorum yet). */
  private async waitListening(signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      signal?.throwIfAborted();
      if (this.closed) throw new DMError('ErrMasterEtcdExited', 'embedded etcd exited during start');
      if (await this.answersHttp()) return;
      if (Date.now() > deadline) throw new DMError('ErrMasterEtcdExited', `embedded etcd did not listen on ${this.opts.clientUrl} within 30 s; see ${join(this.opts.dataDir, 'etcd.log')}`);
      await sleepAbortable(100, signal);
    }
  }

  /** Whether the member answers GET /health on its client URL (any HTTP status; TLS with our cert). */
  private answersHttp(): Promise<boolean> {
    const url = new URL(`${etcdUrls(this.opts.clientUrl, this.tlsOn).split(',')[0] ?? ''}/health`);
    const t = this.opts.tls;
    return new Promise((resolve) => {
      const done = (ok: boolean): void => resolve(ok);
      const opts = { timeout: 1000, ...(t ? { ca: t.ca ? readFileSync(t.ca) : undefined, cert: readFileSync(t.cert), key: readFileSync(t.key) } : {}) };
      const req = (url.protocol === 'https:' ? https : http).get(url, opts, (res) => {
        res.resume();
        done(true);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => done(false));
    });
  }

  /** Stop the child (SIGTERM, SIGKILL after 5 s). Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const ex = once(c, 'exit');
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 5000);
    await ex;
    clearTimeout(t);
    rmSync(join(this.opts.dataDir, 'etcd.pid'), { force: true });
  }
}
