/**
 * Keys DM accepts that DM.ts does not implement yet. "Accepted means honoured": such a key set to
 * anything but its off value is refused with ErrConfigNotSupported (naming the key, what is
 * missing and the off value), never accepted and ignored. A key at its off value (or absent) is
 * fine. docs/configuration.md ("Not supported yet") lists the same keys; keep the two in step.
 *
 * Keys DM itself deprecated and ignores (`enable-heartbeat`, `remove-meta`, `meta-file`,
 * `max-retry`, ...) are not here: DM.ts ignores them as DM does.
 */
import type { KeyPath } from './yaml-doc.js';
import type { Problem } from './problems.js';
import { formatDuration } from './duration.js';
import { parseExtraArgs, UNDERSTOOD_EXTRA_ARGS } from './extra-args.js';

/** dm-master's rpc-* defaults (DM's), kept here to avoid an import cycle with cluster-config.ts. */
export const DEFAULT_RPC_TIMEOUT_MS = 30_000;
export const DEFAULT_RPC_RATE_LIMIT = 10;
export const DEFAULT_RPC_RATE_BURST = 40;

/** checker keys held as milliseconds (shown as durations). */
const CHECKER_DURATIONS = new Set(['backoffRollback', 'backoffMax', 'checkInterval', 'backoffMin']);

function notSupported(path: KeyPath, what: string, off: string): Problem {
  return {
    code: 'ErrConfigNotSupported',
    path,
    detail: `${what} is not supported by DM.ts yet; remove the key or set it to ${off}`,
  };
}

interface SyncerLike {
  compact: boolean;
  multipleRows: boolean;
  enableAnsiQuotes: boolean;
  queueSize: number;
}
/** `chunk-filesize` is not here: it only shapes DM's dump files (DM.ts chunks tables by `rows`). */
interface MydumperLike {
  statementSize?: number | undefined;
  skipTzUtc: boolean;
  extraArgs?: string;
}

/** DM's default `queue-size` (task-schema.ts has the same); other values are refused. */
const DEFAULT_QUEUE_SIZE = 1024;

/** The unit blocks and task keys of a raw (schema-parsed) task that are set but not implemented. */
export function unsupportedTaskKeys(raw: {
  collationCompatible: string;
  ansiQuotes: boolean;
  experimental: { asyncCheckpointFlush: boolean };
  mydumpers: Readonly<Record<string, MydumperLike>>;
  syncers: Readonly<Record<string, SyncerLike>>;
  mysqlInstances: readonly {
    mydumper?: MydumperLike | undefined;
    syncer?: SyncerLike | undefined;
  }[];
}): Problem[] {
  const out: Problem[] = [];
  // online-ddl / online-ddl-scheme / shadow-table-rules / trash-table-rules: honoured
  // (src/filter/online-ddl.ts, src/units/sync/online-ddl.ts; their values are checked in task.ts)
  if (raw.collationCompatible === 'strict') {
    out.push(notSupported(['collation_compatible'], 'collation_compatible: strict (adding the source collation to CREATE statements)', 'loose'));
  }
  if (raw.ansiQuotes) out.push(notSupported(['ansi-quotes'], 'parsing DDL with ANSI_QUOTES', 'false'));
  if (raw.experimental.asyncCheckpointFlush) {
    out.push(notSupported(['experimental', 'async-checkpoint-flush'], 'asynchronous checkpoint flush', 'false'));
  }
  const syncer = (at: KeyPath, s: SyncerLike): void => {
    if (s.compact) out.push(notSupported([...at, 'compact'], 'syncer compact (merging changes of one key)', 'false'));
    if (s.multipleRows) out.push(notSupported([...at, 'multiple-rows'], 'syncer multiple-rows (multi-row DML statements)', 'false'));
    if (s.enableAnsiQuotes) out.push(notSupported([...at, 'enable-ansi-quotes'], 'parsing DDL with ANSI_QUOTES', 'false'));
    if (s.queueSize !== DEFAULT_QUEUE_SIZE) {
      out.push(notSupported([...at, 'queue-size'], 'sizing the syncer queues (DM.ts bounds its queues by count and bytes itself)', `its default ${DEFAULT_QUEUE_SIZE}`));
    }
  };
  const mydumper = (at: KeyPath, m: MydumperLike): void => {
    if (m.statementSize !== undefined) {
      out.push(notSupported([...at, 'statement-size'], 'limiting the size of dumped INSERT statements', 'nothing (remove it)'));
    }
    if (!m.skipTzUtc) {
      out.push(notSupported([...at, 'skip-tz-utc'], 'dumping TIMESTAMP values in the source session time zone (DM.ts always reads them in UTC)', 'true'));
    }
    // the flags DM.ts understands are folded into the dump settings (src/config/extra-args.ts)
    for (const p of parseExtraArgs(m.extraArgs ?? '').problems) {
      out.push(notSupported([...at, 'extra-args'], p, `"" (or keep only ${UNDERSTOOD_EXTRA_ARGS})`));
    }
  };
  for (const [name, m] of Object.entries(raw.mydumpers)) mydumper(['mydumpers', name], m);
  for (const [name, s] of Object.entries(raw.syncers)) syncer(['syncers', name], s);
  raw.mysqlInstances.forEach((inst, i) => {
    if (inst.mydumper) mydumper(['mysql-instances', i, 'mydumper'], inst.mydumper);
    if (inst.syncer) syncer(['mysql-instances', i, 'syncer'], inst.syncer);
  });
  return out;
}

