import { join, resolve } from 'node:path';
import { EtcdAuthenticationFailedError, type Etcd3, type Lease } from 'etcd3';
import { DMError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { createRegistry, type Registry } from '../metrics/index.js';
import { createRpcServer, processSecurity, resolveLimits, type RpcServer, type RpcAddress } from '../rpc/index.js';
import { DASHBOARD_PREFIX, dashboardDir, dashboardMissing } from './dashboard.js';
import { MasterService } from '../gen/dm/master/v1/master_pb.js';
import { etcdAccessOf, loadOrCreateSecretKey, masterConfigToYaml, type MasterConfig } from '../config/index.js';
import { aborted, sleepAbortable, VERSION } from '../util/index.js';
import { createEtcdClient, getText, Keys, LeaderElection, normaliseEndpoints, type MasterInfo } from '../store/index.js';
import { EmbeddedEtcd } from './embedded-etcd.js';
import { ensureEmbeddedEtcdAuth } from './embedded-etcd-auth.js';
import { MasterCore } from './master-core.js';
import { Scheduler } from './scheduler/index.js';
import { ShardDDLKeeper } from './shardddl/index.js';
import { createMasterService } from './service.js';
import { createPeerClients, peerTls } from './clients.js';
import { MasterMetrics } from './metrics.js';
import { LeaderWatchdog } from './leader-watchdog.js';
import { createOpenApi } from './openapi/index.js';
import type { CheckTaskHandler, TaskPrecheck } from './precheck.js';

export interface DMMasterOptions {
  config: MasterConfig;
  logger: Logger;
  registry?: Registry;
  /** Runs before start-task writes anything (src/checker's `taskPrecheck`); none: no precheck. */
  precheck?: TaskPrecheck;
  /** The body of the CheckTask RPC (src/checker's `checkTaskReply`); none: check-task is unimplemented. */
  checkTask?: CheckTaskHandler;
  /** Called once when the master cannot go on (embedded etcd keeps crashing): exit with it. */
  onFatal?: (e: DMError) => void;
}

function hostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const host = addr.slice(0, i);
  return { host: host === '' ? '0.0.0.0' : host, port: Number(addr.slice(i + 1)) };
}

/** Embedded etcd client URL: the configured one, or master port + 10 when left at the default. */
export function etcdClientUrlFor(cfg: MasterConfig): string {
  const configured = cfg.etcdClientUrls.split(',')[0]?.trim() ?? '';
  if (configured && configured !== 'http://127.0.0.1:8271') return configured;
  const { host, port } = hostPort(cfg.masterAddr);
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host;
  return `http://${h}:${port + 10}`;
}

