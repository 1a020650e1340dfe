/**
 * kill -9 of the real dm-worker binary while its relay writes (cluster harness): the relay of a
 * source with `enable-relay: true` runs on the bound worker under a stream of upstream writes; the
 * worker is SIGKILLed at random moments and restarted with the same config; afterwards the relay
 * files equal the upstream's binlog files byte for byte (nothing lost, nothing doubled).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MariaDBServer, waitFor } from '../helpers/index.js';
import { DMCluster, missingBinaries, sourceYaml } from '../helpers/cluster.js';
import { listBinlogFiles, readIndex } from '../../src/units/relay/index.js';

test('relay: kill -9 of the dm-worker mid-write, restart: relay files equal the upstream', { skip: missingBinaries() || false, timeout: 400_000 }, async (t) => {
  const db = await MariaDBServer.start();
  const c = await DMCluster.start({ masters: 1, workers: 1 });
  t.after(async () => {
    await c.close();
    await db.stop();
  });
  await db.sql('CREATE DATABASE wk');
  await db.sql('CREATE TABLE wk.t (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT)');
  const file = join(c.dir, 'source.yaml');
  writeFileSync(file, `${sourceYaml('s1', db.port)}enable-gtid: true\nenable-relay: true\nrelay-binlog-name: mysql-bin.000001\n`);
  const r = await c.ctl(['operate-source', 'create', file]);
  assert.equal(r.json['result'], true, r.stdout);
  const w = c.workers[0]!;
  const relayDir = join(c.dir, w.name, 'relay');
  let writing = true;
  const writer = (async () => {
    let i = 0;
    while (writing) {
      await db.sql("INSERT INTO wk.t (v) VALUES (REPEAT('k', 3000)), (REPEAT('w', 300))");
      if (++i % 150 === 0) await db.sql('FLUSH BINARY LOGS');
    }
  })();
  const sub = async (): Promise<string> => await waitFor('relay sub-directory', async () => (existsSync(join(relayDir, 'server-uuid.index')) ? join(relayDir, readIndex(relayDir)[0]!) : undefined), { timeoutMs: 60_000 });
  for (let round = 0; round < 3; round++) {
    const s = await sub();
    const before = listBinlogFiles(s).reduce((n, f) => n + statSync(join(s, f)).size, 0);
    await waitFor('relay writing', async () => listBinlogFiles(s).reduce((n, f) => n + statSync(join(s, f)).size, 0) > before + 20_000, { timeoutMs: 60_000 });
    await new Promise((res) => setTimeout(res, Math.random() * 700));
    await c.kill9(w);
    c.spawn(w);
  }
  writing = false;
  await writer;
  const s = await sub();
  await waitFor('relay caught up after the kills', async () => {
    const [st] = await db.sql('SHOW MASTER STATUS');
    const p = join(s, String(st?.['File']));
    return existsSync(p) && statSync(p).size === Number(st?.['Position']);
  }, { timeoutMs: 120_000 });
  const files = listBinlogFiles(s);
  assert.ok(files.length >= 2, files.join(','));
  for (const f of files) assert.ok(readFileSync(join(s, f)).equals(readFileSync(join(db.dataDir, f))), `${f}: relay equals upstream`);

  // dmctl: query-status shows DM's relayStatus; purge-relay of the active file is refused; pause-relay
  const qs = await waitFor('relayStatus caught up in query-status', async () => {
    const q = await c.ctl(['query-status', '-s', 's1']);
    return q.stdout.includes('"relayCatchUpMaster": true') ? q : undefined;
  }, { timeoutMs: 60_000 });
  for (const key of ['masterBinlog', 'masterBinlogGtid', 'relaySubDir', 'relayBinlog', 'relayBinlogGtid', 'relayCatchUpMaster', '"stage": "Running"']) assert.ok(qs.stdout.includes(key), `${key} in ${qs.stdout}`);
  const purge = await c.ctl(['purge-relay', '-s', 's1', '--filename', files.at(-1)!.replace(/\d+$/, (d) => String(Number(d) + 1).padStart(d.length, '0'))]);
  assert.equal(purge.json['result'], false, purge.stdout);
  assert.match(purge.stdout, /code=30006/);
  const pause = await c.ctl(['pause-relay', '-s', 's1']);
  assert.equal(pause.json['result'], true, pause.stdout);
  await waitFor('relay paused in query-status', async () => (await c.ctl(['query-status', '-s', 's1'])).stdout.includes('"stage": "Paused"'), { timeoutMs: 30_000 });
});
