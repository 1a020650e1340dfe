import { mkdir, readFile, rename, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { DMError } from '../../errors/index.js';
import { chunkRows } from './config.js';
import { classifyMySQLError, closeConnection as closeConn, connectSide as openConn, quoteId, typeCastFor, type MasterStatus } from '../../sql/index.js';
import { planChunks, type ChunkDef } from './chunk-plan.js';
import { readMasterStatus } from './snapshot.js';
import { chunkBatches, makeRowEncoder, type BatchFormat } from './row-stream.js';
import type { FullSession } from './full-session.js';
import { takeSnapshot } from './snapshot.js';
import { readTableInfo, type SourceTableInfo } from './dump-table-info.js';

/**
 * task-mode dump: DM/mydumper-style files in the loader `dir`:
 *   `<db>-schema-create.sql`, `<db>.<tbl>-schema.sql`, `<db>.<tbl>.<n>.sql` (one INSERT per line),
 *   and `metadata` with the snapshot's binlog position and GTID, like mydumper's.
 * Data files are written to `*.tmp` and renamed when complete.
 */
export interface DumpMetadata {
  position: MasterStatus;
  /** Lock-free dumps only: the snapshots lie between position and upperBound (sync safe mode until it). */
  upperBound?: MasterStatus;
}

export function dumpFileName(schema: string, table: string, n: number): string {
  return `${schema}.${table}.${String(n).padStart(5, '0')}.sql`;
}

export function parseDumpFileName(f: string, tables: readonly { schema: string; table: string }[]): { schema: string; table: string; n: number } | undefined {
  const m = /^(.*)\.(\d{5,})\.sql$/.exec(f);
  if (!m) return undefined;
  const st = m[1] ?? '';
  const t = tables.find((x) => `${x.schema}.${x.table}` === st);
  return t ? { ...t, n: Number(m[2]) } : undefined;
}

function metadataText(p: MasterStatus, upper: MasterStatus | undefined, started: Date, finished: Date): string {
  const ts = (d: Date): string => d.toISOString().replace('T', ' ').slice(0, 19);
  const up = upper ? `SAFE MODE UNTIL:\n\tLog: ${upper.file}\n\tPos: ${upper.offset}\n\tGTID:${upper.gtid}\n\n` : '';
  return `Started dump at: ${ts(started)}\nSHOW MASTER STATUS:\n\tLog: ${p.file}\n\tPos: ${p.offset}\n\tGTID:${p.gtid}\n\n${up}Finished dump at: ${ts(finished)}\n`;
}

export async function readDumpMetadata(dir: string): Promise<DumpMetadata> {
  let text: string;
  try {
    text = await readFile(join(dir, 'metadata'), 'utf8');
  } catch (e) {
    throw new DMError('ErrLoadDumpDir', `no metadata file in dump directory ${dir}`, { cause: e });
  }
  const parse = (block: string): MasterStatus | undefined => {
    const log = /\tLog: (.+)/.exec(block)?.[1]?.trim();
    const pos = /\tPos: (\d+)/.exec(block)?.[1];
    const gtid = /\tGTID:(.*)/.exec(block)?.[1]?.trim() ?? '';
    if (!log || !pos) return undefined;
    return { file: log, offset: Number(pos), gtid, flavor: /^\d+-\d+-\d+/.test(gtid) || gtid === '' ? 'mariadb' : 'mysql' };
  };
  const [main = '', upper] = text.split('SAFE MODE UNTIL:');
  const position = parse(main);
  if (!position) throw new DMError('ErrLoadDumpDir', `metadata file in ${dir} has no binlog position`);
  const ub = upper ? parse(upper) : undefined;
  return ub ? { position, upperBound: ub } : { position };
}

function castOpt(cols: readonly { dataType: string }[]): BatchFormat {
  const typeCast = typeCastFor(cols);
  return typeCast ? { typeCast } : {};
}

async function writeChunkFile(dir: string, conn: Connection, info: SourceTableInfo, c: ChunkDef, where: string, signal: AbortSignal): Promise<number> {
  const name = join(dir, dumpFileName(c.schema, c.table, c.chunkNo));
  const cols = info.columns.filter((x) => !x.generated);
  const prefix = `INSERT INTO ${quoteId(c.table)} (${cols.map((x) => quoteId(x.name)).join(',')}) VALUES `;
  const fh = await open(`${name}.tmp`, 'w');
  let rows = 0;
  try {
    for await (const b of chunkBatches(conn, c, info.copyColumns, where, { encode: makeRowEncoder(cols), maxBytes: 1 << 20, signal, ...castOpt(cols) })) {
      await fh.write(`${prefix}${b.values};\n`);
      rows += b.rows;
    }
  } finally {
    await fh.close();
  }
  await rename(`${name}.tmp`, name);
  return rows;
}

export async function writeDumpFiles(session: FullSession, signal: AbortSignal): Promise<DumpMetadata> {
  const cfg = session.cfg;
  const dir = cfg.loader.dir;
  const started = new Date();
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw new DMError('ErrDumpWriteFile', `cannot create dump directory ${dir}`, { cause: e });
  }
  const src = await openConn(cfg.source, 'source');
  let snap;
  try {
    const selected = await session.selectTables(src);
    snap = await takeSnapshot({ source: cfg.source, consistency: cfg.mydumper.consistency, threads: cfg.mydumper.threads, tables: selected, log: session.log, signal });
    session.progress.lockHoldMs = snap.lockHoldMs;
    const infos: SourceTableInfo[] = [];
    const plan: ChunkDef[] = [];
    for (const t of selected) {
      const info = await readTableInfo(src, t.schema, t.table);
      infos.push(info);
      plan.push(...(await planChunks(src, info, chunkRows(cfg))));
    }
    const dbs = [...new Set(selected.map((t) => t.schema))];
    for (const db of dbs) {
      const [r] = await src.query(`SHOW CREATE DATABASE ${quoteId(db)}`);
      const sql = (r as Record<string, string | undefined>[])[0]?.['Create Database'] ?? `CREATE DATABASE ${quoteId(db)}`;
      await writeFile(join(dir, `${db}-schema-create.sql`), `${sql};\n`);
    }
    for (const info of infos) await writeFile(join(dir, `${info.schema}.${info.table}-schema.sql`), `${info.createSQL};\n`);
    const queue = [...plan];
    const byKey = new Map(infos.map((i) => [`${i.schema}.${i.table}`, i]));
    const s = snap;
    await Promise.all(
      s.conns.map(async (conn) => {
        for (;;) {
          const c = queue.shift();
          if (!c) return;
          const info = byKey.get(`${c.schema}.${c.table}`);
          if (info) await writeChunkFile(dir, conn, info, c, cfg.mydumper.where, signal);
        }
      }),
    );
    const position = snap.position;
    if (!snap.transactional) snap.upperBound = await readMasterStatus(src);
    await writeFile(join(dir, 'metadata'), metadataText(position, snap.upperBound, started, new Date()));
    session.log.info({ dir, tables: infos.length, files: plan.length, position, upperBound: snap.upperBound }, 'dump files written');
    return snap.upperBound ? { position, upperBound: snap.upperBound } : { position };
  } catch (e) {
    if (e instanceof DMError || signal.aborted) throw e;
    if ((e as { errno?: unknown }).errno !== undefined && typeof (e as { sqlMessage?: unknown }).sqlMessage === 'string')
      throw classifyMySQLError(e, 'source', 'dump');
    throw new DMError('ErrDumpWriteFile', `writing dump files to ${dir} failed`, { cause: e });
  } finally {
    await closeConn(src);
    if (snap) await Promise.all(snap.conns.map((c) => closeConn(c)));
  }
}
