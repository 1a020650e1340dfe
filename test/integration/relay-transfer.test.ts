/**
 * transfer-source of a relay source with a task (real binaries, cluster harness): the new worker
 * starts a fresh relay in its own relay-dir, and, as DM, at the earliest upstream file the
 * source's tasks need (the paused task's checkpoint), not at the upstream's current file. The
 * upstream then purges its binlogs; the resumed task converges reading the new worker's relay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { MariaDBServer, compareDatabases, waitFor } from '../helpers/index.js';
import { DMCluster, missingBinaries, sourceYaml, taskYaml, waitTask } from '../helpers/cluster.js';
import { listBinlogFiles, readIndex } from '../../src/units/relay/index.js';
import { metaTableName } from '../../src/units/index.js';

test('transfer-source of a relay source: the new worker\'s relay starts at the task\'s checkpoint file; the task resumes from it after the upstream purged its binlogs', { skip: missingBinaries() || false, timeout: 300_000 }, async (t) => {
  const [db, target] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const c = await DMCluster.start({ masters: 1, workers: 1 });
  t.after(async () => {
    await c.close();
    await Promise.all([db.stop(), target.stop()]);
  });
  const first = String((await db.sql('SHOW MASTER STATUS'))[0]?.['File']);
  await db.sql('CREATE DATABASE ha_test; CREATE TABLE ha_test.t (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT)');
  await c.ctlFile(['operate-source', 'create'], 's1.yaml', `${sourceYaml('s1', db.port)}enable-gtid: true\nenable-relay: true\n`);
  await c.ctlFile(['start-task'], 'task.yaml', taskYaml('rt', ['s1'], target.port, { file: first, pos: 4 }));
  const write = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await db.sql("INSERT INTO ha_test.t (v) VALUES (REPEAT('x', 300))");
  };
  const converged = async (): Promise<boolean> => (await compareDatabases(db.connOpts(), target.connOpts(), 'ha_test')).every((d) => d.equal);
  const sourceStatus = async (): Promise<string> => (await c.ctl(['query-status', '-s', 's1'])).stdout;

  await write(3);
  await db.sql('FLUSH BINARY LOGS');
  await write(3);
  await waitFor('converged', converged, { timeoutMs: 90_000 });
  assert.equal((await c.ctl(['pause-task', 'rt'])).json['result'], true);
  await waitTask(c, 'rt', 'Paused', (s) => s.every((x) => x.stage === 'Paused'));
  const cp = String((await target.sql(`SELECT binlog_name AS f FROM ${metaTableName('dm_meta', 'rt', 'syncerCheckpoint')} WHERE cp_schema = '' AND cp_table = ''`))[0]?.['f']);
  for (let i = 0; i < 3; i++) {
    await write(2);
    await db.sql('FLUSH BINARY LOGS');
  }
  await write(2);
  const current = String((await db.sql('SHOW MASTER STATUS'))[0]?.['File']);
  assert.notEqual(cp, current);

  const w2 = await c.addWorker();
  const moved = await c.ctl(['transfer-source', 's1', w2.name]);
  assert.equal(moved.json['result'], true, moved.stdout);
  await waitFor('relay on the new worker caught up', async () => {
    const s = await sourceStatus();
    return s.includes(`"worker": "${w2.name}"`) && s.includes('"relayCatchUpMaster": true');
  }, { timeoutMs: 90_000 }).catch(async (e: unknown) => {
    throw new Error(`${String(e)}\n${await sourceStatus()}\n${c.logs(30)}`);
  });
  const relayDir = join(c.dir, w2.name, 'relay');
  const files = listBinlogFiles(join(relayDir, readIndex(relayDir).at(-1)!));
  assert.equal(files[0], cp, `the new relay starts at the task's checkpoint file (${files.join(',')}; upstream at ${current})`);

  // only the new worker's relay has the task's binlog now
  await db.sql(`PURGE BINARY LOGS TO '${current}'`);
  await write(3);
  assert.equal((await c.ctl(['resume-task', 'rt'])).json['result'], true);
  await waitFor('converged from the new relay after the upstream purge', converged, { timeoutMs: 90_000 }).catch(async (e: unknown) => {
    throw new Error(`${String(e)}\n${(await c.ctl(['query-status', 'rt'])).stdout}\n${c.logs(40)}`);
  });
  const st = await c.ctl(['query-status', 'rt']);
  assert.match(st.stdout, /"binlogType": "local"/, st.stdout);
});
