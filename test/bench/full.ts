/**
 * Full-migration benchmark (prints figures, no pass/fail): sysbench-shaped data from one MariaDB
 * into another, DM.ts (dump+load streaming, in a child process) against mydumper+myloader,
 * `mysqldump | mariadb`, and the target's bulk limit `LOAD DATA INFILE` of the same rows.
 *
 *   npm run bench:full -- [--tables 4] [--rows 250000] [--threads 4] [--chunk-rows 10000] [--modes loaddata,sql] [--skip mysqldump] [--target-binlog on|off] [--rounds 1] [--split-cpu]
 *   (or env BENCH_TABLES, BENCH_ROWS, BENCH_THREADS, BENCH_CHUNK_ROWS, BENCH_MODES, BENCH_TARGET_BINLOG)
 *
 * Before the measured runs, one unmeasured LOAD DATA INFILE warms the target (a fresh server's
 * first load pays page faults for its buffer pool). `--rounds n` (BENCH_ROUNDS) runs every tool n
 * times in rotated order and reports each tool's median run.
 *
 * `--split-cpu` (BENCH_SPLIT_CPU=1): the target server gets the last CPU to itself and everything
 * else (source server, DM.ts, mydumper, myloader, mysqldump) the others, as when the target is its
 * own host: the figures then show the tools' pipelines rather than their share of one saturated box.
 *
 * BENCH_NODE_ARGS: extra node flags for the DM.ts child (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 *
 * `--cluster`: DM.ts runs as a real dm-master + dm-worker (a fresh cluster per run, see
 * ./cluster-run.ts), timed from `dmctl start-task` (task-mode full) until every subtask is
 * Finished, once per `--modes` value; rounds are paired (each round runs every tool once, rotated)
 * and the report gives per-round ratios and their median, CPU-seconds of worker / master / source /
 * target (and of mydumper+myloader), the worker's peak RSS, a row digest check after every tool,
 * and a JSON file under bench-results/. `--load N` runs N busy processes beside the whole bench;
 * `--rtt-ms X` puts every tool's target connections behind a TCP proxy with X/2 ms each way.
 * BENCH_COMPILED=1 runs the dm-worker from tsc output, as deployed (see ./cluster-run.ts).
 *
 * The target runs with log-bin. `--target-binlog on` (default): every tool's rows go to the target's
 * binlog too (myloader with --enable-binlog, which it otherwise turns off). `off`: no tool writes
 * the target binlog (DM.ts with `target-database.session: {sql_log_bin: 0}`, myloader's default,
 * sql_log_bin=0 for mysqldump's client and for LOAD DATA INFILE). Same work for all, either way.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import mysql from 'mysql2/promise';
import {
  MariaDBServer,
  cpuSeconds,
  makeTempDir,
  removeTempDir,
  requireBinary,
  trackChild,
} from '../helpers/index.js';
import { splitSecondaryKeys } from '../../src/units/full/deferred-index.js';
import {
  BusyLoad,
  childrenCpu,
  compiledDist,
  digestsDiffer,
  machine,
  printRuns,
  rttProxy,
  runClusterTask,
  treeRunWait,
  writeResults,
  type ToolRun,
} from './cluster-run.js';

const opts = new Command()
  .option('--tables <n>', 'sysbench tables', process.env['BENCH_TABLES'] ?? '4')
  .option('--rows <n>', 'rows per table', process.env['BENCH_ROWS'] ?? '250000')
  .option(
    '--threads <n>',
    'dump threads = loader pool size = mydumper/myloader threads',
    process.env['BENCH_THREADS'] ?? '4',
  )
  .option(
    '--chunk-rows <n>',
    'rows per chunk (DM.ts mydumpers.rows, mydumper --rows)',
    process.env['BENCH_CHUNK_ROWS'] ?? '10000',
  )
  .option(
    '--modes <list>',
    'DM.ts loaders.import-mode values to run: loaddata,sql',
    process.env['BENCH_MODES'] ?? 'loaddata,sql',
  )
  .option('--skip <list>', 'comma list of peers to skip: mydumper,mysqldump,loaddata,loaddata-deferred', '')
  .option(
    '--rounds <n>',
    "run every tool n times, in rotated order; the table shows each tool's median run",
    process.env['BENCH_ROUNDS'] ?? '1',
  )
  .option(
    '--split-cpu',
    'pin the target server to its own CPU, everything else to the others',
    process.env['BENCH_SPLIT_CPU'] === '1',
  )
  .option(
    '--target-binlog <on|off>',
    'whether the rows are also written to the target binlog, by every tool',
    process.env['BENCH_TARGET_BINLOG'] ?? 'on',
  )
  .option(
    '--cluster',
    'DM.ts as a real dm-master + dm-worker, start-task to Finished (see cluster-run.ts)',
    false,
  )
  .option('--load <n>', 'busy processes beside the run', process.env['BENCH_LOAD'] ?? '0')
  .option(
    '--rtt-ms <ms>',
    'added round-trip time on the target path (TCP proxy, half each way)',
    process.env['BENCH_RTT_MS'] ?? '0',
  )
  .parse()
  .opts<{
    cluster: boolean;
    load: string;
    rttMs: string;
    tables: string;
    rows: string;
    threads: string;
    chunkRows: string;
    modes: string;
    skip: string;
    targetBinlog: string;
    splitCpu: boolean;
    rounds: string;
  }>();
if (!['on', 'off'].includes(opts.targetBinlog))
  throw new Error(`--target-binlog must be on or off, not ${opts.targetBinlog}`);
const BINLOG = opts.targetBinlog === 'on';
const MODES = opts.modes.split(',').filter(Boolean);
const TABLES = Number(opts.tables);
const ROWS = Number(opts.rows);
const THREADS = Number(opts.threads);
const CHUNK = Number(opts.chunkRows);
const ROUNDS = Math.max(1, Number(opts.rounds));
const skip = new Set(opts.skip.split(',').filter(Boolean));
const CLUSTER = opts.cluster;
const LOAD = Math.max(0, Number(opts.load));
const RTT_MS = Math.max(0, Number(opts.rttMs));
const RUNNER = fileURLToPath(new URL('../integration/full-kill-runner.ts', import.meta.url));

function sh(cmd: string): void {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd.slice(0, 120)} failed: ${r.stderr || r.stdout}`);
}

/**
 * `sh` without blocking the event loop: the measured tools' runs, whose target connections may go
 * through the in-process --rtt-ms proxy (spawnSync would stall the proxy and so the tool).
 */
