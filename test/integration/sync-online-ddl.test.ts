/**
 * Online schema changes (docs/online-ddl.md) against real MariaDB: gh-ost's statement sequence
 * replayed in SQL (its `_gho` / `_ghc` / `_del` tables, row copy, the atomic cut-over with its
 * sentry table and LOCK TABLES, and the two-step cut-over), Debian's pt-online-schema-change run
 * for real, each while rows are written and with the sync unit restarted in the middle; the full
 * phase leaving shadow / trash tables out; the `online_ddl` precheck.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MariaDBServer, compareTables, runUnits, waitFor } from '../helpers/index.js';
import { appWriter, ghostAtomicCutOver, ghostCatchUp, ghostPrepare, ghostRowCopy, ptOscMissing, runPtOsc } from '../helpers/online-ddl.js';
import { SyncUnit, type SyncConfig } from '../../src/units/sync/index.js';
import { createFullUnits } from '../../src/units/full/index.js';
import { checkTaskYaml, type CheckReport } from '../../src/checker/index.js';
import { DEFAULT_SHADOW_TABLE_RULES, DEFAULT_TRASH_TABLE_RULES } from '../../src/config/index.js';
import { masterPos, syncConfig } from './sync-fixture.js';

const ONLINE = { shadowTableRules: DEFAULT_SHADOW_TABLE_RULES, trashTableRules: DEFAULT_TRASH_TABLE_RULES };

/** A running sync unit that can be restarted (a new unit on the same checkpoint and meta tables). */
class Runner {
  unit: SyncUnit | undefined;
  private running: ReturnType<SyncUnit['process']> | undefined;
  constructor(private readonly cfg: () => SyncConfig) {}
  async start(): Promise<void> {
    const u = new SyncUnit(this.cfg(), { heartbeatMs: 200 });
    await u.init(new AbortController().signal);
    this.unit = u;
    this.running = u.process(new AbortController().signal);
  }
  /** Close the unit (as a worker stopping); asserts it had not failed. */
  async stop(): Promise<void> {
    const u = this.unit;
    if (!u) return;
    assert.equal(u.status()['stage'], 'Running', JSON.stringify(u.status()['error']));
    await u.close();
    const r = await this.running;
    assert.deepEqual(r?.errors ?? [], []);
    this.unit = undefined;
  }
  /** Wait until the unit has applied everything the source has (query-status `synced`). */
  async synced(): Promise<void> {
    await waitFor('sync unit synced', async () => this.unit?.status()['synced'] === true, { timeoutMs: 60_000 });
  }
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}

async function tablesOf(s: MariaDBServer, db: string): Promise<string[]> {
  const rows = await s.sql('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1', [db]);
  return rows.map((r) => String(r['t']));
}

async function recordsOf(dst: MariaDBServer): Promise<{ ghost_table: string; ddls: string }[]> {
  const n = await dst.sql("SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'dm_meta' AND TABLE_NAME = 'test_onlineddl'");
  if (Number(n[0]?.['n']) === 0) return [];
  return (await dst.sql('SELECT ghost_table, ddls FROM dm_meta.test_onlineddl ORDER BY ghost_table')) as { ghost_table: string; ddls: string }[];
}

async function waitEqual(src: MariaDBServer, dst: MariaDBServer, db: string, table: string, timeoutMs = 90_000): Promise<void> {
  let last = '';
  await waitFor(
    `${db}.${table} equal on source and target`,
    async () => {
      const d = await compareTables(src.connOpts(), dst.connOpts(), db, table).catch((e: unknown) => ({ equal: false, err: String(e) }));
      last = JSON.stringify(d).slice(0, 600);
      return d.equal;
    },
    { timeoutMs, intervalMs: 300 },
  ).catch((e: unknown) => {
    throw new Error(`${String(e)}; last diff: ${last}`);
  });
}

