/**
 * A small typed client of dm-master for browser apps (and Node ≥ 18, which has `fetch`): the
 * generated MasterService stubs over @connectrpc/connect-web's gRPC-web transport (or Connect),
 * a bearer token sent on every call, a default deadline, and a few typed helpers for what apps do
 * most (cluster overview, status, task and source operations, the live WatchCluster stream).
 * Every failure is a `DMApiError`; a reply with `result: false` is one too (its per-source
 * outcomes in `.sources`), so `await` means success.
 *
 * Browser-safe: it imports only the connect runtime and the generated stubs (no Node modules);
 * it is what the `dm-ts/client` package entry exports (docs/api.md).
 */
import { createClient, type CallOptions, type Client, type Interceptor, type Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcWebTransport } from '@connectrpc/connect-web';
import {
  ConfigType,
  MasterService,
  SourceOp,
  TaskOp,
  type GetClusterInfoResponse,
  type ListMemberResponse,
  type OperateSourceResponse,
  type OperateTaskResponse,
  type QueryStatusResponse,
  type StartTaskResponse,
  type WatchClusterResponse,
} from '../gen/dm/master/v1/master_pb.js';
import { WorkerService } from '../gen/dm/worker/v1/worker_pb.js';
import { DMApiError, codeInMessage, type SourceOutcome } from './errors.js';

/** Where the token comes from: a fixed string, or a function asked before every call (a login that refreshes). */
export type TokenSource = string | (() => string | undefined | Promise<string | undefined>);

export interface DMClientOptions {
  /** The master's URL, e.g. `https://dm-master-1:8261` (or `location.origin` for a page the master serves). */
  baseUrl: string;
  /** Bearer token (role `read` or `admin`, docs/security.md); sent as `authorization: Bearer …`. */
  token?: TokenSource;
  /** `grpc-web` (default) or `connect` (Connect protocol, JSON). */
  protocol?: 'grpc-web' | 'connect';
  /** Default deadline of a unary call in milliseconds (default 30 000; 0 = none). Streams have none. */
  timeoutMs?: number;
  /** Extra interceptors (run after the token one). */
  interceptors?: Interceptor[];
  /** A `fetch` to use instead of the global one. */
  fetch?: typeof globalThis.fetch;
  /** `include` to send cookies/TLS client certificates cross-origin (default: the browser's `same-origin`). */
  credentials?: 'omit' | 'same-origin' | 'include';
}

export const DEFAULT_TIMEOUT_MS = 30_000;

/** Per-call options: an AbortSignal and a deadline overriding the client's. */
export interface CallOpts {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export class DMClient {
  /** The raw generated MasterService client (every RPC; errors are ConnectErrors — wrap with `DMApiError.from`). */
  readonly master: Client<typeof MasterService>;
  private readonly opts: DMClientOptions;
  private token: TokenSource | undefined;
  private readonly transport: Transport;

  constructor(opts: DMClientOptions) {
    this.opts = opts;
    this.token = opts.token;
    this.transport = this.makeTransport(opts.baseUrl);
    this.master = createClient(MasterService, this.transport);
  }

  /** Replace the token (a new login); `undefined` logs out. */
  setToken(token: TokenSource | undefined): void {
    this.token = token;
  }