async function shAsync(cmd: string): Promise<void> {
  const child = spawn('sh', ['-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'] });
  trackChild(child);
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${cmd.slice(0, 120)} failed: ${err}`);
}

async function timed(fn: () => Promise<void> | void): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<void> {
  requireBinary('sysbench', ['sysbench']);
  if (!skip.has('mydumper')) for (const b of ['mydumper', 'myloader']) requireBinary(b, ['mydumper']);
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const work = makeTempDir('bench-full');
  chmodSync(work, 0o777);
  // BENCH_COMPILED=1 (cluster mode): the dm-worker from tsc output, as deployed (see cluster-run.ts)
  if (CLUSTER && process.env['BENCH_COMPILED'] === '1') process.env['DM_WORKER_DIST'] = compiledDist(work);
  const load0 = loadavg();
  const busy = BusyLoad.start(LOAD);
  // every tool's target connections go through it (the servers' own sql() calls go direct)
  const proxy = await rttProxy(dst.port, RTT_MS);
  const tgtPort = proxy?.port ?? dst.port;
  try {
    if (LOAD > 0 || RTT_MS > 0)
      console.log(`busy processes beside the run: ${LOAD}; added target RTT: ${RTT_MS} ms`);
    if (opts.splitCpu) {
      const last = cpus().length - 1;
      if (last < 1) throw new Error('--split-cpu needs at least 2 CPUs');
      const rest = last === 1 ? '0' : `0-${last - 1}`;
      // children (DM.ts, mydumper, myloader, clients) inherit this process's affinity
      sh(
        `taskset -a -p -c ${last} ${dst.pid} && taskset -a -p -c ${rest} ${src.pid} && taskset -a -p -c ${rest} ${process.pid}`,
      );
      console.log(`split CPUs: target server on CPU ${last}, everything else on ${rest}`);
    }
    const conn = (s: MariaDBServer): string => `-h 127.0.0.1 -P ${s === dst ? tgtPort : s.port} -u root`;
    await src.sql('CREATE DATABASE sbtest');
    console.log(`preparing sysbench data: ${TABLES} tables x ${ROWS} rows ...`);
    const prep = await timed(() =>
      sh(
        `sysbench oltp_read_write --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port=${src.port} --mysql-user=root --mysql-db=sbtest --tables=${TABLES} --table-size=${ROWS} --threads=${Math.min(TABLES, THREADS)} prepare > /dev/null`,
      ),
    );
    await src.sql(
      'ANALYZE TABLE ' + Array.from({ length: TABLES }, (_, i) => `sbtest.sbtest${i + 1}`).join(','),
    );
    const size = await src.sql(
      "SELECT SUM(DATA_LENGTH) AS d FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'sbtest'",
    );
    const totalRows = TABLES * ROWS;
    const mb = Number(size[0]?.['d']) / 1e6;
    console.log(
      `prepared in ${prep.toFixed(1)} s: ${totalRows} rows, ${mb.toFixed(1)} MB of InnoDB data; threads ${THREADS}, chunk rows ${CHUNK}; target binlog ${BINLOG ? 'written by every tool' : 'off for every tool'}`,
    );
    // Every tool starts from the same state: both servers' dirty pages flushed (sysbench prepare and
    // the previous tool's load leave hundreds of MB to flush, which otherwise slows whoever runs next)
    // and the source tables read once (page cache / buffer pool warm).
    const settle = async (): Promise<void> => {
      const t0 = performance.now();
      for (const s of [src, dst])
        await s.sql('SET GLOBAL innodb_max_dirty_pages_pct = 0, GLOBAL innodb_max_dirty_pages_pct_lwm = 0');
      for (;;) {
        const d = await Promise.all(
          [src, dst].map(async (s) =>
            Number(
              (await s.sql("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'"))[0]?.['Value'] ?? 0,
            ),
          ),
        );
        if (d.every((x) => x < 100) || performance.now() - t0 > 60_000) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      for (const s of [src, dst])
        await s.sql('SET GLOBAL innodb_max_dirty_pages_pct = 90, GLOBAL innodb_max_dirty_pages_pct_lwm = 0');
      await src.sql(
        Array.from(
          { length: TABLES },
          (_, i) => `SELECT COUNT(*), SUM(LENGTH(c)) FROM sbtest.sbtest${i + 1}`,
        ).join(' UNION ALL '),
      );
    };
    const reset = async (): Promise<void> => {
      await dst.sql('DROP DATABASE IF EXISTS sbtest; DROP DATABASE IF EXISTS dm_meta');
      await settle();
    };
    const check = async (what: string): Promise<void> => {
      const n = await dst.sql(
        Array.from({ length: TABLES }, (_, i) => `SELECT COUNT(*) AS n FROM sbtest.sbtest${i + 1}`).join(
          ' UNION ALL ',
        ),
      );
      const got = n.reduce((a, r) => a + Number(r['n']), 0);
      if (got !== totalRows) console.log(`!! ${what}: target has ${got} rows, expected ${totalRows}`);
    };
    type Result = { name: string; secs: number; rss?: number; cpu?: string; run?: ToolRun };
    const results: Result[] = [];
    let round = 0;
    const tools: (() => Promise<void>)[] = [];
    /** Runs fn and returns the CPU seconds the source and target servers spent meanwhile. */
    const serverCpu = async (
      fn: () => Promise<number>,
    ): Promise<{ secs: number; cpu: string; cpuBy: Record<string, number> }> => {
      const s0 = cpuSeconds(src.pid);
      const d0 = cpuSeconds(dst.pid);
      const t0 = childrenCpu();
      const w0 = treeRunWait(dst.pid);
      const secs = await fn();
      if (CLUSTER) console.log(`round ${round + 1}: target run-queue wait ${(treeRunWait(dst.pid) - w0).toFixed(1)} s (peer below)`);
      const cpuBy = {
        source: cpuSeconds(src.pid) - s0,
        target: cpuSeconds(dst.pid) - d0,
        tool: childrenCpu() - t0,
      };
      return {
        secs,
        cpu: `source ${cpuBy.source.toFixed(1)}, target ${cpuBy.target.toFixed(1)}`,
        cpuBy,
      };
    };
    /** A cluster-mode record of a peer run (its digest is checked after the tool). */
    const peerRun = (tool: string, secs: number, cpu: Record<string, number>): ToolRun => ({
      round,
      tool,
      secs,
      cpu,
      digestOk: true,
    });

    // DM.ts through a real cluster: start-task (task-mode full) until every subtask is Finished
    if (CLUSTER)
      for (const mode of MODES)
        tools.push(async () => {
          await reset();
          const yaml = [
            'name: benchfull',
            'task-mode: full',
            'target-database:',
            '  host: 127.0.0.1',
            `  port: ${tgtPort}`,
            '  user: root',
            '  password: ""',
            ...(BINLOG ? [] : ['  session:', '    sql_log_bin: 0']),
            'mysql-instances:',
            '  - source-id: bench-src',
            '    block-allow-list: ba',
            '    mydumper:',
            `      threads: ${THREADS}`,
            `      rows: ${CHUNK}`,
            '    loader:',
            `      pool-size: ${THREADS}`,
            `      import-mode: ${mode}`,
            'block-allow-list:',
            '  ba:',
            '    do-dbs: ["sbtest"]',
            '',
          ].join('\n');
          const r = await runClusterTask(src, dst, 'bench-src', {
            name: 'benchfull',
            yaml,
            done: (stages) => stages.length > 0 && stages.every((s) => s === 'Finished'),
          });
          const name = `DM.ts cluster (${mode})`;
          const w = r.runWait;
          console.log(
            `round ${round + 1} ${name}: run-queue wait s worker ${w.worker.toFixed(1)}, master ${w.master.toFixed(1)}, source ${w.source.toFixed(1)}, target ${w.target.toFixed(1)}; the bench process (polls) CPU ${r.bench.cpu.toFixed(1)} s, run-queue wait ${r.bench.runWait.toFixed(1)} s`,
          );
          results.push({
            name,
            secs: r.secs,
            rss: r.peakRssMB,
            cpu: `source ${r.cpu.source.toFixed(1)}, target ${r.cpu.target.toFixed(1)}, worker ${r.cpu.worker.toFixed(1)}, master ${r.cpu.master.toFixed(1)}`,
            run: {
              round,
              tool: name,
              secs: r.secs,
              cpu: r.cpu,
              peakRssMB: r.peakRssMB,
              hwmMB: r.hwmMB,
              rssAt: r.rssAt,
              extra: { runWait: r.runWait },
              ...(r.heapAtEnd ? { heapAtEnd: r.heapAtEnd } : {}),
              ...(r.toRunningSecs !== undefined ? { toRunningSecs: r.toRunningSecs } : {}),
              ...(r.toFirstRowsSecs !== undefined ? { toFirstRowsSecs: r.toFirstRowsSecs } : {}),
              digestOk: true,
            },
          });
        });

    // DM.ts: dump + load units in a child process (so its peak RSS is its own)
    if (!CLUSTER)
      for (const mode of MODES)
        tools.push(async () => {
          await reset();
          let rss = 0;
          let inner = 0;
          let nodeCpu = 0;
          const { secs, cpu } = await serverCpu(() =>
            timed(async () => {
              const cfg = {
                taskName: 'bench',
                sourceId: 'bench-src',
                taskMode: 'full',
                source: src.connOpts(),
                target: BINLOG
                  ? { ...dst.connOpts(), port: tgtPort }
                  : { ...dst.connOpts(), port: tgtPort, session: { sql_log_bin: 0 } },
                baList: { doDbs: ['sbtest'] },
                mydumper: { threads: THREADS, rows: CHUNK },
                loader: { poolSize: THREADS, importMode: mode },
              };
              const child = spawn(
                process.execPath,
                [
                  ...(process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean),
                  '--import',
                  'tsx',
                  RUNNER,
                  JSON.stringify(cfg),
                ],
                { stdio: ['ignore', 'pipe', 'inherit'] },
              );
              trackChild(child);
              let out = '';
              child.stdout.on('data', (b: Buffer) => (out += b.toString()));
              await once(child, 'exit');
              const line = out.split('\n').find((l) => l.startsWith('{')) ?? '{}';
              const res = JSON.parse(line) as {
                ok?: boolean;
                maxRssKiB?: number;
                elapsedMs?: number;
                cpuMs?: number;
                errors?: unknown;
              };
              inner = (res.elapsedMs ?? 0) / 1000;
              nodeCpu = (res.cpuMs ?? 0) / 1000;
              if (!res.ok) throw new Error(`DM.ts run failed: ${line}`);
              rss = (res.maxRssKiB ?? 0) / 1024;
            }),
          );
          await check('DM.ts');
          results.push({
            name: `DM.ts (${mode}), whole child process incl. tsx start`,
            secs,
            rss,
            cpu: `${cpu}, DM.ts process ${nodeCpu.toFixed(1)}`,
          });
          results.push({ name: `DM.ts (${mode}), units only (dump+load)`, secs: inner, rss });
        });

    if (!skip.has('mydumper'))
      tools.push(async () => {
        await reset();
        const dir = join(work, 'mydumper');
        removeTempDir(dir);
        mkdirSync(dir);
        const { secs, cpu, cpuBy } = await serverCpu(() =>
          timed(async () => {
            await shAsync(
              `mydumper ${conn(src)} -B sbtest -t ${THREADS} --rows ${CHUNK} -o ${dir} > /dev/null 2>&1`,
            );
            await shAsync(
              `myloader ${conn(dst)} -d ${dir} -t ${THREADS} -B sbtest -o ${BINLOG ? '--enable-binlog' : ''} > /dev/null 2>&1`,
            );
          }),
        );
        await check('mydumper+myloader');
        results.push({
          name: 'mydumper+myloader',
          secs,
          cpu,
          run: peerRun('mydumper+myloader', secs, cpuBy),
        });
      });

    if (!skip.has('mysqldump'))
      tools.push(async () => {
        await reset();
        await dst.sql('CREATE DATABASE sbtest');
        const { secs, cpuBy } = await serverCpu(() =>
          timed(() =>
            shAsync(
              `mysqldump ${conn(src)} --single-transaction --skip-lock-tables sbtest | mariadb ${conn(dst)} ${BINLOG ? '' : '--init-command="SET SESSION sql_log_bin = 0"'} sbtest`,
            ),
          ),
        );
        await check('mysqldump|mariadb');
        results.push({ name: 'mysqldump | mariadb', secs, run: peerRun('mysqldump | mariadb', secs, cpuBy) });
      });

    /** LOAD DATA INFILE of the rows into freshly created tables (as the source defines them). */
    const loadInfile = async (deferKeys = false): Promise<number> => {
      await dst.sql('CREATE DATABASE sbtest');
      const split = createSQL.map((c) => (deferKeys ? splitSecondaryKeys(c) : { createSQL: c, clauses: [] }));
      for (let i = 1; i <= TABLES; i++) await dst.sql(`USE sbtest; ${split[i - 1]?.createSQL}`);
      const pools = Array.from({ length: TABLES }, (_, i) => i + 1);
      return timed(async () => {
        const queue = [...pools];
        await Promise.all(
          Array.from({ length: Math.min(THREADS, TABLES) }, async () => {
            const c = await mysql.createConnection({ ...dst.connOpts(), port: tgtPort });
            if (!BINLOG) await c.query('SET SESSION sql_log_bin = 0');
            try {
              for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
                await c.query(`LOAD DATA INFILE '${join(dir, `t${i}.tsv`)}' INTO TABLE sbtest.sbtest${i}`);
                const keys = split[i - 1]?.clauses ?? [];
                if (keys.length > 0) await c.query(`ALTER TABLE sbtest.sbtest${i} ${keys.join(', ')}`);
              }
            } finally {
              await c.end();
            }
          }),
        );
      });
    };
    if (!skip.has('loaddata'))
      tools.push(async () => {
        await reset();
        const { secs, cpu, cpuBy } = await serverCpu(() => loadInfile());
        await check('LOAD DATA INFILE');
        results.push({
          name: 'LOAD DATA INFILE (target limit)',
          secs,
          cpu,
          run: peerRun('LOAD DATA INFILE', secs, cpuBy),
        });
      });
    // the same with the secondary keys added after the rows, as DM.ts does (for reference)
    if (!skip.has('loaddata-deferred'))
      tools.push(async () => {
        await reset();
        const { secs, cpu, cpuBy } = await serverCpu(() => loadInfile(true));
        await check('LOAD DATA INFILE, keys after');
        results.push({
          name: 'LOAD DATA INFILE, secondary keys after',
          secs,
          cpu,
          run: peerRun('LOAD DATA INFILE, keys after', secs, cpuBy),
        });
      });

    // The rows as TSV files for LOAD DATA INFILE, and one unmeasured warm-up load: a fresh server
    // touches its buffer pool memory for the first time (page faults, ~1 s of target CPU here),
    // which would otherwise slow whichever tool runs first.
    const dir = join(work, 'tsv');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const createSQL: string[] = [];
    for (let i = 1; i <= TABLES; i++) {
      await src.sql(`SELECT * FROM sbtest.sbtest${i} INTO OUTFILE '${join(dir, `t${i}.tsv`)}'`);
      const [c] = await src.sql(`SHOW CREATE TABLE sbtest.sbtest${i}`);
      createSQL.push(String(c?.['Create Table']));
    }
    await reset();
    console.log(`warm-up load into the target: ${(await loadInfile()).toFixed(2)} s (not counted)`);
    for (round = 0; round < ROUNDS; round++)
      for (let i = 0; i < tools.length; i++) {
        const before = results.length;
        await tools[(i + round) % tools.length]?.();
        if (!CLUSTER) continue;
        // row digests of source and target after every tool
        const diff = await digestsDiffer(src, dst, 'sbtest');
        for (const r of results.slice(before))
          if (r.run) {
            r.run.digestOk = diff === '';
            if (diff) r.run.digestDiff = diff;
          }
        if (diff) console.log(`!! digest mismatch after ${results[before]?.name}: ${diff}`);
      }

    if (CLUSTER) {
      const runs = results.flatMap((r) => (r.run ? [r.run] : []));
      const dmTools = [...new Set(runs.map((r) => r.tool).filter((t) => t.startsWith('DM.ts')))];
      const ratios: Record<string, unknown> = {};
      for (const dm of dmTools) {
        const others = runs.filter((r) => !r.tool.startsWith('DM.ts') || r.tool === dm);
        ratios[dm] = printRuns(others, dm, totalRows, 'rows');
      }
      const file = writeResults('full-cluster', {
        bench: 'full',
        mode: 'cluster',
        at: new Date().toISOString(),
        machine: { ...machine(), loadavgAtStart: load0.map((x) => Number(x.toFixed(2))) },
        config: {
          tables: TABLES,
          rowsPerTable: ROWS,
          totalRows,
          dataMB: mb,
          threads: THREADS,
          chunkRows: CHUNK,
          modes: MODES,
          targetBinlog: BINLOG,
          rounds: ROUNDS,
          load: LOAD,
          rttMs: RTT_MS,
          skip: [...skip],
          compiledWorker: process.env['DM_WORKER_DIST'] !== undefined,
        },
        runs,
        ratios,
      });
      console.log(`\nresults: ${file}`);
      console.log(
        `load average at start: ${load0.map((x) => x.toFixed(2)).join(' ')}, at end: ${loadavg()
          .map((x) => x.toFixed(2))
          .join(' ')}`,
      );
      return;
    }

    // each tool's median run (by wall time)
    const byName = new Map<string, Result[]>();
    for (const r of results) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
    if (ROUNDS > 1)
      for (const [name, rs] of byName)
        console.log(`${name}: ${rs.map((r) => r.secs.toFixed(2)).join(', ')} s`);
    const medians = [...byName.values()].map(
      (rs) => [...rs].sort((a, b) => a.secs - b.secs)[Math.floor((rs.length - 1) / 2)] as Result,
    );

    console.log('\n| tool | wall s | rows/s | MB/s | peak RSS MB | CPU s |');
    console.log('|---|---:|---:|---:|---:|---|');
    for (const r of medians)
      console.log(
        `| ${r.name} | ${r.secs.toFixed(2)} | ${Math.round(totalRows / r.secs)} | ${(mb / r.secs).toFixed(1)} | ${r.rss ? r.rss.toFixed(0) : '-'} | ${r.cpu ?? ''} |`,
      );
    const dms = medians.filter((r) => r.name.startsWith('DM.ts'));
    const peers = medians.filter((r) => !r.name.startsWith('DM.ts'));
    for (const dm of dms) {
      console.log('');
      for (const r of peers) console.log(`${dm.name} speed / ${r.name}: ${(r.secs / dm.secs).toFixed(2)}x`);
    }
    console.log(
      `\nload average at end: ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    busy.stop();
    await proxy?.close();
    await Promise.all([src.stop(), dst.stop()]);
    removeTempDir(work);
  }
}

await main();
