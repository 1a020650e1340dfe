// Source and target session settings (DM.ts issue 11 §4): a source whose GLOBAL sql_mode has
// ANSI_QUOTES, NO_BACKSLASH_ESCAPES, NO_AUTO_VALUE_ON_ZERO and PIPES_AS_CONCAT migrates (dump + load,
// then sync from the hand-off position, as task-mode all), and each DDL is applied under the
// upstream session of its Query event (sql_mode, time_zone, timestamp).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer, compareDatabases, describeDiffs, runUnits } from '../helpers/index.js';
import { createBinlogReader, getMasterStatus, type BinlogEvent, type QueryEvent } from '../../src/binlog/index.js';
import { createFullUnits } from '../../src/units/full/index.js';
import { SyncUnit } from '../../src/units/sync/index.js';
import { syncConfig, waitConverged } from './sync-fixture.js';

const SOURCE_MODE = 'PIPES_AS_CONCAT,ANSI_QUOTES,NO_AUTO_VALUE_ON_ZERO,NO_BACKSLASH_ESCAPES';

test('a source with global sql_mode ANSI_QUOTES,NO_BACKSLASH_ESCAPES,NO_AUTO_VALUE_ON_ZERO,PIPES_AS_CONCAT migrates (full + sync): strings, id 0, DDL under the source session', { timeout: 240_000 }, async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start({ extraArgs: [`--sql-mode=${SOURCE_MODE}`] }), MariaDBServer.start()]);
  const syncUnits: SyncUnit[] = [];
  t.after(async () => {
    await Promise.all(syncUnits.map((u) => u.close()));
    await Promise.all([src.stop(), dst.stop()]);
  });
  const mode = await src.sql('SELECT @@GLOBAL.sql_mode AS m');
  assert.equal(mode[0]?.['m'], SOURCE_MODE, 'the source runs with the global sql_mode under test');

  // Everything below runs in sessions that inherit that mode: "x" is an identifier, '\' is a
  // backslash, || concatenates, and 0 in an AUTO_INCREMENT column stays 0.
  await src.sql(`CREATE DATABASE "sm";
    CREATE TABLE "sm"."t" ("id" INT AUTO_INCREMENT PRIMARY KEY, "s" VARCHAR(100) NOT NULL, "note" TEXT);
    CREATE TABLE "sm"."r" ("id" BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, "v" VARCHAR(40) DEFAULT 'd\\x');
    INSERT INTO "sm"."t" VALUES (0, 'zero\\0 back\\slash', 'it''s "double" \\n not a newline'), (1, 'a' || 'b', '\\'), (2, 'C:\\dir\\', NULL);
    REPLACE INTO "sm"."r" ("id", "v") VALUES (0, 'replaced \\ zero'), (5, 'five');`);
  const before = await src.sql('SELECT "s", "note" FROM "sm"."t" WHERE "id" IN (0, 1) ORDER BY "id"');
  assert.deepEqual(before, [
    { s: 'zero\\0 back\\slash', note: 'it\'s "double" \\n not a newline' },
    { s: 'ab', note: '\\' },
  ]);

  // full phase (dump + load)
  await dst.sql('CREATE DATABASE dm_meta');
  const { units } = createFullUnits({
    taskName: 'sm',
    sourceId: 'src-1',
    taskMode: 'full',
    source: src.connOpts(),
    target: dst.connOpts(),
    baList: { doDbs: ['sm'] },
    mydumper: { threads: 2, rows: 100 },
    loader: { poolSize: 2 },
  });
  const detail = await runUnits(units, { close: true });
  const loaded = await compareDatabases(src.connOpts(), dst.connOpts(), 'sm');
  assert.ok(loaded.length === 2 && loaded.every((d) => d.equal), describeDiffs(loaded));
  const hand = detail?.['startPos'] as { file: string; offset: number; gtid?: string } | undefined;
  assert.ok(hand && hand.file !== '', 'the full phase hands a position to sync');

  // sync phase from the hand-off position
  const unit = new SyncUnit(syncConfig(src, dst, { start: { file: hand.file, offset: hand.offset, ...(hand.gtid ? { gtid: hand.gtid } : {}) } }), { heartbeatMs: 200 });
  syncUnits.push(unit);
  const ac = new AbortController();
  await unit.init(ac.signal);
  const running = unit.process(ac.signal);

  // id 0 by row events: INSERT and REPLACE of 0 into AUTO_INCREMENT tables
  await src.sql(`DELETE FROM "sm"."t" WHERE "id" = 0;
    INSERT INTO "sm"."t" ("id", "s", "note") VALUES (0, 'again \\ zero', 'x' || 'y'), (7, 'seven\\', 'it''s');
    REPLACE INTO "sm"."r" ("id", "v") VALUES (0, 'replaced again\\'), (6, 'six');
    CREATE TABLE "sm"."z" ("id" INT AUTO_INCREMENT PRIMARY KEY, "v" VARCHAR(20));
    INSERT INTO "sm"."z" VALUES (0, 'zero'), (3, 'three');
    REPLACE INTO "sm"."z" VALUES (0, 'zero replaced');`);
  // DDL under the source session: time zone +02:00, a DEFAULT || expression, ANSI quotes and a
  // literal backslash; existing rows get CURRENT_TIMESTAMP of the DDL's time as the source read it
  await src.sql(`SET time_zone = '+02:00';
    ALTER TABLE "sm"."t" ADD COLUMN "created" DATETIME DEFAULT CURRENT_TIMESTAMP, ADD COLUMN "stamp" TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
      ADD COLUMN "p" VARCHAR(20) DEFAULT ('p' || 'q'), ADD COLUMN "w" VARCHAR(20) DEFAULT 'w\\';`);
  // a DDL at a fixed time with microseconds (the binlog carries the session's timestamp)
  await src.sql(`SET time_zone = '+02:00', timestamp = 1700000000.123456;
    ALTER TABLE "sm"."r" ADD COLUMN "d6" DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6), ADD COLUMN "t6" TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6);`);
  await src.sql(`INSERT INTO "sm"."t" ("id", "s") VALUES (0 + 8, 'after ddl \\');
    INSERT INTO "sm"."r" ("id", "v") VALUES (9, 'after');`);

  const synced = await waitConverged(src, dst, ['sm']);
  ac.abort();
  await running;
  assert.ok(synced.length === 3 && synced.every((d) => d.equal), describeDiffs(synced));

  // the values the comparison covered, spelled out
  assert.deepEqual(await dst.sql('SELECT id, s, note FROM sm.t WHERE id = 0'), [{ id: 0, s: 'again \\ zero', note: 'xy' }]);
  assert.deepEqual(await dst.sql('SELECT CAST(id AS CHAR) AS id, v FROM sm.r WHERE id = 0'), [{ id: '0', v: 'replaced again\\' }]);
  assert.deepEqual(await dst.sql('SELECT id, v FROM sm.z ORDER BY id'), [{ id: 0, v: 'zero replaced' }, { id: 3, v: 'three' }]);
  const dt = await src.sql("SELECT DATE_FORMAT(\"created\", '%Y-%m-%d %H:%i:%s') AS c, \"p\", \"w\" FROM \"sm\".\"t\" WHERE \"id\" = 1");
  const fixed = await dst.sql("SET time_zone = '+00:00'; SELECT CAST(d6 AS CHAR) AS d6, CAST(t6 AS CHAR) AS t6 FROM sm.r WHERE id = 5");
  assert.deepEqual(fixed, [{ d6: '2023-11-15 00:13:20.123456', t6: '2023-11-14 22:13:20.123456' }], 'DATETIME(6) in the source zone, TIMESTAMP(6) the same instant');
  const dtDst = await dst.sql("SELECT DATE_FORMAT(created, '%Y-%m-%d %H:%i:%s') AS c, p, w FROM sm.t WHERE id = 1");
  assert.deepEqual(dtDst, dt);
  assert.equal(dtDst[0]?.['p'], 'pq');
  assert.equal(dtDst[0]?.['w'], 'w\\');
});

