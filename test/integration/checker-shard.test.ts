/**
 * Prechecks of shard-mode tasks against real MariaDB (DM's `schema_of_shard_tables` and
 * `auto_increment_ID`): two sources, shard tables merged into one target table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer } from '../helpers/index.js';
import { runPrechecks, type CheckInput } from '../../src/checker/index.js';

void test('shard-mode prechecks: auto-increment keys, shard schema consistency by mode', async (t) => {
  const [s1, s2, tgt] = await Promise.all([MariaDBServer.start(), MariaDBServer.start(), MariaDBServer.start()]);
  t.after(async () => {
    await Promise.all([s1.stop(), s2.stop(), tgt.stop()]);
  });
  await s1.sql(`CREATE DATABASE shard_1;
    CREATE TABLE shard_1.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT);
    CREATE TABLE shard_1.u (id INT PRIMARY KEY, seq INT AUTO_INCREMENT, KEY (seq));`);
  await s2.sql(`CREATE DATABASE shard_2;
    CREATE TABLE shard_2.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT);
    CREATE TABLE shard_2.u (id INT PRIMARY KEY, seq INT AUTO_INCREMENT, KEY (seq), extra INT);`);
  const route = (x: { schema: string; table: string }): { schema: string; table: string } => ({ schema: 'merged', table: x.table });
  const input = (shardMode: CheckInput['shardMode'], extraOf?: (x: { table: string }) => string[]): CheckInput => ({
    taskName: 'shard',
    mode: 'all',
    sources: [s1, s2].map((s, i) => ({
      sourceId: `s${i + 1}`,
      from: s.connOpts(),
      enableGtid: false,
      tableFilter: (x) => x.schema.startsWith('shard_'),
      route,
      ...(extraOf ? { extraTargetColumns: extraOf } : {}),
    })),
    target: tgt.connOpts(),
    shardMode,
  });
  const item = (r: Awaited<ReturnType<typeof runPrechecks>>, name: string) => r.results.find((x) => x.name === name);

  await t.test('pessimistic: auto-increment primary keys of merged shards warn; differing shards fail', async () => {
    const r = await runPrechecks(input('pessimistic'));
    const ai = item(r, 'auto_increment_ID');
    assert.equal(ai?.state, 'warn');
    assert.match(ai?.message ?? '', /s1:`shard_1`\.`t`\.`id` → `merged`\.`t`/);
    assert.match(ai?.message ?? '', /s2:`shard_2`\.`t`\.`id`/);
    // an AUTO_INCREMENT column that is not a unique key by itself is not flagged
    assert.doesNotMatch(ai?.message ?? '', /`u`/);
    assert.match(ai?.instruction ?? '', /auto_increment_increment/);
    assert.equal(item(r, 'schema_of_shard_tables')?.state, 'fail');
    assert.match(item(r, 'schema_of_shard_tables')?.message ?? '', /extra/);
  });

  await t.test('optimistic: shard schemas may differ (not checked), auto-increment still checked', async () => {
    const r = await runPrechecks(input('optimistic'));
    assert.equal(item(r, 'schema_of_shard_tables'), undefined);
    assert.equal(item(r, 'auto_increment_ID')?.state, 'warn');
  });

  await t.test('no shard-mode: auto_increment_ID does not run; it can be ignored by name', async () => {
    assert.equal(item(await runPrechecks(input('')), 'auto_increment_ID'), undefined);
    const r = await runPrechecks({ ...input('pessimistic'), ignoreCheckingItems: ['auto_increment_ID'] });
    assert.equal(item(r, 'auto_increment_ID'), undefined);
  });

  await t.test('shards without an auto-increment key of their own pass', async () => {
    await s1.sql('ALTER TABLE shard_1.t MODIFY id INT NOT NULL');
    await s2.sql('ALTER TABLE shard_2.t MODIFY id INT NOT NULL; ALTER TABLE shard_2.u DROP COLUMN extra');
    const r = await runPrechecks(input('pessimistic'));
    assert.equal(item(r, 'auto_increment_ID')?.state, 'pass');
    assert.equal(item(r, 'schema_of_shard_tables')?.state, 'pass');
  });
});