  /**
   * A client of one dm-worker's WorkerService (QueryStatus, WatchStatus, ...), with the same
   * token and protocol; `url` as the master lists it in `ListMember` (`host:port` gets `http://`).
   */
  worker(url: string): Client<typeof WorkerService> {
    return createClient(WorkerService, this.makeTransport(/^[a-z]+:\/\//i.test(url) ? url : `http://${url}`));
  }

  private makeTransport(baseUrl: string): Transport {
    const auth: Interceptor = (next) => async (req) => {
      const t = typeof this.token === 'function' ? await this.token() : this.token;
      if (t) req.header.set('authorization', `Bearer ${t}`);
      return next(req);
    };
    const o = {
      baseUrl,
      interceptors: [auth, ...(this.opts.interceptors ?? [])],
      ...(this.opts.fetch ? { fetch: this.opts.fetch } : {}),
      ...(this.opts.credentials ? { credentials: this.opts.credentials } : {}),
    };
    return this.opts.protocol === 'connect' ? createConnectTransport({ ...o, useBinaryFormat: false }) : createGrpcWebTransport(o);
  }

  private callOptions(o: CallOpts | undefined): CallOptions {
    const ms = o?.timeoutMs ?? this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return { ...(o?.signal ? { signal: o.signal } : {}), ...(ms > 0 ? { timeoutMs: ms } : {}) };
  }

  private async call<R extends { result: boolean; msg: string }>(what: string, fn: (co: CallOptions) => Promise<R>, o: CallOpts | undefined): Promise<R> {
    let r: R;
    try {
      r = await fn(this.callOptions(o));
    } catch (e) {
      throw DMApiError.from(e);
    }
    if (!r.result) {
      const sources = 'sources' in r && Array.isArray(r.sources) ? (r.sources as SourceOutcome[]).map(({ source, worker, result, msg }) => ({ source, worker, result, msg })) : [];
      const firstBad = sources.find((s) => !s.result)?.msg ?? '';
      const msg = r.msg || firstBad || `${what} failed`;
      throw new DMApiError(msg, { code: codeInMessage(msg), sources });
    }
    return r;
  }

  /** Members, leader, sources and tasks (with each source's desired stage) in one call. */
  clusterInfo(o?: CallOpts): Promise<GetClusterInfoResponse> {
    return this.call('cluster info', (co) => this.master.getClusterInfo({}, co), o);
  }

  /** `list-member`: masters (leader flagged) and workers (stage, bound source). */
  listMembers(o?: CallOpts): Promise<ListMemberResponse> {
    return this.call('list-member', (co) => this.master.listMember({}, co), o);
  }

  /** `query-status [task] [-s sources]`. */
  queryStatus(task = '', sources: string[] = [], o?: CallOpts): Promise<QueryStatusResponse> {
    return this.call('query-status', (co) => this.master.queryStatus({ name: task, sources }, co), o);
  }

  /** `check-task`: the precheck report (parsed JSON when the master sent JSON). */
  async checkTask(taskYaml: string, o?: CallOpts): Promise<{ passed: boolean; report: unknown }> {
    let r;
    try {
      r = await this.master.checkTask({ task: taskYaml, errorCnt: 10, warnCnt: 10 }, this.callOptions(o));
    } catch (e) {
      throw DMApiError.from(e);
    }
    let report: unknown = r.msg;
    try {
      report = JSON.parse(r.msg);
    } catch {
      /* a plain message */
    }
    return { passed: r.result, report };
  }

  /** `start-task task.yaml [-s sources] [--remove-meta] [--start-time T]`. */
  startTask(taskYaml: string, opts: { sources?: string[]; removeMeta?: boolean; startTime?: string } & CallOpts = {}): Promise<StartTaskResponse> {
    return this.call(
      'start-task',
      (co) => this.master.startTask({ task: taskYaml, sources: opts.sources ?? [], removeMeta: opts.removeMeta ?? false, startTime: opts.startTime ?? '' }, co),
      opts,
    );
  }

  /** `pause-task`. */
  pauseTask(task: string, sources: string[] = [], o?: CallOpts): Promise<OperateTaskResponse> {
    return this.operateTask(TaskOp.PAUSE, task, sources, o);
  }

  /** `resume-task`. */
  resumeTask(task: string, sources: string[] = [], o?: CallOpts): Promise<OperateTaskResponse> {
    return this.operateTask(TaskOp.RESUME, task, sources, o);
  }

  /** `stop-task`: the task and its subtasks are removed. */
  stopTask(task: string, sources: string[] = [], o?: CallOpts): Promise<OperateTaskResponse> {
    return this.operateTask(TaskOp.STOP, task, sources, o);
  }

  private operateTask(op: TaskOp, name: string, sources: string[], o: CallOpts | undefined): Promise<OperateTaskResponse> {
    return this.call(`${TaskOp[op]?.toLowerCase() ?? 'operate'}-task`, (co) => this.master.operateTask({ op, name, sources }, co), o);
  }

  /** `operate-source create` of one or more source YAML texts (optionally bound to a worker). */
  createSources(configs: string[], worker = '', o?: CallOpts): Promise<OperateSourceResponse> {
    return this.call('operate-source create', (co) => this.master.operateSource({ op: SourceOp.START, config: configs, workerName: worker }, co), o);
  }

  /** `operate-source stop -s id...`. */
  stopSources(ids: string[], o?: CallOpts): Promise<OperateSourceResponse> {
    return this.call('operate-source stop', (co) => this.master.operateSource({ op: SourceOp.STOP, sourceId: ids }, co), o);
  }

  /** `transfer-source <source> <worker>`. */
  async transferSource(source: string, worker: string, o?: CallOpts): Promise<void> {
    await this.call('transfer-source', (co) => this.master.transferSource({ source, worker }, co), o);
  }

  /** `config task|source|master|worker <name>`: the YAML (passwords encrypted). */
  async getConfig(type: 'task' | 'source' | 'master' | 'worker', name: string, o?: CallOpts): Promise<string> {
    const t = { task: ConfigType.TASK, source: ConfigType.SOURCE, master: ConfigType.MASTER, worker: ConfigType.WORKER }[type];
    return (await this.call(`config ${type}`, (co) => this.master.getConfig({ type: t, name }, co), o)).cfg;
  }

  /**
   * The live view (WatchCluster): members, every task's subtasks (stage, unit, progress, lag,
   * errors) every `intervalMs` (at least 500) until `signal` aborts. Errors are DMApiErrors.
   */
  async *watchCluster(opts: { intervalMs?: number; task?: string; signal?: AbortSignal } = {}): AsyncGenerator<WatchClusterResponse> {
    try {
      yield* this.master.watchCluster({ intervalMs: opts.intervalMs ?? 0, name: opts.task ?? '' }, opts.signal ? { signal: opts.signal } : {});
    } catch (e) {
      if (opts.signal?.aborted) return;
      throw DMApiError.from(e);
    }
  }
}

/** `new DMClient(opts)`. */
export function createDMClient(opts: DMClientOptions): DMClient {
  return new DMClient(opts);
}