/** Candidate etcd client endpoints of masters named in `join` (a URL is taken as is, host:port → port + 10). */
export function joinEndpoints(join: string): string[] {
  return join
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      if (/^https?:\/\//.test(s)) return s;
      const { host, port } = hostPort(s);
      return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port + 10}`;
    });
}

/**
 * A dm-master process: embedded (or external) etcd, election, the leader's scheduler, and the
 * one-port RPC server. States: New → Running → Stopped.
 */
export class DMMaster {
  readonly registry: Registry;
  private readonly cfg: MasterConfig;
  private readonly log: Logger;
  private etcd: EmbeddedEtcd | undefined;
  private client: Etcd3 | undefined;
  private election: LeaderElection | undefined;
  private scheduler: Scheduler | undefined;
  private keeper: ShardDDLKeeper | undefined;
  private schedulerClosing: Promise<void> = Promise.resolve();
  private server: RpcServer | undefined;
  private aliveLease: Lease | undefined;
  private readonly metrics: MasterMetrics;
  private readonly ac = new AbortController();
  private closed = false;
  private readonly startedAt = Date.now();
  private aliveLoop: Promise<void> | undefined;
  private watchdog: LeaderWatchdog | undefined;

  constructor(private readonly o: DMMasterOptions) {
    this.cfg = o.config;
    this.log = o.logger.child({ component: 'dm-master', name: o.config.name });
    this.registry = o.registry ?? createRegistry({ defaultMetrics: true });
    this.metrics = new MasterMetrics(this.registry);
  }

  get address(): RpcAddress | undefined {
    return this.server?.address;
  }
  get isLeader(): boolean {
    return this.election?.isLeader ?? false;
  }
  get etcdPid(): number | undefined {
    return this.etcd?.pid;
  }

  async start(): Promise<void> {
    const cfg = this.cfg;
    const signal = this.ac.signal;
    const security = processSecurity(cfg); // reads the token files: fail before starting etcd
    const etcdAccess = etcdAccessOf(cfg, cfg.secretKeyPath ? loadOrCreateSecretKey(cfg.secretKeyPath) : undefined);
    const keys = new Keys(cfg.etcdPrefix);
    let endpoints: string[];
    const external = cfg.etcdEndpoints.length > 0;
    let clientUrl = '';
    if (!external) {
      clientUrl = etcdClientUrlFor(cfg);
      const dataDir = resolve(cfg.dataDir);
      this.etcd = new EmbeddedEtcd({
        name: cfg.name,
        dataDir,
        clientUrl,
        peerUrl: cfg.peerUrls,
        advertisePeerUrl: cfg.advertisePeerUrls,
        initialCluster: cfg.initialCluster,
        initialClusterState: cfg.initialClusterState,
        ...(cfg.join ? { joinEndpoints: joinEndpoints(cfg.join) } : {}),
        limits: {
          maxTxnOps: cfg.maxTxnOps,
          maxRequestBytes: cfg.maxRequestBytes,
          quotaBackendBytes: cfg.quotaBackendBytes,
          autoCompactionMode: cfg.autoCompactionMode,
          autoCompactionRetention: cfg.autoCompactionRetention,
        },
        logger: this.log,
        ...(cfg.etcdSslCert && cfg.etcdSslKey
          ? { tls: { cert: cfg.etcdSslCert, key: cfg.etcdSslKey, ...(cfg.etcdSslCa ? { ca: cfg.etcdSslCa } : {}) } }
          : {}),
        ...(etcdAccess.auth ? { auth: etcdAccess.auth } : {}),
      });
      clientUrl = this.etcd.clientUrl; // https:// with etcd TLS
      this.etcd.onFatal((e) => {
        this.log.error({ err: e }, 'embedded etcd failed for good');
        this.o.onFatal?.(e);
      });
      await this.etcd.start(signal);
      endpoints = [clientUrl];
    } else {
      endpoints = normaliseEndpoints([...cfg.etcdEndpoints], etcdAccess.tls !== undefined);
    }
    const client = createEtcdClient({ endpoints, ...etcdAccess });
    this.client = client;
    // Wait for a quorum: the first write succeeds once the cluster has a Raft leader.
    const info: MasterInfo = {
      name: cfg.name,
      addr: cfg.advertiseAddr,
      peerUrls: external ? [] : cfg.advertisePeerUrls.split(',').map((s) => s.trim()),
      clientUrls: external ? endpoints : [clientUrl],
    };
    // Every etcd call of the start-up waits out a quorum that is still forming (or a Raft leader
    // change right after it formed, as when a whole cluster restarts): one deadline for all of them.
    const deadline = Date.now() + 60_000;
    const untilEtcdAnswers = async <T>(call: () => Promise<T>): Promise<T> => {
      for (;;) {
        try {
          return await call();
        } catch (err) {
          if (err instanceof DMError && err.codeName === 'ErrEtcdAuthFailed') throw err;
          // a wrong etcd-user / etcd-password does not get better by waiting
          if (err instanceof EtcdAuthenticationFailedError)
            throw new DMError('ErrEtcdAuthFailed', `etcd at ${endpoints.join(',')} refused etcd-user "${etcdAccess.auth?.username ?? ''}" with the configured etcd-password`, { cause: err });
          if (Date.now() > deadline) throw new DMError('ErrEtcdUnavailable', `etcd at ${endpoints.join(',')} did not become available within 60 s`, { cause: err });
          this.log.info({ err: (err as Error).message }, 'waiting for etcd quorum');
          if (!(await sleepAbortable(500, signal))) throw new DMError('ErrCanceled', 'dm-master start canceled');
        }
      }
    };
    // etcd-user / etcd-password on the embedded cluster: auth turned on with that user (once)
    const auth = etcdAccess.auth;
    if (!external && auth)
      await untilEtcdAnswers(() => ensureEmbeddedEtcdAuth({ endpoints, tls: etcdAccess.tls, auth, logger: this.log }));
    await untilEtcdAnswers(() => client.put(keys.masterInfo(cfg.name)).value(JSON.stringify(info)).exec());
    const ttlSec = Math.max(1, Math.round(cfg.keepaliveTtl / 1000));
    this.aliveLoop = this.keepAlive(client, keys, info, ttlSec, signal);

    const election = new LeaderElection(client, keys, { name: cfg.name, addr: cfg.advertiseAddr }, ttlSec, this.log);
    this.election = election;
    election.on('elected', () => {
      this.metrics.startLeader.inc();
      void this.schedulerClosing.then(() => {
        if (!election.isLeader || this.closed) return;
        const s = new Scheduler({
          client,
          keys,
          fence: () => election.fence,
          onFenceLost: (e) => election.stepDown(e.message),
          logger: this.log,
          onView: (v) => this.metrics.observe(v),
          rebindGraceMs: Math.max(2 * ttlSec * 1000, 10_000),
        });
        this.scheduler = s;
        s.start();
        // the shard DDL lock keeper: rebuilds every lock from etcd, then coordinates (leader only)
        const k = new ShardDDLKeeper({
          client,
          keys,
          fence: () => election.fence,
          onFenceLost: (e) => election.stepDown(e.message),
          logger: this.log,
          metrics: this.metrics.keeperMetrics(),
        });
        this.keeper = k;
        k.start();
      });
    });
    election.on('stepDown', () => {
      const s = this.scheduler;
      const k = this.keeper;
      this.scheduler = undefined;
      this.keeper = undefined;
      // reset after the scheduler has stopped, so a last view it publishes does not bring the series back
      this.schedulerClosing = Promise.all([s ? s.close().catch(() => undefined) : undefined, k ? k.close().catch(() => undefined) : undefined]).then(() => this.metrics.steppedDown());
    });
    const evicted = (await untilEtcdAnswers(() => getText(client, keys.masterEvicted(cfg.name)))) !== undefined;
    election.start(evicted);
    this.watchdog = new LeaderWatchdog(client, keys, election, cfg.name, this.log);
    this.watchdog.start();

    const secretKey = cfg.secretKeyPath ? loadOrCreateSecretKey(cfg.secretKeyPath) : undefined;
    const core = new MasterCore({
      client,
      keys,
      name: cfg.name,
      addr: cfg.advertiseAddr,
      election,
      scheduler: () => this.scheduler,
      etcdEndpoints: async () => {
        if (external) return endpoints;
        try {
          const ms = (await client.cluster.memberList({})).members ?? [];
          const urls = ms.flatMap((m) => m.clientURLs ?? []);
          return urls.length > 0 ? urls : endpoints;
        } catch {
          return endpoints;
        }
      },
      keepaliveTtlSec: ttlSec,
      ...(secretKey ? { secretKey } : {}),
      ...(this.o.precheck ? { precheck: this.o.precheck } : {}),
      ...(this.o.checkTask ? { checkTask: this.o.checkTask } : {}),
      logger: this.log,
    });
    const impl = createMasterService({
      core,
      election,
      scheduler: () => this.scheduler,
      keeper: () => this.keeper,
      name: cfg.name,
      setEvicted: async (ev) => {
        if (ev) await client.put(keys.masterEvicted(cfg.name)).value(JSON.stringify({ evicted: true })).exec();
        else await client.delete().key(keys.masterEvicted(cfg.name)).exec();
      },
      configYaml: () => masterConfigToYaml(cfg.etcdPassword ? { ...cfg, etcdPassword: '******' } : cfg),
      logger: this.log,
      clients: createPeerClients(peerTls(cfg), security.peer),
    });
    // DM's OpenAPI under /api/v1 (`openapi: true`); off: /api/v1 answers 404 as any unknown path
    const openApi =
      cfg.openapi || cfg.experimental.openapi
        ? createOpenApi({ impl, core, auth: security.server.auth, maxRequestBytes: resolveLimits(security.server.limits).maxRequestBytes, logger: this.log })
        : undefined;
    const dashboard = dashboardDir();
    this.server = createRpcServer({
      ...security.server,
      routes: (router) => router.service(MasterService, impl),
      registry: this.registry,
      status: () => ({
        name: cfg.name,
        role: 'dm-master',
        version: VERSION,
        leader: election.leader?.name ?? '',
        isLeader: election.isLeader,
        etcd: external ? 'external' : 'embedded',
      }),
      ...(dashboard ? { staticDir: { [DASHBOARD_PREFIX]: dashboard } } : {}),
      fallback: async (req, res) => (openApi ? await openApi(req, res) : false) || (!dashboard && dashboardMissing(req, res)),
      logger: this.log,
    });
    const { host, port } = hostPort(cfg.masterAddr);
    const addr = await this.server.listen(port, host);
    this.log.info({ addr: addr.url, etcd: endpoints, dataDir: external ? undefined : join(resolve(cfg.dataDir)) }, 'dm-master started');
  }

  /** master/alive/<name> under a lease, re-granted when lost. */
  private async keepAlive(client: Etcd3, keys: Keys, info: MasterInfo, ttlSec: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const lease = client.lease(ttlSec, { autoKeepAlive: true });
      this.aliveLease = lease;
      const lost = new Promise<void>((res) => lease.once('lost', () => res()));
      lease.on('lost', () => undefined);
      try {
        await lease.put(keys.masterAlive(info.name)).value(JSON.stringify(info)).exec();
        await Promise.race([lost, aborted(signal)]);
      } catch (err) {
        this.log.debug({ err }, 'master alive key failed');
      }
      if (signal.aborted) return;
      await sleepAbortable(500, signal);
    }
  }

  /** Stop everything: RPC server, scheduler, election (resign), alive lease, etcd client, etcd child. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ac.abort();
    await this.server?.close(AbortSignal.timeout(5000)).catch(() => undefined);
    const s = this.scheduler;
    const k = this.keeper;
    this.scheduler = undefined;
    this.keeper = undefined;
    await s?.close().catch(() => undefined);
    await k?.close().catch(() => undefined);
    await this.schedulerClosing;
    await this.watchdog?.close();
    await this.election?.close().catch(() => undefined);
    await this.aliveLease?.revoke().catch(() => undefined);
    await this.aliveLoop;
    this.client?.close();
    await this.etcd?.close();
    this.log.info('dm-master stopped');
  }
}
