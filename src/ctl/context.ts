/**
 * What every dmctl command gets: the global options, a master client that fails over across
 * `--master-addr`, and the reply printer that records `result` (the exit code follows it).
 */
import { Code, ConnectError } from '@connectrpc/connect';
import { DMError, isDMError } from '../errors/index.js';
import { DM_ERROR_HEADERS, fromConnectError } from '../rpc/errors.js';
import { ProcessErrorSchema } from '../gen/dm/common/v1/common_pb.js';
import { createCtlMasterClient, type CtlTLS, type MasterClient } from './master-client.js';
import { formatReply } from './output.js';

export const DEFAULT_MASTER_ADDR = '127.0.0.1:8261';
export const DEFAULT_RPC_TIMEOUT_MS = 10 * 60_000;

export interface GlobalOptions {
  masterAddrs: string[];
  rpcTimeoutMs: number;
  tls: CtlTLS;
  /** Bearer token sent with every call (`--token`, `--token-file`, config, $DM_TOKEN). */
  token?: string;
  /** Global `-s/--source` values. */
  sources: string[];
}

export interface CtlIO {
  out(text: string): void;
  err(text: string): void;
}

export const stdio: CtlIO = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
};

export interface CallOpts {
  timeoutMs: number;
  signal: AbortSignal;
}

export class CtlContext {
  /** `result` of the last reply printed (undefined when nothing was printed). */
  result: boolean | undefined;
  private readonly clients = new Map<string, MasterClient>();
  /** Index of the address that answered last; tried first next time. */
  private preferred = 0;

  constructor(
    public opts: GlobalOptions,
    readonly io: CtlIO = stdio,
    readonly signal: AbortSignal = new AbortController().signal,
  ) {}

  reply(o: Record<string, unknown>): void {
    this.result = o['result'] === true;
    this.io.out(formatReply(o));
  }

  /** Print `{"result": false, "msg": ...}` for an error (DM-style text for a DMError). */
  fail(e: unknown): void {
    const msg = isDMError(e) ? e.toString() : e instanceof Error ? e.message : String(e);
    this.reply({ result: false, msg });
  }

  /** Sources from the command's own -s merged with the global -s. */
  sources(own: readonly string[] | undefined): string[] {
    return [...new Set([...(own ?? []), ...this.opts.sources])];
  }

  private client(addr: string): MasterClient {
    let c = this.clients.get(addr);
    if (!c) {
      c = createCtlMasterClient(addr, this.opts.tls, this.opts.token);
      this.clients.set(addr, c);
    }
    return c;
  }

  /**
   * Call a dm-master, trying each `--master-addr` in turn (starting with the last one that
   * answered) while they are unreachable. Other errors are returned at once as DMError.
   */
  async call<R>(fn: (c: MasterClient, o: CallOpts) => Promise<R>): Promise<R> {
    const addrs = this.opts.masterAddrs;
    if (addrs.length === 0) throw new DMError('ErrCtlInvalidArgs', '--master-addr is empty');
    const tried: string[] = [];
    let last: unknown;
    for (let i = 0; i < addrs.length; i++) {
      const idx = (this.preferred + i) % addrs.length;
      const addr = addrs[idx] ?? '';
      tried.push(addr);
      try {
        const r = await fn(this.client(addr), { timeoutMs: this.opts.rpcTimeoutMs, signal: this.signal });
        this.preferred = idx;
        return r;
      } catch (e) {
        last = e;
        if (!isUnreachable(e)) throw fromConnectError(e);
      }
    }
    const why = last instanceof Error ? last.message : String(last);
    throw new DMError('ErrCtlMasterUnreachable', `cannot reach any dm-master (tried ${tried.join(', ')}): ${why}`);
  }
}

/**
 * Whether a call failed in transport, before any dm-master answered (refused, reset, no route,
 * unknown host): only then is the next `--master-addr` tried. An error a dm-master raised
 * carries its DM code (error detail or `dm-error-code` metadata), even when its Connect code is
 * Unavailable (a retryable DM error such as 10008, the source database unreachable): it is the
 * answer, printed once with its own code, and the request is not sent again to another master.
 */
export function isUnreachable(e: unknown): boolean {
  if (e instanceof ConnectError) {
    if (e.code !== Code.Unavailable) return false;
    const fromServer = e.findDetails(ProcessErrorSchema).length > 0 || e.metadata.get(DM_ERROR_HEADERS.code) !== null;
    return !fromServer;
  }
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ENOTFOUND';
}
