/**
 * `start-task --remove-meta` (src/master/remove-meta.ts → src/units/meta-tables.ts removeTaskMeta):
 * every meta table of the task loses the rows of the named sources, and nothing of the earlier
 * run replays into the new one: a stale pending `<task>_load_index` record (a secondary key the
 * earlier run had still to add) is not added to the table the new run creates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer, compareTables, describeDiffs, runUnits } from '../helpers/index.js';
import { createFullUnits } from '../../src/units/full/index.js';
import { parseTaskConfig } from '../../src/config/index.js';
import { removeTaskMeta } from '../../src/master/remove-meta.js';
import { CheckpointStore } from '../../src/units/sync/index.js';
import { META_TABLES, createMetaTables } from '../../src/units/index.js';

void test('--remove-meta clears every meta table of the task for its sources; a stale pending load_index record does not replay', { timeout: 120_000 }, async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  t.after(async () => {
    await Promise.all([src.stop(), dst.stop()]);
  });
  await src.sql('CREATE DATABASE rm; CREATE TABLE rm.t (id INT PRIMARY KEY, a INT, b VARCHAR(20), KEY ka (a))');
  await src.sql("INSERT INTO rm.t SELECT seq, seq % 7, CONCAT('b', seq) FROM mysql.seq_1_to_2000");
  const cfg = {
    taskName: 'rmt',
    sourceId: 's1',
    taskMode: 'full' as const,
    source: src.connOpts(),
    target: dst.connOpts(),
    baList: { doDbs: ['rm'] },
    mydumper: { threads: 2, rows: 500 },
    loader: { poolSize: 2 },
  };
  const first = createFullUnits(cfg);
  await runUnits(first.units, { close: true });

  // what an earlier run leaves behind: its copy, a pending deferred key it never added, a sync
  // checkpoint and ledger row; plus a row of another source of the same task, which stays
  const pool = (await import('mysql2/promise')).createPool({ ...dst.connOpts(), connectionLimit: 1 });
  t.after(() => pool.end());
  const cp = new CheckpointStore('dm_meta', 'rmt', 's1');
  await cp.ensureTables(pool);
  // the sync unit's online-DDL records (src/units/sync/online-ddl.ts)
  await createMetaTables(pool, 'dm_meta', 'rmt', ['onlineDDL']);
  await dst.sql(`INSERT INTO dm_meta.rmt_onlineddl (id, ghost_schema, ghost_table, ddls) VALUES ('s1', 'rm', '_t_gho', '{"schema":"rm","table":"t","ddls":[]}'), ('s2', 'rm', '_t_gho', '{"schema":"rm","table":"t","ddls":[]}')`);
  // the continuous validator's tables too, with a saved error of s1
  await createMetaTables(pool, 'dm_meta', 'rmt', ['validatorCheckpoint', 'validatorPending', 'validatorError', 'validatorTable']);
  await dst.sql(
    "INSERT INTO dm_meta.rmt_validator_error (source_id, src_schema, src_table, tgt_schema, tgt_table, pk_hash, row_pk, error_type) VALUES ('s1', 'rm', 't', 'rm', 't', 'h', '[1]', 'extra-row')",
  );
  await dst.sql(
    [
      "INSERT INTO dm_meta.rmt_syncer_checkpoint (id, binlog_name, binlog_pos) VALUES ('s1', 'mysql-bin.000001', 4), ('s2', 'mysql-bin.000002', 4)",
      "INSERT INTO dm_meta.rmt_syncer_ledger (id, txn_id, binlog_name, binlog_pos) VALUES ('s1', 'x', 'mysql-bin.000001', 4)",
      `INSERT INTO dm_meta.rmt_load_index (source_id, tgt_schema, tgt_table, definitions, status) VALUES
        ('s1', 'rm', 't', '${JSON.stringify(['ADD KEY `stale_k` (`b`)'])}', 'pending'),
        ('s2', 'rm', 't', '[]', 'done')
        ON DUPLICATE KEY UPDATE definitions = VALUES(definitions), status = VALUES(status)`,
      'DROP DATABASE rm',
    ].join(';'),
  );

  const taskYaml = `name: rmt
task-mode: full
target-database: {host: 127.0.0.1, port: ${dst.port}, user: ${dst.connOpts().user}, password: "${dst.connOpts().password}"}
mysql-instances:
  - source-id: s1
  - source-id: s2
`;
  await removeTaskMeta(parseTaskConfig(taskYaml), ['s1']);
  for (const m of Object.values(META_TABLES)) {
    const rows = await dst.sql(`SELECT ${m.sourceColumn} AS s FROM dm_meta.rmt${m.suffix}`);
    assert.deepEqual(
      rows.map((r) => r['s']).filter((s) => s === 's1'),
      [],
      `rmt${m.suffix} still has rows of s1`,
    );
  }
  assert.equal(Number((await dst.sql("SELECT COUNT(*) AS n FROM dm_meta.rmt_syncer_checkpoint WHERE id = 's2'"))[0]?.['n']), 1, "another source's checkpoint is kept");
  assert.equal(Number((await dst.sql("SELECT COUNT(*) AS n FROM dm_meta.rmt_load_index WHERE source_id = 's2'"))[0]?.['n']), 1, "another source's record is kept");
  assert.equal(Number((await dst.sql("SELECT COUNT(*) AS n FROM dm_meta.rmt_onlineddl WHERE id = 's2'"))[0]?.['n']), 1, "another source's online-DDL record is kept");
  // a task whose meta tables were never created: nothing to remove, no error
  await removeTaskMeta(parseTaskConfig(taskYaml.replace('name: rmt', 'name: never')), ['s1']);

  // the new run copies from scratch and adds only the keys of the source's table
  const again = createFullUnits(cfg);
  await runUnits(again.units, { close: true });
  const d = await compareTables(src.connOpts(), dst.connOpts(), 'rm', 't');
  assert.ok(d.equal, describeDiffs([d]));
  assert.deepEqual(await dst.sql("SHOW INDEX FROM rm.t WHERE Key_name = 'stale_k'"), [], 'a stale deferred key of the earlier run was added');
  assert.equal((await dst.sql("SHOW INDEX FROM rm.t WHERE Key_name = 'ka'")).length, 1, 'the source key is there');
});