/** Source keys set but not implemented (the source's own relay-dir, the task checker's tuning). */
export function unsupportedSourceKeys(
  raw: { relayDir: string; caseSensitive: boolean; checker: Readonly<Record<string, unknown>> },
  checkerDefaults: Readonly<Record<string, unknown>>,
  defaultRelayDir: string,
): Problem[] {
  const out: Problem[] = [];
  // the relay lives in the worker's relay-dir (DM >= 5.4 prefers it too); a per-source one is not read
  if (raw.relayDir !== defaultRelayDir) {
    out.push(notSupported(['relay-dir'], 'a relay directory in the source config (the relay is kept in the worker config\'s `relay-dir`)', 'remove it and set `relay-dir` in dm-worker.yaml'));
  }
  // the source's own event filters are matched with the task's `case-sensitive`
  if (raw.caseSensitive) {
    out.push(notSupported(['case-sensitive'], "case-sensitive matching of the source's filters (case-sensitive: true in the source config)", "false (set `case-sensitive: true` in the task instead: it applies to the source's filters too)"));
  }
  // the task checker's tuning: DM.ts resumes paused tasks with its fixed backoff (1 s doubling to 5 min)
  for (const [field, dflt] of Object.entries(checkerDefaults)) {
    if (raw.checker[field] !== dflt) {
      const key = field.replace(/[A-Z]/g, (ch) => `-${ch.toLowerCase()}`);
      out.push(
        notSupported(
          ['checker', key],
          `tuning the automatic resume of paused tasks (checker.${key})`,
          `its default ${CHECKER_DURATIONS.has(field) && typeof dflt === 'number' ? formatDuration(dflt) : JSON.stringify(dflt)} (or remove the checker block)`,
        ),
      );
    }
  }
  return out;
}

/** dm-master keys set but not implemented. */
export function unsupportedMasterKeys(raw: {
  rpcTimeout: number;
  rpcRateLimit: number;
  rpcRateBurst: number;
  openapi: boolean;
  experimental: { openapi: boolean };
  v1SourcesPath?: string | undefined;
}): Problem[] {
  const out: Problem[] = [];
  // DM's limits on the master's calls to workers; DM.ts's calls have their own fixed timeouts
  if (raw.rpcTimeout !== DEFAULT_RPC_TIMEOUT_MS) out.push(notSupported(['rpc-timeout'], 'rpc-timeout (the timeout of dm-master calls to dm-workers)', 'its default "30s"'));
  if (raw.rpcRateLimit !== DEFAULT_RPC_RATE_LIMIT) out.push(notSupported(['rpc-rate-limit'], 'rate-limiting dm-master calls to dm-workers', `its default ${DEFAULT_RPC_RATE_LIMIT}`));
  if (raw.rpcRateBurst !== DEFAULT_RPC_RATE_BURST) out.push(notSupported(['rpc-rate-burst'], 'rate-limiting dm-master calls to dm-workers', `its default ${DEFAULT_RPC_RATE_BURST}`));
  // openapi / experimental.openapi: served under /api/v1 (src/master/openapi/)
  if (raw.v1SourcesPath !== undefined && raw.v1SourcesPath !== '') {
    out.push(notSupported(['v1-sources-path'], 'upgrading from DM v1.0 (v1-sources-path)', '"" (create the sources with operate-source create)'));
  }
  return out;
}

/** DM's `relay-keepalive-ttl` default (30 min); cluster-config.ts has the same. */
export const DEFAULT_RELAY_KEEPALIVE_TTL_MS = 1_800_000;

/**
 * dm-worker keys set but not implemented (`cert-allowed-cn` is honoured, see docs/security.md).
 * `relay-keepalive-ttl`: DM re-grants the worker's lease with this TTL while it runs a relay (so a
 * relay worker that goes down keeps its source longer); DM.ts keeps `keepalive-ttl` for every
 * worker, so only DM's default (what a DM file usually carries) is accepted.
 */
export function unsupportedWorkerKeys(raw: { relayKeepaliveTtl: number }): Problem[] {
  const out: Problem[] = [];
  if (raw.relayKeepaliveTtl !== DEFAULT_RELAY_KEEPALIVE_TTL_MS) {
    out.push(notSupported(['relay-keepalive-ttl'], 'a separate lease TTL for a worker running a relay (relay-keepalive-ttl; DM.ts uses keepalive-ttl for every worker)', 'its default "30m" (or remove it)'));
  }
  return out;
}
