/**
 * Upstream switch end to end (real binaries, cluster harness): a relay source whose address (a
 * TCP proxy) moves from a MariaDB primary to its GTID replica while a task syncs from the relay.
 * The primary has rotated its binlog several times and the replica has not, so the new server's
 * file names sort before the old one's. The relay opens a second sub-directory; the task follows
 * it and the target ends equal to the new primary: no transaction lost or applied twice (a
 * counter bumped by every transaction would differ), also after a pause/resume and a kill -9 of
 * the worker that restart the task from a checkpoint in the new server's files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MariaDBServer, compareDatabases, waitFor } from '../helpers/index.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { DMCluster, missingBinaries, sourceYaml, taskYaml } from '../helpers/cluster.js';
import { readIndex } from '../../src/units/relay/index.js';

test('upstream switch under a task reading the relay: the target equals the new primary, nothing lost or doubled', { skip: missingBinaries() || false, timeout: 300_000 }, async (t) => {
  const [primary, replica, target] = await Promise.all([MariaDBServer.start(), MariaDBServer.start(), MariaDBServer.start()]);
  const proxy = await FaultProxy.start({ port: primary.port });
  const c = await DMCluster.start({ masters: 1, workers: 1 });
  t.after(async () => {
    await c.close();
    await proxy.close();
    await Promise.all([primary.stop(), replica.stop(), target.stop()]);
  });
  await replica.sql(`CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${primary.port}, MASTER_USER='root', MASTER_PASSWORD='', MASTER_USE_GTID=slave_pos`);
  await replica.sql('START SLAVE');
  await primary.sql('CREATE DATABASE ha_test; CREATE TABLE ha_test.t (id INT PRIMARY KEY, src VARCHAR(10)); CREATE TABLE ha_test.c (k INT PRIMARY KEY, n INT); INSERT INTO ha_test.c VALUES (1, 0)');
  const txn = async (db: MariaDBServer, id: number, tag: string): Promise<void> => {
    await db.sql(`BEGIN; INSERT INTO ha_test.t VALUES (${id}, '${tag}'); UPDATE ha_test.c SET n = n + 1 WHERE k = 1; COMMIT`);
  };
  await c.ctlFile(['operate-source', 'create'], 's1.yaml', `${sourceYaml('s1', proxy.port)}enable-gtid: true\nenable-relay: true\nrelay-binlog-name: mysql-bin.000001\n`);
  await c.ctlFile(['start-task'], 'task.yaml', taskYaml('sw', ['s1'], target.port, { file: 'mysql-bin.000001', pos: 4 }));

  let id = 0;
  for (let f = 0; f < 3; f++) {
    for (let i = 0; i < 5; i++) await txn(primary, id++, 'p');
    await primary.sql('FLUSH BINARY LOGS'); // not replicated: the replica stays in its first file
  }
  for (let i = 0; i < 5; i++) await txn(primary, id++, 'p');
  const equal = (a: MariaDBServer) => async (): Promise<boolean> => (await compareDatabases(a.connOpts(), target.connOpts(), 'ha_test')).every((d) => d.equal);
  await waitFor('target equals the primary', equal(primary), { timeoutMs: 90_000 }).catch(async (e: unknown) => {
    throw new Error(`${String(e)}\n${(await c.ctl(['query-status', 'sw'])).stdout}\n${c.logs(30)}`);
  });
  const pGtid = String((await primary.sql('SELECT @@gtid_binlog_pos AS g'))[0]?.['g']);
  await waitFor('replica caught up', async () => String((await replica.sql('SELECT @@gtid_slave_pos AS g'))[0]?.['g']) === pGtid, { timeoutMs: 60_000 });
  const [pFile, rFile] = [String((await primary.sql('SHOW MASTER STATUS'))[0]?.['File']), String((await replica.sql('SHOW MASTER STATUS'))[0]?.['File'])];
  assert.ok(rFile < pFile, `the new server's file ${rFile} sorts before the old one's ${pFile}`);

  // the switch: the source address now reaches the replica, which becomes the primary
  await replica.sql('STOP SLAVE');
  proxy.target.port = replica.port;
  proxy.reset();
  for (let i = 0; i < 10; i++) await txn(replica, id++, 'r');
  const relayDir = join(c.dir, c.workers[0]!.name, 'relay');
  await waitFor('relay switched sub-directory', async () => readIndex(relayDir).length === 2, { timeoutMs: 60_000 });
  await waitFor('target equals the new primary', equal(replica), { timeoutMs: 90_000 }).catch(async (e: unknown) => {
    throw new Error(`${String(e)}\n${(await c.ctl(['query-status', 'sw'])).stdout}\n${c.logs(40)}`);
  });
  assert.match(readFileSync(c.workers[0]!.log, 'utf8'), /relay switches to the next sub-directory/, "the task's reader crossed the switch in the relay");
  const n = Number((await target.sql('SELECT n FROM ha_test.c WHERE k = 1'))[0]?.['n']);
  assert.equal(n, id, 'every transaction applied once');
  const st = await c.ctl(['query-status', 'sw']);
  assert.match(st.stdout, /"binlogType": "local"/, st.stdout);
  assert.doesNotMatch(st.stdout, /"stage": "Paused"/, st.stdout);

  // restarts from a checkpoint in the new server's files: pause/resume, then kill -9 of the worker
  assert.equal((await c.ctl(['pause-task', 'sw'])).json['result'], true);
  for (let i = 0; i < 5; i++) await txn(replica, id++, 'r');
  assert.equal((await c.ctl(['resume-task', 'sw'])).json['result'], true);
  await waitFor('target equals the new primary after pause/resume', equal(replica), { timeoutMs: 90_000 });
  const w = c.workers[0]!;
  await c.kill9(w);
  for (let i = 0; i < 5; i++) await txn(replica, id++, 'r');
  c.spawn(w);
  await waitFor('target equals the new primary after a worker kill -9', equal(replica), { timeoutMs: 120_000 }).catch(async (e: unknown) => {
    throw new Error(`${String(e)}\n${(await c.ctl(['query-status', 'sw'])).stdout}\n${c.logs(40)}`);
  });
  assert.equal(Number((await target.sql('SELECT n FROM ha_test.c WHERE k = 1'))[0]?.['n']), id, 'every transaction applied once after the restarts');
});
