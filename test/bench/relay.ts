/**
 * Benchmark: upstream-to-relay write rate. Starts its own MariaDB (test/helpers), writes a binlog
 * backlog, then times a Relay (src/units/relay) copying the whole backlog from mysql-bin.000001
 * into a fresh relay directory until it has caught up with the upstream (relay file size = master
 * position). Prints MB/s and events/s, the relay's CPU seconds, and, as the ceiling on the same
 * machine and run, `mariadb-binlog --read-from-remote-server --raw` copying the same backlog.
 *   npm run bench:relay -- [rows=200000] [rowsPerTxn=20] [padBytes=200] [repeat=2]
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MariaDBServer, makeTempDir, removeTempDir } from '../helpers/index.js';
import { Relay, listBinlogFiles } from '../../src/units/relay/index.js';
import { silentLogger } from '../../src/log/index.js';
import { createRegistry } from '../../src/metrics/index.js';
import { RelayMetrics } from '../../src/units/relay/index.js';

const ROWS = Number(process.argv[2] ?? 200_000);
const PER_TXN = Math.max(1, Number(process.argv[3] ?? 20));
const PAD = Number(process.argv[4] ?? 200);
const REPEAT = Math.max(1, Number(process.argv[5] ?? 2));

const m = await MariaDBServer.start({ extraArgs: ['--max-binlog-size=64M'] });
try {
  await m.sql('CREATE DATABASE bench');
  await m.sql('CREATE TABLE bench.t (id BIGINT AUTO_INCREMENT PRIMARY KEY, k INT, c VARCHAR(255), pad TEXT)');
  const conn = await m.connect();
  const t0 = performance.now();
  for (let done = 0; done < ROWS; ) {
    await conn.query('BEGIN');
    for (let i = 0; i < PER_TXN && done < ROWS; i++, done++) {
      await conn.query('INSERT INTO bench.t (k, c, pad) VALUES (?, ?, REPEAT(?, ?))', [done, `row-${done}`, 'p', PAD]);
    }
    await conn.query('COMMIT');
  }
  await conn.end();
  const [st] = await m.sql('SHOW MASTER STATUS');
  const masterFile = String(st?.['File']);
  const masterPos = Number(st?.['Position']);
  const upFiles = readdirSync(m.dataDir).filter((f) => /^mysql-bin\.\d+$/.test(f));
  const backlog = upFiles.reduce((n, f) => n + statSync(join(m.dataDir, f)).size, 0);
  console.log(`backlog: ${ROWS} rows in ${Math.ceil(ROWS / PER_TXN)} txns, ${(backlog / 1e6).toFixed(1)} MB in ${upFiles.length} binlog files (written in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);

  for (let r = 0; r < REPEAT; r++) {
    const dir = makeTempDir('bench-relay');
    const registry = createRegistry();
    const metrics = new RelayMetrics(registry);
    const relay = new Relay({ sourceId: 'bench', conn: m.connOpts(), enableGtid: true, relayDir: dir, serverId: 888000 + r, relayBinlogName: 'mysql-bin.000001', logger: silentLogger, metrics });
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    relay.start();
    for (;;) {
      const s = relay.status();
      if (s.relayBinlog.name === masterFile && s.relayBinlog.pos >= masterPos) break;
      if (s.errors.length > 0 && s.stage === 'Paused') throw new Error(`relay failed: ${s.errors[0]?.message}`);
      await new Promise((res) => setTimeout(res, 5));
    }
    const secs = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpu0);
    await relay.close();
    const sub = readdirSync(dir).find((d) => /\.\d{6}$/.test(d))!;
    const bytes = listBinlogFiles(join(dir, sub)).reduce((n, f) => n + statSync(join(dir, sub, f)).size, 0);
    const events = (await registry.getSingleMetric('dm_relay_read_binlog_count')!.get()).values[0]?.value ?? 0;
    console.log(
      `relay run ${r + 1}: ${(bytes / 1e6).toFixed(1)} MB, ${events} events in ${secs.toFixed(2)} s: ${(bytes / 1e6 / secs).toFixed(1)} MB/s, ${Math.round(events / secs)} events/s, cpu ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`,
    );
    removeTempDir(dir);
  }
  // ceiling: the server's own client copying the same files raw
  const out = makeTempDir('bench-mysqlbinlog');
  const t1 = performance.now();
  const res = spawnSync('mariadb-binlog', ['--read-from-remote-server', '--raw', `--host=127.0.0.1`, `--port=${m.port}`, '--user=root', `--result-file=${out}/`, '--to-last-log', 'mysql-bin.000001'], { encoding: 'utf8', timeout: 600_000 });
  const secs = (performance.now() - t1) / 1000;
  if (res.status === 0 || res.signal === null) {
    const bytes = readdirSync(out).reduce((n, f) => n + statSync(join(out, f)).size, 0);
    console.log(`mariadb-binlog --raw (ceiling): ${(bytes / 1e6).toFixed(1)} MB in ${secs.toFixed(2)} s: ${(bytes / 1e6 / secs).toFixed(1)} MB/s`);
  } else {
    console.log(`mariadb-binlog --raw failed: ${res.stderr}`);
  }
  removeTempDir(out);
} finally {
  await m.stop();
}
