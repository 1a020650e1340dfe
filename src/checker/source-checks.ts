/**
 * Checks against one upstream source: privileges, binlog settings, version, GTID, meta
 * position and table keys.
 */
import type { TableName } from '../filter/types.js';
import { flavorOfVersion } from '../sql/index.js';
import type { CheckConn } from './conn.js';
import { hasGlobal, hasOnTable, parseGrants, type Grants } from './grants.js';
import { hasNotNullUniqueKey, tableFactsKey, type TableFacts } from './table-facts.js';
import type { CheckSource } from './types.js';
import { fail, pass, warn, type Verdict } from './verdict.js';

const SYSTEM_SCHEMAS = new Set(['mysql', 'information_schema', 'performance_schema', 'sys']);

export interface SourceFacts {
  version: string;
  isMariaDB: boolean;
  grants: Grants;
  /** Migrated tables (after the block-allow list). */
  tables: TableName[];
}

export async function gatherSourceFacts(c: CheckConn, src: CheckSource): Promise<SourceFacts> {
  const version = await c.scalar('SELECT VERSION()');
  const grants = parseGrants(await c.grants());
  const rows = await c.rows<{ s: string; t: string }>(
    "SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY 1, 2",
  );
  const filter = src.tableFilter ?? ((t: TableName) => t.schema.toLowerCase() !== 'dm_meta');
  const tables = rows
    .map((r) => ({ schema: r.s, table: r.t }))
    .filter((t) => !SYSTEM_SCHEMAS.has(t.schema.toLowerCase()))
    .filter(filter);
  return { version, isMariaDB: flavorOfVersion(version) === 'mariadb', grants, tables };
}

export function checkDumpPrivilege(f: SourceFacts): Verdict {
  const noSelect = f.tables.filter((t) => !hasOnTable(f.grants, 'SELECT', t.schema, t.table));
  if (noSelect.length > 0) {
    const names = noSelect.slice(0, 5).map((t) => `\`${t.schema}\`.\`${t.table}\``).join(', ');
    return fail(
      `the source user lacks SELECT on ${noSelect.length} migrated table(s): ${names}`,
      'GRANT SELECT ON the migrated schemas (or *.*) TO the user in the source config.',
    );
  }
  const canLock = f.tables.length > 0 && f.tables.every((t) => hasOnTable(f.grants, 'LOCK TABLES', t.schema, t.table));
  if (!hasGlobal(f.grants, 'RELOAD') && !canLock) {
    return fail(
      'the source user has neither RELOAD (for FLUSH TABLES WITH READ LOCK) nor LOCK TABLES on the migrated tables, so no consistent snapshot can be taken',
      'GRANT RELOAD ON *.* (or LOCK TABLES ON the migrated schemas) TO the user in the source config.',
    );
  }
  return pass('the source user has SELECT and RELOAD/LOCK TABLES');
}

export function checkReplicationPrivilege(f: SourceFacts): Verdict {
  const missing = ['REPLICATION SLAVE', 'REPLICATION CLIENT'].filter((p) => !hasGlobal(f.grants, p));
  if (missing.length > 0) {
    return fail(
      `the source user lacks ${missing.join(' and ')}`,
      `GRANT ${missing.join(', ')} ON *.* TO the user in the source config (on MariaDB >= 10.5 REPLICATION CLIENT is called BINLOG MONITOR).`,
    );
  }
  return pass('the source user has REPLICATION SLAVE and REPLICATION CLIENT');
}

function parseVersion(v: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
}

export function checkVersion(f: SourceFacts): Verdict {
  const [maj, min] = parseVersion(f.version);
  if (f.isMariaDB) {
    if (maj < 10 || (maj === 10 && min < 1)) {
      return fail(`MariaDB ${f.version} is not supported`, 'Upgrade the source to MariaDB 10.1 or later (10.5+ recommended).');
    }
    if (maj === 10 && min < 5) {
      return warn(`MariaDB ${f.version} lacks binlog_row_metadata`, 'Use MariaDB 10.5 or later so replay across ALTER TABLE is safe.');
    }
    return pass(`MariaDB ${f.version}`);
  }
  if (maj < 5 || (maj === 5 && min < 6)) {
    return fail(`MySQL ${f.version} is not supported`, 'Upgrade the source to MySQL 5.6 or later.');
  }
  if (maj > 8) return warn(`MySQL ${f.version} is newer than the tested versions (5.6–8.x)`, 'Test the migration before relying on it.');
  return pass(`MySQL ${f.version}`);
}

