import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MariaDBServer, compareTables, describeDiffs, freePort, runUnits, waitFor } from '../helpers/index.js';
import { createFullUnits } from '../../src/units/full/index.js';

let src: MariaDBServer;
let dst: MariaDBServer;
before(async () => {
  [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  // a user without RELOAD (as on managed MySQL): FTWRL is refused
  await src.sql(
    "CREATE USER 'norl'@'%' IDENTIFIED BY 'pw'; GRANT SELECT, LOCK TABLES, REPLICATION CLIENT, SHOW VIEW ON *.* TO 'norl'@'%'",
  );
});
after(async () => {
  await Promise.all([src?.stop(), dst?.stop()]);
});

const base = (task: string, db: string) => ({
  taskName: task,
  sourceId: 'src-1',
  taskMode: 'full' as const,
  source: src.connOpts(),
  target: dst.connOpts(),
  baList: { doDbs: [db] },
});

test('consistency auto without RELOAD: falls back to LOCK TABLES and the copy is a consistent cut under concurrent writes', async () => {
  await src.sql('CREATE DATABASE c1; CREATE TABLE c1.a (id INT PRIMARY KEY, v INT); CREATE TABLE c1.b (id INT PRIMARY KEY, v INT)');
  await src.sql('INSERT INTO c1.a SELECT seq, 1 FROM mysql.seq_1_to_3000; INSERT INTO c1.b SELECT seq, 1 FROM mysql.seq_1_to_3000');
  // writer: every transaction inserts the same id into a and b, and moves 1 from a row to the other table
  const w = await src.connect();
  let stop = false;
  let n = 3000;
  const writer = (async () => {
    while (!stop) {
      n++;
      await w.query(`BEGIN; INSERT INTO c1.a VALUES (${n}, 1); INSERT INTO c1.b VALUES (${n}, 1); UPDATE c1.a SET v = v - 1 WHERE id = ${n % 3000 + 1}; UPDATE c1.b SET v = v + 1 WHERE id = ${n % 3000 + 1}; COMMIT`);
    }
  })();
  try {
    await sleep(100);
    const { units, dump } = createFullUnits({
      ...base('c1', 'c1'),
      source: { ...src.connOpts(), user: 'norl', password: 'pw' },
      mydumper: { threads: 2, rows: 500, consistency: 'auto' },
    });
    await runUnits(units);
    const st = dump.status();
    assert.equal((st['snapshot'] as { lock?: string }).lock, 'lock-tables');
  } finally {
    stop = true;
    await writer;
    await w.end();
  }
  const ids = async (t: string): Promise<string> => String((await dst.sql(`SELECT COUNT(*) AS n, SUM(id) AS s FROM c1.${t}`))[0]?.['n']) + '/' + String((await dst.sql(`SELECT SUM(id) AS s FROM c1.${t}`))[0]?.['s']);
  assert.equal(await ids('a'), await ids('b'), 'both tables cut at the same transaction');
  const sums = await dst.sql('SELECT (SELECT SUM(v) FROM c1.a) + (SELECT SUM(v) FROM c1.b) AS s, (SELECT COUNT(*) FROM c1.a) AS n');
  // each transaction adds 2 and moves 1 between the tables: the total is 2 * rows
  assert.equal(Number(sums[0]?.['s']), 2 * Number(sums[0]?.['n']));
  assert.ok(Number(sums[0]?.['n']) > 3000, 'rows written during the test were copied');
});

test('consistency flush without RELOAD: coded error naming RELOAD and the consistency alternative', async () => {
  await src.sql('CREATE DATABASE c2; CREATE TABLE c2.a (id INT PRIMARY KEY)');
  const { dump } = createFullUnits({ ...base('c2', 'c2'), source: { ...src.connOpts(), user: 'norl', password: 'pw' }, mydumper: { consistency: 'flush' } });
  const r = await dump.process(new AbortController().signal);
  assert.equal(r.errors.length, 1);
  assert.equal(r.errors[0]?.code, 32002);
  assert.match(r.errors[0]?.message ?? '', /RELOAD/);
  assert.match(r.errors[0]?.workaround ?? '', /--consistency lock/);
  assert.equal(r.errors[0]?.retryable, false);
});

test('target unreachable: retried with backoff, then a coded retryable error', async () => {
  const port = await freePort();
  const { units, load } = createFullUnits({
    ...base('c3', 'c2'),
    target: { host: '127.0.0.1', port, user: 'root', password: '' },
    loader: { retryAttempts: 2, retryInitialDelayMs: 20, retryMaxDelayMs: 50 },
  });
  const r = await units[0]?.process(new AbortController().signal);
  assert.equal(r?.errors[0]?.code, 34001);
  assert.equal(r?.errors[0]?.retryable, true);
  assert.equal(load.status()['chunkRetries'], 0);
  const rl = await load.process(new AbortController().signal);
  assert.equal(rl.errors[0]?.code, 34001);
  assert.ok(Number(load.status()['chunkRetries']) >= 2, 'retried before failing');
});

test('source connection killed mid-dump: the chunk is retried from its checkpoint, nothing duplicated', async () => {
  await src.sql('CREATE DATABASE c4; CREATE TABLE c4.big (id INT PRIMARY KEY, c CHAR(200) NOT NULL)');
  await src.sql("INSERT INTO c4.big SELECT seq, REPEAT('z', 200) FROM mysql.seq_1_to_60000");
  const { units, load, session } = createFullUnits({
    ...base('c4', 'c4'),
    mydumper: { threads: 2, rows: 4000 },
    loader: { poolSize: 2, onDuplicate: 'error', retryInitialDelayMs: 20 },
  });
  const [dump] = units;
  assert.equal((await dump?.process(new AbortController().signal))?.errors.length, 0);
  let killed = 0;
  const killer = (async () => {
    const c = await src.connect();
    try {
      // once a few chunks are in, kill one of the dump's snapshot connections (busy or between queries)
      await waitFor('three chunks done', async () => Number(load.status()['finishedChunks']) >= 3, { timeoutMs: 60_000, intervalMs: 5 });
      const [rows] = await c.query("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'root' AND ID <> CONNECTION_ID() AND COMMAND = 'Query' LIMIT 1");
      let id = (rows as { ID: number }[])[0]?.ID;
      if (id === undefined) {
        const [idle] = await c.query("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'root' AND ID <> CONNECTION_ID() AND COMMAND = 'Sleep' LIMIT 1");
        id = (idle as { ID: number }[])[0]?.ID;
      }
      if (id === undefined) return;
      await c.query(`KILL CONNECTION ${id}`);
      killed++;
    } finally {
      await c.end();
    }
  })();
  const r = await load.process(new AbortController().signal);
  await killer;
  assert.deepEqual(r.errors, []);
  assert.equal(killed, 1);
  assert.ok(Number(load.status()['chunkRetries']) >= 1);
  const d = await compareTables(src.connOpts(), dst.connOpts(), 'c4', 'big');
  assert.ok(d.equal, describeDiffs([d]));
  // the replacement connection's snapshot was recorded, so sync covers it
  assert.ok(session.snapshots.length >= 2);
});

test('pause mid-load resolves canceled; resume continues to the end without duplicates', async () => {
  await src.sql('CREATE DATABASE c5; CREATE TABLE c5.p (id INT PRIMARY KEY, c CHAR(200) NOT NULL)');
  await src.sql("INSERT INTO c5.p SELECT seq, REPEAT('p', 200) FROM mysql.seq_1_to_60000");
  const { units, load } = createFullUnits({ ...base('c5', 'c5'), mydumper: { threads: 2, rows: 3000 }, loader: { poolSize: 2, onDuplicate: 'error' } });
  assert.equal((await units[0]?.process(new AbortController().signal))?.errors.length, 0);
  const running = load.process(new AbortController().signal);
  await waitFor('two chunks done', async () => Number(load.status()['finishedChunks']) >= 2, { timeoutMs: 60_000, intervalMs: 5 });
  load.pause();
  const r = await running;
  assert.equal(r.isCanceled, true);
  assert.deepEqual(r.errors, []);
  const doneAtPause = Number((await dst.sql("SELECT COUNT(*) AS n FROM dm_meta.c5_load_checkpoint WHERE status = 'done'"))[0]?.['n']);
  assert.ok(doneAtPause < 21, 'paused before the end');
  const r2 = await load.resume(new AbortController().signal);
  assert.deepEqual(r2.errors, []);
  assert.equal(r2.isCanceled, false);
  const d = await compareTables(src.connOpts(), dst.connOpts(), 'c5', 'p');
  assert.ok(d.equal, describeDiffs([d]));
  await load.close();
});

test('existing target table with different columns: coded error, not overwritten', async () => {
  await src.sql('CREATE DATABASE c6; CREATE TABLE c6.m (id INT PRIMARY KEY, a VARCHAR(10)); INSERT INTO c6.m VALUES (1, "x")');
  await dst.sql('CREATE DATABASE c6; CREATE TABLE c6.m (id INT PRIMARY KEY, b VARCHAR(10))');
  const { units } = createFullUnits(base('c6', 'c6'));
  await units[0]?.process(new AbortController().signal);
  const r = await units[1]?.process(new AbortController().signal);
  assert.equal(r?.errors[0]?.code, 34002);
  assert.match(r?.errors[0]?.message ?? '', /column a missing/);
  assert.equal((await dst.sql('SELECT COUNT(*) AS n FROM c6.m'))[0]?.['n'], '0');
});
