/**
 * What the master learns from the upstream itself (DM.ts issue 11 §4):
 * - operate-source create refuses a `flavor` the server is not (38501), nothing stored;
 * - start-task --start-time without a zone is read in each upstream's time zone (`@@time_zone`,
 *   SYSTEM → `@@system_time_zone`), so two sources in different zones get different instants; a
 *   time with its own zone is kept as it is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { EtcdCluster, MariaDBServer, freePort, waitFor } from '../helpers/index.js';
import { silentLogger } from '../../src/log/index.js';
import { parseMasterConfig } from '../../src/config/index.js';
import { createMasterClient } from '../../src/rpc/index.js';
import { DMMaster } from '../../src/master/index.js';
import { Keys, type SubtaskRecord } from '../../src/store/index.js';
import { SourceOp, TaskOp } from '../../src/gen/dm/master/v1/master_pb.js';
import { codeOf, sourceYaml, taskYaml } from '../helpers/cluster.js';

test('operate-source create checks flavor; --start-time is read in the upstream time zone', { timeout: 120_000 }, async (t) => {
  const [etcd, east, west] = await Promise.all([
    EtcdCluster.start(1),
    MariaDBServer.start({ extraArgs: ['--default-time-zone=+08:00'] }),
    MariaDBServer.start({ extraArgs: ['--default-time-zone=-05:00'] }),
  ]);
  const prefix = '/dmfacts/';
  const kv = new Etcd3({ hosts: etcd.endpoints });
  const port = await freePort();
  const master = new DMMaster({
    config: parseMasterConfig('', { overrides: { name: 'm1', 'master-addr': `127.0.0.1:${port}`, 'etcd-endpoints': etcd.endpoints.join(','), 'etcd-prefix': prefix } }),
    logger: silentLogger,
  });
  t.after(async () => {
    kv.close();
    await master.close();
    await Promise.all([etcd.stop(), east.stop(), west.stop()]);
  });
  await master.start();
  const c = createMasterClient(`127.0.0.1:${port}`);
  await waitFor('leader', async () => ((await c.listMember({ leader: true })).leader?.name ?? '') !== '');
  const keys = new Keys(prefix);

  // flavor: a MariaDB server given as mysql is refused at create, and nothing is stored
  assert.equal(await codeOf(c.operateSource({ op: SourceOp.START, config: [`${sourceYaml('east', east.port)}flavor: mysql\n`] })), 38501);
  assert.equal(await kv.get(keys.sourceConfig('east')).string(), null);
  assert.equal(await codeOf(c.operateSource({ op: SourceOp.START, config: [`${sourceYaml('east', east.port)}flavor: mariadb\n`] })), 0);
  assert.equal(await codeOf(c.operateSource({ op: SourceOp.START, config: [sourceYaml('west', west.port)] })), 0);
  // update is checked the same way
  assert.equal(await codeOf(c.operateSource({ op: SourceOp.UPDATE, config: [`${sourceYaml('west', west.port)}flavor: MySQL\n`] })), 38501);

  const subStart = async (task: string, source: string): Promise<string | undefined> =>
    (JSON.parse((await kv.get(keys.subtask(source, task)).string()) ?? '{}') as SubtaskRecord).startTime;
  const meta = { file: 'mysql-bin.000001', pos: 4 };

  // a wall-clock time: each source's own zone
  await c.startTask({ task: taskYaml('wall', ['east', 'west'], east.port, meta), sources: [], startTime: '2026-12-07 10:00:00' });
  assert.equal(await subStart('wall', 'east'), '2026-12-07T02:00:00.000Z');
  assert.equal(await subStart('wall', 'west'), '2026-12-07T15:00:00.000Z');
  await c.operateTask({ op: TaskOp.STOP, name: 'wall', sources: [] });

  // a time with its own zone is the same instant for every source
  await c.startTask({ task: taskYaml('zoned', ['east', 'west'], east.port, meta), sources: [], startTime: '2026-12-07T10:00:00+01:00' });
  assert.equal(await subStart('zoned', 'east'), '2026-12-07T09:00:00.000Z');
  assert.equal(await subStart('zoned', 'west'), '2026-12-07T09:00:00.000Z');
});
