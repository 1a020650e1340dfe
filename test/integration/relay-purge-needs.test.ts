/**
 * Relay purge never removes a file a task still needs, also when the task's relay reader is not
 * running (real binaries, cluster harness). A paused task keeps the relay from its checkpoint:
 * the automatic purge (every second, `remain-space` above the disk: purge whatever is inactive)
 * and `purge-relay --inactive` leave its checkpoint's file, `purge-relay --filename` past it is
 * refused with 30006 naming the task; the upstream then purges its binlogs and the resumed task
 * converges from the relay alone. The same after a kill -9 and restart of the worker while the
 * task is paused (no reader has registered anything in the new process).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MariaDBServer, compareDatabases, waitFor } from '../helpers/index.js';
import { DMCluster, missingBinaries, sourceYaml, taskYaml, waitTask } from '../helpers/cluster.js';
import { listBinlogFiles, readIndex } from '../../src/units/relay/index.js';
import { metaTableName } from '../../src/units/index.js';

test('relay purge keeps what a paused task needs (also after a worker restart); the task converges from the relay after the upstream purged its binlogs', { skip: missingBinaries() || false, timeout: 400_000 }, async (t) => {
  const [db, target] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const c = await DMCluster.start({ masters: 1, workers: 1 });
  t.after(async () => {
    await c.close();
    await Promise.all([db.stop(), target.stop()]);
  });
  const w = c.workers[0]!;
  const relayDir = join(c.dir, w.name, 'relay');
  const first = String((await db.sql('SHOW MASTER STATUS'))[0]?.['File']);
  await db.sql('CREATE DATABASE ha_test; CREATE TABLE ha_test.t (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT)');
  // automatic purge every second of every inactive file (remain-space above any disk)
  await c.ctlFile(['operate-source', 'create'], 's1.yaml', `${sourceYaml('s1', db.port)}enable-gtid: true\nenable-relay: true\nrelay-binlog-name: ${first}\npurge:\n  interval: 1\n  expires: 0\n  remain-space: 100000\n`);
  await c.ctlFile(['start-task'], 'task.yaml', taskYaml('rt', ['s1'], target.port, { file: first, pos: 4 }));

  const write = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await db.sql("INSERT INTO ha_test.t (v) VALUES (REPEAT('p', 500))");
  };
  const converged = async (): Promise<boolean> => (await compareDatabases(db.connOpts(), target.connOpts(), 'ha_test')).every((d) => d.equal);
  const sub = (): string => join(relayDir, readIndex(relayDir).at(-1)!);
  const relayCaughtUp = async (): Promise<boolean> => (await c.ctl(['query-status', '-s', 's1'])).stdout.includes('"relayCatchUpMaster": true');
  const checkpointFile = async (): Promise<string> => String((await target.sql(`SELECT binlog_name AS f FROM ${metaTableName('dm_meta', 'rt', 'syncerCheckpoint')} WHERE cp_schema = '' AND cp_table = ''`))[0]?.['f']);

  /** Pause the task in a later file than the relay's first, rotate 3 times, let the automatic purge run. */
  const pausedWithBacklog = async (round: string): Promise<string> => {
    await db.sql('FLUSH BINARY LOGS');
    await write(3);
    await waitFor(`${round}: converged before the pause`, converged, { timeoutMs: 90_000 });
    const cpBefore = await checkpointFile();
    const paused = await c.ctl(['pause-task', 'rt']);
    assert.equal(paused.json['result'], true, paused.stdout);
    await waitTask(c, 'rt', 'Paused', (s) => s.every((x) => x.stage === 'Paused'));
    const cp = await checkpointFile();
    assert.ok(cp >= cpBefore, `${round}: checkpoint ${cp}`);
    for (let i = 0; i < 3; i++) {
      await write(2);
      await db.sql('FLUSH BINARY LOGS');
    }
    await write(2);
    await waitFor(`${round}: relay caught up`, relayCaughtUp, { timeoutMs: 60_000 });
    return cp;
  };

  const purgedUpstreamAndResumed = async (round: string, cp: string): Promise<void> => {
    // the relay keeps the checkpoint's file and everything after it; the automatic purge removed
    // the files before it (it ran), never the needed ones
    await waitFor(`${round}: the automatic purge removed the files before the checkpoint's`, async () => listBinlogFiles(sub())[0] === cp, { timeoutMs: 30_000 }).catch((e: unknown) => {
      throw new Error(`${String(e)}: relay has ${listBinlogFiles(sub()).join(',')}, checkpoint in ${cp}\n${c.logs(30)}`);
    });
    await sleep(2500); // a few more automatic rounds
    assert.equal(listBinlogFiles(sub())[0], cp, `${round}: the paused task's file is kept`);
    const inactive = await c.ctl(['purge-relay', '-s', 's1', '--inactive']);
    assert.equal(inactive.json['result'], true, inactive.stdout);
    assert.equal(listBinlogFiles(sub())[0], cp, `${round}: purge-relay --inactive keeps it`);
    const files = listBinlogFiles(sub());
    const refused = await c.ctl(['purge-relay', '-s', 's1', '--filename', files[2]!]);
    assert.equal(refused.json['result'], false, refused.stdout);
    assert.match(refused.stdout, /code=30006/);
    assert.match(refused.stdout, /task rt still needs/);
    assert.deepEqual(listBinlogFiles(sub()), files, `${round}: a refused purge removes nothing`);
    // the upstream no longer has the task's binlog: only the relay does
    const [st] = await db.sql('SHOW MASTER STATUS');
    await db.sql(`PURGE BINARY LOGS TO '${String(st?.['File'])}'`);
    assert.ok(!existsSync(join(db.dataDir, cp)), `${round}: upstream purged ${cp}`);
    const resumed = await c.ctl(['resume-task', 'rt']);
    assert.equal(resumed.json['result'], true, resumed.stdout);
    await waitFor(`${round}: converged from the relay after the upstream purge`, converged, { timeoutMs: 90_000 }).catch(async (e: unknown) => {
      throw new Error(`${String(e)}\n${(await c.ctl(['query-status', 'rt'])).stdout}\n${c.logs(40)}`);
    });
  };

  await write(3);
  await waitFor('converged', converged, { timeoutMs: 90_000 });

  // 1. paused task, worker running
  const cp1 = await pausedWithBacklog('paused');
  await purgedUpstreamAndResumed('paused', cp1);

  // 2. paused task, worker killed -9 and restarted: its new process has no reader registered
  const cp2 = await pausedWithBacklog('restart');
  await c.kill9(w);
  c.spawn(w);
  await waitFor('worker back, relay running', relayCaughtUp, { timeoutMs: 90_000 });
  await waitTask(c, 'rt', 'Paused after the restart', (s) => s.every((x) => x.stage === 'Paused'));
  await purgedUpstreamAndResumed('restart', cp2);
});
