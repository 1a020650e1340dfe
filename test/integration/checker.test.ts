import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer, freePort, waitFor } from '../helpers/index.js';
import { runPrechecks, limitReport, precheckError, type CheckInput, type CheckReport } from '../../src/checker/index.js';

function stateOf(r: CheckReport, name: string, sourceId = 's1'): string | undefined {
  return r.results.find((x) => x.name === name && (x.sourceId === sourceId || x.sourceId === ''))?.state;
}

void test('prechecks against real MariaDB servers', async (t) => {
  const [src, tgt, nobin] = await Promise.all([
    MariaDBServer.start(),
    MariaDBServer.start(),
    MariaDBServer.start({ extraArgs: ['--skip-log-bin'] }),
  ]);
  t.after(async () => {
    await Promise.all([src.stop(), tgt.stop(), nobin.stop()]);
  });
  await src.sql(`CREATE DATABASE shop;
    CREATE TABLE shop.orders (id INT PRIMARY KEY, v VARCHAR(20));
    CREATE TABLE shop.items (code VARCHAR(10) NOT NULL, n INT, UNIQUE KEY (code));
    CREATE TABLE shop.nokey (a INT, b INT);
    INSERT INTO shop.orders VALUES (1,'a');
    CREATE DATABASE other; CREATE TABLE other.t (id INT PRIMARY KEY);`);
  const base = (over: Partial<CheckInput> = {}): CheckInput => ({
    taskName: 't1',
    mode: 'all',
    sources: [{ sourceId: 's1', from: src.connOpts(), enableGtid: false, tableFilter: (x) => x.schema === 'shop' && x.table !== 'nokey' }],
    target: tgt.connOpts(),
    ...over,
  });

  await t.test('a well configured source and target pass', async () => {
    const r = await runPrechecks(base());
    assert.equal(r.summary.passed, true, JSON.stringify(r.results.filter((x) => x.state !== 'pass')));
    assert.equal(r.summary.warning, 0);
    for (const n of ['dump_privilege', 'replication_privilege', 'binlog_format', 'binlog_row_image', 'binlog_row_metadata', 'target_privilege', 'conn_number_checking']) {
      assert.equal(stateOf(r, n), 'pass', n);
    }
  });

  await t.test('a table without primary or unique key warns', async () => {
    const r = await runPrechecks(base({ sources: [{ sourceId: 's1', from: src.connOpts(), enableGtid: false, tableFilter: (x) => x.schema === 'shop' }] }));
    const ts = r.results.find((x) => x.name === 'table_schema');
    assert.equal(ts?.state, 'warn');
    assert.match(ts?.message ?? '', /nokey/);
    assert.doesNotMatch(ts?.message ?? '', /items/);
    assert.equal(r.summary.passed, true);
  });

  await t.test('binlog settings that break replication fail, metadata warns', async () => {
    await src.sql("SET GLOBAL binlog_format = 'STATEMENT'; SET GLOBAL binlog_row_image = 'MINIMAL'; SET GLOBAL binlog_row_metadata = 'MINIMAL'");
    try {
      const r = await runPrechecks(base());
      assert.equal(r.summary.passed, false);
      assert.equal(stateOf(r, 'binlog_format'), 'fail');
      assert.equal(stateOf(r, 'binlog_row_image'), 'fail');
      assert.equal(stateOf(r, 'binlog_row_metadata'), 'warn');
      assert.match(precheckError(r).message, /binlog_format/);
      assert.equal(precheckError(r).code, 26005);
      assert.match(precheckError(r).toString(), /^\[code=26005:class=dm-master:scope=internal:level=medium\], Message: fail to check synchronization configuration with type: check was failed, please see detail\n detail: \{[^]*\}$/, "DM's text, the report last");
      // ignore-checking-items skips exactly those items
      const r2 = await runPrechecks(base({ ignoreCheckingItems: ['binlog_format', 'binlog_row_image'] }));
      assert.equal(r2.summary.passed, true);
      assert.equal(stateOf(r2, 'binlog_format'), undefined);
      // full mode does not look at the binlog
      const r3 = await runPrechecks(base({ mode: 'full' }));
      assert.equal(r3.summary.passed, true);
      // -e/-w limits
      const lim = limitReport(r, 1, 0);
      assert.equal(lim.results.length, 1);
      assert.equal(lim.results[0]?.state, 'fail');
      assert.equal(lim.summary.failed, r.summary.failed);
    } finally {
      await src.sql(`SET GLOBAL binlog_format = 'ROW'; SET GLOBAL binlog_row_image = 'FULL'; SET GLOBAL binlog_row_metadata = 'FULL'`);
    }
  });

  await t.test('binlog off fails', async () => {
    const r = await runPrechecks(base({ sources: [{ sourceId: 's1', from: nobin.connOpts(), enableGtid: false }] }));
    assert.equal(stateOf(r, 'binlog_enable'), 'fail');
  });

  await t.test('a user without privileges fails dump, replication and target privilege checks', async () => {
    await src.sql("CREATE USER 'weak'@'%' IDENTIFIED BY 'pw'; GRANT SELECT ON other.* TO 'weak'@'%'");
    await tgt.sql("CREATE USER 'weak'@'%' IDENTIFIED BY 'pw'; GRANT SELECT, INSERT ON *.* TO 'weak'@'%'");
    const weak = (s: MariaDBServer) => ({ ...s.connOpts(), user: 'weak', password: 'pw' });
    const r = await runPrechecks(base({ sources: [{ sourceId: 's1', from: weak(src), enableGtid: false, tableFilter: (x) => x.schema === 'shop' }], target: weak(tgt) }));
    assert.equal(stateOf(r, 'dump_privilege'), 'fail');
    assert.equal(stateOf(r, 'replication_privilege'), 'fail');
    assert.equal(stateOf(r, 'target_privilege'), 'fail');
    assert.match(r.results.find((x) => x.name === 'replication_privilege')?.instruction ?? '', /GRANT/);
  });

  await t.test('meta position: purged, missing, past the end, bad GTID', async () => {
    const [st] = await src.sql('SHOW MASTER STATUS');
    const file = String(st?.['File']);
    const pos = Number(st?.['Position']);
    const inc = (meta: NonNullable<CheckInput['sources'][0]['meta']>, enableGtid = false) =>
      runPrechecks(base({ mode: 'incremental', sources: [{ sourceId: 's1', from: src.connOpts(), enableGtid, meta }] }));
    assert.equal(stateOf(await inc({ binlogName: file, binlogPos: pos }), 'meta_position'), 'pass');
    assert.equal(stateOf(await inc({ binlogName: 'mysql-bin.000000', binlogPos: 4 }), 'meta_position'), 'fail');
    assert.equal(stateOf(await inc({ binlogName: 'mysql-bin.999999', binlogPos: 4 }), 'meta_position'), 'fail');
    assert.equal(stateOf(await inc({ binlogName: file, binlogPos: pos + 100000 }), 'meta_position'), 'fail');
    const gtidPos = String((await src.sql('SELECT @@gtid_binlog_pos AS g'))[0]?.['g']);
    assert.equal(stateOf(await inc({ binlogGtid: gtidPos }, true), 'meta_position'), 'pass');
    assert.equal(stateOf(await inc({ binlogGtid: '0-1-99999999' }, true), 'meta_position'), 'fail');
    assert.equal(stateOf(await inc({ binlogGtid: 'nonsense' }, true), 'meta_position'), 'fail');
    // binlog-gtid "": the empty set, from the oldest binlog (nothing purged yet)
    assert.equal(stateOf(await inc({ binlogGtid: '' }, true), 'meta_position'), 'pass');
    // after a purge, the old file is gone (MariaDB keeps a file until its binlog checkpoint is
    // written, asynchronously after FLUSH, so purge until it is really gone)
    await src.sql('FLUSH BINARY LOGS');
    await waitFor('old binlog purged', async () => {
      const [st2] = await src.sql('SHOW MASTER STATUS');
      await src.sql(`PURGE BINARY LOGS TO '${String(st2?.['File'])}'`);
      return !(await src.sql('SHOW BINARY LOGS')).some((x) => x['Log_name'] === file);
    });
    const r = await inc({ binlogName: file, binlogPos: pos });
    assert.equal(stateOf(r, 'meta_position'), 'fail');
    assert.match(r.results.find((x) => x.name === 'meta_position')?.message ?? '', /purged/);
    const fromStart = await inc({ binlogGtid: '' }, true);
    assert.equal(stateOf(fromStart, 'meta_position'), 'fail');
    assert.match(fromStart.results.find((x) => x.name === 'meta_position')?.message ?? '', /purged/);
  });

  await t.test('incompatible or non-empty target tables and mismatched shards', async () => {
    await tgt.sql('CREATE DATABASE IF NOT EXISTS shop; CREATE TABLE shop.orders (id INT PRIMARY KEY)');
    try {
      const r = await runPrechecks(base());
      assert.equal(stateOf(r, 'target_table'), 'fail');
      assert.match(r.results.find((x) => x.name === 'target_table')?.message ?? '', /lacks column/);
      // incremental mode: the binlog after meta may hold the DDL that makes the target match, so only a warning
      const inc = await runPrechecks(base({ mode: 'incremental' }));
      assert.equal(stateOf(inc, 'target_table'), 'warn');
      assert.match(inc.results.find((x) => x.name === 'target_table')?.message ?? '', /orders/);
      const incDetail = JSON.parse(precheckError(inc).message.split('\n detail: ')[1] ?? '') as { results: { name: string; state: string }[] };
      assert.deepEqual(incDetail.results.filter((x) => x.name === 'target_table').map((x) => x.state), ['warn'], 'target_table is a warning, not among the failures');
      // full mode still refuses it
      assert.equal(stateOf(await runPrechecks(base({ mode: 'full' })), 'target_table'), 'fail');
      // -e 0 -w 0 shows nothing, as in DM
      assert.equal(limitReport(r, 0, 0).results.length, 0);
      await tgt.sql('ALTER TABLE shop.orders ADD COLUMN v VARCHAR(20); INSERT INTO shop.orders VALUES (5, "x")');
      assert.equal(stateOf(await runPrechecks(base()), 'target_table'), 'warn');
    } finally {
      await tgt.sql('DROP DATABASE shop');
    }
    const merged = await runPrechecks(
      base({ sources: [{ sourceId: 's1', from: src.connOpts(), enableGtid: false, tableFilter: (x) => x.schema === 'shop' && x.table !== 'nokey', route: () => ({ schema: 'm', table: 'all' }) }] }),
    );
    assert.equal(stateOf(merged, 'schema_of_shard_tables'), 'fail');
  });

  await t.test('unreachable target and unknown ignore item', async () => {
    const r = await runPrechecks(base({ target: { host: '127.0.0.1', port: await freePort(), user: 'root', password: '' } }));
    assert.equal(stateOf(r, 'target_privilege'), 'fail');
    assert.match(r.results.find((x) => x.name === 'target_privilege')?.message ?? '', /cannot connect/);
    await assert.rejects(runPrechecks(base({ ignoreCheckingItems: ['bogus'] })), (e: Error & { code?: number }) => e.code === 26004);
  });
});
