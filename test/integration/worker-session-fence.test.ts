/**
 * The worker's fencing deadline against a blocked event loop: a keepalive acknowledged by etcd
 * while the loop was blocked must be read before the deadline is judged (the 100 ms check timer
 * runs before pending I/O after a block), so a worker whose lease etcd renewed in time is not
 * fenced; a worker whose keepalives were really not acknowledged (etcd stopped) still is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3, type Lease } from 'etcd3';
import { EtcdCluster, waitFor } from '../helpers/index.js';
import { silentLogger } from '../../src/log/index.js';
import { Keys } from '../../src/store/index.js';
import { WorkerSession } from '../../src/worker/session.js';

const TTL = 3; // fence deadline: last acknowledged send + 3000 − 750 ms; keepalives every ~1 s

function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    /* the event loop is blocked, as by a long synchronous piece of work */
  }
}

test('worker session: a keepalive acknowledged during a blocked event loop keeps it Alive; a real loss fences', { timeout: 120_000 }, async (t) => {
  const etcd = await EtcdCluster.start(1);
  const client = new Etcd3({ hosts: etcd.endpoints });
  const s = new WorkerSession(client, new Keys('/dmsess/'), { name: 'w1', addr: '127.0.0.1:1', startedAt: new Date().toISOString() }, TTL, silentLogger);
  t.after(async () => {
    await s.close();
    client.close();
    await etcd.stop();
  });
  let fenced = 0;
  s.on('fenced', () => fenced++);
  s.start();
  await waitFor('session alive', async () => s.isAlive, { timeoutMs: 20_000 });
  const lease = (s as unknown as { lease: Lease }).lease;
  // Block the loop right after a keepalive is sent, for longer than the deadline measured from
  // the previous acknowledged send (~1 s earlier + 2.25 s) but shorter than from this one (2.25 s).
  for (let round = 0; round < 3; round++) {
    // (setImmediate: the keepalive is written after its 'keepaliveFired' listeners ran)
    await new Promise<void>((res) => lease.once('keepaliveFired', () => setImmediate(() => (busy(1900), res()))));
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(fenced, 0, `round ${round}: fenced although etcd acknowledged the keepalive in time`);
    assert.equal(s.stateName, 'Alive');
  }
  // etcd gone: no acknowledgement, the deadline passes, the worker fences itself
  await etcd.killMember(0);
  await waitFor('fenced after a real loss', async () => fenced > 0, { timeoutMs: 10_000 });
  assert.equal(s.stateName, 'Fenced');
});
