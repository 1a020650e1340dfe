import { EtcdAuthenticationFailedError, type Etcd3 } from 'etcd3';
import { DMError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { createRegistry, type Registry } from '../metrics/index.js';
import {
  createMasterClient,
  createRpcServer,
  fromConnectError,
  processSecurity,
  type RpcClientOptions,
  type RpcServer,
  type RpcAddress,
} from '../rpc/index.js';
import { WorkerService } from '../gen/dm/worker/v1/worker_pb.js';
import { etcdAccessOf, loadSecretKey, workerConfigToYaml, type WorkerConfig } from '../config/index.js';
import { sleepAbortable, VERSION } from '../util/index.js';
import { createEtcdClient, Keys } from '../store/index.js';
import { WorkerSession } from './session.js';
import { Converger } from './converger.js';
import { WorkerMetrics } from './metrics.js';
import { createWorkerService } from './service.js';
import { RelayHolder, type StoredNeed } from './relay-holder.js';
import { storedRelayNeed } from './pipeline.js';
import { RelayNeeds, readIndex } from '../units/relay/index.js';

export interface DMWorkerOptions {
  config: WorkerConfig;
  logger: Logger;
  registry?: Registry;
  /** How long to keep trying to register (default 60 s). */
  registerTimeoutMs?: number;
}

function hostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const host = addr.slice(0, i);
  return { host: host === '' ? '0.0.0.0' : host, port: Number(addr.slice(i + 1)) };
}

/**
 * A dm-worker process: RPC server, registration through a master, leased liveness with
 * self-fencing, and the converger that runs the subtasks of its bound source.
 * States: New → Running → Stopped.
 */
export class DMWorker {
  readonly registry: Registry;
  /** What the relay readers of this worker's subtasks still need (for the relay purger). */
  readonly relayNeeds = new RelayNeeds();
  private readonly cfg: WorkerConfig;
  private readonly log: Logger;
  private server: RpcServer | undefined;
  private client: Etcd3 | undefined;
  private session: WorkerSession | undefined;
  private converger: Converger | undefined;
  private relay: RelayHolder | undefined;
  private readonly metrics: WorkerMetrics;
  private readonly ac = new AbortController();
  private closed = false;
  /** TLS client cert and cluster token for calls to masters (rpc/security.ts). */
  private peerOptions: RpcClientOptions = {};

  constructor(private readonly o: DMWorkerOptions) {
    this.cfg = o.config;
    this.log = o.logger.child({ component: 'dm-worker', name: o.config.name });
    this.registry = o.registry ?? createRegistry({ defaultMetrics: true });
    this.metrics = new WorkerMetrics(this.registry, o.config.name);
  }

  /** The relay holder (the relay reader registers its needs and follows the relay here). */
  get relayHolder(): RelayHolder | undefined {
    return this.relay;
  }

  get address(): RpcAddress | undefined {
    return this.server?.address;
  }

