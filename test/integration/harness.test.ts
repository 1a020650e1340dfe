import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { EtcdCluster, MariaDBServer, compareTables, describeDiffs } from '../helpers/index.js';

test('harness: two MariaDB servers, write rows to one, copy, compare row by row', async (t) => {
  const [a, b] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  t.after(async () => {
    await Promise.all([a.stop(), b.stop()]);
  });
  assert.notEqual(a.serverId, b.serverId);
  const vars = await a.sql(
    "SELECT @@log_bin AS log_bin, @@binlog_format AS fmt, @@binlog_row_image AS img, @@binlog_row_metadata AS meta",
  );
  assert.deepEqual({ ...vars[0], log_bin: Number(vars[0]?.['log_bin']) }, { log_bin: 1, fmt: 'ROW', img: 'FULL', meta: 'FULL' });
  const ddl = 'CREATE DATABASE h; CREATE TABLE h.t (id INT PRIMARY KEY, v VARCHAR(20), b VARBINARY(4))';
  await a.sql(ddl);
  await b.sql(ddl);
  await a.sql("INSERT INTO h.t VALUES (1,'x',0x00ff),(2,'😀',NULL),(3,'',X'')");
  const rows = await a.sql('SELECT id, v FROM h.t ORDER BY id');
  assert.deepEqual(rows.map((r) => r['v']), ['x', '😀', '']);
  await b.sql("INSERT INTO h.t VALUES (1,'x',0x00ff),(2,'😀',NULL)");
  let d = await compareTables(a.connOpts(), b.connOpts(), 'h', 't');
  assert.equal(d.equal, false);
  assert.equal(d.onlyInSource.length, 1);
  await b.sql("INSERT INTO h.t VALUES (3,'',X'')");
  d = await compareTables(a.connOpts(), b.connOpts(), 'h', 't');
  assert.ok(d.equal, describeDiffs([d]));
});

test('harness: a 3-member etcd cluster elects, survives one member kill, and stops', async (t) => {
  const cluster = await EtcdCluster.start(3);
  const client = new Etcd3({ hosts: cluster.endpoints, defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 2000 }) });
  t.after(async () => {
    client.close();
    await cluster.stop();
  });
  await client.put('/h/k').value('v1');
  assert.equal(await client.get('/h/k').string(), 'v1');
  await cluster.killMember(0);
  // the remaining two members still form a majority
  let ok = false;
  for (let i = 0; i < 50 && !ok; i++) {
    try {
      await client.put('/h/k').value('v2');
      ok = true;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  assert.ok(ok, 'write after one member kill');
  assert.equal(await client.get('/h/k').string(), 'v2');
  for (const m of cluster.members.slice(1)) assert.equal(m.child?.exitCode, null);
});

test('harness: stopping servers leaves no process and no temp dir behind', async () => {
  const { existsSync } = await import('node:fs');
  const db = await MariaDBServer.start();
  const cluster = await EtcdCluster.start(3);
  const pids = [db.pid, ...cluster.members.map((m) => m.child?.pid)].filter((p): p is number => p !== undefined);
  assert.equal(pids.length, 4);
  const dirs = [db.dir, cluster.dir];
  await Promise.all([db.stop(), cluster.stop()]);
  for (const pid of pids) {
    assert.throws(() => process.kill(pid, 0), /ESRCH/, `process ${pid} still running`);
  }
  for (const d of dirs) assert.equal(existsSync(d), false, `${d} left behind`);
});