void test('gh-ost (atomic cut-over), rows written throughout, unit restarted after the ALTER and after the row copy: the target has the ALTER on the real table and equals the source', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const start = await masterPos(src);
  const runner = new Runner(() => syncConfig(src, dst, { start, onlineDDL: ONLINE }));
  t.after(async () => {
    await runner.unit?.close();
    await Promise.all([src.stop(), dst.stop()]);
  });
  await src.sql('CREATE DATABASE gh; CREATE TABLE gh.t (id INT PRIMARY KEY, v VARCHAR(32), n INT); INSERT INTO gh.t (id, v, n) SELECT seq, CONCAT("r", seq), seq FROM gh.seq_1_to_300');
  await runner.start();
  let gho = false;
  const w = appWriter(src, 'gh', 10_000, () => gho);
  await sleep(300);

  await ghostPrepare(src, 'gh', 'add column c int not null default 7, add index i_n (n)');
  gho = true; // from here gh-ost mirrors every change of gh.t into gh._t_gho
  await waitFor('the ALTER of the ghost table recorded', async () => (await recordsOf(dst)).length === 1, { timeoutMs: 30_000 });
  const [rec] = await recordsOf(dst);
  assert.equal(rec?.ghost_table, '_t_gho');
  assert.deepEqual(JSON.parse(rec?.ddls ?? '{}'), { schema: 'gh', table: 't', ddls: ['alter /* gh-ost */ table `gh`.`_t_gho` add column c int not null default 7, add index i_n (n)'] });
  // the target never sees the ghost or changelog table, and the real table is unchanged yet
  assert.deepEqual(await tablesOf(dst, 'gh'), ['t']);

  await runner.restart(); // the worker restarts with the change half done
  await ghostRowCopy(src, 'gh', 64);
  await runner.synced();
  await runner.restart();
  await ghostCatchUp(src, 'gh');
  await w.stop();
  gho = false;
  await ghostCatchUp(src, 'gh');
  await ghostAtomicCutOver(src, 'gh');
  await src.sql('drop /* gh-ost */ table if exists `gh`.`_t_ghc`');
  // the new structure on the source: rows with the new column
  await src.sql('INSERT INTO gh.t (id, v, n, c) VALUES (900001, "after", 1, 9); UPDATE gh.t SET c = 8 WHERE id <= 5');

  await waitEqual(src, dst, 'gh', 't');
  assert.deepEqual(await tablesOf(dst, 'gh'), ['t'], 'no ghost, changelog or sentry table on the target');
  const [ct] = await dst.sql('SHOW CREATE TABLE gh.t');
  assert.match(String(ct?.['Create Table']), /`c` int\(11\) NOT NULL DEFAULT 7/);
  assert.match(String(ct?.['Create Table']), /KEY `i_n` \(`n`\)/);
  await waitFor('the record deleted after the cut-over', async () => (await recordsOf(dst)).length === 0, { timeoutMs: 10_000 });
  await runner.stop();
});

void test('gh-ost two-step cut-over (ALTER ... RENAME), unit restarted between the two renames', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const start = await masterPos(src);
  const runner = new Runner(() => syncConfig(src, dst, { start, onlineDDL: ONLINE }));
  t.after(async () => {
    await runner.unit?.close();
    await Promise.all([src.stop(), dst.stop()]);
  });
  await src.sql('CREATE DATABASE g2; CREATE TABLE g2.t (id INT PRIMARY KEY, v VARCHAR(32), n INT); INSERT INTO g2.t (id, v, n) SELECT seq, CONCAT("r", seq), seq FROM g2.seq_1_to_200');
  await runner.start();
  await ghostPrepare(src, 'g2', 'modify v varchar(64) not null default ""');
  await ghostRowCopy(src, 'g2', 50);
  await src.sql('UPDATE g2.t SET n = n * 2 WHERE id < 20; UPDATE g2.`_t_gho` SET n = n * 2 WHERE id < 20');
  await src.sql('alter /* gh-ost */ table `g2`.`t` rename `g2`.`_t_del`');
  await runner.synced();
  // the rename of the real table to the trash table did not reach the target
  assert.deepEqual(await tablesOf(dst, 'g2'), ['t']);
  await runner.restart(); // between the two renames: the source has no table g2.t at all
  await src.sql('alter /* gh-ost */ table `g2`.`_t_gho` rename `g2`.`t`');
  await src.sql('drop /* gh-ost */ table if exists `g2`.`_t_ghc`; drop /* gh-ost */ table if exists `g2`.`_t_del`');
  await src.sql("INSERT INTO g2.t (id, v, n) VALUES (5000, REPEAT('x', 60), 1)");
  await waitEqual(src, dst, 'g2', 't');
  assert.deepEqual(await tablesOf(dst, 'g2'), ['t']);
  const [ct] = await dst.sql('SHOW CREATE TABLE g2.t');
  assert.match(String(ct?.['Create Table']), /`v` varchar\(64\) NOT NULL DEFAULT ''/);
  await runner.stop();
});

