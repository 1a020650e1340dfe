/**
 * Task operations the master now serves itself, through a FOLLOWER master (forwarded to the
 * leader): HandleError (binlog skip/replace/revert/list) stored in etcd and the subtasks resumed,
 * start-task --remove-meta clearing the target checkpoints (refused while the task exists), and
 * start-task --start-time carried in the subtask record. No worker: the outcomes are the etcd
 * state the workers obey and the target's meta tables.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { EtcdCluster, MariaDBServer, freePort, waitFor } from '../helpers/index.js';
import { silentLogger } from '../../src/log/index.js';
import { parseMasterConfig } from '../../src/config/index.js';
import { createMasterClient } from '../../src/rpc/index.js';
import { DMMaster } from '../../src/master/index.js';
import { Keys, binlogOpKey, type BinlogOpRecord, type StageRecord, type SubtaskRecord } from '../../src/store/index.js';
import { SourceOp, TaskOp } from '../../src/gen/dm/master/v1/master_pb.js';
import { ErrorOp } from '../../src/gen/dm/common/v1/common_pb.js';
import { codeOf, sourceYaml, taskYaml } from '../helpers/cluster.js';

test('task ops via a follower: binlog skip/replace/revert/list, --remove-meta, --start-time', { timeout: 120_000 }, async (t) => {
  const [etcd, db] = await Promise.all([EtcdCluster.start(1), MariaDBServer.start()]);
  const prefix = '/dmops/';
  const masters: DMMaster[] = [];
  const ports: number[] = [];
  const kv = new Etcd3({ hosts: etcd.endpoints });
  t.after(async () => {
    kv.close();
    await Promise.all(masters.map((m) => m.close()));
    await Promise.all([etcd.stop(), db.stop()]);
  });
  for (const name of ['m1', 'm2']) {
    const port = await freePort();
    const m = new DMMaster({
      config: parseMasterConfig('', { overrides: { name, 'master-addr': `127.0.0.1:${port}`, 'etcd-endpoints': etcd.endpoints.join(','), 'keepalive-ttl': 3, 'etcd-prefix': prefix } }),
      logger: silentLogger,
    });
    masters.push(m);
    ports.push(port);
    await m.start();
  }
  const probe = createMasterClient(`127.0.0.1:${ports[0]}`);
  let leader = '';
  await waitFor('leader', async () => {
    leader = (await probe.listMember({ leader: true })).leader?.name ?? '';
    return leader !== '';
  });
  const follower = createMasterClient(`127.0.0.1:${leader === 'm1' ? ports[1] : ports[0]}`);
  const keys = new Keys(prefix);
  const stage = async (): Promise<string | undefined> => {
    const v = await kv.get(keys.taskStage('s1', 'ops')).string();
    return v === null ? undefined : (JSON.parse(v) as StageRecord).stage;
  };

  await follower.operateSource({ op: SourceOp.START, config: [sourceYaml('s1', db.port)] });
  const task = taskYaml('ops', ['s1'], db.port, { file: 'mysql-bin.000001', pos: 4 });
  await follower.startTask({ task, sources: [] });
  assert.equal(await stage(), 'Running');

  // binlog skip without -b on a subtask paused by the user (no error, no worker to ask): refused, nothing stored, still paused
  await follower.operateTask({ op: TaskOp.PAUSE, name: 'ops', sources: [] });
  assert.equal(await stage(), 'Paused');
  const refused = await follower.handleError({ op: ErrorOp.SKIP, task: 'ops', sources: [], binlogPos: '', sqls: [] });
  assert.equal(refused.result, false);
  assert.match(refused.sources[0]?.msg ?? '', /code=38016.*not bound/);
  assert.deepEqual(await kv.getAll().prefix(binlogOpKey(keys)).keys(), [], 'no operation left behind');
  assert.equal(await stage(), 'Paused');

  // binlog skip with -b on a paused subtask: stored in etcd under that position, subtask resumed
  const skip = await follower.handleError({ op: ErrorOp.SKIP, task: 'ops', sources: [], binlogPos: 'mysql-bin.000002:100', sqls: [] });
  assert.equal(skip.result, true);
  assert.deepEqual(skip.sources.map((s) => s.source), ['s1']);
  const rec = JSON.parse((await kv.get(binlogOpKey(keys, 's1', 'ops', 'mysql-bin.000002:100')).string()) ?? 'null') as BinlogOpRecord | null;
  assert.equal(rec?.op, 'skip');
  assert.equal(await stage(), 'Running', 'skip resumes the subtask');

  // replace for a future position; list shows both; revert removes one
  const rep = await follower.handleError({ op: ErrorOp.REPLACE, task: 'ops', sources: ['s1'], binlogPos: 'mysql-bin.000002:120', sqls: ['CREATE INDEX k ON t (c)'] });
  assert.equal(rep.result, true);
  const list = await follower.handleError({ op: ErrorOp.LIST, task: 'ops', sources: [], binlogPos: '', sqls: [] });
  const ops = JSON.parse(list.sources[0]?.msg ?? '[]') as BinlogOpRecord[];
  assert.deepEqual(ops.map((o) => `${o.op}@${o.pos}`).sort(), ['replace@mysql-bin.000002:120', 'skip@mysql-bin.000002:100']);
  const rev = await follower.handleError({ op: ErrorOp.REVERT, task: 'ops', sources: [], binlogPos: 'mysql-bin.000002:120', sqls: [] });
  assert.equal(rev.result, true);
  assert.equal(await kv.get(binlogOpKey(keys, 's1', 'ops', 'mysql-bin.000002:120')).string(), null);
  const again = await follower.handleError({ op: ErrorOp.REVERT, task: 'ops', sources: [], binlogPos: 'mysql-bin.000002:120', sqls: [] });
  assert.equal(again.result, false, 'nothing left to revert');

  // bad requests: coded errors, nothing written
  const before = (await kv.getAll().prefix(binlogOpKey(keys)).keys()).sort();
  assert.equal(await codeOf(follower.handleError({ op: ErrorOp.REPLACE, task: 'ops', sources: [], binlogPos: '', sqls: [] })), 38008);
  assert.equal(await codeOf(follower.handleError({ op: ErrorOp.SKIP, task: 'nope', sources: [], binlogPos: '', sqls: [] })), 38006);
  assert.equal(await codeOf(follower.handleError({ op: ErrorOp.SKIP, task: 'ops', sources: [], binlogPos: 'bad', sqls: [] })), 22001);
  assert.deepEqual((await kv.getAll().prefix(binlogOpKey(keys)).keys()).sort(), before);

  // --remove-meta: refused while the task exists (checkpoints kept), clears them once stopped
  await db.sql('CREATE DATABASE dm_meta; CREATE TABLE dm_meta.ops_syncer_checkpoint (id VARCHAR(32) PRIMARY KEY, pos INT)');
  await db.sql("INSERT INTO dm_meta.ops_syncer_checkpoint VALUES ('s1', 1234), ('other', 5)");
  assert.equal(await codeOf(follower.startTask({ task, sources: [], removeMeta: true })), 38017);
  assert.equal((await db.sql('SELECT id FROM dm_meta.ops_syncer_checkpoint')).length, 2, 'checkpoints kept while the task exists');
  assert.notDeepEqual(await kv.getAll().prefix(binlogOpKey(keys, 's1', 'ops')).keys(), [], 'an operation is pending');
  await follower.operateTask({ op: TaskOp.STOP, name: 'ops', sources: [] });
  assert.deepEqual(await kv.getAll().prefix(binlogOpKey(keys, 's1', 'ops')).keys(), [], 'stop-task removes the pending operations');
  await follower.startTask({ task, sources: [], removeMeta: true, startTime: '2024-01-02 15:04:05' });
  assert.deepEqual((await db.sql('SELECT id FROM dm_meta.ops_syncer_checkpoint')).map((r) => r['id']), ['other'], "only this task's source lost its checkpoint");

  // --start-time travels in the subtask record, resolved to an instant
  const sub = JSON.parse((await kv.get(keys.subtask('s1', 'ops')).string()) ?? '{}') as SubtaskRecord;
  assert.equal(sub.startTime, '2024-01-02T15:04:05.000Z');
  assert.ok(!sub.task.includes('2024-01-02'), 'the task text is stored unchanged');
  assert.equal(await codeOf(follower.startTask({ task: taskYaml('ops2', ['s1'], db.port), sources: [], startTime: 'soon' })), 38018);
  assert.equal(await kv.get(keys.subtask('s1', 'ops2')).string(), null);
});
