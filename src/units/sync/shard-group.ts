/**
 * Shard DDL coordination, worker side: what the pessimist (shard-pessimist.ts) and the optimist
 * (shard-optimist.ts) share. The protocol with the master's lock keeper is src/store/shardddl.ts;
 * the etcd side of it is src/worker/shardddl-client.ts (its interface: shard-client.ts).
 *
 *   consumer.ts ─► ShardHandler.txn / .query ─► (held back, or) dispatch / ddl-apply.ts
 *                                            └► ShardDDLClient (etcd): info → operation → done
 *
 * The consumer pushes every transaction's and DDL's low-water-mark entry in binlog order, then
 * hands it to the handler; what the handler holds back keeps its entry pending, so the checkpoint
 * never passes it (a restart replays it; the target's ledger skips what was applied).
 *
 * A shard DDL the handler resolves (ran on the target, or skipped because another source's worker
 * ran it, or because the keeper said there is nothing to run) is recorded in the target's ledger
 * like any DDL: the ids of the DDL events of the round in one row. A replay that meets those ids
 * knows the round is over and never puts its info again, never runs the DDL again.
 */
import type { Pool } from 'mysql2/promise';
import type { Logger } from 'pino';
import type { QueryEvent } from '../../binlog/events.js';
import { SchemaTracker, type TrackedTable } from '../../binlog/schema-tracker.js';
import { DEFAULT_SHARD_HOLD_MEM_BYTES, DEFAULT_SHARD_HOLD_MIN_FREE_BYTES } from '../../config/index.js';
import { DMError } from '../../errors/index.js';
import type { TableName } from '../../filter/index.js';
import { connect, type ConnConfig } from '../../sql/index.js';
import type { SourceTables } from '../../store/shardddl.js';
import type { FailedEventHook } from './applier.js';
import type { ShardConfig } from './shard-client.js';
import type { SyncReader } from './binlog-source.js';
import type { CausalityScheduler } from './causality.js';
import type { CheckpointFlusher } from './checkpoint-flush.js';
import type { CheckpointStore } from './checkpoint.js';
import type { DDLApplier } from './ddl-apply.js';
import { HeldQueue } from './held-queue.js';
import { parseSyncDDL, routedDDL, type ParsedDDL } from './ddl.js';
import type { SyncFilters } from './filters.js';
import type { SyncMetrics } from './metrics.js';
import type { Counters, SyncLabels } from './sync-status.js';
import type { TargetRetry } from './target.js';
import type { LowWaterMark, TrackEntry } from './tracker.js';
import type { UpstreamTxn } from './txn.js';

export type { ShardConfig, ShardDDLClient } from './shard-client.js';

/** The consumer's side, given to the handler at the start of a run. */
export interface ShardAttach {
  /** Send a transaction on (ledger skip, or the scheduler). */
  dispatch(t: UpstreamTxn, stop: AbortSignal): Promise<void>;
  /** The ids the target's ledger holds above the checkpoint, and which of them are row keys. */
  ledger: Set<string>;
  rowKeys: Set<string>;
}

/** Shard coordination of one run of the sync unit (state rebuilt by every run from its replay). */
export interface ShardHandler {
  attach(c: ShardAttach): void;
  /** After the reader started, before the first event: list the source's shard tables. */
  start(stop: AbortSignal): Promise<void>;
  txn(t: UpstreamTxn, stop: AbortSignal): Promise<void>;
  query(ev: QueryEvent, gtid: string, firstOfRun: boolean, stop: AbortSignal): Promise<void>;
  /** For query-status (DM's `blockingDDLs` / `unresolvedGroups`). */
  status(): Record<string, unknown>;
  /** A heartbeat of the reader (the source is idle): work the handler can do without an event. */
  tick?(stop: AbortSignal): Promise<void>;
  /** The run ended (after the reader closed): release what the handler keeps (held events). */
  close?(): Promise<void>;
}

export interface ShardDeps {
  task: string;
  source: string;
  sourceConn: ConnConfig;
  cfg: ShardConfig;
  filters: SyncFilters;
  tracker: LowWaterMark;
  scheduler: Pick<CausalityScheduler, 'drain'>;
  checkpoint: Pick<CheckpointFlusher, 'flush' | 'schemasToSave'>;
  ddl: Pick<DDLApplier, 'handleQuery' | 'execDDL' | 'snapshotAtMark'>;
  reader: SyncReader;
  pool: Pool;
  store: Pick<CheckpointStore, 'ledgerInsertSQL'>;
  retry: TargetRetry;
  onFailed: FailedEventHook;
  totals: Pick<Counters, 'ddls' | 'skippedTxns'>;
  log: Logger;
  metrics: Pick<SyncMetrics, 'shardLockResolving'>;
  labels: SyncLabels;
}

