/**
 * Sync units reading a live relay (the source's own binlog files appended into DM's relay layout
 * as the source writes them, test/helpers/relay-files.ts) instead of the source's binlog: two
 * tasks on one relay, each with its own checkpoint; the relay needs registry follows each.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer, makeTempDir, removeTempDir, waitFor } from '../helpers/index.js';
import { RelayDirFixture } from '../helpers/relay-files.js';
import { SyncUnit, relayReaderFactory } from '../../src/units/sync/index.js';
import { RelayNeeds } from '../../src/units/relay/index.js';
import { compareFilePos } from '../../src/binlog/index.js';
import { describeDiffs, masterPos, syncConfig, waitConverged } from './sync-fixture.js';

void test('two tasks sync from one live relay: both converge, checkpoints independent, the needs registry follows their checkpoints', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const relayDir = makeTempDir('relay');
  const fx = new RelayDirFixture(relayDir);
  const sub = fx.addSubDir('5a6b7c8d-0000-11ef-8000-000000000001', 1);
  const start = await masterPos(src);
  // the "relay writer": append what the source wrote every 50 ms
  let mirroring = true;
  const mirror = (async () => {
    while (mirroring) {
      fx.mirror(src, sub);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const needs = new RelayNeeds();
  const unitFor = (task: string, db: string): SyncUnit =>
    new SyncUnit(syncConfig(src, dst, { taskName: task, start, baList: { doDbs: [db] } }), {
      heartbeatMs: 200,
      readerFactory: relayReaderFactory({ dir: relayDir, needs, pollMs: 100 }),
    });
  const a = unitFor('ta', 's1');
  const b = unitFor('tb', 's2');
  t.after(async () => {
    mirroring = false;
    await mirror;
    await Promise.all([a.close(), b.close()]);
    await Promise.all([src.stop(), dst.stop()]);
    removeTempDir(relayDir);
  });
  for (const db of ['s1', 's2']) {
    await src.sql(`CREATE DATABASE ${db}; CREATE TABLE ${db}.t (id INT PRIMARY KEY, v VARCHAR(20), n DECIMAL(10,2))`);
    await src.sql(`INSERT INTO ${db}.t VALUES (1, 'a', 1.5), (2, 'b', 2.5), (3, 'c', 3.5); UPDATE ${db}.t SET v = 'bb' WHERE id = 2; DELETE FROM ${db}.t WHERE id = 3`);
  }
  const ac = new AbortController();
  await Promise.all([a.init(ac.signal), b.init(ac.signal)]);
  const ra = a.process(ac.signal);
  const rb = b.process(ac.signal);
  let diffs = await waitConverged(src, dst, ['s1', 's2']);
  assert.ok(diffs.length === 2 && diffs.every((d) => d.equal), describeDiffs(diffs));
  await waitFor('both readers registered', async () => needs.list().size === 2, { timeoutMs: 10_000 });

  // the relay goes on: a rotate, a DDL, more rows (only s1 for a while: tb's checkpoint lags behind ta's)
  await src.sql('FLUSH BINARY LOGS');
  await src.sql("ALTER TABLE s1.t ADD COLUMN w INT DEFAULT 5; INSERT INTO s1.t (id, v, w) VALUES (10, 'x', 6)");
  for (let i = 0; i < 20; i++) await src.sql(`INSERT INTO s1.t (id, v) VALUES (${100 + i}, 'r${i}')`);
  await src.sql("INSERT INTO s2.t VALUES (20, 'later', 0)");
  diffs = await waitConverged(src, dst, ['s1', 's2']);
  assert.ok(diffs.every((d) => d.equal), describeDiffs(diffs));

  // each task's checkpoint, and each reader's registered need, moved into the new file
  const end = await masterPos(src);
  await waitFor(
    'checkpoints and needs in the new file',
    async () => {
      const n = needs.list();
      const cps = [a, b].map((u) => u.status()['checkpointPos'] as { file: string; offset: number } | undefined);
      return cps.every((cp) => cp && cp.file === end.file) && [...n.values()].every((p) => p.file === end.file && p.subDir === sub);
    },
    { timeoutMs: 20_000 },
  );
  const n = needs.list();
  assert.deepEqual([...n.keys()].sort(), ['ta', 'tb']);
  assert.deepEqual([a, b].map((u) => u.status()['readsRelay']), [true, true], 'both read the relay (query-status binlogType local)');
  assert.ok(compareFilePos(n.get('ta')!, { file: start.file, offset: start.offset }) > 0);
  // the files before the new one are no longer needed by either task; the new one is
  assert.equal(needs.mayPurge(sub, start.file, [sub]), true);
  assert.equal(needs.mayPurge(sub, end.file, [sub]), false);

  a.pause();
  b.pause();
  assert.deepEqual((await ra).errors, []);
  assert.deepEqual((await rb).errors, []);
  assert.equal(needs.list().size, 0, 'closed readers need nothing');
});
