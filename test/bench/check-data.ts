/**
 * Bench of the one-shot data check on one large table: `checkData` (chunked server-side
 * checksums) side by side with a plain `CHECKSUM TABLE` of the same table on both servers, in the
 * same run, rounds paired (their order alternating); then once more after one row was changed on the target (the bisection
 * path). Prints wall seconds, this process's CPU seconds and peak RSS growth, each server's CPU
 * seconds, and the machine's load average. Then the continuous validator (src/units/validate/
 * validator.ts) is handed `validatorRows` applied row changes of the same table (as the sync unit
 * hands them) and reads them all back: its time, rows/s and memory.
 *   npm run bench:check -- [rows=1000000] [rounds=2] [chunkRows=10000] [validatorRows=100000]
 */
import { loadavg } from 'node:os';
import { MariaDBServer, cpuSeconds } from '../helpers/index.js';
import { createPool } from '../../src/sql/index.js';
import { checkData, ContinuousValidator } from '../../src/units/validate/index.js';
import type { RowChange } from '../../src/units/sync/index.js';
import type { Position } from '../../src/binlog/position.js';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = Math.max(1, Number(process.argv[3] ?? 2));
const CHUNK = Number(process.argv[4] ?? 10_000);
const VROWS = Number(process.argv[5] ?? 100_000);

const mb = (b: number): string => `${(b / 1048576).toFixed(0)} MB`;

async function main(): Promise<void> {
  console.log(`# check-data bench: ${ROWS} rows, ${ROUNDS} rounds, chunk ${CHUNK}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const [src, dst] = await Promise.all([MariaDBServer.start({ extraArgs: ['--innodb-buffer-pool-size=512M'] }), MariaDBServer.start({ extraArgs: ['--innodb-buffer-pool-size=512M'] })]);
  try {
    for (const s of [src, dst]) {
      await s.sql('CREATE DATABASE b');
      await s.sql('CREATE TABLE b.t (id INT PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL, KEY (k))');
      for (let i = 0; i < ROWS; i += 100_000) {
        await s.sql(`INSERT INTO b.t SELECT seq, seq % 1000, REPEAT(CHAR(65 + seq % 26), 120), LPAD(seq, 60, '0') FROM mysql.seq_${i + 1}_to_${Math.min(ROWS, i + 100_000)}`);
      }
    }
    const sp = createPool(src.connOpts());
    const dp = createPool(dst.connOpts());
    const sources = [{ sourceId: 's', q: sp, baList: { doDbs: ['b'] }, routes: [], caseSensitive: false }];
    const run = async (label: string, fn: () => Promise<string>): Promise<number> => {
      const cpu0 = process.cpuUsage();
      const s0 = cpuSeconds(src.pid);
      const d0 = cpuSeconds(dst.pid);
      const rss0 = process.memoryUsage().rss;
      let peak = rss0;
      const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
      const t0 = performance.now();
      const out = await fn();
      const secs = (performance.now() - t0) / 1000;
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage().rss);
      const cpu = process.cpuUsage(cpu0);
      console.log(
        `${label.padEnd(28)} ${secs.toFixed(2)} s  node cpu ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s  rss +${mb(peak - rss0)} (peak ${mb(peak)})  source cpu ${(cpuSeconds(src.pid) - s0).toFixed(2)} s  target cpu ${(cpuSeconds(dst.pid) - d0).toFixed(2)} s  ${out}`,
      );
      return secs;
    };
    const ratios: number[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      console.log(`## round ${r}${r % 2 === 0 ? ' (check-data first)' : ''}`);
      const plain = (): Promise<number> =>
        run('CHECKSUM TABLE (both)', async () => {
          const [x, y] = await Promise.all([src.sql('CHECKSUM TABLE b.t'), dst.sql('CHECKSUM TABLE b.t')]);
          return `equal=${String(x[0]?.['Checksum']) === String(y[0]?.['Checksum'])}`;
        });
      const ours = (): Promise<number> =>
        run('check-data', async () => {
          const rep = await checkData({ sources, target: dp, chunkRows: CHUNK });
          return `equal=${rep.equal} chunks=${rep.tables[0]?.chunks}`;
        });
      // the order alternates between rounds, so neither always runs on the other's warm caches
      let a: number;
      let b: number;
      if (r % 2 === 0) {
        b = await ours();
        a = await plain();
      } else {
        a = await plain();
        b = await ours();
      }
      ratios.push(b / a);
      console.log(`round ${r}: check-data / CHECKSUM TABLE time = ${(b / a).toFixed(2)}`);
    }
    await dst.sql(`UPDATE b.t SET c = 'changed' WHERE id = ${Math.floor(ROWS / 2) + 7}`);
    await run('check-data, one row differs', async () => {
      const rep = await checkData({ sources, target: dp, chunkRows: CHUNK });
      return `equal=${rep.equal} rows=${JSON.stringify(rep.tables[0]?.rows.map((x) => x.key))}`;
    });
    await dst.sql(`UPDATE b.t SET c = REPEAT(CHAR(65 + id % 26), 120) WHERE id = ${Math.floor(ROWS / 2) + 7}`);
    // the continuous validator: VROWS applied updates (100 per upstream transaction), read back in full mode
    const n = Math.min(VROWS, ROWS);
    await run(`validator, ${n} rows`, async () => {
      const v = new ContinuousValidator({
        taskName: 'bench',
        sourceId: 's',
        metaSchema: 'dm_meta_bench',
        target: dst.connOpts(),
        settings: { mode: 'full', workerCount: 4, validateIntervalMs: 0, checkIntervalMs: 1000, rowErrorDelayMs: 600_000, metaFlushIntervalMs: 3_600_000, batchQuerySize: 100, maxPendingRowBytes: Number.MAX_SAFE_INTEGER, maxPendingRowCount: Number.MAX_SAFE_INTEGER },
      });
      let pos: Position = { file: 'mysql-bin.000001', offset: 4, gtid: '' };
      v.bind(() => pos);
      await v.setDesired({ stage: 'Running', mode: 'full' });
      const columns = ['id', 'k', 'c', 'pad'];
      for (let i = 1; i <= n; i += 100) {
        const changes: RowChange[] = [];
        for (let id = i; id < i + 100 && id <= n; id++) {
          const img = [id, id % 1000, String.fromCharCode(65 + (id % 26)).repeat(120), String(id).padStart(60, '0')];
          changes.push({ schema: 'b', table: 't', op: 'update', columns, keyIdx: [0], otherUniqueKeys: false, before: img, after: img });
        }
        pos = { file: 'mysql-bin.000001', offset: 4 + i, gtid: '' };
        v.applied([{ pos, timestamp: 0, changes }]);
      }
      for (;;) {
        const st = v.status();
        if (st.pendingRowsStatus.endsWith(' 0/0/0')) {
          await v.close();
          return `${st.processedRowsStatus} errors ${st.errorRowsStatus} verifiedThrough=${st.verifiedThrough}`;
        }
        await new Promise((res) => setTimeout(res, 50));
      }
    });
    const sorted = [...ratios].sort((x, y) => x - y);
    const mid = sorted.length / 2;
    const median = sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    console.log(`per-round ratios: ${ratios.map((x) => x.toFixed(2)).join(', ')}; median ${median.toFixed(2)}; load average now ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    await Promise.all([sp.end(), dp.end()]);
  } finally {
    await Promise.all([src.stop(), dst.stop()]);
  }
}

await main();
