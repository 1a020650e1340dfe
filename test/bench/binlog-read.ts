/**
 * Micro benchmark: decode a binlog backlog with the reader and print events/s and rows/s, next
 * to raw @vlasky/zongji decoding the same binlog in the same run (the ceiling the reader is
 * measured against).
 *   node --import tsx test/bench/binlog-read.ts [rows=200000] [rowsPerTxn=100] [rowsPerStatement=1] [modes=raw,reader] [repeat=1] [workload=insert]
 * Starts its own MariaDB (test/helpers), writes the backlog once, then times each mode `repeat`
 * times. rowsPerStatement=1 gives one rows event per row (OLTP-like); 100 gives many-row events.
 * workload=oltp: sysbench oltp_write_only's shape instead (sbtest table of 10k rows; each
 * transaction updates k, updates c, deletes and re-inserts one row: 4 one-row events; rows/4
 * transactions; rowsPerTxn and rowsPerStatement are ignored).
 * Profile of the read phase only: BINLOG_BENCH_PROF=/tmp/x (writes /tmp/x.<mode>.<n>.cpuprofile).
 * BENCH_QUEUE=n sets the reader's maxQueueEvents. The reader installs a process-wide,
 * result-identical zongji patch (src/binlog/zongji-fastpath.ts): list `raw` first for an
 * unpatched raw figure.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import ZongJi from '@vlasky/zongji';
import type { AnyBinlogEvent } from '@vlasky/zongji';
import { MariaDBServer } from '../helpers/index.js';
import { createBinlogReader, getMasterStatus, type BinlogEvent, type Position } from '../../src/binlog/index.js';

const ROWS = Number(process.argv[2] ?? 200_000);
const PER_TXN = Number(process.argv[3] ?? 100);
const PER_STMT = Math.max(1, Number(process.argv[4] ?? 1));
const MODES = (process.argv[5] ?? 'raw,reader').split(',');
const REPEAT = Math.max(1, Number(process.argv[6] ?? 1));
const WORKLOAD = process.argv[7] ?? 'insert';

interface Result {
  events: number;
  rows: number;
  secs: number;
  /** CPU seconds (user + system) of this process during the read: less noisy than wall time on a shared machine */
  cpu: number;
  peakRss: number;
  /** of secs: connecting and preparing before the first event */
  startSecs?: number;
}

function cpuSecs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

function report(name: string, r: Result): void {
  console.log(
    `${name.padEnd(7)} ${r.events} events, ${r.rows} rows in ${r.secs.toFixed(2)} s → ${Math.round(r.events / r.secs)} events/s, ${Math.round(r.rows / r.secs)} rows/s; CPU ${r.cpu.toFixed(2)} s → ${Math.round(r.events / r.cpu)} events/CPU-s, ${Math.round(r.rows / r.cpu)} rows/CPU-s; peak RSS ${Math.round(r.peakRss / 1048576)} MB${r.startSecs !== undefined ? ` (start() ${r.startSecs.toFixed(2)} s)` : ''}`,
  );
}