  async start(): Promise<void> {
    const cfg = this.cfg;
    const signal = this.ac.signal;
    const relay = new RelayHolder({
      workerName: cfg.name,
      relayDir: cfg.relayDir,
      logger: this.log,
      registry: this.registry,
      ...(cfg.secretKeyPath ? { secretKey: loadSecretKey(cfg.secretKeyPath) } : {}),
    });
    this.relay = relay;
    // the relay readers of this worker's subtasks (src/binlog/relay-reader.ts) register in
    // relayNeeds; the purger asks for the earliest of them
    relay.registerNeed('relay-readers', () => this.relayNeeds.earliest(readIndex(relay.dir)));
    // the subtasks of the bound source without a running relay reader (paused, auto-resuming, in
    // their full phase, not started yet after a restart) need the relay from their stored checkpoint
    const secretKey = cfg.secretKeyPath ? loadSecretKey(cfg.secretKeyPath) : undefined;
    relay.setStoredNeeds(async () => {
      const live = this.relayNeeds.list();
      const source = this.converger?.boundSource;
      const waiting = (this.converger?.list() ?? []).filter((st) => st.input.sourceId === source && !live.has(st.name) && st.stageName !== 'Stopped' && st.stageName !== 'Finished');
      const out: StoredNeed[] = [];
      for (const st of waiting) {
        const n = await storedRelayNeed(st.input, secretKey);
        if (n) out.push(n);
      }
      return out;
    });
    const impl = createWorkerService({
      name: cfg.name,
      relay,
      source: () => this.converger?.boundSource,
      statuses: () => this.converger?.list().map((s) => s.status()) ?? [],
      subtasks: () => this.converger?.list() ?? [],
      configYaml: () => workerConfigToYaml(cfg.etcdPassword ? { ...cfg, etcdPassword: '******' } : cfg),
    });
    const security = processSecurity(cfg);
    this.peerOptions = security.peer;
    this.server = createRpcServer({
      ...security.server,
      routes: (router) => router.service(WorkerService, impl),
      registry: this.registry,
      status: () => ({
        name: cfg.name,
        role: 'dm-worker',
        version: VERSION,
        source: this.converger?.boundSource ?? '',
        session: this.session?.stateName ?? 'Connecting',
      }),
      logger: this.log,
    });
    const { host, port } = hostPort(cfg.workerAddr);
    const bound = await this.server.listen(port, host);
    // Advertise the real port when listening on port 0 (tests).
    const advertise = port === 0 ? `${hostPort(cfg.advertiseAddr).host.replace('0.0.0.0', '127.0.0.1')}:${bound.port}` : cfg.advertiseAddr;

    const reg = await this.register(advertise, signal);
    const endpoints = cfg.etcdEndpoints.length > 0 ? [...cfg.etcdEndpoints] : reg.endpoints;
    const keys = new Keys(reg.prefix);
    const access = etcdAccessOf(cfg, cfg.secretKeyPath ? loadSecretKey(cfg.secretKeyPath) : undefined);
    const client = createEtcdClient({ endpoints, ...access });
    this.client = client;
    // a wrong etcd-user / etcd-password does not get better by retrying: refuse to start (any
    // other error here, e.g. etcd briefly unavailable, is left to the session's retries)
    if (access.auth)
      await client.get(`${reg.prefix}auth-probe`).string().catch((err: unknown) => {
        if (err instanceof EtcdAuthenticationFailedError)
          throw new DMError('ErrEtcdAuthFailed', `etcd at ${endpoints.join(',')} refused etcd-user "${access.auth?.username ?? ''}" with the configured etcd-password`, { cause: err });
      });
    const ttlSec = Math.max(1, Math.round(cfg.keepaliveTtl / 1000));
    const converger = new Converger({
      client,
      keys,
      workerName: cfg.name,
      relayDir: cfg.relayDir,
      relayNeeds: this.relayNeeds,
      logger: this.log,
      registry: this.registry,
      metrics: this.metrics,
      relay,
      // the masters' key: passwords in etcd are encrypted with it
      ...(cfg.secretKeyPath ? { secretKey: loadSecretKey(cfg.secretKeyPath) } : {}),
    });
    this.converger = converger;
    const session = new WorkerSession(client, keys, { name: cfg.name, addr: advertise, startedAt: new Date().toISOString(), ttlSec }, ttlSec, this.log);
    this.session = session;
    session.on('fenced', () => void converger.fence());
    session.on('recovered', () => converger.unfence());
    converger.start();
    session.start();
    this.log.info({ addr: bound.url, advertise, etcd: endpoints, ttlSec }, 'dm-worker started');
  }

  /**
   * Client options for calls to masters: https when `ssl-ca` or `ssl-cert`+`ssl-key` are set
   * (`ssl-ca` verifies the master, the cert+key pair is presented as client certificate), and
   * the cluster token when `cluster-token-file` is set.
   */
  private peerClientOptions(): RpcClientOptions {
    return this.peerOptions;
  }

  /** RegisterWorker through the first master of `join` that answers (retrying until the timeout). */
  private async register(advertise: string, signal: AbortSignal): Promise<{ endpoints: string[]; prefix: string }> {
    const deadline = Date.now() + (this.o.registerTimeoutMs ?? 60_000);
    let last: unknown;
    const clients = new Map(this.cfg.join.map((m) => [m, createMasterClient(m, this.peerClientOptions())] as const));
    for (;;) {
      for (const m of this.cfg.join) {
        try {
          const r = await clients.get(m)!.registerWorker(
            { name: this.cfg.name, address: advertise, version: VERSION, labels: {} },
            { signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]) },
          );
          if (r.result) {
            this.log.info({ master: m, endpoints: r.etcdEndpoints }, 'registered');
            return { endpoints: [...r.etcdEndpoints], prefix: r.clusterPrefix || '/dm/' };
          }
          last = new Error(r.msg);
        } catch (e) {
          last = e;
          const de = fromConnectError(e);
          if (de.codeName === 'ErrWorkerNameConflict' || de.errClass === 'config') throw de;
        }
      }
      if (Date.now() > deadline) throw new DMError('ErrWorkerRegister', `cannot register with masters ${this.cfg.join.join(',')}`, { cause: last });
      if (!(await sleepAbortable(1000, signal))) throw new DMError('ErrCanceled', 'dm-worker start canceled');
    }
  }

  /** Stop subtasks, revoke the lease, close RPC and etcd. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ac.abort();
    await this.converger?.close().catch(() => undefined);
    await this.relay?.close().catch(() => undefined);
    await this.session?.close().catch(() => undefined);
    await this.server?.close(AbortSignal.timeout(5000)).catch(() => undefined);
    this.client?.close();
    this.log.info('dm-worker stopped');
  }
}
