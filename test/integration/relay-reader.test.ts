/**
 * The relay reader (src/binlog/relay-reader.ts) on real MariaDB binlogs laid out as DM's relay
 * (test/helpers/relay-files.ts copies the server's own binlog files: relay files are the
 * upstream's byte for byte). The network reader over the same range is the reference: same
 * events, same rows, same positions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rmSync, statSync } from 'node:fs';
import { MariaDBServer, makeTempDir, removeTempDir } from '../helpers/index.js';
import { RelayDirFixture } from '../helpers/relay-files.js';
import { createBinlogReader, getMasterStatus, type BinlogEvent, type BinlogReader, type Position, type StartPoint } from '../../src/binlog/index.js';
import { codeOf } from '../helpers/cluster.js';
import { assertWholeTxns, setupRs, txnWriter } from './binlog-fixture.js';

const UUID = '3c1f7a2e-8d5b-11ef-9c6a-0242ac120002';
let serverIds = 6000 + (process.pid % 900);

/** Events (heartbeats left out) until `until` says the last one is the end, or the timeout. */
async function collect(r: BinlogReader, until: (ev: BinlogEvent, all: BinlogEvent[]) => boolean, timeoutMs = 60_000): Promise<BinlogEvent[]> {
  const out: BinlogEvent[] = [];
  const signal = AbortSignal.timeout(timeoutMs);
  for (;;) {
    const batch = await r.nextBatch(256, signal).catch((e: unknown) => {
      throw new Error(`no end after ${out.length} events (${out.map((ev) => ev.kind).join(',')}), last at ${JSON.stringify(out.at(-1)?.pos)}; reader at ${JSON.stringify(r.status())}`, { cause: e });
    });
    if (batch.length === 0) return out;
    for (const ev of batch) {
      if (ev.kind === 'heartbeat') continue;
      out.push(ev);
      if (until(ev, out)) return out;
    }
  }
}

const atEnd = (end: Position) => (ev: BinlogEvent) => (ev.kind === 'xid' || ev.kind === 'query') && ev.pos.file === end.file && ev.pos.offset >= end.offset;

/** `tiny`: a 3-event queue (the reader pauses all the time) and 333-byte reads (events span reads, some are longer than one). */
async function readRange(db: MariaDBServer, start: StartPoint, end: Position, relayDir?: string, tiny = false): Promise<BinlogEvent[]> {
  const r = createBinlogReader({
    connection: db.connOpts(),
    flavor: 'mariadb',
    serverId: serverIds++,
    start,
    heartbeatMs: 0,
    ...(relayDir ? { relay: { dir: relayDir, pollMs: 100, ...(tiny ? { readChunk: 333 } : {}) } } : {}),
    ...(tiny ? { maxQueueEvents: 3 } : {}),
  });
  await r.start(AbortSignal.timeout(30_000));
  try {
    return await collect(r, atEnd(end));
  } finally {
    await r.close();
  }
}

async function masterPos(db: MariaDBServer): Promise<Position> {
  const c = await db.connect();
  try {
    return await getMasterStatus(c);
  } finally {
    await c.end();
  }
}

