/**
 * Upstream switch under a reader: the relay writer (src/units/relay/relay.ts) follows the source
 * address from a MariaDB primary to its GTID replica (a TCP proxy re-pointed between them), so
 * the relay gets a second sub-directory; the relay reader goes on across it: every transaction
 * once, in order, none lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer, makeTempDir, removeTempDir, waitFor } from '../helpers/index.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { Relay, readIndex } from '../../src/units/relay/index.js';
import { createBinlogReader, type BinlogEvent } from '../../src/binlog/index.js';
import { silentLogger } from '../../src/log/index.js';

void test('relay reader across an upstream switch (primary → GTID replica): every transaction once, in order', async (t) => {
  const [primary, replica] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const proxy = await FaultProxy.start({ port: primary.port });
  const relayDir = makeTempDir('relay-switch');
  const relay = new Relay({ sourceId: 'sw', conn: { ...primary.connOpts(), ...proxy.address }, enableGtid: true, relayDir, serverId: 778200 + (process.pid % 100), relayBinlogName: 'mysql-bin.000001', logger: silentLogger });
  t.after(async () => {
    await relay.close();
    await proxy.close();
    await Promise.all([primary.stop(), replica.stop()]);
    removeTempDir(relayDir);
  });
  await replica.sql(`CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${primary.port}, MASTER_USER='root', MASTER_PASSWORD='', MASTER_USE_GTID=slave_pos`);
  await replica.sql('START SLAVE');
  await primary.sql('CREATE DATABASE sw; CREATE TABLE sw.t (id INT PRIMARY KEY, src VARCHAR(10))');
  const insert = async (db: MariaDBServer, from: number, n: number, tag: string): Promise<void> => {
    for (let i = from; i < from + n; i++) await db.sql(`INSERT INTO sw.t VALUES (${i}, '${tag}')`);
  };
  await insert(primary, 0, 10, 'p');
  relay.start();
  const reader = createBinlogReader({ connection: primary.connOpts(), flavor: 'mariadb', serverId: 778300 + (process.pid % 100), start: { file: 'mysql-bin.000001', offset: 4 }, heartbeatMs: 0, relay: { dir: relayDir, pollMs: 100 } });
  await reader.start(AbortSignal.timeout(30_000));
  const evs: BinlogEvent[] = [];
  const ids = (): unknown[] => evs.flatMap((e) => (e.kind === 'rows' ? e.rows.map((r) => r[0]) : []));
  const reading = (async () => {
    const signal = AbortSignal.timeout(180_000);
    for (;;) {
      const batch = await reader.nextBatch(64, signal);
      if (batch.length === 0) return;
      for (const ev of batch) if (ev.kind !== 'heartbeat') evs.push(ev);
      if (ids().length >= 30) return;
    }
  })();
  try {
    await insert(primary, 10, 10, 'p');
    await waitFor('reader has the primary rows', async () => ids().length >= 20, { timeoutMs: 60_000 });
    // the replica has everything; the source address moves to it; it becomes the primary
    const pGtid = String((await primary.sql('SELECT @@gtid_binlog_pos AS g'))[0]?.['g']);
    await waitFor('replica caught up', async () => String((await replica.sql('SELECT @@gtid_slave_pos AS g'))[0]?.['g']) === pGtid, { timeoutMs: 60_000 });
    await replica.sql('STOP SLAVE');
    proxy.target.port = replica.port;
    proxy.reset();
    await insert(replica, 20, 10, 'r');
    await waitFor('relay switched sub-directory', async () => readIndex(relayDir).length === 2, { timeoutMs: 60_000 });
    await reading;
  } finally {
    await reader.close();
  }
  // every row once, in order, across the two upstreams
  assert.deepEqual(ids(), Array.from({ length: 30 }, (_, i) => i));
  const gtids = evs.flatMap((e) => (e.kind === 'gtid' ? [e.gtid] : []));
  assert.equal(new Set(gtids).size, gtids.length, 'no transaction twice');
  const lastRows = evs.filter((e) => e.kind === 'rows').at(-1)!;
  assert.equal(lastRows.pos.file.startsWith('mysql-bin.'), true);
  assert.match(gtids.at(-1)!, new RegExp(`^0-${replica.serverId}-`), 'the last transactions come from the new upstream');
});
