import type { Connection } from 'mysql2/promise';
import type { Logger } from '../../log/index.js';
import { DMError } from '../../errors/index.js';
import { SchemaTracker } from '../../binlog/index.js';
import type { Consistency } from './config.js';
import {
  classifyMySQLError,
  closeConnection as closeConn,
  connectSide as openConn,
  errnoOf as mysqlErrno,
  getMasterStatus,
  quoteTable,
  type ConnConfig,
  type MasterStatus,
  type MasterStatusOptions,
} from '../../sql/index.js';

/**
 * How the full phase reads the source's binlog position (src/sql's reader): a refused read is
 * ErrDumpPrivilege (naming the privilege to grant), other errors are the source side's.
 */
const SOURCE_POSITION: MasterStatusOptions = {
  refusedCode: 'ErrDumpPrivilege',
  classify: (e, what) => classifyMySQLError(e, 'source', what),
};

/** The binlog position and GTID set the source has written so far. Needs REPLICATION CLIENT (MariaDB >= 10.5: BINLOG MONITOR). */
export function readMasterStatus(conn: Connection): Promise<MasterStatus> {
  return getMasterStatus(conn, SOURCE_POSITION);
}

/**
 * The snapshot's binlog position, where the task mode needs one. task-mode full never reads the
 * binlog: there (`optional`) a refused read or a disabled binlog gives an unknown position (empty
 * file name, logged) instead of an error. Other modes throw as readMasterStatus does.
 */
export function readPosition(conn: Connection, optional: boolean, log?: Logger): Promise<MasterStatus> {
  return getMasterStatus(conn, { ...SOURCE_POSITION, optional, ...(log ? { log } : {}) });
}

/**
 * A set of source connections that read the source as of one point of its binlog.
 *
 * - `flush` / `auto`: FLUSH TABLES WITH READ LOCK; `auto` falls back to `LOCK TABLES ... READ`
 *   on the migrated tables when FTWRL is refused (no RELOAD privilege).
 * - `lock`: LOCK TABLES ... READ on the migrated tables.
 *   Under the lock: read the binlog position + GTID, open `START TRANSACTION WITH CONSISTENT
 *   SNAPSHOT` on every connection, release the lock. `position` is exact.
 * - `snapshot`: no lock; every connection opens a consistent-snapshot transaction. The
 *   snapshots lie between `position` (read before) and `upperBound` (read after).
 * - `none`: no lock and no snapshot transaction; each chunk reads the then-current data.
 *   `upperBound` is only known once the reads end (see FullSession).
 *
 * Whenever the snapshot is not exact, sync must start at `position` and stay in safe mode until
 * it has passed the highest bound recorded (DESIGN.md §3).
 *
 * `schemas`: the structure of the snapshot's tables at `position` (the binlog schema tracker's
 * export format), read from information_schema under the lock, so no DDL can come between it and
 * the position; without a lock (`snapshot`/`none`) it is read right after the position.
 */
export interface SnapshotHandle {
  conns: Connection[];
  position: MasterStatus;
  /** Set when the connections' snapshots are not exactly at `position`. */
  upperBound?: MasterStatus;
  /** True when every connection holds a consistent-snapshot transaction. */
  transactional: boolean;
  consistency: Consistency;
  /** The lock actually used: 'ftwrl' | 'lock-tables' | 'none'. */
  lock: 'ftwrl' | 'lock-tables' | 'none';
  lockHoldMs: number;
  /** SchemaTracker.exportSchemas() of the snapshot's tables at `position`. */
  schemas: string;
}

/** Above this many tables the structures are read for their whole schemas (one query per schema) and filtered. */
const MAX_LISTED_TABLES = 500;

/** The tables' structures as the binlog schema tracker keeps them (its export format). */
export async function readStructures(conn: Connection, tables: readonly { schema: string; table: string }[]): Promise<string> {
  const tracker = new SchemaTracker();
  if (tables.length > 0) {
    const want = new Set(tables.map((t) => `${t.schema}\u0000${t.table}`));
    const include = (s: string, t: string): boolean => want.has(`${s}\u0000${t}`);
    const listed = tables.length <= MAX_LISTED_TABLES;
    await tracker.seedFromSource(conn, include, listed ? [...tables] : undefined, listed ? undefined : [...new Set(tables.map((t) => t.schema))]);
  }
  return tracker.exportSchemas();
}

/** Session settings for a dump connection: long write timeout because the loader applies backpressure. */
async function prepareDumpConn(conn: Connection): Promise<void> {
  await conn.query('SET SESSION net_write_timeout = 7200, SESSION net_read_timeout = 7200, SESSION wait_timeout = 28800');
}

