/**
 * Runs one sync unit in its own process, for tests that kill it with SIGKILL.
 * Usage: node --import tsx test/integration/sync-runner.ts '<SyncConfig as JSON>'
 * (shard-mode: `shard` without `client` but with `etcd: {endpoints, prefix}`: the runner connects
 * its own etcd shard DDL client)
 * Prints `{"result": ProcessResult}` on stdout when process() ends; SIGTERM pauses and exits.
 */
import { SyncUnit, type FailedEventDecision, type ShardConfig, type SyncConfig } from '../../src/units/sync/index.js';
import { createEtcdClient, Keys } from '../../src/store/index.js';
import { etcdShardDDLClient } from '../../src/worker/shardddl-client.js';

type RunnerShard = Omit<ShardConfig, 'client'> & { etcd: { endpoints: string[]; prefix: string } };
const raw = JSON.parse(process.argv[2] ?? '{}') as Omit<SyncConfig, 'shard'> & { shard?: RunnerShard };
const { shard: rawShard, ...rest } = raw;
let cfg: SyncConfig = rest;
if (rawShard) {
  const { etcd, ...shard } = rawShard;
  cfg = { ...rest, shard: { ...shard, client: etcdShardDDLClient(createEtcdClient({ endpoints: etcd.endpoints }), new Keys(etcd.prefix)) } };
}
// SYNC_RUNNER_ON_FAILED='<FailedEventDecision as JSON>': the operator's answer (`dmctl binlog`) to the first failed event
const onFailed = process.env['SYNC_RUNNER_ON_FAILED'];
if (onFailed) {
  let left: FailedEventDecision | undefined = JSON.parse(onFailed) as FailedEventDecision;
  cfg = {
    ...cfg,
    onFailedEvent: () => {
      const d = left ?? { action: 'fail' as const };
      left = undefined;
      return Promise.resolve(d);
    },
  };
}
const unit = new SyncUnit(cfg, { heartbeatMs: 200 });
const ac = new AbortController();
process.on('SIGTERM', () => ac.abort());
// SYNC_RUNNER_STATUS_MS=n: print status() as one JSON line on stderr every n ms (benchmarks)
const statusMs = Number(process.env['SYNC_RUNNER_STATUS_MS'] ?? 0);
const statusTimer = statusMs > 0 ? setInterval(() => process.stderr.write(`status ${JSON.stringify({ ...unit.status(), memory: process.memoryUsage() })}\n`), statusMs) : undefined;
statusTimer?.unref();
try {
  await unit.init(ac.signal);
  process.stdout.write('started\n');
  const result = await unit.process(ac.signal);
  process.stdout.write(`${JSON.stringify({ result })}\n`);
} finally {
  await unit.close();
}