export async function checkServerId(c: CheckConn): Promise<Verdict> {
  const id = Number(await c.variable('server_id'));
  if (!Number.isFinite(id) || id <= 0) {
    return fail('the source server_id is 0', 'Set a non-zero `server-id` in the source my.cnf and restart it.');
  }
  return pass(`server_id = ${id}`);
}

export async function checkBinlogEnable(c: CheckConn): Promise<Verdict> {
  const v = (await c.variable('log_bin'))?.toUpperCase();
  if (v !== 'ON' && v !== '1') {
    return fail('the source binlog is off (log_bin=OFF)', 'Start the source with `log-bin=mysql-bin` (and a server-id).');
  }
  return pass('log_bin = ON');
}

export async function checkBinlogFormat(c: CheckConn): Promise<Verdict> {
  const v = (await c.variable('binlog_format'))?.toUpperCase() ?? '';
  if (v !== 'ROW') {
    return fail(`the source binlog_format is ${v || 'unknown'}, not ROW`, "Run `SET GLOBAL binlog_format = 'ROW'` on the source (and set it in my.cnf); existing sessions keep the old value.");
  }
  return pass('binlog_format = ROW');
}

export async function checkBinlogRowImage(c: CheckConn): Promise<Verdict> {
  const v = (await c.variable('binlog_row_image'))?.toUpperCase();
  if (v === undefined) return pass('binlog_row_image not supported by this server (always FULL)');
  if (v !== 'FULL') {
    return fail(`the source binlog_row_image is ${v}, not FULL`, "Run `SET GLOBAL binlog_row_image = 'FULL'` on the source (and set it in my.cnf).");
  }
  return pass('binlog_row_image = FULL');
}

export async function checkBinlogRowMetadata(c: CheckConn): Promise<Verdict> {
  const v = (await c.variable('binlog_row_metadata'))?.toUpperCase();
  if (v === undefined) {
    return warn(
      'the source has no binlog_row_metadata (MariaDB < 10.5 / MySQL < 8.0.1): rows written before an ALTER TABLE cannot be decoded safely',
      'Upgrade the source, or make sure the task starts after the last DDL of each migrated table.',
    );
  }
  if (v !== 'FULL') {
    return warn(
      `the source binlog_row_metadata is ${v}, not FULL: rows written before an ALTER TABLE cannot be decoded safely`,
      "Run `SET GLOBAL binlog_row_metadata = 'FULL'` on the source (and set it in my.cnf).",
    );
  }
  return pass('binlog_row_metadata = FULL');
}

export async function checkGtid(c: CheckConn, f: SourceFacts, src: CheckSource): Promise<Verdict> {
  if (!src.enableGtid) return pass('enable-gtid is false: positions are tracked by binlog file and offset');
  if (f.isMariaDB) {
    const strict = await c.variable('gtid_strict_mode');
    return pass(`MariaDB GTIDs are always on (gtid_strict_mode=${strict ?? 'unknown'})`);
  }
  const mode = (await c.variable('gtid_mode'))?.toUpperCase();
  if (mode !== 'ON') {
    return fail(
      `enable-gtid is true but the source gtid_mode is ${mode ?? 'unsupported'}`,
      'Set gtid_mode=ON and enforce_gtid_consistency=ON on the source, or set `enable-gtid: false` in the source config.',
    );
  }
  const enforce = (await c.variable('enforce_gtid_consistency'))?.toUpperCase();
  if (enforce !== 'ON') {
    return warn(`enforce_gtid_consistency is ${enforce ?? 'unknown'}`, 'Set enforce_gtid_consistency=ON on the source.');
  }
  return pass('gtid_mode = ON');
}

