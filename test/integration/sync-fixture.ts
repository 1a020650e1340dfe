/**
 * Shared pieces of the sync unit's integration tests (real MariaDB source and target).
 */
import assert from 'node:assert/strict';
import { MariaDBServer, compareDatabases, describeDiffs, waitFor, type TableDiff } from '../helpers/index.js';
import type { TestContext } from 'node:test';
import { SyncUnit, type SyncConfig, type SyncUnitDeps, type SyncerSettings } from '../../src/units/sync/index.js';
import type { ProcessResult } from '../../src/units/unit.js';
import { DEFAULT_BINLOG_QUEUE_BYTES, DEFAULT_BINLOG_QUEUE_EVENTS, DEFAULT_SYNC_RETRY_TIMEOUT_MS } from '../../src/config/index.js';

let nextReaderId = 40_000 + (process.pid % 1000) * 20;

export async function masterPos(s: MariaDBServer): Promise<{ file: string; offset: number; gtid: string }> {
  const rows = await s.sql('SHOW MASTER STATUS');
  const r = rows[0] as { File: string; Position: number | string };
  const g = (await s.sql('SELECT @@gtid_binlog_pos AS g')) as { g: string }[];
  return { file: r.File, offset: Number(r.Position), gtid: g[0]?.g ?? '' };
}

/**
 * Complete sync unit settings for tests that build the unit directly (the unit has no defaults):
 * what is not given is what such tests always ran with — 16 appliers, batch 100, a 1 s checkpoint
 * flush (fast, unlike the task default of 30 s), safe mode for twice the flush interval after an
 * unclean stop, and src/config's retry timeout and reader queue bounds.
 */
export function syncerSettings(s: Partial<SyncerSettings> = {}): SyncerSettings {
  const checkpointFlushIntervalMs = s.checkpointFlushIntervalMs ?? 1000;
  return {
    workerCount: 16,
    batch: 100,
    safeMode: false,
    retryTimeoutMs: DEFAULT_SYNC_RETRY_TIMEOUT_MS,
    maxQueueEvents: DEFAULT_BINLOG_QUEUE_EVENTS,
    maxQueueBytes: DEFAULT_BINLOG_QUEUE_BYTES,
    ...s,
    checkpointFlushIntervalMs,
    safeModeDurationSec: s.safeModeDurationSec ?? (2 * checkpointFlushIntervalMs) / 1000,
  };
}

export function syncConfig(source: MariaDBServer, target: MariaDBServer, over: Partial<SyncConfig> = {}): SyncConfig {
  return {
    taskName: 'test',
    sourceId: 'mysql-01',
    source: { ...source.connOpts(), flavor: 'mariadb', serverId: nextReaderId++ },
    target: target.connOpts(),
    metaSchema: 'dm_meta',
    syncer: syncerSettings({ workerCount: 4, batch: 50, checkpointFlushIntervalMs: 200, retryTimeoutMs: 60_000 }),
    ...over,
  };
}

/** Wait until every table of `schemas` is equal on both sides; returns the last diffs. */
export async function waitConverged(source: MariaDBServer, target: MariaDBServer, schemas: string[], timeoutMs = 60_000): Promise<TableDiff[]> {
  let last: TableDiff[] = [];
  try {
    await waitFor(
      'target converged',
      async () => {
        const all: TableDiff[] = [];
        for (const s of schemas) {
          const exists = await target.sql('SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [s]);
          if (Number(exists[0]?.['n']) === 0) return false;
          all.push(...(await compareDatabases(source.connOpts(), target.connOpts(), s)));
        }
        last = all;
        return all.every((d) => d.equal) ? all : false;
      },
      { timeoutMs, intervalMs: 300 },
    );
  } catch {
    /* fall through with the last diffs */
  }
  return last;
}

export { describeDiffs };

/**
 * The unit went through whatever the test did without surfacing an error: it is still Running;
 * pausing it ends process() canceled, with no errors.
 */
export async function assertRunningThenPause(unit: SyncUnit, running: ReturnType<SyncUnit['process']>): Promise<void> {
  const st = unit.status();
  assert.equal(st['stage'], 'Running', JSON.stringify(st['error']));
  unit.pause();
  const r = await running;
  assert.deepEqual(r.errors, []);
  assert.equal(r.isCanceled, true);
}

/** A sync unit that startSyncUnit() started. */
export interface StartedSyncUnit {
  unit: SyncUnit;
  ac: AbortController;
  /** Its process(): resolves when it pauses, stops or fails. */
  running: Promise<ProcessResult>;
  /** What process() resolved with so far (undefined while it runs): a unit that ended early. */
  early: () => ProcessResult | undefined;
}

/**
 * `new SyncUnit(cfg, deps)` (200 ms heartbeats unless deps say otherwise), init and process; when
 * the test ends the unit is closed, then `servers` are stopped.
 */
export async function startSyncUnit(t: TestContext, servers: readonly MariaDBServer[], cfg: SyncConfig, deps: SyncUnitDeps = {}): Promise<StartedSyncUnit> {
  const unit = new SyncUnit(cfg, { heartbeatMs: 200, ...deps });
  t.after(async () => {
    await unit.close();
    await Promise.all(servers.map((s) => s.stop()));
  });
  const ac = new AbortController();
  await unit.init(ac.signal);
  const running = unit.process(ac.signal);
  let ended: ProcessResult | undefined;
  void running.then((r) => (ended = r));
  return { unit, ac, running, early: () => ended };
}
