/**
 * Failover benchmark (prints figures, no pass/fail): a 3-master cluster with embedded etcd and
 * 2 workers on loopback.
 *   - N leader kills (kill -9 of the leader's process group, with its etcd member): time until a
 *     write sent to a surviving master (forwarded to the new leader) succeeds;
 *   - M worker kills (kill -9 of the bound worker): time until its source is bound to the other.
 * Usage: npm run bench:failover [-- --leader-kills 10 --worker-kills 5 --ttl 3]
 */
import { parseArgs } from 'node:util';
import { MariaDBServer, waitFor } from '../helpers/index.js';
import { DMCluster, sourceYaml } from '../helpers/cluster.js';
import { SourceOp, WorkerStage } from '../../src/gen/dm/master/v1/master_pb.js';

const { values } = parseArgs({
  options: {
    'leader-kills': { type: 'string', default: process.env['BENCH_LEADER_KILLS'] ?? '10' },
    'worker-kills': { type: 'string', default: process.env['BENCH_WORKER_KILLS'] ?? '5' },
    ttl: { type: 'string', default: process.env['BENCH_TTL'] ?? '3' },
  },
});
const LEADER_KILLS = Number(values['leader-kills']);
const WORKER_KILLS = Number(values['worker-kills']);
const TTL = Number(values.ttl);

function stats(xs: number[]): string {
  if (xs.length === 0) return 'n/a';
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return `median ${(mid / 1000).toFixed(2)} s, max ${(s[s.length - 1]! / 1000).toFixed(2)} s, min ${(s[0]! / 1000).toFixed(2)} s (n=${s.length})`;
}

async function main(): Promise<void> {
  const db = await MariaDBServer.start();
  const c = new DMCluster('bench-failover');
  try {
    await c.startMasters(3, TTL);
    await c.startWorker('w1', TTL);
    await c.startWorker('w2', TTL);
    let leader = await c.waitLeader();
    await waitFor('source created', async () => (await c.client(leader).operateSource({ op: SourceOp.START, config: [sourceYaml('s1', db.port)] })).result, { timeoutMs: 60_000 });
    await waitFor('s1 bound, other worker free', async () => {
      const m = await c.client(leader).listMember({ worker: true });
      return m.workers.filter((w) => w.stage === WorkerStage.BOUND).length === 1 && m.workers.filter((w) => w.stage === WorkerStage.FREE).length === 1;
    }, { timeoutMs: 60_000 });

    const leaderTimes: number[] = [];
    for (let i = 0; i < LEADER_KILLS; i++) {
      leader = await c.waitLeader();
      const victim = c.masters[leader]!;
      const survivor = [0, 1, 2].find((x) => x !== leader)!;
      const t0 = Date.now();
      await c.kill9(victim);
      await waitFor('a write accepted after the leader kill', async () => {
        const r = await c.client(survivor).registerWorker({ name: 'bench-probe', address: `127.0.0.1:${1000 + i}` }, { timeoutMs: 3000 });
        return r.result;
      }, { timeoutMs: 60_000, intervalMs: 50 });
      const took = Date.now() - t0;
      leaderTimes.push(took);
      process.stdout.write(`leader kill ${i + 1}/${LEADER_KILLS}: ${victim.name} → write accepted after ${(took / 1000).toFixed(2)} s\n`);
      c.spawn(victim);
      await c.waitAllUp(90_000);
    }

    const workerTimes: number[] = [];
    for (let i = 0; i < WORKER_KILLS; i++) {
      leader = await c.waitLeader();
      const m = await c.client(leader).listMember({ worker: true });
      const bound = m.workers.find((w) => w.stage === WorkerStage.BOUND && w.source === 's1')!;
      const free = m.workers.find((w) => w.stage === WorkerStage.FREE && w.name !== 'bench-probe')!;
      const victim = c.workers.find((w) => w.name === bound.name)!;
      const t0 = Date.now();
      await c.kill9(victim);
      await waitFor('source bound to the other worker', async () => {
        const r = await c.client(leader).listMember({ worker: true });
        return r.workers.find((w) => w.name === free.name)?.source === 's1';
      }, { timeoutMs: 60_000, intervalMs: 50 });
      const took = Date.now() - t0;
      workerTimes.push(took);
      process.stdout.write(`worker kill ${i + 1}/${WORKER_KILLS}: ${victim.name} → s1 on ${free.name} after ${(took / 1000).toFixed(2)} s\n`);
      c.spawn(victim);
      await waitFor('killed worker back and free', async () => {
        const r = await c.client(leader).listMember({ worker: true });
        return r.workers.find((w) => w.name === victim.name)?.stage === WorkerStage.FREE;
      }, { timeoutMs: 60_000 });
    }
    process.stdout.write(`\nleader failover (kill -9 → write accepted), keepalive-ttl ${TTL} s: ${stats(leaderTimes)}\n`);
    process.stdout.write(`source rebind (kill -9 bound worker → bound elsewhere), keepalive-ttl ${TTL} s: ${stats(workerTimes)}\n`);
  } finally {
    await c.close();
    await db.stop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