/** Parse a MariaDB GTID list `0-1-10,1-2-5` into domain → {server, seq}. */
function parseMariaGtids(s: string): Map<number, bigint> {
  const m = new Map<number, bigint>();
  for (const part of s.split(',')) {
    const t = part.trim();
    if (!t) continue;
    const mm = /^(\d+)-(\d+)-(\d+)$/.exec(t);
    if (!mm) throw new Error(`'${t}' is not a MariaDB GTID (domain-server-seq)`);
    m.set(Number(mm[1]), BigInt(mm[3] ?? '0'));
  }
  return m;
}

export async function checkMetaPosition(c: CheckConn, f: SourceFacts, src: CheckSource): Promise<Verdict> {
  const meta = src.meta;
  const noMeta = !meta || (!meta.binlogName && meta.binlogGtid === undefined);
  if (noMeta) {
    return warn(
      'no `meta` is given for this source: an incremental task starts from its checkpoint and fails when there is none',
      'Set `meta: {binlog-name, binlog-pos}` (or `binlog-gtid`) for the source in mysql-instances.',
    );
  }
  const logs = await c.rows<{ Log_name: string; File_size: string | number }>('SHOW BINARY LOGS');
  if (src.enableGtid && meta.binlogGtid) {
    if (f.isMariaDB) {
      let want: Map<number, bigint>;
      try {
        want = parseMariaGtids(meta.binlogGtid);
      } catch (e) {
        return fail(`meta binlog-gtid is invalid: ${(e as Error).message}`, 'Give binlog-gtid as a MariaDB GTID list, e.g. `0-1-100`.');
      }
      const oldest = logs[0]?.Log_name;
      const startPos = oldest ? await c.scalar('SELECT BINLOG_GTID_POS(?, 4)', [oldest]) : '';
      const current = parseMariaGtids(await c.scalar('SELECT @@GLOBAL.gtid_binlog_pos'));
      for (const [domain, seq] of parseMariaGtids(startPos)) {
        const w = want.get(domain);
        if (w !== undefined && w < seq) {
          return fail(
            `meta binlog-gtid ${meta.binlogGtid} is purged: the oldest binlog ${oldest ?? ''} starts after ${domain}-…-${seq}`,
            'Start the task in mode `all`, or pick a meta position that is still in the source binlogs (SHOW BINARY LOGS).',
          );
        }
      }
      for (const [domain, seq] of want) {
        const cur = current.get(domain);
        if (cur === undefined || seq > cur) {
          return fail(
            `meta binlog-gtid ${meta.binlogGtid} is not in the source binlog (gtid_binlog_pos is ${[...current].map(([d, s]) => `${d}-?-${s}`).join(',') || 'empty'})`,
            'Check binlog-gtid: it must be a GTID the source has written (SELECT @@gtid_binlog_pos).',
          );
        }
      }
      return pass(`meta binlog-gtid ${meta.binlogGtid} is available`);
    }
    try {
      const purgedOk = await c.scalar('SELECT GTID_SUBSET(@@GLOBAL.gtid_purged, ?)', [meta.binlogGtid]);
      const existsOk = await c.scalar('SELECT GTID_SUBSET(?, @@GLOBAL.gtid_executed)', [meta.binlogGtid]);
      if (purgedOk !== '1') {
        return fail(`meta binlog-gtid ${meta.binlogGtid} is purged on the source`, 'Start the task in mode `all`, or pick a GTID set that includes @@gtid_purged.');
      }
      if (existsOk !== '1') {
        return fail(`meta binlog-gtid ${meta.binlogGtid} is not a subset of the source gtid_executed`, 'Check binlog-gtid against SELECT @@gtid_executed.');
      }
    } catch (e) {
      return fail(`meta binlog-gtid ${meta.binlogGtid} is invalid: ${(e as Error).message}`, 'Give binlog-gtid as a MySQL GTID set, e.g. `uuid:1-100`.');
    }
    return pass(`meta binlog-gtid ${meta.binlogGtid} is available`);
  }
  if (!meta.binlogName && meta.binlogGtid === '') {
    // the empty GTID set: from the oldest binlog, which must still hold the first transaction
    const oldest = logs[0]?.Log_name;
    const before = !oldest ? '' : f.isMariaDB ? await c.scalar('SELECT BINLOG_GTID_POS(?, 4)', [oldest]) : await c.scalar('SELECT @@GLOBAL.gtid_purged');
    if (before !== '') {
      return fail(
        `meta binlog-gtid "" starts from the first transaction, but binlogs before ${oldest ?? ''} (GTIDs ${before}) have been purged`,
        'Start the task in mode `all`, or give a binlog-gtid / binlog-name that the source still has (SHOW BINARY LOGS).',
      );
    }
    return pass(`meta binlog-gtid "" starts from the oldest binlog ${oldest ?? ''}`);
  }
  if (!meta.binlogName) {
    return fail('meta has no binlog-name (and enable-gtid is false)', 'Set `meta: {binlog-name, binlog-pos}` for the source.');
  }
  const pos = meta.binlogPos ?? 4;
  const found = logs.find((l) => l.Log_name === meta.binlogName);
  if (!found) {
    const first = logs[0]?.Log_name ?? '';
    const purged = first !== '' && meta.binlogName < first;
    return fail(
      purged
        ? `meta binlog ${meta.binlogName} has been purged (oldest binlog on the source is ${first})`
        : `meta binlog ${meta.binlogName} does not exist on the source (binlogs: ${first} … ${logs[logs.length - 1]?.Log_name ?? ''})`,
      purged
        ? 'Start the task in mode `all`, or pick a position still in the source binlogs (SHOW BINARY LOGS).'
        : 'Fix binlog-name in the task meta; see SHOW BINARY LOGS on the source.',
    );
  }
  if (pos > Number(found.File_size)) {
    return fail(
      `meta position ${meta.binlogName}:${pos} is past the end of the file (${String(found.File_size)} bytes)`,
      'Fix binlog-pos in the task meta; see SHOW BINARY LOGS / SHOW MASTER STATUS on the source.',
    );
  }
  return pass(`meta position ${meta.binlogName}:${pos} is available`);
}

