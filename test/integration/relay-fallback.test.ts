/**
 * A relay source's task whose start position the relay does not hold (the relay began after it,
 * as after `start-relay` on a source whose task was already running): the run reads the upstream
 * binlog instead of stopping with ErrRelayNoPosition (src/units/sync/binlog-source.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { MariaDBServer, makeTempDir, removeTempDir } from '../helpers/index.js';
import { RelayDirFixture } from '../helpers/relay-files.js';
import { SyncUnit, relayOrNetworkFactory, relayReaderFactory } from '../../src/units/sync/index.js';
import { describeDiffs, masterPos, syncConfig, waitConverged } from './sync-fixture.js';

void test('relay that starts after the task position: the run falls back to the upstream binlog and converges; the relay alone refuses with 28002', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const relayDir = makeTempDir('relay');
  t.after(async () => {
    await Promise.all([src.stop(), dst.stop()]);
    removeTempDir(relayDir);
  });
  const start = await masterPos(src);
  await src.sql("CREATE DATABASE f; CREATE TABLE f.t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO f.t VALUES (1, 'before the relay')");
  await src.sql('FLUSH BINARY LOGS');
  await src.sql("INSERT INTO f.t VALUES (2, 'in the relay')");
  // the relay holds only the files after the task's start file
  const fx = new RelayDirFixture(relayDir);
  const sub = fx.addSubDir('5a6b7c8d-0000-11ef-8000-0000000000f1', 1);
  const later = RelayDirFixture.serverBinlogs(src).map((p) => basename(p)).filter((f) => f > start.file);
  assert.ok(later.length > 0);
  fx.mirror(src, sub, { files: later });

  const relayOnly = new SyncUnit(syncConfig(src, dst, { taskName: 'ro', start, baList: { doDbs: ['f'] } }), { heartbeatMs: 200, readerFactory: relayReaderFactory({ dir: relayDir, pollMs: 100 }) });
  const ac0 = new AbortController();
  await relayOnly.init(ac0.signal);
  const r0 = await relayOnly.process(ac0.signal);
  await relayOnly.close();
  assert.equal(r0.errors[0]?.code, 28002, JSON.stringify(r0.errors));

  const unit = new SyncUnit(syncConfig(src, dst, { taskName: 'fb', start, baList: { doDbs: ['f'] } }), {
    heartbeatMs: 200,
    readerFactory: relayOrNetworkFactory(() => true, { dir: relayDir, pollMs: 100 }),
  });
  const ac = new AbortController();
  t.after(() => unit.close());
  await unit.init(ac.signal);
  const run = unit.process(ac.signal);
  await src.sql("INSERT INTO f.t VALUES (3, 'after')");
  const diffs = await waitConverged(src, dst, ['f']);
  assert.ok(diffs.every((d) => d.equal), describeDiffs(diffs));
  assert.equal(unit.status()['readsRelay'], false, 'the status says this run reads the network (query-status binlogType remote)');
  ac.abort();
  const r = await run;
  assert.deepEqual(r.errors.filter((e) => e.code !== 11003), []);
});