async function openSnapshotConn(conn: Connection): Promise<void> {
  await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
}

/** Open one more source connection with its own consistent snapshot (no lock); returns the position read after it. */
export async function openReplacementConn(
  source: ConnConfig,
  transactional: boolean,
  positionOptional = false,
): Promise<{ conn: Connection; upperBound: MasterStatus }> {
  const conn = await openConn(source, 'source');
  try {
    await prepareDumpConn(conn);
    if (transactional) await openSnapshotConn(conn);
    const upperBound = await readPosition(conn, positionOptional);
    return { conn, upperBound };
  } catch (e) {
    await closeConn(conn);
    throw classifyMySQLError(e, 'source', 'open dump connection');
  }
}

function privilegeError(what: string, privilege: string, alternative: string, cause: unknown): DMError {
  return new DMError('ErrDumpPrivilege', `${what} was refused: the source user needs the ${privilege} privilege`, {
    cause,
    workaround: `GRANT ${privilege} ON *.* TO the source user, or add \`--consistency ${alternative}\` to \`extra-args\` in the task's \`mydumpers\` block.`,
  });
}

const DENIED = new Set([1044, 1142, 1227, 1045]);

export async function takeSnapshot(opts: {
  source: ConnConfig;
  consistency: Consistency;
  threads: number;
  tables: readonly { schema: string; table: string }[];
  log: Logger;
  signal: AbortSignal;
  /** task-mode full: a binlog position that cannot be read is recorded as unknown (readPosition). */
  positionOptional?: boolean;
}): Promise<SnapshotHandle> {
  const { source, consistency, log } = opts;
  const control = await openConn(source, 'source');
  const conns: Connection[] = [];
  let locked: SnapshotHandle['lock'] = 'none';
  let lockStart = 0;
  try {
    for (let i = 0; i < opts.threads; i++) {
      opts.signal.throwIfAborted();
      const c = await openConn(source, 'source');
      conns.push(c);
      await prepareDumpConn(c);
    }
    const lockTables = async (): Promise<void> => {
      if (opts.tables.length === 0) return;
      try {
        await control.query(`LOCK TABLES ${opts.tables.map((t) => `${quoteTable(t.schema, t.table)} READ`).join(', ')}`);
        locked = 'lock-tables';
      } catch (e) {
        if (DENIED.has(mysqlErrno(e) ?? 0)) throw privilegeError('LOCK TABLES', 'LOCK TABLES', 'none', e);
        throw classifyMySQLError(e, 'source', 'LOCK TABLES');
      }
    };
    lockStart = performance.now();
    if (consistency === 'flush' || consistency === 'auto') {
      try {
        await control.query('FLUSH TABLES WITH READ LOCK');
        locked = 'ftwrl';
      } catch (e) {
        const errno = mysqlErrno(e);
        if (consistency === 'auto' && errno !== undefined && DENIED.has(errno)) {
          log.warn({ errno }, 'flush tables with read lock refused, falling back to lock tables');
          lockStart = performance.now();
          await lockTables();
        } else if (errno !== undefined && DENIED.has(errno)) {
          throw privilegeError('FLUSH TABLES WITH READ LOCK', 'RELOAD', 'lock', e);
        } else throw classifyMySQLError(e, 'source', 'FLUSH TABLES WITH READ LOCK');
      }
    } else if (consistency === 'lock') {
      await lockTables();
    }
    const position = await readPosition(control, opts.positionOptional ?? false, log);
    const schemas = await readStructures(control, opts.tables);
    const transactional = consistency !== 'none';
    if (transactional) for (const c of conns) await openSnapshotConn(c);
    let upperBound: MasterStatus | undefined;
    let lockHoldMs = 0;
    if (locked !== 'none') {
      await control.query('UNLOCK TABLES');
      lockHoldMs = performance.now() - lockStart;
      log.info({ lock: locked, lockHoldMs: Math.round(lockHoldMs * 1000) / 1000, position }, 'consistent snapshot taken, lock released');
    } else {
      upperBound = await readPosition(control, opts.positionOptional ?? false);
      log.info({ consistency, position, upperBound }, 'snapshot taken without lock');
    }
    return {
      conns,
      position,
      ...(upperBound ? { upperBound } : {}),
      transactional,
      consistency,
      lock: locked,
      lockHoldMs,
      schemas,
    };
  } catch (e) {
    await Promise.all(conns.map((c) => closeConn(c)));
    throw e instanceof DMError ? e : classifyMySQLError(e, 'source', 'take snapshot');
  } finally {
    if (locked !== 'none') await control.query('UNLOCK TABLES').catch(() => undefined);
    await closeConn(control);
  }
}
