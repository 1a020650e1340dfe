import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { MariaDBServer, waitFor } from '../helpers/index.js';
import { createBinlogReader, getBinlogFiles, getMasterStatus, type BinlogEvent, type BinlogReader, type BinlogReaderOptions, type RowsEvent } from '../../src/binlog/index.js';
import { DMError } from '../../src/errors/index.js';

let sid = 9000 + (process.pid % 500) * 7;

function reader(db: MariaDBServer, start: BinlogReaderOptions['start'], extra: Partial<BinlogReaderOptions> = {}): BinlogReader {
  return createBinlogReader({ connection: db.connOpts(), flavor: 'mariadb', serverId: sid++, start, heartbeatMs: 0, ...extra });
}

/** Pull events until `until` says stop (or timeout); heartbeats are dropped unless asked for. */
async function collect(r: BinlogReader, until: (evs: BinlogEvent[]) => boolean, opts: { heartbeats?: boolean; timeoutMs?: number } = {}): Promise<BinlogEvent[]> {
  const evs: BinlogEvent[] = [];
  const it = r[Symbol.asyncIterator]();
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  while (!until(evs)) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timeout; got ${evs.length} events: ${JSON.stringify(evs.map((e) => e.kind))}`);
    let timer: NodeJS.Timeout | undefined;
    const res = await Promise.race([
      it.next(),
      new Promise<'t'>((resolve) => (timer = setTimeout(() => resolve('t'), left))),
    ]);
    clearTimeout(timer);
    if (res === 't') continue;
    if (res.done) break;
    if (res.value.kind === 'heartbeat' && !opts.heartbeats) continue;
    evs.push(res.value);
  }
  return evs;
}

const xids = (evs: BinlogEvent[]): number => evs.filter((e) => e.kind === 'xid' || e.kind === 'query').length;

void test('binlog reader: from file+pos and from GTID gets exactly the following transactions, in shape', async (t) => {
  const db = await MariaDBServer.start();
  t.after(() => db.stop());
  await db.sql('CREATE DATABASE r; CREATE TABLE r.t (id INT PRIMARY KEY, v VARCHAR(20), UNIQUE KEY uv (v))');
  await db.sql("INSERT INTO r.t VALUES (1,'before')");
  const ms = await getMasterStatus(await db.connect()).catch(async () => {
    const c = await db.connect();
    try {
      return await getMasterStatus(c);
    } finally {
      await c.end();
    }
  });
  await db.sql("BEGIN; INSERT INTO r.t VALUES (2,'a'),(3,'b'); UPDATE r.t SET v='c' WHERE id=1; COMMIT");
  await db.sql('ALTER TABLE r.t ADD COLUMN w INT');
  await db.sql('DELETE FROM r.t WHERE id=2');

  for (const start of [{ file: ms.file, offset: ms.offset }, { gtid: ms.gtid }]) {
    const r = reader(db, start);
    const ac = new AbortController();
    await r.start(ac.signal);
    try {
      const evs = await collect(r, (e) => xids(e) >= 3);
      assert.deepEqual(
        evs.map((e) => (e.kind === 'rows' ? `rows:${e.op}` : e.kind)),
        ['gtid', 'rows:insert', 'rows:update', 'xid', 'gtid', 'query', 'gtid', 'rows:delete', 'xid'],
        JSON.stringify(start),
      );
      const ins = evs[1] as RowsEvent;
      assert.equal(ins.schema, 'r');
      assert.equal(ins.table, 't');
      assert.deepEqual(ins.columns.map((c) => c.name), ['id', 'v']);
      assert.deepEqual(ins.keyColumns, ['id']);
      assert.deepEqual(ins.uniqueKeys, [['v']]);
      assert.deepEqual(ins.rows, [[2, 'a'], [3, 'b']]);
      const upd = evs[2] as RowsEvent;
      assert.deepEqual(upd.before, [[1, 'before']]);
      assert.deepEqual(upd.rows, [[1, 'c']]);
      const ddl = evs[5];
      assert.equal(ddl?.kind, 'query');
      assert.equal(ddl?.kind === 'query' && ddl.sql, 'ALTER TABLE r.t ADD COLUMN w INT');
      const del = evs[7] as RowsEvent;
      assert.deepEqual(del.columns.map((c) => c.name), ['id', 'v', 'w']);
      assert.deepEqual(del.rows, [[2, 'a', null]]);
      // checkpoint positions: GTID sets grow per transaction, the last equals the master's now
      const gtids = evs.filter((e) => e.kind === 'gtid').map((e) => (e.kind === 'gtid' ? e.gtid : ''));
      assert.equal(gtids.length, 3);
      assert.ok(gtids.every((g) => /^0-\d+-\d+$/.test(g)));
      const c = await db.connect();
      const now = await getMasterStatus(c);
      await c.end();
      const last = evs[8]!;
      assert.deepEqual({ file: last.pos.file, offset: last.pos.offset, gtid: last.pos.gtid }, now);
      assert.deepEqual(r.status().position, now);
    } finally {
      await r.close();
    }
  }
});

void test('binlog reader: purged file and unknown GTID are coded errors', async (t) => {
  const db = await MariaDBServer.start();
  t.after(() => db.stop());
  await db.sql('CREATE DATABASE p; CREATE TABLE p.t (id INT PRIMARY KEY); INSERT INTO p.t VALUES (1)');
  const c = await db.connect();
  const first = await getMasterStatus(c);
  await c.query('FLUSH BINARY LOGS');
  await c.query('INSERT INTO p.t VALUES (2)');
  const cur = await getMasterStatus(c);
  // MariaDB keeps a file until its binlog checkpoint has passed: retry the purge
  await waitFor('first binlog purged', async () => {
    await c.query('PURGE BINARY LOGS TO ?', [cur.file]);
    return !(await getBinlogFiles(c)).some((f) => f.name === first.file);
  });
  await c.end();

  const codeOf = async (start: BinlogReaderOptions['start']): Promise<string> => {
    const r = reader(db, start);
    try {
      await r.start(AbortSignal.timeout(20_000));
      await collect(r, () => false, { timeoutMs: 10_000 });
      return 'no error';
    } catch (e) {
      return e instanceof DMError ? e.codeName : `not a DMError: ${String(e)}`;
    } finally {
      await r.close();
    }
  };
  assert.equal(await codeOf({ file: first.file, offset: 4 }), 'ErrBinlogPurged');
  assert.equal(await codeOf({ gtid: '0-1-1' }), 'ErrBinlogPurged');
  assert.equal(await codeOf({ gtid: `0-${db.serverId}-999999` }), 'ErrBinlogInvalidPosition');
  assert.equal(await codeOf({ file: 'mysql-bin.999999', offset: 4 }), 'ErrBinlogInvalidPosition');
  const reg = new Registry();
  const ok = reader(db, { file: cur.file, offset: 4 }, { registry: reg, labels: { task: 't1', source_id: 's1' } });
  await ok.start(AbortSignal.timeout(20_000));
  const evs = await collect(ok, (e) => xids(e) >= 1);
  assert.equal(evs.at(-1)?.kind, 'xid');
  const text = await reg.metrics();
  assert.match(text, /dm_syncer_binlog_file\{task="t1",source_id="s1",node="master"\} 2/);
  assert.match(text, /dm_syncer_binlog_read_events_total\{task="t1",source_id="s1"\} [1-9]/);
  await ok.close();
});

void test('binlog reader: start from a time, includeTable filter, heartbeat when idle', async (t) => {
  const db = await MariaDBServer.start();
  t.after(() => db.stop());
  await db.sql('CREATE DATABASE s; CREATE TABLE s.a (id INT PRIMARY KEY); CREATE TABLE s.b (id INT PRIMARY KEY)');
  await db.sql('INSERT INTO s.a VALUES (1)');
  await db.sql('FLUSH BINARY LOGS');
  await db.sql('INSERT INTO s.a VALUES (2)');
  // the next whole second: every transaction from here on is at or after it
  const at = new Date(Math.ceil((Date.now() + 1) / 1000) * 1000);
  await new Promise((r) => setTimeout(r, at.getTime() - Date.now() + 50));
  await db.sql('INSERT INTO s.b VALUES (3)');
  await db.sql('FLUSH BINARY LOGS');
  await db.sql('INSERT INTO s.a VALUES (4)');

  const r = reader(db, { time: at }, { includeTable: (_s, tb) => tb === 'a', heartbeatMs: 200 });
  await r.start(AbortSignal.timeout(30_000));
  try {
    const evs = await collect(r, (e) => xids(e) >= 2);
    // the transaction on s.b is delivered as gtid+xid without rows (filtered), then s.a's row 4
    assert.deepEqual(
      evs.map((e) => (e.kind === 'rows' ? `${e.table}:${JSON.stringify(e.rows)}` : e.kind)),
      ['gtid', 'xid', 'gtid', 'a:[[4]]', 'xid'],
    );
    const lastPos = evs.at(-1)!.pos;
    const hb = await collect(r, (e) => e.length >= 1, { heartbeats: true, timeoutMs: 5000 });
    assert.equal(hb[0]?.kind, 'heartbeat');
    assert.deepEqual(hb[0]?.pos, lastPos);
    assert.ok(Math.abs((hb[0]?.timestamp ?? 0) - Date.now() / 1000) < 5, 'heartbeat carries the current time');
  } finally {
    await r.close();
  }
  // a time after the last event: starts at the end and sees only new transactions
  const r2 = reader(db, { time: new Date(Date.now() + 3_600_000) });
  await r2.start(AbortSignal.timeout(30_000));
  try {
    await db.sql('INSERT INTO s.b VALUES (5)');
    const evs = await collect(r2, (e) => xids(e) >= 1);
    assert.deepEqual(evs.filter((e) => e.kind === 'rows').map((e) => (e.kind === 'rows' ? e.rows : [])), [[[5]]]);
  } finally {
    await r2.close();
  }
});

void test('binlog reader: a slow consumer keeps the queue bounded and still gets every row', async (t) => {
  const db = await MariaDBServer.start();
  t.after(() => db.stop());
  await db.sql('CREATE DATABASE bp; CREATE TABLE bp.t (id INT PRIMARY KEY, pad VARCHAR(200))');
  const c = await db.connect();
  const start = await getMasterStatus(c);
  const N = 1500;
  for (let i = 0; i < N; i += 100) {
    const vals = Array.from({ length: 100 }, (_, j) => `(${i + j}, REPEAT('x', 200))`).join(',');
    // 100 single-row transactions per round trip
    await c.query(vals.split('),(').map((v, j, a) => `INSERT INTO bp.t VALUES ${j === 0 ? '' : '('}${v}${j === a.length - 1 ? '' : ')'}`).join(';'));
  }
  await c.end();
  const maxQueueEvents = 40;
  const r = reader(db, { file: start.file, offset: start.offset }, { maxQueueEvents, maxQueueBytes: 1 << 20 });
  await r.start(AbortSignal.timeout(20_000));
  let maxSeen = 0;
  const ids: number[] = [];
  try {
    for await (const ev of r as AsyncIterable<BinlogEvent>) {
      maxSeen = Math.max(maxSeen, r.status().queueEvents);
      if (ev.kind === 'rows') for (const row of ev.rows) ids.push(row[0] as number);
      if (ids.length === N) break;
      if (ids.length % 50 === 0) await new Promise((res) => setTimeout(res, 5));
    }
  } finally {
    await r.close();
  }
  assert.deepEqual(ids, Array.from({ length: N }, (_, i) => i));
  assert.ok(maxSeen <= maxQueueEvents + 2, `queue grew to ${maxSeen} events (limit ${maxQueueEvents})`);
});

void test('binlog reader: nextBatch delivers the same stream in batches and is cancelable', async (t) => {
  const db = await MariaDBServer.start();
  t.after(() => db.stop());
  await db.sql('CREATE DATABASE nb; CREATE TABLE nb.t (id INT PRIMARY KEY, v VARCHAR(10))');
  const c = await db.connect();
  const start = await getMasterStatus(c);
  for (let i = 0; i < 50; i++) await c.query(`BEGIN; INSERT INTO nb.t VALUES (${i}, 'a'); UPDATE nb.t SET v='b' WHERE id=${i}; COMMIT`);
  await c.end();
  const r = reader(db, { file: start.file, offset: start.offset });
  t.after(() => r.close());
  await r.start(AbortSignal.timeout(20_000));
  const evs: BinlogEvent[] = [];
  let batches = 0;
  while (evs.filter((e) => e.kind === 'xid').length < 50) {
    const b = await r.nextBatch(16, AbortSignal.timeout(20_000));
    assert.ok(b.length > 0 && b.length <= 16, `batch of ${b.length}`);
    evs.push(...b);
    batches++;
  }
  assert.ok(batches >= 13, `${evs.length} events came in ${batches} batches of at most 16`);
  // every transaction whole and in order: gtid, insert, update, xid
  assert.equal(evs.map((e) => (e.kind === 'rows' ? e.op : e.kind)).join(' '), Array.from({ length: 50 }, () => 'gtid insert update xid').join(' '));
  const ids = evs.flatMap((e) => (e.kind === 'rows' && e.op === 'update' ? [e.rows[0]?.[0]] : []));
  assert.deepEqual(ids, Array.from({ length: 50 }, (_, i) => i));
  // nothing more is coming: an aborted wait is ErrCanceled, and the reader still works after it
  await assert.rejects(r.nextBatch(16, AbortSignal.timeout(200)), (e: unknown) => e instanceof DMError && e.codeName === 'ErrCanceled');
  await db.sql("INSERT INTO nb.t VALUES (100, 'z')");
  const more = await r.nextBatch(16, AbortSignal.timeout(20_000));
  assert.equal(more[0]?.kind, 'gtid');
});