export function tableKey(schema: string, table: string): string {
  return `${schema}\u0000${table}`;
}

export function splitKey(k: string): TableName {
  const i = k.indexOf('\u0000');
  return { schema: k.slice(0, i), table: k.slice(i + 1) };
}

/** DDL text compared across shards: the routed statement with its whitespace collapsed. */
export function normalizeForCompare(ddl: string): string {
  return ddl.replace(/\s+/g, ' ').trim().replace(/;$/, '');
}

/** What a QUERY event means for shard coordination. */
export type ShardDDL =
  /** Not coordinated: the ordinary DDL path (ddl-apply.ts), which also filters and reports parse errors. */
  | { kind: 'other'; tables: TableName[]; ddlType?: string }
  /** CREATE TABLE of shard tables: they join their groups; applied as usual (skipped when present). */
  | { kind: 'create'; tables: TableName[] }
  /** DROP TABLE of shard tables (routed to another name): they leave their groups; not applied to the merged table (DM). A table routed to itself is dropped as usual. */
  | { kind: 'drop'; tables: TableName[] }
  /** DROP DATABASE of a shard schema: its tables leave their groups; not applied (DM). */
  | { kind: 'drop database'; schema: string }
  /** TRUNCATE TABLE of a shard table: not applied to the merged table (DM). */
  | { kind: 'truncate'; table: TableName }
  /** RENAME of a shard table: refused (ErrSyncShardUnsupportedDDL). */
  | { kind: 'rename'; table: TableName }
  /** A structure change of one shard table: coordinated. `ddls` as they run on the target. */
  | { kind: 'alter'; up: TableName; down: TableName; ddls: string[] };

/**
 * The held-back queue of a shard coordinator under the subtask's shard settings: in memory, then
 * the spill file, 36104 at its limits (held-queue.ts). `describe`: what the held rows wait for.
 */
export function newHeldQueue<Q>(d: ShardDeps, describe: () => string): HeldQueue<Q> {
  const cfg = d.cfg;
  return new HeldQueue<Q>({
    memBytes: cfg.memHoldBytes ?? DEFAULT_SHARD_HOLD_MEM_BYTES,
    maxDiskBytes: cfg.maxHoldBytes,
    minFreeBytes: cfg.minFreeDiskBytes ?? DEFAULT_SHARD_HOLD_MIN_FREE_BYTES,
    ...(cfg.holdDir !== undefined ? { dir: cfg.holdDir } : {}),
    task: d.task,
    source: d.source,
    describe,
  });
}

/**
 * The upstream tables a classified DDL touches (those whose events must stay in order with it).
 * `known`: the shard tables the coordinator tracks, of which a DROP DATABASE touches its schema's.
 */
export function touchedTables(c: ShardDDL, known: () => Iterable<TableName>): TableName[] {
  switch (c.kind) {
    case 'other':
    case 'create':
    case 'drop':
      return c.tables;
    case 'drop database':
      return [...known()].filter((t) => t.schema === c.schema);
    case 'truncate':
    case 'rename':
      return [c.table];
    case 'alter':
      return [c.up];
  }
}

