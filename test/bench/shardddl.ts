/**
 * Shard DDL lock keeper benchmark (prints figures, no pass/fail): one in-process dm-master on a
 * real etcd; the bench plays the workers of S sources (their subtask keys, infos and `done`).
 *   - pessimistic, R rounds: all S infos put → owner's exec operation (sync); owner done → the
 *     others' skip operations; all done → the lock's keys deleted (clear);
 *   - optimistic, R rounds: T tables put an ADD COLUMN info at once → every table answered.
 * Usage: npm run bench:shardddl [-- --sources 8 --tables 16 --rounds 10]
 */
import { parseArgs } from 'node:util';
import { EtcdCluster, freePort, waitFor } from '../helpers/index.js';
import { silentLogger } from '../../src/log/index.js';
import { parseMasterConfig } from '../../src/config/index.js';
import { DMMaster } from '../../src/master/index.js';
import { createEtcdClient, Keys, shardKeys, type OptimisticInfo, type OptimisticOperation, type PessimisticOperation, type TableStructure } from '../../src/store/index.js';

const { values } = parseArgs({
  options: {
    sources: { type: 'string', default: '8' },
    tables: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '10' },
  },
});
const S = Number(values.sources);
const T = Number(values.tables);
const R = Number(values.rounds);

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
  return `median ${q(0.5)} ms, p90 ${q(0.9)} ms, max ${s[s.length - 1] ?? NaN} ms (n=${s.length})`;
}

