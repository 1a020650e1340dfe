import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MariaDBServer, waitFor } from '../helpers/index.js';
import { fromConnectError } from '../../src/rpc/index.js';
import { createEtcdClient } from '../../src/store/index.js';
import { MemberType, SourceOp, TaskOp, WorkerStage } from '../../src/gen/dm/master/v1/master_pb.js';
import { Stage } from '../../src/gen/dm/common/v1/common_pb.js';
import { codeOf, DMCluster, sourceYaml, taskYaml } from '../helpers/cluster.js';

const TTL = 3;

test('ha: 3 masters (embedded etcd) + 2 workers: bind, failover, fencing, bad input, full restart', { timeout: 600_000 }, async (t) => {
  const [db, target] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const c = new DMCluster('ha');
  t.after(async () => {
    await c.close();
    await Promise.all([db.stop(), target.stop()]);
  });
  const ms = await db.sql('SHOW MASTER STATUS');
  const meta = { file: String(ms[0]?.['File']), pos: 4 };
  await c.startMasters(3, TTL);
  const etcd = createEtcdClient({ endpoints: c.masters.map((m) => `http://127.0.0.1:${m.etcdPort}`) });
  t.after(() => etcd.close());
  const snapshot = async (): Promise<string> => {
    const all = await etcd.getAll().prefix('/dm/').strings();
    const keep = Object.entries(all).filter(([k]) => /^\/dm\/(source|task|worker\/info)\//.test(k));
    return JSON.stringify(keep.sort());
  };
  await c.startWorker('w1', TTL);
  await c.startWorker('w2', TTL);
  let leader = await c.waitLeader();
  const follower = (leader + 1) % 3;

  await t.test('sources bind to workers (created through a follower, which forwards)', async () => {
    const r = await c.client(follower).operateSource({ op: SourceOp.START, config: [sourceYaml('s1', db.port)] });
    assert.equal(r.result, true);
    const stored = await etcd.get('/dm/source/config/s1').string();
    assert.match(stored ?? '', /source-id: s1/);
    await waitFor('w1 and w2 registered, s1 bound', async () => {
      const m = await c.client(follower).listMember({ worker: true });
      const bound = m.workers.filter((w) => w.stage === WorkerStage.BOUND);
      const free = m.workers.filter((w) => w.stage === WorkerStage.FREE);
      return m.workers.length === 2 && bound.length === 1 && bound[0]?.source === 's1' && free.length === 1;
    }, { timeoutMs: 60_000 });
  });

  await t.test('bad input gives a coded error and changes nothing in etcd', async () => {
    const before = await snapshot();
    assert.equal(await codeOf(c.client(follower).operateSource({ op: SourceOp.START, config: ['source-id: [unclosed\nfrom: {'] })), 20001);
    assert.equal(await codeOf(c.client(follower).operateSource({ op: SourceOp.START, config: [sourceYaml('s9', 1)] })), 10008);
    assert.equal(await codeOf(c.client(follower).operateSource({ op: SourceOp.START, config: [sourceYaml('s1', db.port)] })), 38003);
    const m = await c.client(leader).listMember({ worker: true });
    const live = m.workers.find((w) => w.stage !== WorkerStage.OFFLINE);
    assert.ok(live);
    assert.equal(await codeOf(c.client(follower).offlineMember({ type: MemberType.WORKER, name: live.name })), 46001);
    assert.equal(await snapshot(), before);
  });

  await t.test('start-task writes subtask + stage in one txn; the bound worker runs it; pause reaches the worker', async () => {
    const r = await c.client(follower).startTask({ task: taskYaml('t1', ['s1'], target.port, meta) });
    assert.equal(r.result, true);
    assert.equal(JSON.parse((await etcd.get('/dm/task/stage/s1/t1').string()) ?? '{}').stage, 'Running');
    await waitFor('t1 Running on its worker', async () => {
      const q = await c.client(follower).queryStatus({ name: 't1' });
      return q.sources[0]?.subTaskStatus[0]?.stage === Stage.RUNNING;
    }, { timeoutMs: 30_000 });
    await c.client(follower).operateTask({ op: TaskOp.PAUSE, name: 't1' });
    await waitFor('t1 Paused on its worker', async () => {
      const q = await c.client(leader).queryStatus({ name: 't1' });
      return q.sources[0]?.subTaskStatus[0]?.stage === Stage.PAUSED;
    }, { timeoutMs: 30_000 });
  });

  await t.test('kill -9 the leader: a new leader serves writes; a client of a follower keeps working', async () => {
    const old = leader;
    await c.kill9(c.masters[old]!);
    const survivor = [0, 1, 2].find((i) => i !== old)!;
    const next = await c.waitLeader(30_000, old);
    assert.notEqual(next, old);
    leader = next;
    await waitFor('write through a surviving follower', async () => {
      const r = await c.client(survivor).operateTask({ op: TaskOp.RESUME, name: 't1' });
      return r.result;
    }, { timeoutMs: 30_000 });
    await waitFor('t1 Running again', async () => {
      const q = await c.client(survivor).queryStatus({ name: 't1' });
      return q.sources[0]?.subTaskStatus[0]?.stage === Stage.RUNNING;
    }, { timeoutMs: 30_000 });
    // Bring the killed master back (its data dir exists: it rejoins).
    c.spawn(c.masters[old]!);
    leader = next;
  });

  await t.test('kill -9 the bound worker: its source is bound to the other worker within keepalive-ttl + 5 s', async () => {
    // The leader changed in the previous step. A new leader trusts a worker's alive key only once it
    // has seen its lease renewed (after a full restart etcd revives stale leases, which only count
    // down); a worker lost before that is rebound after the rebind grace instead. Let that window
    // pass (one keepalive-ttl plus the 1 s sampling, with a margin).
    await sleep((TTL + 3) * 1000);
    const m = await c.client(leader).listMember({ worker: true });
    const boundName = m.workers.find((w) => w.stage === WorkerStage.BOUND)?.name;
    const other = m.workers.find((w) => w.stage === WorkerStage.FREE)?.name;
    assert.ok(boundName && other);
    const w = c.workers.find((x) => x.name === boundName)!;
    await c.kill9(w);
    const t0 = Date.now();
    await waitFor('s1 rebound', async () => {
      const r = await c.client(leader).listMember({ worker: true });
      return r.workers.find((x) => x.name === other)?.source === 's1';
    }, { timeoutMs: (TTL + 5) * 1000 + 5000, intervalMs: 100 });
    const took = Date.now() - t0;
    assert.ok(took <= (TTL + 5) * 1000, `rebound after ${took} ms`);
    await waitFor('t1 Running on the new worker', async () => {
      const q = await c.client(leader).queryStatus({ name: 't1' });
      return q.sources[0]?.sourceStatus?.worker === other && q.sources[0]?.subTaskStatus[0]?.stage === Stage.RUNNING;
    }, { timeoutMs: 30_000 });
    c.spawn(w);
  });

  await t.test('a deposed leader (SIGSTOP past its lease, then SIGCONT) writes nothing', async () => {
    leader = await c.waitLeader();
    const frozen = c.masters[leader]!;
    const pid = frozen.child!.pid!;
    const stageBefore = await etcd.get('/dm/task/stage/s1/t1').exec();
    const revBefore = stageBefore.kvs[0]?.mod_revision;
    process.kill(pid, 'SIGSTOP');
    let resumed = false;
    try {
      const next = await c.waitLeader(30_000, leader);
      assert.notEqual(next, leader);
      process.kill(pid, 'SIGCONT');
      resumed = true;
      // Ask the old leader right away: it must not write with its stale leadership.
      let code = 0;
      let ok = false;
      try {
        const r = await c.client(leader).operateTask({ op: TaskOp.PAUSE, name: 't1' }, { timeoutMs: 20_000 });
        ok = r.result;
      } catch (e) {
        code = fromConnectError(e).code;
      }
      const after = await etcd.get('/dm/task/stage/s1/t1').exec();
      if (!ok) {
        assert.ok([48002, 38001, 38002, 38010].includes(code), `unexpected error code ${code}`);
        assert.equal(after.kvs[0]?.mod_revision, revBefore);
      } else {
        // The old leader noticed it was deposed and forwarded the write to the new leader.
        assert.equal(JSON.parse(after.kvs[0]?.value.toString() ?? '{}').stage, 'Paused');
      }
      const r = await c.client(next).listMember({ leader: true });
      assert.equal(r.leader?.name, c.masters[next]!.name);
    } finally {
      if (!resumed) process.kill(pid, 'SIGCONT');
    }
  });

  await t.test('restart everything: sources, bindings and task stages come back from etcd', async () => {
    leader = await c.waitLeader();
    await c.client(leader).operateTask({ op: TaskOp.PAUSE, name: 't1' });
    const before = await c.client(leader).listMember({ worker: true });
    const boundBefore = before.workers.find((w) => w.stage === WorkerStage.BOUND)?.name;
    assert.ok(boundBefore);
    // masters first: with workers going down one by one under a live leader, the scheduler would
    // (rightly) move the source to the worker still up, and the binding under test would change
    await Promise.all(c.masters.map((m) => c.stop(m)));
    await Promise.all(c.workers.map((w) => c.stop(w)));
    for (const m of c.masters) c.spawn(m);
    leader = await c.waitLeader(90_000);
    for (const w of c.workers) c.spawn(w);
    const show = await c.client(leader).operateSource({ op: SourceOp.SHOW });
    assert.deepEqual(show.sources.map((s) => s.source), ['s1']);
    let last = '';
    await waitFor('binding and Paused stage back', async () => {
      const q = await c.client(leader).queryStatus({ name: 't1' });
      last = JSON.stringify({ worker: q.sources[0]?.sourceStatus?.worker, stage: q.sources[0]?.subTaskStatus[0]?.stage, msg: q.sources[0]?.msg });
      return q.sources[0]?.sourceStatus?.worker === boundBefore && q.sources[0]?.subTaskStatus[0]?.stage === Stage.PAUSED;
    }, { timeoutMs: 60_000 }).catch((e: Error) => {
      throw new Error(`${e.message}; last status ${last}; expected worker ${boundBefore}\n${c.logs()}`);
    });
  });
});
