/**
 * Builds dmctl's commander program: global flags, every registered command, DM-style JSON
 * replies, argument errors as `result: false`.
 */
import { Command, CommanderError, Option } from 'commander';
import YAML from 'yaml';
import { versionText } from '../util/index.js';
import { DMError } from '../errors/index.js';
import { collectList, parseDurationMs, readFileArg } from './args.js';
import { CtlContext, DEFAULT_MASTER_ADDR, DEFAULT_RPC_TIMEOUT_MS, type CtlIO, type GlobalOptions } from './context.js';
import { allCommands } from './registry.js';
import './commands/index.js';

export interface RawGlobalFlags {
  masterAddr?: string;
  rpcTimeout?: number;
  sslCa?: string;
  sslCert?: string;
  sslKey?: string;
  token?: string;
  tokenFile?: string;
  source?: string[];
  config?: string;
}

/** Read a dmctl config file (DM's dmctl.toml `key = "value"` lines, or YAML). */
export function readCtlConfig(path: string): Record<string, string> {
  const text = readFileArg(path, 'dmctl config file');
  const out: Record<string, string> = {};
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch {
    doc = undefined;
  }
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) {
    for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
      if (typeof v === 'string' || typeof v === 'number') out[k] = String(v);
    }
    return out;
  }
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z0-9_-]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m?.[1] || line.trim().startsWith('#')) continue;
    out[m[1]] = (m[2] ?? '').replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
  }
  return out;
}

/** Global flags (and the --config file) → options. Flags win over the file. */
export function resolveGlobals(f: RawGlobalFlags): GlobalOptions {
  const file = f.config ? readCtlConfig(f.config) : {};
  const addrText = f.masterAddr ?? file['master-addr'] ?? DEFAULT_MASTER_ADDR;
  const masterAddrs = addrText
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a.length > 0);
  if (masterAddrs.length === 0) throw new DMError('ErrCtlInvalidArgs', '--master-addr is empty');
  let rpcTimeoutMs = f.rpcTimeout ?? DEFAULT_RPC_TIMEOUT_MS;
  if (f.rpcTimeout === undefined && file['rpc-timeout']) rpcTimeoutMs = parseDurationMs(file['rpc-timeout']);
  const ca = f.sslCa ?? file['ssl-ca'];
  const cert = f.sslCert ?? file['ssl-cert'];
  const key = f.sslKey ?? file['ssl-key'];
  // Bearer token: --token, else --token-file, else the config file's token / token-file, else $DM_TOKEN.
  let token = f.token ?? (f.tokenFile ? undefined : file['token']);
  const tokenFile = f.token ? undefined : (f.tokenFile ?? (token ? undefined : file['token-file']));
  if (tokenFile) token = readFileArg(tokenFile, 'token file').trim();
  token ??= process.env['DM_TOKEN'] || undefined;
  return {
    masterAddrs,
    rpcTimeoutMs,
    tls: { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) },
    ...(token ? { token } : {}),
    sources: f.source ?? [],
  };
}

const QUIET_CODES = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version', 'commander.executeSubCommandAsync']);

/**
 * The program. With `withGlobals` (one-shot mode) it has the global flags and sets
 * `ctx.opts` from them before a command runs; the REPL builds it without them.
 */
export function buildProgram(ctx: CtlContext, withGlobals: boolean, onNoCommand?: () => Promise<void>): Command {
  const program = new Command('dmctl');
  program
    .description('DM.ts control tool: manage dm-master, dm-worker, sources and tasks')
    .usage(withGlobals ? '[--master-addr host:port,...] [global flags] <command> [args]' : '<command> [args]')
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({
      writeOut: (s) => ctx.io.out(s),
      writeErr: (s) => ctx.io.err(s),
      // the error is printed once, as the `result: false` reply runArgs makes of it
      outputError: () => undefined,
    });
  if (withGlobals) {
    program
      .option('--master-addr <addrs>', 'dm-master address(es), comma separated; the next is tried when one is down')
      .option('--rpc-timeout <duration>', 'RPC timeout, e.g. 30s, 10m (default 10m)', parseDurationMs)
      .option('--ssl-ca <path>', 'CA certificate for TLS')
      .option('--ssl-cert <path>', 'client certificate for TLS')
      .option('--ssl-key <path>', 'client key for TLS')
      .option('--token <token>', 'bearer token (visible to other local users in the process list: prefer --token-file or $DM_TOKEN)')
      .option('--token-file <path>', 'file holding the bearer token')
      .option('-s, --source <source-id>', 'source id(s) for commands that take sources; repeat or comma separate', collectList)
      .option('--config <path>', 'dmctl config file with master-addr (and rpc-timeout, ssl-*, token-file)')
      .version(versionText('dmctl'), '-V, --version', 'print the version');
    program.hook('preAction', () => {
      ctx.opts = resolveGlobals(program.opts<RawGlobalFlags>());
    });
  }
  for (const def of allCommands()) {
    const cmd = program.command(def.name, { hidden: def.hidden === true }).description(def.summary);
    if (def.aliases) for (const a of def.aliases) cmd.alias(a);
    def.build(cmd, ctx);
  }
  program.allowExcessArguments(true).action(async () => {
    const unknown = program.args[0];
    if (unknown !== undefined) {
      ctx.reply({ result: false, msg: new DMError('ErrCtlInvalidArgs', `unknown command '${unknown}'; run \`help\` for the list of commands`).toString() });
      return;
    }
    if (onNoCommand) {
      await onNoCommand();
      ctx.result = undefined; // the interactive session itself succeeded
    }
    else program.outputHelp();
  });
  program.addHelpText('after', '\nRun `dmctl <command> --help` for the flags of a command. Replies are JSON with "result": true|false.');
  return program;
}

export { Option };

/**
 * Run one dmctl command line (argv without node/script). Returns the exit code: 1 when the
 * reply's `result` is false or the arguments are wrong, 0 otherwise.
 */
export async function runArgs(ctx: CtlContext, program: Command, args: string[]): Promise<number> {
  ctx.result = undefined;
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (QUIET_CODES.has(e.code)) return 0;
      ctx.reply({ result: false, msg: new DMError('ErrCtlInvalidArgs', e.message.replace(/^error: /, '')).toString() });
      return 1;
    }
    ctx.fail(e);
    return 1;
  }
  return ctx.result === false ? 1 : 0;
}

export function newContext(io?: CtlIO, signal?: AbortSignal): CtlContext {
  return new CtlContext(
    { masterAddrs: [DEFAULT_MASTER_ADDR], rpcTimeoutMs: DEFAULT_RPC_TIMEOUT_MS, tls: {}, sources: [] },
    io,
    signal,
  );
}
