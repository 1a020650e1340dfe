import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer } from '../helpers/index.js';
import type { BinlogEvent } from '../../src/binlog/index.js';
import { assertWholeTxns, setupRs, startTinyQueueReader, txnWriter } from './binlog-fixture.js';

void test('binlog reader: upstream restart mid-transaction → reconnects, every transaction delivered exactly once and whole', async (t) => {
  const db = await MariaDBServer.start();
  t.after(() => db.stop());
  const start = await setupRs(db);
  // 3 transactions of 20 single-row statements each (20 rows events per transaction)
  const writeTxns = txnWriter(db);
  await writeTxns(3, 0);
  const r = await startTinyQueueReader(db.connOpts(), start, 5000 + (process.pid % 900));
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
  // shape: 5 × (gtid, 20 × rows, xid), each row once, in order, five distinct transactions
  assertWholeTxns(evs, 5);
});
