/**
 * DM's reason for a relay in `task-mode: all` (real binaries, cluster harness): while the full
 * phase runs (its load held back by a lock on the target table), the upstream rotates and purges
 * its binlogs and the relay's automatic purge runs every second; the relay keeps the file of the
 * full phase's snapshot (the task's stored position: no sync reader is running yet), so after the
 * load the sync phase starts from the relay and the target converges.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { MariaDBServer, compareDatabases, waitFor } from '../helpers/index.js';
import { DMCluster, missingBinaries, sourceYaml, taskYaml } from '../helpers/cluster.js';
import { listBinlogFiles, readIndex } from '../../src/units/relay/index.js';
import { metaTableName } from '../../src/units/index.js';

test('task-mode all on a relay source: the relay keeps the snapshot file through the full phase while the upstream purges; sync starts from the relay', { skip: missingBinaries() || false, timeout: 300_000 }, async (t) => {
  const [db, target] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const c = await DMCluster.start({ masters: 1, workers: 1 });
  const lock = await mysql.createConnection(target.connOpts());
  t.after(async () => {
    await lock.end().catch(() => undefined);
    await c.close();
    await Promise.all([db.stop(), target.stop()]);
  });
  const first = String((await db.sql('SHOW MASTER STATUS'))[0]?.['File']);
  const ddl = 'CREATE TABLE ha_test.t (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT)';
  await db.sql(`CREATE DATABASE ha_test; ${ddl}`);
  const write = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await db.sql("INSERT INTO ha_test.t (v) VALUES (REPEAT('f', 400))");
  };
  await write(20);
  await db.sql('FLUSH BINARY LOGS');
  await write(5);
  await c.ctlFile(['operate-source', 'create'], 's1.yaml', `${sourceYaml('s1', db.port)}enable-gtid: true\nenable-relay: true\nrelay-binlog-name: ${first}\npurge:\n  interval: 1\n  expires: 0\n  remain-space: 100000\n`);
  const relayDir = join(c.dir, c.workers[0]!.name, 'relay');
  await waitFor('relay caught up', async () => (await c.ctl(['query-status', '-s', 's1'])).stdout.includes('"relayCatchUpMaster": true'), { timeoutMs: 60_000 });

  // the load will wait for this lock on the target table
  await lock.query(`CREATE DATABASE ha_test`);
  await lock.query(ddl);
  await lock.query('LOCK TABLES ha_test.t WRITE');
  // no precheck: it would wait for the lock too
  await c.ctlFile(['start-task'], 'task.yaml', `${taskYaml('ta', ['s1'], target.port)}ignore-checking-items: ["all"]\n`);
  const snapTable = metaTableName('dm_meta', 'ta', 'loadSnapshot');
  const snapFile = await waitFor('the full phase recorded its snapshot', async () => {
    const rows = await target.sql(`SELECT binlog_name AS f FROM ${snapTable} ORDER BY seq LIMIT 1`).catch(() => []);
    return rows[0] ? String(rows[0]['f']) : undefined;
  }, { timeoutMs: 60_000 });

  // during the full phase: the upstream rotates, the relay purges automatically, the upstream purges
  for (let i = 0; i < 3; i++) {
    await write(3);
    await db.sql('FLUSH BINARY LOGS');
  }
  await write(3);
  await waitFor('relay caught up again', async () => (await c.ctl(['query-status', '-s', 's1'])).stdout.includes('"relayCatchUpMaster": true'), { timeoutMs: 60_000 });
  const sub = (): string => join(relayDir, readIndex(relayDir).at(-1)!);
  await waitFor('the automatic purge removed the files before the snapshot\'s', async () => listBinlogFiles(sub())[0] === snapFile, { timeoutMs: 30_000 }).catch((e: unknown) => {
    throw new Error(`${String(e)}: relay has ${listBinlogFiles(sub()).join(',')}, snapshot in ${snapFile}\n${c.logs(20)}`);
  });
  await sleep(2500);
  assert.equal(listBinlogFiles(sub())[0], snapFile, 'the snapshot file stays in the relay');
  const current = String((await db.sql('SHOW MASTER STATUS'))[0]?.['File']);
  await db.sql(`PURGE BINARY LOGS TO '${current}'`);

  await lock.query('UNLOCK TABLES');
  await waitFor('converged after the full phase, sync from the relay', async () => (await compareDatabases(db.connOpts(), target.connOpts(), 'ha_test')).every((d) => d.equal), { timeoutMs: 120_000 }).catch(async (e: unknown) => {
    throw new Error(`${String(e)}\n${(await c.ctl(['query-status', 'ta'])).stdout}\n${c.logs(40)}`);
  });
});
