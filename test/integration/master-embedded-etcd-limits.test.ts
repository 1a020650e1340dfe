/**
 * dm-master's etcd keys (`max-txn-ops`, `max-request-bytes`, `quota-backend-bytes`,
 * `auto-compaction-*`) reach the embedded etcd member: a real etcd refuses a txn with more
 * operations, or a request larger, than configured (before, these keys were accepted and ignored).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { freePort, makeTempDir, removeTempDir, requireBinary } from '../helpers/index.js';
import { EmbeddedEtcd } from '../../src/master/embedded-etcd.js';
import { parseMasterConfig } from '../../src/config/index.js';

test('embedded etcd enforces max-txn-ops and max-request-bytes from dm-master.yaml', async (t) => {
  requireBinary('etcd');
  const dir = makeTempDir('etcd-limits');
  const cfg = parseMasterConfig('max-txn-ops: 3\nmax-request-bytes: 4096\nquota-backend-bytes: 67108864\nauto-compaction-mode: revision\nauto-compaction-retention: "100"\n');
  const clientUrl = `http://127.0.0.1:${await freePort()}`;
  const etcd = new EmbeddedEtcd({
    name: 'limits',
    dataDir: join(dir, 'data'),
    clientUrl,
    peerUrl: `http://127.0.0.1:${await freePort()}`,
    limits: {
      maxTxnOps: cfg.maxTxnOps,
      maxRequestBytes: cfg.maxRequestBytes,
      quotaBackendBytes: cfg.quotaBackendBytes,
      autoCompactionMode: cfg.autoCompactionMode,
      autoCompactionRetention: cfg.autoCompactionRetention,
    },
  });
  const client = new Etcd3({ hosts: clientUrl });
  t.after(async () => {
    client.close();
    await etcd.close();
    removeTempDir(dir);
  });
  await etcd.start();

  const txn = (n: number) =>
    client
      .if('k0', 'Create', '==', 0)
      .then(...Array.from({ length: n }, (_, i) => client.put(`k${i}`).value('v')))
      .commit();
  await txn(3);
  await assert.rejects(txn(4), /too many operations in txn request/);
  await client.put('small').value('x'.repeat(1000));
  await assert.rejects(async () => client.put('big').value('x'.repeat(8192)).exec(), /request is too large|exceeds|too large/i);
});