void test('pt-online-schema-change run for real while rows are written, unit restarted during the row copy', async (t) => {
  const missing = ptOscMissing();
  if (missing) {
    t.skip(missing);
    return;
  }
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const start = await masterPos(src);
  const runner = new Runner(() => syncConfig(src, dst, { start, onlineDDL: ONLINE }));
  t.after(async () => {
    await runner.unit?.close();
    await Promise.all([src.stop(), dst.stop()]);
  });
  await src.sql('CREATE DATABASE po; CREATE TABLE po.t (id INT PRIMARY KEY, v VARCHAR(32), n INT); INSERT INTO po.t (id, v, n) SELECT seq, CONCAT("r", seq), seq FROM po.seq_1_to_6000');
  await runner.start();
  const w = appWriter(src, 'po', 100_000, () => false);
  const osc = runPtOsc(src, 'po', 'ADD COLUMN c INT NOT NULL DEFAULT 7, ADD INDEX i_n (n)', ['--chunk-size=200', '--sleep=0.1', '--no-drop-old-table']);
  // the sync unit has recorded pt-osc's ALTER of po._t_new: restart it while rows are being copied
  await waitFor('the ALTER of the shadow table recorded', async () => (await recordsOf(dst)).length === 1, { timeoutMs: 60_000, intervalMs: 100 });
  const [rec] = await recordsOf(dst);
  assert.equal(rec?.ghost_table, '_t_new');
  await runner.restart();
  const out = await osc;
  assert.match(out, /Successfully altered `po`\.`t`/);
  await sleep(300);
  await w.stop();
  await src.sql('INSERT INTO po.t (id, v, n, c) VALUES (900001, "after", 1, 9)');
  await waitEqual(src, dst, 'po', 't');
  // _t_old stays on the source (--no-drop-old-table), never on the target; no trigger either
  assert.deepEqual((await tablesOf(src, 'po')).sort(), ['_t_old', 't']);
  assert.deepEqual(await tablesOf(dst, 'po'), ['t']);
  assert.equal(Number((await dst.sql("SELECT COUNT(*) AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'po'"))[0]?.['n']), 0);
  const [ct] = await dst.sql('SHOW CREATE TABLE po.t');
  assert.match(String(ct?.['Create Table']), /`c` int\(11\) NOT NULL DEFAULT 7/);
  await waitFor('the record deleted after the cut-over', async () => (await recordsOf(dst)).length === 0, { timeoutMs: 10_000 });
  await runner.stop();
});