test('binlog reader: a DDL event carries the upstream session (sql_mode as the server names it, time_zone, microseconds) and standard-quoted text', { timeout: 120_000 }, async (t) => {
  const db = await MariaDBServer.start({ extraArgs: [`--sql-mode=${SOURCE_MODE}`] });
  t.after(() => db.stop());
  const c = await db.connect();
  const ms = await getMasterStatus(c).finally(() => c.end());
  const extra = ',STRICT_ALL_TABLES,NO_ZERO_DATE,TIME_ROUND_FRACTIONAL';
  await db.sql(`SET SESSION sql_mode = CONCAT(@@sql_mode, '${extra}'), time_zone = '+02:00', timestamp = 1700000000.000042;
    CREATE DATABASE "q";
    CREATE TABLE "q"."a ""b""" ("x" INT PRIMARY KEY, "y" VARCHAR(10) DEFAULT 'a\\b''c');
    INSERT INTO "q"."a ""b""" ("x") VALUES (1);
    ALTER TABLE "q"."a ""b""" ADD COLUMN "z" DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6);`);
  const expectMode = await db.sql(`SET SESSION sql_mode = CONCAT(@@sql_mode, '${extra}'); SELECT @@SESSION.sql_mode AS m`);

  const r = createBinlogReader({ connection: db.connOpts(), flavor: 'mariadb', serverId: 9700 + (process.pid % 200), start: { file: ms.file, offset: ms.offset }, heartbeatMs: 0 });
  const ac = new AbortController();
  await r.start(ac.signal);
  const ddls: QueryEvent[] = [];
  try {
    const it = r[Symbol.asyncIterator]();
    while (ddls.length < 3) {
      const n = await it.next();
      if (n.done) break;
      const ev: BinlogEvent = n.value;
      if (ev.kind === 'query') ddls.push(ev);
    }
  } finally {
    ac.abort();
    await r.close();
  }
  const [db1, tb, alter] = ddls;
  assert.ok(db1 && tb && alter);
  assert.equal(tb.sqlMode, expectMode[0]?.['m'], 'sql_mode names and order as the server shows them');
  assert.equal(tb.timestamp, 1700000000);
  assert.equal(db1.sql, 'CREATE DATABASE `q`');
  assert.equal(tb.sql, "CREATE TABLE `q`.`a \"b\"` (`x` INT PRIMARY KEY, `y` VARCHAR(10) DEFAULT 'a\\\\b\\'c')");
  assert.equal(tb.originalSql, 'CREATE TABLE "q"."a ""b""" ("x" INT PRIMARY KEY, "y" VARCHAR(10) DEFAULT \'a\\b\'\'c\')');
  // the ALTER read the clock (existing rows get CURRENT_TIMESTAMP(6)): zone and microseconds are in the event
  assert.equal(alter.sql, 'ALTER TABLE `q`.`a "b"` ADD COLUMN `z` DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6)');
  assert.equal(alter.timeZone, '+02:00');
  assert.equal(alter.timestamp, 1700000000);
  assert.equal(alter.micros, 42);
});
