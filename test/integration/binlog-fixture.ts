/**
 * Shared pieces of the binlog reader's restart/reconnect tests: transactions of 20 single-row
 * inserts into `rs.t`, and the check that each arrived exactly once, whole and in order.
 */
import assert from 'node:assert/strict';
import type { ConnOpts, MariaDBServer } from '../helpers/index.js';
import { createBinlogReader, getMasterStatus, type BinlogEvent, type BinlogReader } from '../../src/binlog/index.js';

export const ROWS_PER_TXN = 20;

/** Create `rs.t` and return the binlog position before the first transaction written after it. */
export async function setupRs(db: MariaDBServer): Promise<{ file: string; offset: number }> {
  await db.sql('CREATE DATABASE rs; CREATE TABLE rs.t (id INT PRIMARY KEY, txn INT)');
  const c = await db.connect();
  try {
    const s = await getMasterStatus(c);
    return { file: s.file, offset: s.offset };
  } finally {
    await c.end();
  }
}

/**
 * A started reader from `start` over `connection`, without heartbeats and with a 4-event queue, so
 * that it sits paused mid-transaction while the test consumes slowly.
 */
export async function startTinyQueueReader(connection: ConnOpts, start: { file: string; offset: number }, serverId: number): Promise<BinlogReader> {
  const r = createBinlogReader({ connection, flavor: 'mariadb', serverId, start, heartbeatMs: 0, maxQueueEvents: 4 });
  await r.start(AbortSignal.timeout(20_000));
  return r;
}

/** `write(n, first)`: n transactions (txn = first, first+1, ...) of 20 inserts each, ids 0, 1, ... across calls. */
export function txnWriter(db: MariaDBServer): (n: number, first: number) => Promise<void> {
  let id = 0;
  return async (n, first) => {
    const conn = await db.connect();
    for (let k = 0; k < n; k++) {
      const stmts = Array.from({ length: ROWS_PER_TXN }, () => `INSERT INTO rs.t VALUES (${id++}, ${first + k})`).join(';');
      await conn.query(`BEGIN; ${stmts}; COMMIT`);
    }
    await conn.end();
  };
}

/** `evs` (heartbeats left out) are `txns` × (gtid, 20 × rows, xid), every row once and in order. */
export function assertWholeTxns(evs: BinlogEvent[], txns: number): void {
  const shape = evs.map((e) => e.kind).join(',');
  const one = ['gtid', ...Array<string>(ROWS_PER_TXN).fill('rows'), 'xid'].join(',');
  assert.equal(shape, Array(txns).fill(one).join(','));
  const ids = evs.flatMap((e) => (e.kind === 'rows' ? e.rows.map((row) => row[0]) : []));
  assert.deepEqual(ids, Array.from({ length: txns * ROWS_PER_TXN }, (_, i) => i));
  const gtids = evs.flatMap((e) => (e.kind === 'gtid' ? [e.gtid] : []));
  assert.equal(new Set(gtids).size, txns, 'distinct transactions');
}