void test('online-ddl: the full phase never dumps shadow / trash tables; the online_ddl precheck fails while a shadow table exists', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  t.after(async () => {
    await Promise.all([src.stop(), dst.stop()]);
  });
  await src.sql(`CREATE DATABASE fo;
    CREATE TABLE fo.t (id INT PRIMARY KEY, v INT); INSERT INTO fo.t VALUES (1, 1), (2, 2);
    CREATE TABLE fo._t_gho (id INT PRIMARY KEY, v INT, c INT); INSERT INTO fo._t_gho VALUES (1, 1, 0);
    CREATE TABLE fo._t_ghc (id INT); CREATE TABLE fo._u_old (id INT PRIMARY KEY); CREATE TABLE fo.u (id INT PRIMARY KEY)`);
  const { units } = createFullUnits(
    { taskName: 'fo', sourceId: 'mysql-01', taskMode: 'full', source: src.connOpts(), target: dst.connOpts(), baList: { doDbs: ['fo'] }, routes: [], onlineDDL: ONLINE },
    {},
  );
  await runUnits(units, { close: true });
  assert.deepEqual(await tablesOf(dst, 'fo'), ['t', 'u']);

  const task = (ignore = ''): string =>
    ['name: oc', 'task-mode: all', ignore, 'block-allow-list:', '  ba:', '    do-dbs: ["fo"]', 'target-database:', '  host: 127.0.0.1', `  port: ${dst.port}`, '  user: root', '  password: ""', 'mysql-instances:', '  - source-id: s1', '    block-allow-list: ba', ''].join('\n');
  const source = new Map([['s1', `source-id: s1\nfrom:\n  host: 127.0.0.1\n  port: ${src.port}\n  user: root\n  password: ""\n`]]);
  const state = (r: CheckReport): string | undefined => r.results.find((x) => x.name === 'online_ddl')?.state;
  const r1 = await checkTaskYaml(task(), source);
  const item = r1.results.find((x) => x.name === 'online_ddl');
  assert.equal(item?.state, 'fail', JSON.stringify(item));
  assert.match(item?.message ?? '', /`fo`\.`_t_gho` \(of `fo`\.`t`\)/);
  assert.ok(!item?.message.includes('_u_old'), 'trash tables are not a change in progress');
  // the shadow / trash tables are not checked as migrated tables either (no key → table_schema warning otherwise)
  assert.equal(r1.results.find((x) => x.name === 'table_schema')?.state, 'pass');
  assert.equal(state(await checkTaskYaml(task('ignore-checking-items: ["online_ddl"]'), source)), undefined);
  assert.equal(state(await checkTaskYaml(task('online-ddl: false'), source)), undefined, 'not checked without online-ddl');
  await src.sql('DROP TABLE fo._t_gho');
  assert.equal(state(await checkTaskYaml(task(), source)), 'pass');
});

void test('a cut-over with no recorded ALTER stops with 36204; rules matching only one side of a cut-over stop with 36205', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const units: SyncUnit[] = [];
  t.after(async () => {
    for (const u of units) await u.close();
    await Promise.all([src.stop(), dst.stop()]);
  });
  const run = async (cfg: SyncConfig): Promise<{ code?: number; message?: string }> => {
    const u = new SyncUnit(cfg, { heartbeatMs: 200 });
    units.push(u);
    await u.init(new AbortController().signal);
    const r = await u.process(new AbortController().signal);
    const e = r.errors[0] as { code?: number; message?: string } | undefined;
    return e ?? {};
  };
  await src.sql('CREATE DATABASE nr; CREATE TABLE nr.t (id INT PRIMARY KEY, n INT); CREATE TABLE nr.u (id INT PRIMARY KEY, n INT)');
  await dst.sql('CREATE DATABASE nr; CREATE TABLE nr.t (id INT PRIMARY KEY, n INT); CREATE TABLE nr.u (id INT PRIMARY KEY, n INT)');
  // the change started before the task's start position: its ALTER was never seen
  await src.sql('CREATE TABLE nr._t_gho LIKE nr.t; ALTER TABLE nr._t_gho ADD COLUMN c INT');
  const start = await masterPos(src);
  await src.sql('RENAME TABLE nr.t TO nr._t_del, nr._t_gho TO nr.t');
  const e1 = await run(syncConfig(src, dst, { start, onlineDDL: ONLINE }));
  assert.equal(e1.code, 36204, JSON.stringify(e1));
  assert.match(e1.message ?? '', /no ALTER recorded for the shadow table `nr`\.`_t_gho`/);

  // own rules that do not name pt-osc's shadow table: the swap matches only the trash rule
  const start2 = await masterPos(src);
  await src.sql('CREATE TABLE nr._u_new LIKE nr.u; ALTER TABLE nr._u_new ADD COLUMN c INT; RENAME TABLE nr.u TO nr._u_old, nr._u_new TO nr.u');
  const e2 = await run(syncConfig(src, dst, { taskName: 'test2', start: start2, onlineDDL: { shadowTableRules: ['^_(.+)_gho$'], trashTableRules: ['^_(.+)_old$'] } }));
  assert.equal(e2.code, 36205, JSON.stringify(e2));
  assert.match(e2.message ?? '', /`nr`\.`_u_new` matches no shadow-table-rules/);
});

