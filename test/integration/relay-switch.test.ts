/**
 * Upstream switch (docs/relay.md): the relay follows a primary, then the source's address moves
 * to its GTID replica (log-slave-updates). The relay finds the replica's file that holds its
 * GTID set, opens `<replica-uuid>.000002`, appends it to server-uuid.index and continues; the
 * files of the new sub-directory equal the replica's binlog files byte for byte and the relay's
 * GTID set reaches the replica's gtid_binlog_pos. Without GTID the switch is refused (30004).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MariaDBServer, makeTempDir, removeTempDir, waitFor } from '../helpers/index.js';
import { Relay, listBinlogFiles, readIndex } from '../../src/units/relay/index.js';
import { silentLogger } from '../../src/log/index.js';

test('relay follows an upstream switch from a primary to its GTID replica', { timeout: 300_000 }, async (t) => {
  const [p, r] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const dir = makeTempDir('relay-switch');
  t.after(async () => {
    await Promise.all([p.stop(), r.stop()]);
    removeTempDir(dir);
  });
  await r.sql(`CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${p.port}, MASTER_USER='root', MASTER_PASSWORD='', MASTER_USE_GTID=slave_pos`);
  await r.sql('START SLAVE');
  await p.sql('CREATE DATABASE sw');
  await p.sql('CREATE TABLE sw.t (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT)');
  const write = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await p.sql("INSERT INTO sw.t (v) VALUES (REPEAT('s', 500))");
  };
  await write(10);
  await p.sql('FLUSH BINARY LOGS');
  await write(5);
  const gtidOf = async (m: MariaDBServer): Promise<string> => String((await m.sql('SELECT @@gtid_binlog_pos AS g'))[0]?.['g']);
  await waitFor('replica caught up', async () => (await gtidOf(r)) === (await gtidOf(p)), { timeoutMs: 30_000 });

  const opts = { sourceId: 'sw', enableGtid: true, relayDir: dir, serverId: 999001, relayBinlogName: 'mysql-bin.000001', logger: silentLogger };
  const onPrimary = new Relay({ ...opts, conn: p.connOpts() });
  onPrimary.start();
  await waitFor('relay on the primary caught up', async () => onPrimary.status().relayBinlog.gtid === (await gtidOf(p)) && !onPrimary.status().relayBinlog.gtid.endsWith('-0'), { timeoutMs: 60_000 });
  await onPrimary.close();
  const first = readIndex(dir)[0]!;
  assert.equal(first, `0-${p.serverId}.000001`);

  // failover: the source now points at the replica; the primary keeps writing through it
  await write(7);
  await waitFor('replica caught up again', async () => (await gtidOf(r)) === (await gtidOf(p)), { timeoutMs: 30_000 });

  // without GTID the relay refuses to continue on another server
  const noGtid = new Relay({ ...opts, enableGtid: false, conn: r.connOpts() });
  noGtid.start();
  await waitFor('refused without GTID', async () => noGtid.status().errors[0]?.code === 30004, { timeoutMs: 30_000 });
  assert.equal(noGtid.status().stage, 'Paused');
  await noGtid.close();
  assert.deepEqual(readIndex(dir), [first], 'nothing added when refused');

  const onReplica = new Relay({ ...opts, conn: r.connOpts() });
  onReplica.start();
  try {
    await waitFor('relay on the replica caught up', async () => onReplica.status().relayBinlog.gtid === (await gtidOf(r)) && onReplica.status().relaySubDir !== first, { timeoutMs: 60_000 });
    const second = `0-${r.serverId}.000002`;
    assert.deepEqual(readIndex(dir), [first, second]);
    await write(4);
    await waitFor('new writes reach the relay through the replica', async () => onReplica.status().relayBinlog.gtid === (await gtidOf(p)), { timeoutMs: 60_000 });
    await waitFor('relay files of the replica complete', async () => onReplica.status().relayCatchUpMaster, { timeoutMs: 30_000 });
    for (const f of listBinlogFiles(join(dir, second))) {
      assert.ok(readFileSync(join(dir, second, f)).equals(readFileSync(join(r.dataDir, f))), `${second}/${f} equals the replica's ${f}`);
    }
  } finally {
    await onReplica.close();
  }
});
