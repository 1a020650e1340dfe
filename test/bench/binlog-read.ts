/**
 * Micro benchmark: decode a binlog backlog with the reader and print events/s and rows/s.
 *   npx tsx test/bench/binlog-read.ts [rows=200000] [rowsPerTxn=100] [rowsPerStatement=1]
 * Starts its own MariaDB (test/helpers), writes the backlog, then times one full read.
 */
import { MariaDBServer } from '../helpers/index.js';
import { createBinlogReader, getMasterStatus, type BinlogEvent } from '../../src/binlog/index.js';

const ROWS = Number(process.argv[2] ?? 200_000);
const PER_TXN = Number(process.argv[3] ?? 100);
const PER_STMT = Math.max(1, Number(process.argv[4] ?? 1));

const db = await MariaDBServer.start();
try {
  await db.sql(`CREATE DATABASE b; CREATE TABLE b.t (id BIGINT PRIMARY KEY, k INT NOT NULL, c CHAR(60), pad VARCHAR(60), d DECIMAL(12,2), ts DATETIME(6))`);
  const c = await db.connect();
  const start = await getMasterStatus(c, 'mariadb');
  const t0 = Date.now();
  for (let i = 0; i < ROWS; i += PER_TXN) {
    const vals = Array.from({ length: Math.min(PER_TXN, ROWS - i) }, (_, j) => `(${i + j}, ${(i + j) % 1000}, REPEAT('c', 60), 'pad', ${(i + j) / 100}, NOW(6))`);
    // PER_STMT rows per INSERT (1 = one rows event per row, as OLTP writes look)
    const stmts: string[] = [];
    for (let k = 0; k < vals.length; k += PER_STMT) stmts.push(`INSERT INTO b.t VALUES ${vals.slice(k, k + PER_STMT).join(',')}`);
    await c.query(`BEGIN; ${stmts.join(';')}; COMMIT`);
  }
  await c.end();
  console.log(`backlog: ${ROWS} rows in ${Math.ceil(ROWS / PER_TXN)} transactions written in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const r = createBinlogReader({ connection: db.connOpts(), flavor: 'mariadb', serverId: 4999, start: { file: start.file, offset: start.offset }, heartbeatMs: 0 });
  const rssBefore = process.memoryUsage().rss;
  const t1 = process.hrtime.bigint();
  await r.start(AbortSignal.timeout(60_000));
  let events = 0;
  let rows = 0;
  let peakRss = rssBefore;
  for await (const ev of r as AsyncIterable<BinlogEvent>) {
    events++;
    if (ev.kind === 'rows') rows += ev.rows.length;
    if ((events & 4095) === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
    if (rows >= ROWS && ev.kind === 'xid') break;
  }
  const secs = Number(process.hrtime.bigint() - t1) / 1e9;
  await r.close();
  console.log(`read: ${events} events, ${rows} rows in ${secs.toFixed(2)} s → ${Math.round(events / secs)} events/s, ${Math.round(rows / secs)} rows/s; peak RSS ${Math.round(peakRss / 1048576)} MB`);
} finally {
  await db.stop();
}