void test('relay reader: the same events, rows and positions as the network reader (every column type; mid-file start, rotates, DDL, two sub-directories, GTID start)', async (t) => {
  for (const meta of ['FULL', 'MINIMAL']) {
    const db = await MariaDBServer.start({ extraArgs: ['--default-time-zone=+05:00', `--binlog-row-metadata=${meta}`] });
    const relayDir = makeTempDir('relay');
    t.after(async () => {
      await db.stop();
      removeTempDir(relayDir);
    });
    await db.sql(`CREATE DATABASE ty; CREATE TABLE ty.a (
      id INT PRIMARY KEY,
      ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT, mu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED,
      bi BIGINT, bu BIGINT UNSIGNED, de DECIMAL(65,30), dbl DOUBLE, fl FLOAT, b8 BIT(8), b3 BIT(3), b64 BIT(64),
      dt DATETIME(6), ts TIMESTAMP(6) NULL, d DATE, tm TIME(3), y YEAR,
      emoji VARCHAR(20) CHARACTER SET utf8mb4, l1 VARCHAR(20) CHARACTER SET latin1, bin VARBINARY(10), fb BINARY(4),
      e ENUM('x','y','z'), s SET('a','b','c'), j JSON, txt TEXT, blb BLOB, nul VARCHAR(5), emp VARCHAR(5), g GEOMETRY
    )`);
    const c = await db.connect();
    await c.query("SET time_zone='+05:00'");
    const row1 = `(1, 127, 255, 32767, 8388607, 16777215, 2147483647, 4294967295,
       9223372036854775807, 18446744073709551615, '12345678901234567890123456789012345.123456789012345678901234567890',
       1.7976931348623157e308, 1.5, b'10100101', b'101', b'1111111111111111111111111111111111111111111111111111111111111110',
       '2024-02-29 23:59:59.123456', '2024-06-01 12:00:00.654321', '2024-02-29', '-12:34:56.789', 2155,
       '😀x', 'café', X'000100ff', 'ab', 'z', 'a,c', '{"k": [1, 2.5, "x"], "big": 18446744073709551615}', 'hello', X'00ff00', NULL, '', ST_GeomFromText('POINT(1 2)'))`;
    const row2 = `(2, -128, 0, -32768, -8388608, 0, -2147483648, 0,
       -9223372036854775808, 0, '-99999999999999999999999999999999999.999999999999999999999999999999',
       -2.2250738585072014e-308, -0.25, b'0', b'0', b'0',
       '1000-01-01 00:00:00.000001', '1970-01-01 05:00:01.000000', '1000-01-01', '00:00:00', 0,
       '', '', X'', X'', 'x', '', '[]', '', X'', NULL, '', NULL)`;
    await c.query(`INSERT INTO ty.a VALUES ${row1}`);
    // start in the middle of the first file, after a transaction
    const mid = await masterPos(db);
    await c.query(`BEGIN; INSERT INTO ty.a VALUES ${row2}; UPDATE ty.a SET txt = 'changed', g = ST_GeomFromText('POINT(3 4)') WHERE id = 1; DELETE FROM ty.a WHERE id = 2; COMMIT`);
    if (meta === 'FULL') {
      await c.query('ALTER TABLE ty.a ADD COLUMN extra INT DEFAULT 7');
      await c.query('FLUSH BINARY LOGS');
      await c.query(`INSERT INTO ty.a (id, txt, extra) VALUES (3, 'after ddl', 8)`);
    } else {
      await c.query('FLUSH BINARY LOGS');
      await c.query(`INSERT INTO ty.a (id, txt) VALUES (3, 'second file')`);
    }
    const secondFile = (await masterPos(db)).file;
    await c.query('FLUSH BINARY LOGS');
    await c.query(`BEGIN; INSERT INTO ty.a (id, j) VALUES (4, '{"a": null}'), (5, '[1,2]'); UPDATE ty.a SET de = 0.5 WHERE id = 4; COMMIT`);
    await c.end();
    const end = await masterPos(db);
    const files = RelayDirFixture.serverBinlogs(db).map((p) => p.slice(p.lastIndexOf('/') + 1));
    assert.ok(files.length >= 3, `three binlog files (${files.join(', ')})`);

    const network = await readRange(db, { file: mid.file, offset: mid.offset }, end);
    const kinds = network.map((e) => e.kind);
    assert.ok(kinds.filter((k) => k === 'rows').length >= 4 && kinds.filter((k) => k === 'xid').length === 3, `network events: ${kinds.join(',')}`);

    // one sub-directory holding every file
    const one = new RelayDirFixture(join(relayDir, 'one'));
    const sub = one.addSubDir(UUID, 1);
    one.mirror(db, sub);
    assert.deepEqual(await readRange(db, { file: mid.file, offset: mid.offset }, end, one.dir), network, `${meta}: one sub-directory`);

    // two sub-directories: the files up to the second in the first, the rest in the second
    const two = new RelayDirFixture(join(relayDir, 'two'));
    const s1 = two.addSubDir(UUID, 1);
    const s2 = two.addSubDir(UUID, 2);
    const cut = files.indexOf(secondFile) + 1;
    two.mirror(db, s1, { files: files.slice(0, cut) });
    two.mirror(db, s2, { files: files.slice(cut) });
    assert.deepEqual(await readRange(db, { file: mid.file, offset: mid.offset }, end, two.dir), network, `${meta}: two sub-directories`);
    assert.deepEqual(await readRange(db, { file: mid.file, offset: mid.offset }, end, two.dir, true), network, `${meta}: two sub-directories, tiny queue and reads`);

    // GTID start: the same as a GTID dump from the server
    const byGtidNet = await readRange(db, { gtid: mid.gtid }, end);
    assert.equal(byGtidNet.filter((e) => e.kind === 'xid').length, 3);
    assert.deepEqual(await readRange(db, { gtid: mid.gtid }, end, two.dir), byGtidNet, `${meta}: GTID start`);

    // a start file the relay does not hold (purged from it): a coded error at start
    rmSync(join(two.dir, s1, files[0]!));
    const r = createBinlogReader({ connection: db.connOpts(), flavor: 'mariadb', serverId: serverIds++, start: { file: mid.file, offset: mid.offset }, heartbeatMs: 0, relay: { dir: two.dir } });
    assert.equal(await codeOf(r.start(AbortSignal.timeout(30_000))), 28002);
    await r.close();
    await db.stop();
  }
});