async function main(): Promise<void> {
  const etcd = await EtcdCluster.start(1);
  const port = await freePort();
  const prefix = '/dmbench/';
  const m = new DMMaster({
    config: parseMasterConfig('', { overrides: { name: 'm1', 'master-addr': `127.0.0.1:${port}`, 'etcd-endpoints': etcd.endpoints.join(','), 'keepalive-ttl': 3, 'etcd-prefix': prefix } }),
    logger: silentLogger,
  });
  const kv = createEtcdClient({ endpoints: etcd.endpoints });
  const keys = new Keys(prefix);
  try {
    await m.start();
    await waitFor('leader', async () => m.isLeader, { timeoutMs: 30_000 });
    const sources = Array.from({ length: S }, (_, i) => `s${i + 1}`);
    // the subtask keys are what the keeper reads the task's sources from
    for (const task of ['bp', 'bo']) for (const s of sources) await kv.put(keys.subtask(s, task)).value(JSON.stringify({ task: '', sourceId: s }));
    const get = async <T>(k: string): Promise<T | undefined> => {
      const v = await kv.get(k).string();
      return v === null ? undefined : (JSON.parse(v) as T);
    };
    const sync: number[] = [];
    const skip: number[] = [];
    const clear: number[] = [];
    for (let r = 0; r < R; r++) {
      const ddls = [`ALTER TABLE \`m\`.\`t\` ADD COLUMN \`c${r}\` INT`];
      const t0 = Date.now();
      await Promise.all(sources.map((s) => kv.put(shardKeys.pessimisticInfo(keys, 'bp', s)).value(JSON.stringify({ task: 'bp', source: s, upSchema: 'db', upTable: 't', downSchema: 'm', downTable: 't', ddls, position: 'mysql-bin.000001:4' }))));
      const owner = await waitFor('exec', async () => {
        for (const s of sources) {
          const op = await get<PessimisticOperation>(shardKeys.pessimisticOp(keys, 'bp', s));
          if (op?.exec) return s;
        }
        return false;
      }, { timeoutMs: 30_000, intervalMs: 5 });
      sync.push(Date.now() - t0);
      const ownerKey = shardKeys.pessimisticOp(keys, 'bp', owner);
      const t1 = Date.now();
      await kv.put(ownerKey).value(JSON.stringify({ ...(await get<PessimisticOperation>(ownerKey)), done: true }));
      const others = sources.filter((s) => s !== owner);
      await waitFor('skips', async () => (await Promise.all(others.map((s) => get<PessimisticOperation>(shardKeys.pessimisticOp(keys, 'bp', s))))).every((o) => o !== undefined), { timeoutMs: 30_000, intervalMs: 5 });
      skip.push(Date.now() - t1);
      const t2 = Date.now();
      await Promise.all(others.map(async (s) => kv.put(shardKeys.pessimisticOp(keys, 'bp', s)).value(JSON.stringify({ ...(await get<PessimisticOperation>(shardKeys.pessimisticOp(keys, 'bp', s))), done: true }))));
      await waitFor('cleared', async () => (await kv.getAll().prefix(`${prefix}shardddl/pessimism/`).keys()).length === 0, { timeoutMs: 30_000, intervalMs: 5 });
      clear.push(Date.now() - t2);
    }
    process.stdout.write(`pessimistic, ${S} sources: sync ${stats(sync)}\n`);
    process.stdout.write(`pessimistic, ${S} sources: skip ops after owner done ${stats(skip)}\n`);
    process.stdout.write(`pessimistic, ${S} sources: cleared after all done ${stats(clear)}\n`);

    // optimistic: T tables over the sources, each adds the round's column
    const tables = Array.from({ length: T }, (_, i) => ({ source: sources[i % S] as string, table: `t${i}` }));
    for (const s of sources) {
      const mine = tables.filter((t) => t.source === s).map((t) => t.table);
      await kv.put(shardKeys.sourceTables(keys, 'bo', s)).value(JSON.stringify({ task: 'bo', source: s, tables: { m: { t: { db: mine } } } }));
    }
    const col = (name: string): TableStructure['columns'][number] => ({ name, columnType: 'int(11)', dataType: 'int', unsigned: false, nullable: true, charset: null, generated: false });
    const answered: number[] = [];
    let cols = ['id'];
    for (let r = 0; r < R; r++) {
      const before: TableStructure = { schema: 'db', table: 't', columns: cols.map(col), keyColumns: ['id'], uniqueKeys: [], charset: null };
      cols = [...cols, `c${r}`];
      const after: TableStructure = { ...before, columns: cols.map(col) };
      const t0 = Date.now();
      await Promise.all(
        tables.map((t) =>
          kv.put(shardKeys.optimisticInfo(keys, 'bo', t.source, 'db', t.table)).value(
            JSON.stringify({ task: 'bo', source: t.source, upSchema: 'db', upTable: t.table, downSchema: 'm', downTable: 't', ddls: [`ALTER TABLE \`m\`.\`t\` ADD COLUMN \`c${r}\` INT`], tableInfoBefore: before, tableInfosAfter: [after], version: 1 } satisfies OptimisticInfo),
          ),
        ),
      );
      await waitFor('answers', async () => {
        const ops = await Promise.all(tables.map((t) => get<OptimisticOperation>(shardKeys.optimisticOp(keys, 'bo', t.source, 'db', t.table))));
        return ops.every((o) => o !== undefined);
      }, { timeoutMs: 60_000, intervalMs: 5 });
      answered.push(Date.now() - t0);
      const ops = await Promise.all(tables.map((t) => get<OptimisticOperation>(shardKeys.optimisticOp(keys, 'bo', t.source, 'db', t.table))));
      const ran = ops.filter((o) => (o?.ddls.length ?? 0) > 0).length;
      if (ran !== 1) throw new Error(`round ${r}: ${ran} tables were told to run the ADD COLUMN (expected 1)`);
      await Promise.all(tables.map((t, i) => kv.put(shardKeys.optimisticOp(keys, 'bo', t.source, 'db', t.table)).value(JSON.stringify({ ...ops[i], done: true }))));
      await waitFor('optimistic lock cleared', async () => (await kv.getAll().prefix(`${prefix}shardddl/optimism/lock/`).keys()).length === 0, { timeoutMs: 30_000, intervalMs: 5 });
    }
    process.stdout.write(`optimistic, ${T} tables: all answered ${stats(answered)}\n`);
  } finally {
    kv.close();
    await m.close();
    await etcd.stop();
  }
}

await main();