void test('the block-allow list and routes apply to the real table: a change of a listed, routed table reaches its routed target table', async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const start = await masterPos(src);
  const runner = new Runner(() =>
    syncConfig(src, dst, {
      start,
      onlineDDL: ONLINE,
      // only rs.t_1 is listed (not its shadow table), and it goes to rs_tgt.merged
      baList: { doTables: [{ dbName: 'rs', tblName: 't_1' }] },
      routes: [{ schemaPattern: 'rs', tablePattern: 't_1', targetSchema: 'rs_tgt', targetTable: 'merged' }],
    }),
  );
  t.after(async () => {
    await runner.unit?.close();
    await Promise.all([src.stop(), dst.stop()]);
  });
  await src.sql('CREATE DATABASE rs; CREATE TABLE rs.t_1 (id INT PRIMARY KEY, n INT); INSERT INTO rs.t_1 VALUES (1, 1), (2, 2); CREATE TABLE rs.other (id INT PRIMARY KEY)');
  await runner.start();
  // pt-osc's statements, as it writes them (see the pt-osc test for the real tool)
  await src.sql(`CREATE TABLE \`rs\`.\`_t_1_new\` (\`id\` int(11) NOT NULL, \`n\` int(11) DEFAULT NULL, PRIMARY KEY (\`id\`)) ENGINE=InnoDB;
    ALTER TABLE \`rs\`.\`_t_1_new\` ADD COLUMN c INT NOT NULL DEFAULT 5;
    INSERT LOW_PRIORITY IGNORE INTO \`rs\`.\`_t_1_new\` (\`id\`, \`n\`) SELECT \`id\`, \`n\` FROM \`rs\`.\`t_1\` FORCE INDEX(\`PRIMARY\`) LOCK IN SHARE MODE;
    INSERT INTO rs.t_1 VALUES (3, 3); INSERT INTO rs._t_1_new (id, n) VALUES (3, 3);
    RENAME TABLE \`rs\`.\`t_1\` TO \`rs\`.\`_t_1_old\`, \`rs\`.\`_t_1_new\` TO \`rs\`.\`t_1\`;
    DROP TABLE IF EXISTS \`rs\`.\`_t_1_old\`;
    INSERT INTO rs.t_1 VALUES (4, 4, 9)`);
  await waitFor('routed target table has the change and the rows', async () => {
    const rows = await dst.sql('SELECT id, n, c FROM rs_tgt.merged ORDER BY id').catch(() => []);
    return JSON.stringify(rows) === JSON.stringify([{ id: 1, n: 1, c: 5 }, { id: 2, n: 2, c: 5 }, { id: 3, n: 3, c: 5 }, { id: 4, n: 4, c: 9 }]);
  }, { timeoutMs: 60_000 });
  assert.deepEqual(await tablesOf(dst, 'rs_tgt'), ['merged']);
  assert.deepEqual(await tablesOf(dst, 'rs'), [], 'nothing under the source names');
  await waitFor('the record deleted after the cut-over', async () => (await recordsOf(dst)).length === 0, { timeoutMs: 10_000 });
  await runner.stop();
});