/** Raw zongji, the same decoding options as the reader, counting until all rows were seen. */
async function readRaw(db: MariaDBServer, start: Position): Promise<Result> {
  const c = db.connOpts();
  const zj = new ZongJi({ ...c, dateStrings: true, timezone: 'Z', jsonStrings: true, supportBigNumbers: true, bigNumberStrings: true });
  let events = 0;
  let rows = 0;
  let peakRss = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await new Promise<void>((resolve, reject) => {
    zj.on('error', reject);
    zj.on('binlog', (ev: AnyBinlogEvent) => {
      events++;
      const r = (ev as { rows?: unknown[] }).rows;
      if (r) rows += r.length;
      if ((events & 4095) === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
      if (rows >= ROWS && ev.getEventName() === 'xid') resolve();
    });
    zj.start({ serverId: 4998, filename: start.file, position: start.offset });
  });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = cpuSecs(cpu0);
  await new Promise<void>((resolve) => {
    zj.once('stopped', () => resolve());
    zj.stop();
  });
  return { events, rows, secs, cpu, peakRss };
}

async function readReader(db: MariaDBServer, start: Position): Promise<Result> {
  const r = createBinlogReader({ connection: db.connOpts(), flavor: 'mariadb', serverId: 4999, start: { file: start.file, offset: start.offset }, heartbeatMs: 0, ...(process.env['BENCH_QUEUE'] ? { maxQueueEvents: Number(process.env['BENCH_QUEUE']) } : {}) });
  let peakRss = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await r.start(AbortSignal.timeout(60_000));
  const startSecs = Number(process.hrtime.bigint() - t0) / 1e9;
  let events = 0;
  let rows = 0;
  for await (const ev of r as AsyncIterable<BinlogEvent>) {
    events++;
    if (ev.kind === 'rows') rows += ev.rows.length;
    if ((events & 4095) === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
    if (rows >= ROWS && ev.kind === 'xid') break;
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = cpuSecs(cpu0);
  await r.close();
  return { events, rows, secs, cpu, peakRss, startSecs };
}

const db = await MariaDBServer.start();
try {
  const c = await db.connect();
  const t0 = Date.now();
  let start: Position;
  if (WORKLOAD === 'oltp') {
    const rand = (n: number): number => Math.floor(Math.random() * n);
    const str = (n: number): string => Array.from({ length: n }, () => String(rand(10))).join('');
    const TABLE_ROWS = 10_000;
    await c.query('CREATE DATABASE b');
    await c.query('CREATE TABLE b.sbtest1 (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL DEFAULT 0, c CHAR(120) NOT NULL DEFAULT \'\', pad CHAR(60) NOT NULL DEFAULT \'\', KEY k_1 (k))');
    for (let i = 1; i <= TABLE_ROWS; i += 1000) {
      const vals = Array.from({ length: 1000 }, (_, j) => `(${i + j}, ${rand(TABLE_ROWS)}, '${str(119)}', '${str(59)}')`);
      await c.query(`INSERT INTO b.sbtest1 VALUES ${vals.join(',')}`);
    }
    start = await getMasterStatus(c);
    for (let i = 0; i < ROWS / 4; i += 50) {
      const stmts: string[] = [];
      for (let j = 0; j < 50 && i + j < ROWS / 4; j++) {
        const id = 1 + rand(TABLE_ROWS);
        stmts.push(
          `BEGIN; UPDATE b.sbtest1 SET k=k+1 WHERE id=${id}; UPDATE b.sbtest1 SET c='${str(119)}' WHERE id=${id}; DELETE FROM b.sbtest1 WHERE id=${id}; INSERT INTO b.sbtest1 VALUES (${id}, ${rand(TABLE_ROWS)}, '${str(119)}', '${str(59)}'); COMMIT`,
        );
      }
      await c.query(stmts.join(';'));
    }
    console.log(`backlog (oltp): ${ROWS} row events in ${Math.ceil(ROWS / 4)} transactions written in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } else {
    await c.query(`CREATE DATABASE b`);
    await c.query(`CREATE TABLE b.t (id BIGINT PRIMARY KEY, k INT NOT NULL, c CHAR(60), pad VARCHAR(60), d DECIMAL(12,2), ts DATETIME(6))`);
    start = await getMasterStatus(c);
    for (let i = 0; i < ROWS; i += PER_TXN) {
      const vals = Array.from({ length: Math.min(PER_TXN, ROWS - i) }, (_, j) => `(${i + j}, ${(i + j) % 1000}, REPEAT('c', 60), 'pad', ${(i + j) / 100}, NOW(6))`);
      // PER_STMT rows per INSERT (1 = one rows event per row, as OLTP writes look)
      const stmts: string[] = [];
      for (let k = 0; k < vals.length; k += PER_STMT) stmts.push(`INSERT INTO b.t VALUES ${vals.slice(k, k + PER_STMT).join(',')}`);
      await c.query(`BEGIN; ${stmts.join(';')}; COMMIT`);
    }
    console.log(`backlog: ${ROWS} rows in ${Math.ceil(ROWS / PER_TXN)} transactions, ${PER_STMT} rows per statement, written in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  await c.end();
  const profPrefix = process.env['BINLOG_BENCH_PROF'];
  const inspector = profPrefix ? new Session() : undefined;
  if (inspector) {
    inspector.connect();
    await inspector.post('Profiler.enable');
  }
  for (let i = 0; i < REPEAT; i++) {
    for (const m of MODES) {
      if (inspector) await inspector.post('Profiler.start');
      if (m === 'raw') report('raw', await readRaw(db, start));
      else if (m === 'reader') report('reader', await readReader(db, start));
      else throw new Error(`unknown mode ${m} (raw, reader)`);
      if (inspector) {
        const { profile } = await inspector.post('Profiler.stop');
        writeFileSync(`${profPrefix}.${m}.${i}.cpuprofile`, JSON.stringify(profile));
      }
    }
  }
  inspector?.disconnect();
} finally {
  await db.stop();
}
