/**
 * A relay source through the real binaries: dm-worker's relay writes the upstream binlog into
 * its relay-dir and the task's sync unit reads from there (pause-relay holds the task back,
 * resume-relay lets it catch up: the task reads the relay, not the source).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MariaDBServer, compareDatabases, waitFor } from '../helpers/index.js';
import { DMCluster, sourceYaml, taskYaml } from '../helpers/cluster.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

test('relay source through dm-master + dm-worker: the task reads the relay (pause-relay holds it, resume-relay catches up)', { timeout: 300_000 }, async (t) => {
  const [db, target] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const c = new DMCluster('relay');
  t.after(async () => {
    await c.close();
    await Promise.all([db.stop(), target.stop()]);
  });
  const ms = await db.sql('SHOW MASTER STATUS');
  const first = String(ms[0]?.['File']);
  await db.sql('CREATE DATABASE ha_test; CREATE TABLE ha_test.t (id INT PRIMARY KEY, v VARCHAR(20))');
  await c.startMasters(1, 3);
  await c.addWorker(3);
  const srcFile = join(c.dir, 's1.yaml');
  writeFileSync(srcFile, `${sourceYaml('s1', db.port)}enable-gtid: true\nenable-relay: true\nrelay-binlog-name: ${first}\n`);
  const created = await c.ctl(['operate-source', 'create', srcFile]);
  assert.equal(created.code, 0, created.stdout + created.stderr);
  const taskFile = join(c.dir, 'task.yaml');
  writeFileSync(taskFile, taskYaml('rt', ['s1'], target.port, { file: first, pos: 4 }));
  const started = await c.ctl(['start-task', taskFile]);
  assert.equal(started.code, 0, started.stdout + started.stderr);

  const converged = async (): Promise<boolean> => (await compareDatabases(db.connOpts(), target.connOpts(), 'ha_test')).every((d) => d.equal);
  await db.sql("INSERT INTO ha_test.t VALUES (1, 'a'), (2, 'b')");
  await waitFor('target has the rows', async () => Number((await target.sql('SELECT COUNT(*) AS n FROM ha_test.t').catch(() => [{ n: 0 }]))[0]?.['n']) === 2, { timeoutMs: 60_000 }).catch(async (e: unknown) => {
    throw new Error(`${String(e)}\n${JSON.stringify((await c.ctl(['query-status', 'rt'])).json)}\n${c.logs(40)}`);
  });

  // the relay paused: new upstream rows do not reach the target
  const paused = await c.ctl(['pause-relay', '-s', 's1']);
  assert.equal(paused.code, 0, paused.stdout + paused.stderr);
  await sleep(1500);
  await db.sql("INSERT INTO ha_test.t VALUES (3, 'c'); FLUSH BINARY LOGS; INSERT INTO ha_test.t VALUES (4, 'd')");
  await sleep(4000);
  const n = Number((await target.sql('SELECT COUNT(*) AS n FROM ha_test.t'))[0]?.['n']);
  assert.equal(n, 2, 'the task reads the relay: nothing new while the relay is paused');
  const resumed = await c.ctl(['resume-relay', '-s', 's1']);
  assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
  await waitFor('converged after resume-relay', converged, { timeoutMs: 90_000 });

  // a second task, task-mode all, on the same relay (its own target): full copy, then its sync
  // unit reads the relay from the snapshot position (pause-relay holds it back too)
  const target2 = await MariaDBServer.start();
  t.after(() => target2.stop());
  const allFile = join(c.dir, 'task-all.yaml');
  writeFileSync(allFile, taskYaml('ra', ['s1'], target2.port));
  const startedAll = await c.ctl(['start-task', allFile]);
  assert.equal(startedAll.code, 0, startedAll.stdout + startedAll.stderr);
  const converged2 = async (): Promise<boolean> => (await compareDatabases(db.connOpts(), target2.connOpts(), 'ha_test')).every((d) => d.equal);
  await waitFor('task-mode all converged', converged2, { timeoutMs: 120_000 }).catch(async (e: unknown) => {
    throw new Error(`${String(e)}\n${JSON.stringify((await c.ctl(['query-status', 'ra'])).json)}\n${c.logs(40)}`);
  });
  await waitFor('ra in Sync', async () => JSON.stringify((await c.ctl(['query-status', 'ra'])).json).includes('"unit": "Sync"') || JSON.stringify((await c.ctl(['query-status', 'ra'])).json).includes('"unit":"Sync"'), { timeoutMs: 60_000 });
  assert.equal((await c.ctl(['pause-relay', '-s', 's1'])).code, 0);
  await sleep(1500);
  await db.sql("INSERT INTO ha_test.t VALUES (5, 'e')");
  await sleep(4000);
  const n2 = Number((await target2.sql('SELECT COUNT(*) AS n FROM ha_test.t'))[0]?.['n']);
  assert.equal(n2, 4, 'the all-mode task reads the relay after its full phase: nothing new while the relay is paused');
  assert.equal((await c.ctl(['resume-relay', '-s', 's1'])).code, 0);
  await waitFor('both tasks converged after resume-relay', async () => (await converged()) && (await converged2()), { timeoutMs: 90_000 });

  // stop-relay: the relay files stop growing; both tasks go on from the upstream binlog instead
  // of waiting at the relay's end
  assert.equal((await c.ctl(['stop-relay', '-s', 's1'])).code, 0);
  await waitFor('relay stopped', async () => !(await c.ctl(['query-status', '-s', 's1'])).stdout.includes('relayCatchUpMaster'), { timeoutMs: 30_000 });
  await db.sql("INSERT INTO ha_test.t VALUES (6, 'f'); FLUSH BINARY LOGS; INSERT INTO ha_test.t VALUES (7, 'g')");
  await waitFor('both tasks converged after stop-relay', async () => (await converged()) && (await converged2()), { timeoutMs: 90_000 }).catch(async (e: unknown) => {
    throw new Error(`${String(e)}\n${JSON.stringify((await c.ctl(['query-status', 'rt'])).json)}\n${c.logs(40)}`);
  });
  assert.match(readFileSync(c.workers[0]!.log, 'utf8'), /relay stopped: sync units read the upstream binlog/);
});