/** Classify a QUERY event (a DDL the event filter ignores or rejects is left to ddl-apply.ts). */
export function classifyShardDDL(ev: QueryEvent, filters: SyncFilters): ShardDDL {
  let p: ParsedDDL | undefined;
  try {
    p = parseSyncDDL(ev.sql, ev.schema);
  } catch {
    return { kind: 'other', tables: [] };
  }
  if (!p || p.temporary) return { kind: 'other', tables: [] };
  const other: ShardDDL = { kind: 'other', tables: p.tables, ddlType: p.type };
  if (p.database !== undefined) {
    if (p.type === 'drop database' && filters.includeSchema(p.database) && filters.routeSchema(p.database) !== p.database) return { kind: 'drop database', schema: p.database };
    return other;
  }
  const first = p.tables[0];
  if (!first) return other;
  const action = filters.ddlAction(first.schema, first.table, p.type, ev.sql);
  if (action !== 'Do') return other;
  const inc = (t: TableName): boolean => filters.includeTable(t.schema, t.table);
  /** Routed to another name: possibly one shard of a merged table (DROP / TRUNCATE of it are not applied). */
  const routed = (t: TableName): boolean => {
    const r = filters.route(t.schema, t.table);
    return r.schema !== t.schema || r.table !== t.table;
  };
  switch (p.type) {
    case 'create table':
      return inc(first) ? { kind: 'create', tables: [first] } : other;
    case 'drop table': {
      const tables = p.tables.filter((t) => inc(t) && routed(t));
      return tables.length > 0 ? { kind: 'drop', tables } : other;
    }
    case 'truncate table':
      return inc(first) && routed(first) ? { kind: 'truncate', table: first } : other;
    case 'rename table':
      for (let i = 0; i < p.tables.length; i += 2) {
        const from = p.tables[i];
        if (from && inc(from)) return { kind: 'rename', table: from };
      }
      return other;
    case 'alter table':
    case 'create index':
    case 'drop index': {
      if (!inc(first)) return other;
      if (p.alterSpecs.some((s) => s.action === 'rename table')) return { kind: 'rename', table: first };
      const down = filters.route(first.schema, first.table);
      const sql = routedDDL(p, (s, t) => filters.route(s, t), (s) => filters.routeSchema(s));
      return { kind: 'alter', up: first, down: { schema: down.schema, table: down.table }, ddls: [sql] };
    }
    default:
      return other;
  }
}

/** The base tables of the source the task replicates (block-allow list), as the shard groups start. */
export async function listSourceTables(conn: ConnConfig, filters: SyncFilters): Promise<TableName[]> {
  let c;
  try {
    c = await connect(conn);
  } catch (e) {
    throw new DMError('ErrSyncShardTableList', `cannot connect to the source ${conn.host}:${conn.port} to list the shard tables`, { cause: e });
  }
  try {
    const [rows] = await c.query(
      "SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ('mysql','information_schema','performance_schema','sys') ORDER BY TABLE_SCHEMA, TABLE_NAME",
    );
    return (rows as { s: string; t: string }[]).map((r) => ({ schema: String(r.s), table: String(r.t) })).filter((t) => filters.includeTable(t.schema, t.table));
  } catch (e) {
    throw new DMError('ErrSyncShardTableList', 'cannot list the tables of the source', { cause: e });
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** A table's structure out of a schema tracker snapshot (SchemaTracker.exportSchemas()). */
export function structureIn(snapshot: string | undefined, t: TableName): TrackedTable {
  const empty: TrackedTable = { schema: t.schema, table: t.table, columns: [], keyColumns: [], uniqueKeys: [], charset: null };
  if (!snapshot) return empty;
  const tr = new SchemaTracker();
  try {
    tr.importSchemas(snapshot);
  } catch {
    return empty;
  }
  const got = tr.get(t.schema, t.table);
  return got === undefined || got === 'unknown' ? empty : got;
}

/** etcd calls of the coordination: failures become ErrSyncShardCoordination (retryable: the task resumes). */
export async function coordinate<T>(what: string, fn: () => Promise<T>, stop: AbortSignal): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (stop.aborted) throw e;
    if (e instanceof DMError) throw e;
    throw new DMError('ErrSyncShardCoordination', `${what}: ${(e as Error).message}`, { cause: e });
  }
}

/** The ledger row of a shard DDL round that was not run here (skipped, or nothing to run). */
export async function ledgerOnly(d: ShardDeps, txns: readonly { id: string; pos: TrackEntry['pos'] }[], stop: AbortSignal): Promise<void> {
  const sql = `${d.store.ledgerInsertSQL(txns, true)} ON DUPLICATE KEY UPDATE is_ddl = 1`;
  await d.retry(async () => {
    await d.pool.query(sql);
  }, stop);
}

/** The upstream tables by target table, for SourceTables: `[downSchema][downTable][upSchema] = [upTable...]`. */
export function tablesByTarget(tables: Iterable<TableName>, filters: SyncFilters): SourceTables['tables'] {
  const out: SourceTables['tables'] = {};
  for (const t of tables) {
    const r = filters.route(t.schema, t.table);
    const bySchema = ((out[r.schema] ??= {})[r.table] ??= {});
    const list = (bySchema[t.schema] ??= []);
    if (!list.includes(t.table)) list.push(t.table);
  }
  return out;
}
