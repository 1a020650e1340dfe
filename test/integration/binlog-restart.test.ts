import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer } from '../helpers/index.js';
import { createBinlogReader, getMasterStatus, type BinlogEvent } from '../../src/binlog/index.js';

void test('binlog reader: upstream restart mid-transaction → reconnects, every transaction delivered exactly once and whole', async (t) => {
  const db = await MariaDBServer.start();
  t.after(() => db.stop());
  await db.sql('CREATE DATABASE rs; CREATE TABLE rs.t (id INT PRIMARY KEY, txn INT)');
  const c = await db.connect();
  const start = await getMasterStatus(c);
  // 3 transactions of 20 single-row statements each (20 rows events per transaction)
  let id = 0;
  const writeTxns = async (n: number, first: number): Promise<void> => {
    const conn = await db.connect();
    for (let k = 0; k < n; k++) {
      const stmts = Array.from({ length: 20 }, () => `INSERT INTO rs.t VALUES (${id++}, ${first + k})`).join(';');
      await conn.query(`BEGIN; ${stmts}; COMMIT`);
    }
    await conn.end();
  };
  await c.end();
  await writeTxns(3, 0);
  const r = createBinlogReader({
    connection: db.connOpts(),
    flavor: 'mariadb',
    serverId: 5000 + (process.pid % 900),
    start: { file: start.file, offset: start.offset },
    heartbeatMs: 0,
    maxQueueEvents: 4,
  });
  await r.start(AbortSignal.timeout(20_000));
  const evs: BinlogEvent[] = [];
  let restarted = false;
  try {
    for await (const ev of r as AsyncIterable<BinlogEvent>) {
      if (ev.kind === 'heartbeat') continue;
      evs.push(ev);
      // in the middle of the first transaction: the reader is paused on a full queue
      if (!restarted && evs.length === 6) {
        restarted = true;
        await db.restart();
        await writeTxns(2, 3);
      }
      if (evs.filter((e) => e.kind === 'xid').length === 5) break;
    }
  } finally {
    await r.close();
  }
  assert.ok(r.status().reconnects >= 1, 'the reader reconnected');
  // shape: 5 × (gtid, 20 × rows, xid), each row once, in order
  const shape = evs.map((e) => e.kind).join(',');
  const one = ['gtid', ...Array<string>(20).fill('rows'), 'xid'].join(',');
  assert.equal(shape, Array(5).fill(one).join(','));
  const ids = evs.flatMap((e) => (e.kind === 'rows' ? e.rows.map((row) => row[0]) : []));
  assert.deepEqual(ids, Array.from({ length: 100 }, (_, i) => i));
  const gtids = evs.flatMap((e) => (e.kind === 'gtid' ? [e.gtid] : []));
  assert.equal(new Set(gtids).size, 5, 'five distinct transactions');
});