void test('relay reader: a live relay — waits at its end, never decodes a partial trailing event, and a restarted reader continues exactly', async (t) => {
  const db = await MariaDBServer.start();
  const relayDir = makeTempDir('relay');
  t.after(async () => {
    await db.stop();
    removeTempDir(relayDir);
  });
  const start = await setupRs(db);
  const write = txnWriter(db);
  await write(3, 0);
  const fx = new RelayDirFixture(relayDir);
  const sub = fx.addSubDir(UUID, 1);
  fx.mirror(db, sub);

  const xids = (evs: BinlogEvent[]): number => evs.filter((e) => e.kind === 'xid').length;
  const open = async (from: StartPoint, schemas?: string): Promise<BinlogReader> => {
    const r = createBinlogReader({ connection: db.connOpts(), flavor: 'mariadb', serverId: serverIds++, start: from, heartbeatMs: 0, relay: { dir: relayDir, pollMs: 5_000 }, ...(schemas ? { schemas } : {}) });
    await r.start(AbortSignal.timeout(30_000));
    return r;
  };
  let r = await open(start);
  const evs = await collect(r, (_, all) => xids(all) === 2);
  // kill and restart the reader at a checkpoint (the second commit), with its schema snapshot
  const ckpt = evs[evs.length - 1]!.pos;
  const schemas = r.exportSchemas();
  await r.close();
  // with the checkpoint's schema snapshot the relay is read even when the source cannot be reached
  const offline = createBinlogReader({ connection: { ...db.connOpts(), port: 1 }, flavor: 'mariadb', serverId: serverIds++, start: { file: ckpt.file, offset: ckpt.offset }, heartbeatMs: 0, relay: { dir: relayDir }, schemas });
  await offline.start(AbortSignal.timeout(30_000));
  const third = await collect(offline, (_, all) => xids(all) === 1).finally(() => offline.close());
  r = await open({ file: ckpt.file, offset: ckpt.offset }, schemas);
  try {
    evs.push(...(await collect(r, (_, all) => xids(all) === 1)));
    assert.equal(xids(evs), 3);
    assert.deepEqual(third, evs.slice(-third.length), 'read without the source: the same transaction');

    // at the end of the relay: the reader waits (nothing ends, nothing arrives)
    const waiting = collect(r, (_, all) => xids(all) === 2, 60_000);
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(r.status().queueEvents, 0);

    // the server writes two more transactions; the relay gets them but the last 7 bytes (inside the last XID event)
    const before = statSync(RelayDirFixture.serverBinlogs(db).at(-1)!).size;
    await write(2, 3);
    const added = statSync(RelayDirFixture.serverBinlogs(db).at(-1)!).size - before;
    fx.mirror(db, sub, { limit: added - 7 });
    // fs.watch wakes the reader (the poll interval is 5 s): the 4th transaction arrives, the 5th does not commit
    const deadline = Date.now() + 20_000;
    let seen: BinlogEvent[] = [];
    while (Date.now() < deadline && r.status().position.offset < before + 1) await new Promise((res) => setTimeout(res, 50));
    await new Promise((res) => setTimeout(res, 500));
    assert.ok(r.status().position.offset > before, 'the 4th transaction was read');
    assert.ok(r.status().position.offset < before + added, 'the cut 5th transaction is not committed');
    // the writer completes the event
    fx.mirror(db, sub);
    seen = await waiting;
    evs.push(...seen);
  } finally {
    await r.close();
  }
  // every transaction once, whole and in order, across the restart and the partial event
  assertWholeTxns(evs, 5);
  const network = await readRange(db, start, { ...evs[evs.length - 1]!.pos });
  assert.deepEqual(evs, network, 'the same events as the network reader');
});
