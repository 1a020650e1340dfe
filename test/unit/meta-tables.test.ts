/** src/units/meta-tables.ts: every meta table declared once; the full → sync hand-off from snapshot rows. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { META_TABLE_SUFFIXES } from '../../src/config/task-schema.js';
import { META_TABLES, createTableSQL, metaNames, metaTableName, syncHandOff, type SnapshotRow } from '../../src/units/index.js';

void test('the task-name length check covers every declared meta table', () => {
  assert.deepEqual([...META_TABLE_SUFFIXES].sort(), Object.values(META_TABLES).map((t) => t.suffix).sort());
});

void test('names are quoted `<meta-schema>`.`<task><suffix>`', () => {
  assert.equal(metaTableName('dm_meta', 'a`b', 'loadIndex'), '`dm_meta`.`a``b_load_index`');
  assert.deepEqual(metaNames('m', 't'), {
    schema: 'm',
    snapshot: '`m`.`t_load_snapshot`',
    checkpoint: '`m`.`t_load_checkpoint`',
    index: '`m`.`t_load_index`',
    schemaInfo: '`m`.`t_load_schema`',
  });
  for (const [id, t] of Object.entries(META_TABLES)) assert.match(createTableSQL(t, '`x`.`y`'), new RegExp(`^CREATE TABLE IF NOT EXISTS \`x\`\\.\`y\` \\([\\s\\S]*\\b${t.sourceColumn}\\b`), id);
});

void test('the hand-off starts at the lowest snapshot and stays in safe mode until the highest', () => {
  const row = (seq: number, file: string, offset: number): SnapshotRow => ({ seq, kind: seq === 1 ? 'start' : 'bound', file, offset, gtid: '', flavor: 'mariadb' });
  assert.equal(syncHandOff([]), undefined);
  assert.deepEqual(syncHandOff([row(1, 'b.000002', 100)]), { startPos: { file: 'b.000002', offset: 100, gtid: '', flavor: 'mariadb' } });
  assert.deepEqual(syncHandOff([row(1, 'b.000002', 100), row(2, 'b.000001', 900), row(3, 'b.000010', 4)]), {
    startPos: { file: 'b.000001', offset: 900, gtid: '', flavor: 'mariadb' },
    safeModeUntil: { file: 'b.000010', offset: 4, gtid: '', flavor: 'mariadb' },
  });
});
