import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { MariaDBServer, waitFor } from '../helpers/index.js';
import { createMasterClient } from '../../src/rpc/index.js';
import { SourceOp, WorkerStage } from '../../src/gen/dm/master/v1/master_pb.js';
import { DMCluster, sourceYaml, type Proc } from '../helpers/cluster.js';

/** DMCluster whose processes all run with --ssl-ca/--ssl-cert/--ssl-key and whose test clients use https. */
class TLSCluster extends DMCluster {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;

  constructor() {
    super('tls');
    // One self-signed certificate for 127.0.0.1, used as CA, server and client certificate.
    this.cert = join(this.dir, 'cert.pem');
    this.key = join(this.dir, 'key.pem');
    this.ca = this.cert;
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', this.key, '-out', this.cert,
        '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
      { stdio: 'ignore' },
    );
  }

  override spawn(p: Proc): void {
    if (!p.args.includes('--ssl-ca')) p.args.push('--ssl-ca', this.ca, '--ssl-cert', this.cert, '--ssl-key', this.key);
    super.spawn(p);
  }

  override client(i: number) {
    const m = this.masters[i];
    if (!m) throw new Error(`no master ${i}`);
    // ssl-ca set ⇒ a client certificate is required (DM semantics): present the shared one.
    return createMasterClient(`127.0.0.1:${m.port}`, { tls: { ca: this.ca, cert: this.cert, key: this.key } });
  }
}

test('tls: 2 masters + 1 worker with ssl-*: register, bind through the follower, plain http refused', { timeout: 120_000 }, async (t) => {
  const db = await MariaDBServer.start();
  const c = new TLSCluster();
  t.after(async () => {
    await c.close();
    await db.stop();
  });
  await c.startMasters(2);
  await c.startWorker('w1');
  const leader = await c.waitLeader();
  const follower = (leader + 1) % 2;

  // OperateSource through the follower is forwarded to the leader over TLS.
  const r = await c.client(follower).operateSource({ op: SourceOp.START, config: [sourceYaml('s1', db.port)] });
  assert.equal(r.result, true, r.msg);
  // The worker registered over TLS (RegisterWorker, possibly forwarded) and got s1 bound.
  const bound = await waitFor(
    'w1 registered and bound to s1 (seen through the follower)',
    async () => {
      const m = await c.client(follower).listMember({ worker: true });
      const w = m.workers.find((x) => x.name === 'w1');
      return w?.stage === WorkerStage.BOUND && w.source === 's1' ? w : false;
    },
    { timeoutMs: 60_000, intervalMs: 300 },
  ).catch((e: unknown) => {
    throw new Error(`${String(e)}\n${c.logs()}`);
  });
  assert.equal(bound.source, 's1');

  // A cleartext client cannot talk to a TLS master.
  const m0 = c.masters[follower];
  assert.ok(m0);
  const plain = createMasterClient(`127.0.0.1:${m0.port}`, { timeoutMs: 5000 });
  await assert.rejects(plain.listMember({ worker: true }));
});
