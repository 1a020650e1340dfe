/**
 * Target tables the user made differently from the source, and a source user without
 * replication privileges (DM.ts issue 11 §4):
 * - a pre-created target table with MORE columns (nullable, defaulted, AUTO_INCREMENT, in another
 *   order) is loaded and then synced by column name; only a truly incompatible one is refused,
 *   naming the column (load 34002, precheck target_table);
 * - the target_table precheck expects only the columns a route really extracts;
 * - task-mode full runs, prechecks and dumps as a user with SELECT + RELOAD + LOCK TABLES only.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { MariaDBServer, waitFor } from '../helpers/index.js';
import { silentLogger } from '../../src/log/index.js';
import { createUnits } from '../../src/worker/pipeline.js';
import { checkTaskYaml, type CheckReport } from '../../src/checker/index.js';
import type { Unit } from '../../src/units/unit.js';
import { createFullUnits } from '../../src/units/full/index.js';

let src: MariaDBServer;
let dst: MariaDBServer;
before(async () => {
  [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
});
after(async () => {
  await Promise.all([src?.stop(), dst?.stop()]);
});

const sourceYaml = (user = 'root', password = ''): string =>
  `source-id: s1\nfrom: {host: 127.0.0.1, port: ${src.port}, user: ${user}, password: "${password}"}\n`;

const taskYaml = (name: string, mode: string, db: string, extra = '', instanceExtra = ''): string => `name: ${name}
task-mode: ${mode}
target-database: {host: 127.0.0.1, port: ${dst.port}, user: root, password: ""}
mysql-instances:
  - {source-id: s1, block-allow-list: ba${instanceExtra}}
block-allow-list:
  ba: {do-dbs: [${db}]}
${extra}`;

function units(name: string, yaml: string, source = sourceYaml()): Unit[] {
  return createUnits({ taskName: name, sourceId: 's1', taskYaml: yaml, sourceYaml: source }, { logger: silentLogger, registry: new Registry(), workerName: 'w1' });
}

const item = (r: CheckReport, name: string): { state: string; message: string } | undefined => r.results.find((x) => x.name === name);

test('a target table with extra columns is loaded (INSERT and LOAD DATA) and synced by column name', async () => {
  await src.sql(`CREATE DATABASE xc;
    CREATE TABLE xc.t (id INT PRIMARY KEY, v VARCHAR(20), n INT);
    INSERT INTO xc.t VALUES (1, 'a', 10), (2, 'b', 20), (3, 'c', 30);
    CREATE TABLE xc.k (a INT, b VARCHAR(10));
    INSERT INTO xc.k VALUES (1, 'x'), (2, 'y');`);
  // pre-created by the user: other column order, and columns the source does not have
  const targetDDL = `CREATE DATABASE xc;
    CREATE TABLE xc.t (seq BIGINT NOT NULL AUTO_INCREMENT UNIQUE, note VARCHAR(20) NULL, n INT, v VARCHAR(20),
      id INT PRIMARY KEY, flag INT NOT NULL DEFAULT 7, created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
      dbl INT AS (n * 2) VIRTUAL);
    CREATE TABLE xc.k (extra VARCHAR(5) DEFAULT 'e', b VARCHAR(10), a INT);`;
  const srcRows = async (): Promise<string[]> => (await src.sql('SELECT id, v, n FROM xc.t ORDER BY id')).map((r) => `${String(r['id'])}:${String(r['v'])}:${String(r['n'])}`);
  const dstRows = async (): Promise<string[]> => (await dst.sql('SELECT id, v, n FROM xc.t ORDER BY id')).map((r) => `${String(r['id'])}:${String(r['v'])}:${String(r['n'])}`);

  // the precheck accepts it
  await dst.sql(targetDDL);
  const pre = await checkTaskYaml(taskYaml('xc_pre', 'all', 'xc'), new Map([['s1', sourceYaml()]]));
  assert.equal(item(pre, 'target_table')?.state, 'pass', JSON.stringify(item(pre, 'target_table')));

  // full load, both import paths
  for (const mode of ['sql', 'logical']) {
    const name = `xc_${mode}`;
    const us = units(name, taskYaml(name, 'full', 'xc', `loaders:\n  l: {import-mode: ${mode}}\n`, ', loader-config-name: l'));
    try {
      for (const u of us) {
        const r = await u.process(AbortSignal.timeout(60_000));
        assert.deepEqual(r.errors, [], `${mode}: ${u.type} errors`);
      }
    } finally {
      for (const u of us) await u.close();
    }
    assert.deepEqual(await dstRows(), await srcRows(), mode);
    const filled = await dst.sql('SELECT COUNT(DISTINCT seq) AS s, MIN(flag) AS f, SUM(note IS NULL) AS nn, SUM(dbl) AS d FROM xc.t');
    assert.deepEqual(filled[0], { s: '3', f: 7, nn: '3', d: '120' }, `${mode}: extra columns filled by the target`);
    assert.deepEqual((await dst.sql('SELECT a, b, extra FROM xc.k ORDER BY a')).map((r) => `${String(r['a'])}${String(r['b'])}${String(r['extra'])}`), ['1xe', '2ye']);
    await dst.sql('DROP DATABASE xc; DROP DATABASE dm_meta');
    await dst.sql(targetDDL);
  }

  // task-mode all: load, then sync inserts/updates/deletes into the same table (keyed and keyless)
  const us = units('xc_all', taskYaml('xc_all', 'all', 'xc'));
  const ac = new AbortController();
  const sync = us.find((u) => u.type === 'Sync');
  let running: ReturnType<Unit['process']> | undefined;
  try {
    for (const u of us) {
      await u.init(ac.signal);
      if (u === sync) running = u.process(ac.signal);
      else assert.deepEqual((await u.process(ac.signal)).errors, [], `${u.type} errors`);
    }
    await src.sql(`INSERT INTO xc.t VALUES (4, 'd', 40); UPDATE xc.t SET v = 'B', n = 21 WHERE id = 2; DELETE FROM xc.t WHERE id = 1;
      INSERT INTO xc.k VALUES (3, 'z'); UPDATE xc.k SET b = 'Y' WHERE a = 2; DELETE FROM xc.k WHERE a = 1;`);
    const want = await srcRows();
    await waitFor('sync reached the target', async () => (await dstRows()).join() === want.join() && (await dst.sql('SELECT a FROM xc.k ORDER BY a')).map((r) => r['a']).join() === '2,3', { timeoutMs: 60_000, intervalMs: 200 });
    assert.deepEqual((await dst.sql('SELECT a, b, extra FROM xc.k ORDER BY a')).map((r) => `${String(r['a'])}${String(r['b'])}${String(r['extra'])}`), ['2Ye', '3ze']);
    const row4 = await dst.sql('SELECT flag, note, dbl, seq > 0 AS s FROM xc.t WHERE id = 4');
    assert.deepEqual(row4[0], { flag: 7, note: null, dbl: 80, s: 1 });
  } finally {
    sync?.pause();
    const r = await running;
    assert.deepEqual(r?.errors ?? [], []);
    for (const u of us) await u.close();
  }
});

test('an extra target column the target cannot fill, or a missing one, is refused naming the column', async () => {
  await src.sql('CREATE DATABASE xb; CREATE TABLE xb.t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO xb.t VALUES (1, "a")');
  await dst.sql('CREATE DATABASE xb; CREATE TABLE xb.t (id INT PRIMARY KEY, v VARCHAR(20), must INT NOT NULL, opt INT NULL)');
  const pre = await checkTaskYaml(taskYaml('xb', 'full', 'xb'), new Map([['s1', sourceYaml()]]));
  assert.equal(item(pre, 'target_table')?.state, 'fail');
  assert.match(item(pre, 'target_table')?.message ?? '', /extra column\(s\) must that are NOT NULL without a default/);
  assert.doesNotMatch(item(pre, 'target_table')?.message ?? '', /opt/);
  const us = units('xb', taskYaml('xb', 'full', 'xb'));
  try {
    assert.deepEqual((await us[0]?.process(AbortSignal.timeout(60_000)))?.errors, []);
    const r = await us[1]?.process(AbortSignal.timeout(60_000));
    assert.equal(r?.errors[0]?.code, 34002);
    assert.match(r?.errors[0]?.message ?? '', /extra column must is NOT NULL without a default/);
  } finally {
    for (const u of us) await u.close();
  }
  assert.equal((await dst.sql('SELECT COUNT(*) AS n FROM xb.t'))[0]?.['n'], '0');
});

test('target_table precheck expects only the columns each route extracts', async () => {
  await src.sql(`CREATE DATABASE xr; CREATE TABLE xr.t_1 (id INT PRIMARY KEY, v INT); CREATE TABLE xr.t_2 (id INT PRIMARY KEY, v INT);
    CREATE TABLE xr.u (id INT PRIMARY KEY, w INT);`);
  // t_* merged into xr_out.t with c_table only; u goes to xr_out.u with c_schema and c_source
  await dst.sql(`CREATE DATABASE xr_out; CREATE TABLE xr_out.t (id INT, v INT, c_table VARCHAR(255) NOT NULL DEFAULT '', PRIMARY KEY (id, c_table));
    CREATE TABLE xr_out.u (id INT, w INT, c_schema VARCHAR(255), c_source VARCHAR(255), PRIMARY KEY (id))`);
  const routes = `routes:
  r1: {schema-pattern: xr, table-pattern: "t_*", target-schema: xr_out, target-table: t, extract-table: {table-regexp: "t_(.*)", target-column: c_table}}
  r2: {schema-pattern: xr, table-pattern: u, target-schema: xr_out, target-table: u,
       extract-schema: {schema-regexp: "(.*)", target-column: c_schema}, extract-source: {source-regexp: "(.*)", target-column: c_source}}
`;
  const yaml = taskYaml('xr', 'full', 'xr', routes, ', route-rules: [r1, r2]');
  const r = await checkTaskYaml(yaml, new Map([['s1', sourceYaml()]]));
  assert.equal(item(r, 'target_table')?.state, 'pass', JSON.stringify(item(r, 'target_table')));
  // a route's own extract column missing on the target still fails, naming it
  await dst.sql('ALTER TABLE xr_out.u DROP COLUMN c_source');
  const r2 = await checkTaskYaml(yaml, new Map([['s1', sourceYaml()]]));
  assert.equal(item(r2, 'target_table')?.state, 'fail');
  assert.match(item(r2, 'target_table')?.message ?? '', /`xr_out`\.`u` lacks column\(s\) c_source$/);
});

test('task-mode full as a source user with SELECT, RELOAD and LOCK TABLES only (no REPLICATION CLIENT)', async () => {
  await src.sql(`CREATE DATABASE xf; CREATE TABLE xf.t (id INT PRIMARY KEY, v VARCHAR(20));
    INSERT INTO xf.t SELECT seq, CONCAT('r', seq) FROM mysql.seq_1_to_500;
    CREATE USER 'fullonly'@'%' IDENTIFIED BY 'pw'; GRANT SELECT, RELOAD, LOCK TABLES ON *.* TO 'fullonly'@'%'`);
  const mysql = (await import('mysql2/promise')).default;
  const c = await mysql.createConnection({ ...src.connOpts(), user: 'fullonly', password: 'pw' });
  const refused = await c.query('SHOW MASTER STATUS').then(
    () => false,
    () => true,
  );
  await c.end();
  assert.ok(refused, 'the user cannot read SHOW MASTER STATUS');
  const source = sourceYaml('fullonly', 'pw');
  const pre = await checkTaskYaml(taskYaml('xf', 'full', 'xf'), new Map([['s1', source]]));
  assert.equal(pre.summary.passed, true, JSON.stringify(pre.results.filter((x) => x.state === 'fail')));
  assert.equal(item(pre, 'replication_privilege'), undefined, 'not checked for task-mode full');
  // task-mode all still needs the replication privileges
  const preAll = await checkTaskYaml(taskYaml('xf', 'all', 'xf'), new Map([['s1', source]]));
  assert.equal(item(preAll, 'replication_privilege')?.state, 'fail');

  for (const consistency of ['auto', 'none'] as const) {
    const name = `xf_${consistency}`;
    const { units: us } = createFullUnits({
      taskName: name,
      sourceId: 's1',
      taskMode: 'full',
      source: { ...src.connOpts(), user: 'fullonly', password: 'pw' },
      target: dst.connOpts(),
      baList: { doDbs: ['xf'] },
      mydumper: { threads: 2, rows: 100, consistency },
    });
    try {
      for (const u of us) {
        const r = await u.process(AbortSignal.timeout(60_000));
        assert.deepEqual(r.errors, [], `${consistency}: ${u.type} errors`);
      }
    } finally {
      for (const u of us) await u.close();
    }
    assert.equal((await dst.sql('SELECT COUNT(*) AS n, SUM(id) AS s FROM xf.t'))[0]?.['s'], '125250', consistency);
    // the position could not be read: recorded as unknown
    const snaps = await dst.sql(`SELECT binlog_name AS f FROM dm_meta.${name}_load_snapshot`);
    assert.ok(snaps.length > 0 && snaps.every((x) => x['f'] === ''), JSON.stringify(snaps));
    await dst.sql('DROP DATABASE xf');
  }
  // with the privilege the position is recorded as before
  await src.sql("GRANT BINLOG MONITOR ON *.* TO 'fullonly'@'%'");
  const us = units('xf_pos', taskYaml('xf_pos', 'full', 'xf'), source);
  try {
    for (const u of us) assert.deepEqual((await u.process(AbortSignal.timeout(60_000))).errors, []);
  } finally {
    for (const u of us) await u.close();
  }
  const snaps = await dst.sql('SELECT binlog_name AS f FROM dm_meta.xf_pos_load_snapshot');
  assert.match(String(snaps[0]?.['f']), /^mysql-bin\.\d+$/);
});
