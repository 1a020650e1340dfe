/**
 * The relay reader over the real relay writer's files (src/units/relay/relay.ts): while the
 * writer pulls the upstream binlog, a sync unit reads the relay and converges; the relay reader
 * yields the network reader's events for the same range; the relay writer's purge keeps what the
 * reader still needs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer, makeTempDir, removeTempDir, waitFor } from '../helpers/index.js';
import { Relay, RelayNeeds, purgeRelay, readIndex } from '../../src/units/relay/index.js';
import { SyncUnit, relayReaderFactory } from '../../src/units/sync/index.js';
import { createBinlogReader, type BinlogEvent, type BinlogReader, type Position, type StartPoint } from '../../src/binlog/index.js';
import { silentLogger } from '../../src/log/index.js';
import { describeDiffs, masterPos, syncConfig, waitConverged } from './sync-fixture.js';

let serverIds = 8000 + (process.pid % 900);

async function readRange(db: MariaDBServer, start: StartPoint, end: Position, relayDir?: string): Promise<BinlogEvent[]> {
  const r: BinlogReader = createBinlogReader({ connection: db.connOpts(), flavor: 'mariadb', serverId: serverIds++, start, heartbeatMs: 0, ...(relayDir ? { relay: { dir: relayDir } } : {}) });
  await r.start(AbortSignal.timeout(30_000));
  const out: BinlogEvent[] = [];
  try {
    const signal = AbortSignal.timeout(60_000);
    for (;;) {
      const batch = await r.nextBatch(256, signal);
      for (const ev of batch) {
        if (ev.kind === 'heartbeat') continue;
        out.push(ev);
        if ((ev.kind === 'xid' || ev.kind === 'query') && ev.pos.file === end.file && ev.pos.offset >= end.offset) return out;
      }
    }
  } finally {
    await r.close();
  }
}

void test('relay writer + relay reader: a sync unit reads the live relay, events equal the network reader, purge keeps what the reader needs', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const relayDir = makeTempDir('relay-live');
  const relay = new Relay({ sourceId: 'src', conn: src.connOpts(), enableGtid: true, relayDir, serverId: 777100 + (process.pid % 100), relayBinlogName: 'mysql-bin.000001', logger: silentLogger });
  const needs = new RelayNeeds();
  const start = await masterPos(src);
  const unit = new SyncUnit(syncConfig(src, dst, { taskName: 'live', start, baList: { doDbs: ['w'] } }), {
    heartbeatMs: 200,
    readerFactory: relayReaderFactory({ dir: relayDir, needs, pollMs: 200 }),
  });
  t.after(async () => {
    await unit.close();
    await relay.close();
    await Promise.all([src.stop(), dst.stop()]);
    removeTempDir(relayDir);
  });
  relay.start();
  await src.sql('CREATE DATABASE w; CREATE TABLE w.t (id INT PRIMARY KEY, v VARCHAR(50), b BLOB, d DATETIME(3))');
  const ac = new AbortController();
  await unit.init(ac.signal);
  const running = unit.process(ac.signal);
  for (let i = 0; i < 30; i++) {
    await src.sql(`INSERT INTO w.t VALUES (${i}, 'v${i}', REPEAT('z', ${i * 100}), NOW(3))`);
    if (i % 10 === 9) await src.sql('FLUSH BINARY LOGS');
  }
  await src.sql("UPDATE w.t SET v = 'u' WHERE id < 10; DELETE FROM w.t WHERE id >= 25; ALTER TABLE w.t ADD COLUMN x INT DEFAULT 3");
  await src.sql("INSERT INTO w.t (id, v, x) VALUES (100, 'after', 4)");
  const diffs = await waitConverged(src, dst, ['w']);
  assert.ok(diffs.length === 1 && diffs.every((d) => d.equal), describeDiffs(diffs));

  // the reader's need followed its checkpoint into the last file: the writer's purge may remove
  // every earlier file, never the needed one
  const end = await masterPos(src);
  await waitFor('need at the last file', async () => needs.list().get('live')?.file === end.file, { timeoutMs: 20_000 });
  const earliest = needs.earliest(readIndex(relayDir));
  assert.ok(earliest);
  const removed = purgeRelay(relayDir, { kind: 'inactive' }, [earliest]);
  assert.ok(removed.length >= 1 && removed.every((f) => f.file < end.file), JSON.stringify(removed));

  unit.pause();
  assert.deepEqual((await running).errors, []);

  // the relay reader over the writer's (remaining) files = the network reader, from the needed file on
  const from = { file: end.file, offset: 4 };
  await src.sql("INSERT INTO w.t (id, v) VALUES (200, 'tail')");
  const end2 = await masterPos(src);
  await waitFor('relay has the tail', async () => (relay.status().relayBinlog.pos >= end2.offset && relay.status().relayBinlog.name === end2.file ? true : undefined), { timeoutMs: 30_000 });
  const net = await readRange(src, from, end2);
  assert.ok(net.some((e) => e.kind === 'rows'));
  assert.deepEqual(await readRange(src, from, end2, relayDir), net);
});