export function checkTableSchema(f: SourceFacts, facts: ReadonlyMap<string, TableFacts>): Verdict {
  if (f.tables.length === 0) {
    return warn('the task migrates no table from this source', 'Check block-allow-list: no source table matches it.');
  }
  const bad = f.tables.filter((t) => !hasNotNullUniqueKey(facts.get(tableFactsKey(t))));
  if (bad.length > 0) {
    const names = bad.slice(0, 5).map((t) => `\`${t.schema}\`.\`${t.table}\``).join(', ');
    return warn(
      `${bad.length} migrated table(s) have neither a primary key nor a not-null unique key: ${names}${bad.length > 5 ? ', …' : ''}`,
      'Add a primary key; without one, updates and deletes match rows by all columns, are slow, and duplicate rows cannot be told apart.',
    );
  }
  return pass(`all ${f.tables.length} migrated table(s) have a primary or not-null unique key`);
}

export interface ConnNeed {
  needed: number;
  maxConnections: number;
  connected: number;
}

export async function connCounts(c: CheckConn): Promise<{ maxConnections: number; connected: number }> {
  const max = Number(await c.variable('max_connections'));
  const rows = await c.rows<{ Value: string }>("SHOW GLOBAL STATUS LIKE 'Threads_connected'");
  return { maxConnections: max, connected: Number(rows[0]?.Value ?? 0) };
}

export function connVerdict(side: string, n: ConnNeed, what: string): Verdict {
  if (n.needed > n.maxConnections) {
    return fail(
      `${side} max_connections is ${n.maxConnections} but the task needs ${n.needed} connections (${what})`,
      `Raise max_connections on the ${side}, or lower the thread settings of the task.`,
    );
  }
  const free = n.maxConnections - n.connected;
  if (n.needed > free) {
    return warn(
      `${side} has ${free} free connections (max_connections ${n.maxConnections}, ${n.connected} in use) but the task needs ${n.needed} (${what})`,
      `Raise max_connections on the ${side}, or lower the thread settings of the task.`,
    );
  }
  return pass(`${side} allows ${free} more connections; the task needs ${n.needed} (${what})`);
}
