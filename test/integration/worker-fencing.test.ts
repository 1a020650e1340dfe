import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdCluster, MariaDBServer, freePort, waitFor } from '../helpers/index.js';
import { silentLogger } from '../../src/log/index.js';
import { parseMasterConfig, parseWorkerConfig } from '../../src/config/index.js';
import { createMasterClient, createWorkerClient } from '../../src/rpc/index.js';
import { DMMaster } from '../../src/master/index.js';
import { DMWorker } from '../../src/worker/index.js';
import { SourceOp } from '../../src/gen/dm/master/v1/master_pb.js';
import { sourceYaml, taskYaml } from '../helpers/cluster.js';

const TTL = 3;

test('worker: external etcd; a worker cut off from etcd fences itself (stops all subtasks) and recovers', { timeout: 180_000 }, async (t) => {
  const [etcd, db, target] = await Promise.all([EtcdCluster.start(1), MariaDBServer.start(), MariaDBServer.start()]);
  const mport = await freePort();
  const wport = await freePort();
  const master = new DMMaster({
    config: parseMasterConfig('', {
      overrides: { name: 'm1', 'master-addr': `127.0.0.1:${mport}`, 'etcd-endpoints': etcd.endpoints.join(','), 'keepalive-ttl': TTL, 'etcd-prefix': '/dmf/' },
    }),
    logger: silentLogger,
  });
  const worker = new DMWorker({
    config: parseWorkerConfig('', { overrides: { name: 'w1', 'worker-addr': `127.0.0.1:${wport}`, join: `127.0.0.1:${mport}`, 'keepalive-ttl': TTL } }),
    logger: silentLogger,
  });
  t.after(async () => {
    await worker.close();
    await master.close();
    await Promise.all([etcd.stop(), db.stop(), target.stop()]);
  });
  await master.start();
  await worker.start();
  const mc = createMasterClient(`127.0.0.1:${mport}`);
  const wc = createWorkerClient(`127.0.0.1:${wport}`);
  await waitFor('master leads', async () => (await mc.listMember({ leader: true })).leader?.name === 'm1');
  await mc.operateSource({ op: SourceOp.START, config: [sourceYaml('s1', db.port)] });
  const ms = await db.sql('SHOW MASTER STATUS');
  await mc.startTask({ task: taskYaml('t1', ['s1'], target.port, { file: String(ms[0]?.['File']), pos: 4 }) });
  await waitFor('t1 on w1', async () => (await wc.queryStatus({ name: '' })).subTaskStatus.length === 1, { timeoutMs: 30_000 });
  const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${wport}/metrics`)).text();
  assert.match(await metrics(), /dm_worker_task_state\{task="t1",source_id="s1",worker="w1"\} 2/);

  await etcd.killMember(0);
  await waitFor('worker fenced, no subtask left', async () => {
    const st = (await (await fetch(`http://127.0.0.1:${wport}/status`)).json()) as { session?: string };
    const q = await wc.queryStatus({ name: '' });
    return st.session === 'Fenced' && q.subTaskStatus.length === 0;
  }, { timeoutMs: 30_000 });
  assert.match(await metrics(), /dm_worker_task_state\{task="t1",source_id="s1",worker="w1"\} 4/);

  await etcd.restartMember(0);
  await waitFor('worker back with its subtask', async () => {
    const st = (await (await fetch(`http://127.0.0.1:${wport}/status`)).json()) as { session?: string };
    const q = await wc.queryStatus({ name: '' });
    return st.session === 'Alive' && q.subTaskStatus.length === 1;
  }, { timeoutMs: 60_000 });
});
