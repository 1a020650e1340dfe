/**
 * Pure tests of the sync unit's planning: causality keys and scheduling (per-key order, never
 * splitting a transaction, merging), statement building (compaction, safe mode, keyless tables),
 * DDL parse/route, filters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CausalityScheduler, type Group } from '../../src/units/sync/causality.js';
import { buildStatements } from '../../src/units/sync/dml-builder.js';
import { parseSyncDDL, routedDDL } from '../../src/units/sync/ddl.js';
import { buildFilters } from '../../src/units/sync/filters.js';
import { LowWaterMark } from '../../src/units/sync/tracker.js';
import { addKeysOf, rowChangesOf, type UpstreamTxn } from '../../src/units/sync/txn.js';
import type { RowsEvent } from '../../src/binlog/events.js';

const pos = (offset: number) => ({ file: 'mysql-bin.000001', offset, gtid: '' });

function rowsEvent(
  op: RowsEvent['op'],
  rows: unknown[][],
  before?: unknown[][],
  extra: Partial<RowsEvent> = {},
): RowsEvent {
  return {
    kind: 'rows',
    op,
    schema: 'db',
    table: 't',
    columns: [
      { name: 'id', type: 'int' },
      { name: 'u', type: 'varchar' },
      { name: 'v', type: 'int' },
    ],
    keyColumns: ['id'],
    uniqueKeys: [],
    rows,
    ...(before ? { before } : {}),
    pos: pos(1),
    timestamp: 0,
    serverId: 1,
    ...extra,
  };
}

function txnOf(id: string, evs: RowsEvent[], lwm: LowWaterMark): UpstreamTxn {
  const keys = new Set<string>();
  const changes = evs.flatMap((ev) => {
    const { changes: cs } = rowChangesOf(ev, { schema: ev.schema, table: ev.table, extracted: [] });
    for (const c of cs) addKeysOf(c, ev.uniqueKeys, ev.keyColumns, false, keys);
    return cs;
  });
  const p = pos(Number(id.replace(/\D/g, '')) || 1);
  return { id, pos: p, timestamp: 0, changes, keys, bytes: 1, track: lwm.push(id, p, 0) };
}

/**
 * A scheduler whose first applied group (t1, added first) waits until `release()`; `groups` holds
 * the txn ids of every group in the order they finished applying.
 */
function heldScheduler(opts: { workerCount: number; batch: number; waitMergeFactor?: number }): {
  s: CausalityScheduler;
  groups: string[][];
  release: () => void;
} {
  const groups: string[][] = [];
  let release!: () => void;
  const first = new Promise<void>((r) => (release = r));
  let n = 0;
  const s = new CausalityScheduler({
    ...opts,
    apply: async (g) => {
      if (n++ === 0) await first;
      groups.push(g.txns.map((t) => t.id));
    },
  });
  return { s, groups, release: () => release() };
}

void test('a transaction waits for every earlier one touching its keys, including old PK and unique-key values', async () => {
  const lwm = new LowWaterMark(pos(0));
  const applied: string[] = [];
  const gates = new Map<string, () => void>();
  const s = new CausalityScheduler({
    workerCount: 8,
    batch: 1,
    waitMergeFactor: 1, // no merging while blocked: each transaction is its own group
    apply: async (g: Group) => {
      const id = g.txns.map((t) => t.id).join('+');
      await new Promise<void>((r) => gates.set(id, r));
      applied.push(id);
    },
  });
  const ac = new AbortController();
  const uk = { uniqueKeys: [['u']] };
  // t1 inserts id=1 u='a'; t2 touches id=2 (independent); t3 changes id 1→3 ; t4 inserts id=4 with u='a' (conflicts on UK with t1 only if t3 did not change u)
  await s.add(txnOf('t1', [rowsEvent('insert', [[1, 'a', 0]], undefined, uk)], lwm), ac.signal);
  await s.add(txnOf('t2', [rowsEvent('insert', [[2, 'b', 0]], undefined, uk)], lwm), ac.signal);
  await s.add(txnOf('t3', [rowsEvent('update', [[3, 'c', 0]], [[1, 'a', 0]], uk)], lwm), ac.signal);
  // t3 is blocked behind t1 and holds a full batch: adding t4 waits (backpressure) until t3 starts
  const addT4 = s.add(txnOf('t4', [rowsEvent('insert', [[4, 'A', 0]], undefined, uk)], lwm), ac.signal);
  await new Promise((r) => setImmediate(r));
  // t2 may finish first; t3 must wait for t1; t4 ('A' equals 'a' case-insensitively) waits for t3.
  gates.get('t2')?.();
  await new Promise((r) => setImmediate(r));
  assert.equal(gates.has('t3'), false, 't3 must not start before t1 commits');
  gates.get('t1')?.();
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(gates.has('t4'), false, 't4 must not start before t3 commits');
  await addT4;
  gates.get('t3')?.();
  await new Promise((r) => setTimeout(r, 5));
  gates.get('t4')?.();
  await s.drain();
  assert.deepEqual(applied, ['t2', 't1', 't3', 't4']);
});

void test('transactions are merged up to batch rows while appliers are busy, never split', async () => {
  const lwm = new LowWaterMark(pos(0));
  const { s, groups, release } = heldScheduler({ workerCount: 1, batch: 4 });
  const ac = new AbortController();
  const adds: Promise<void>[] = [];
  for (let i = 1; i <= 7; i++) {
    const rows =
      i === 3
        ? [
            [i * 10, 'x', 0],
            [i * 10 + 1, 'y', 0],
            [i * 10 + 2, 'z', 0],
          ]
        : [[i * 10, 'x', 0]];
    adds.push(s.add(txnOf(`t${i}`, [rowsEvent('insert', rows)], lwm), ac.signal));
  }
  setTimeout(release, 10);
  await Promise.all(adds);
  await s.drain();
  const flat = groups.flat();
  assert.deepEqual(flat, ['t1', 't2', 't3', 't4', 't5', 't6', 't7'], 'upstream order kept');
  assert.ok(groups.length < 7, `some transactions merged: ${JSON.stringify(groups)}`);
  for (const g of groups.slice(1)) {
    const rows = g.reduce((a, id) => a + (id === 't3' ? 3 : 1), 0);
    assert.ok(rows <= 4 || g.length === 1, `group ${g.join(',')} exceeds batch`);
  }
});

void test('a group that would only wait for an in-flight predecessor stays open and keeps merging (full batches under conflict)', async () => {
  const lwm = new LowWaterMark(pos(0));
  const { s, groups, release } = heldScheduler({ workerCount: 4, batch: 10 });
  const ac = new AbortController();
  await s.add(txnOf('t1', [rowsEvent('insert', [[1, 'a', 0]])], lwm), ac.signal);
  // t2..t4 touch key 1 too: free appliers exist, but each would only wait for t1
  await s.add(txnOf('t2', [rowsEvent('update', [[1, 'b', 0]], [[1, 'a', 0]])], lwm), ac.signal);
  await s.add(txnOf('t3', [rowsEvent('update', [[1, 'c', 0]], [[1, 'b', 0]])], lwm), ac.signal);
  await s.add(
    txnOf('t4', [rowsEvent('insert', [[2, 'x', 0]]), rowsEvent('update', [[1, 'd', 0]], [[1, 'c', 0]])], lwm),
    ac.signal,
  );
  assert.equal(s.inflightGroups, 1, 'only t1 is running');
  release();
  await s.drain();
  assert.deepEqual(groups, [['t1'], ['t2', 't3', 't4']]);
});

void test('a failed group stops everything after it and surfaces its error', async () => {
  const lwm = new LowWaterMark(pos(0));
  const s = new CausalityScheduler({
    workerCount: 2,
    batch: 1,
    apply: async (g) => {
      if (g.txns[0]?.id === 't1') throw new Error('boom');
    },
  });
  const ac = new AbortController();
  await s.add(txnOf('t1', [rowsEvent('insert', [[1, 'a', 0]])], lwm), ac.signal);
  await assert.rejects(s.drain(), /boom/);
  await assert.rejects(s.add(txnOf('t2', [rowsEvent('insert', [[2, 'a', 0]])], lwm), ac.signal), /boom/);
});

void test('low-water mark only passes a transaction when all earlier ones are done; pruned ids are those below it', () => {
  const lwm = new LowWaterMark(pos(0));
  const a = lwm.push('a', pos(10), 1);
  const b = lwm.push('b', pos(20), 2);
  const c = lwm.push('c', pos(30), 3);
  lwm.markDone(b, true);
  assert.equal(lwm.position.offset, 0);
  lwm.markDone(a, true);
  assert.equal(lwm.position.offset, 20);
  assert.deepEqual(lwm.takeFlush().prune, ['a', 'b']);
  lwm.markDone(c, false);
  assert.equal(lwm.position.offset, 30);
  assert.deepEqual(lwm.takeFlush().prune, []);
});

void test('compaction: the final image per key becomes one upsert, deleted keys one DELETE, PK change = delete + put', () => {
  const ev1 = rowsEvent('insert', [
    [1, 'a', 1],
    [2, 'b', 2],
  ]);
  const ev2 = rowsEvent(
    'update',
    [
      [1, 'a', 5],
      [9, 'b', 2],
    ],
    [
      [1, 'a', 1],
      [2, 'b', 2],
    ],
  );
  const ev3 = rowsEvent('delete', [[1, 'a', 5]]);
  const route = { schema: 'db', table: 't', extracted: [] };
  const changes = [ev1, ev2, ev3].flatMap((e) => rowChangesOf(e, route).changes);
  // safe mode: idempotent, every final image upserted
  const stmts = buildStatements(changes, { safeMode: true });
  assert.deepEqual(stmts, [
    'DELETE FROM `db`.`t` WHERE `id` IN (2,1)',
    "INSERT INTO `db`.`t` (`id`, `u`, `v`) VALUES (9, 'b', 2) ON DUPLICATE KEY UPDATE `id` = VALUES(`id`), `u` = VALUES(`u`), `v` = VALUES(`v`)",
  ]);
  // outside safe mode: keys the group creates are plain INSERTs (a row only the target has
  // conflicts), also those created and deleted within the group
  assert.deepEqual(buildStatements(changes, { safeMode: false }), [
    "INSERT INTO `db`.`t` (`id`, `u`, `v`) VALUES (2, 'b', 2),(1, 'a', 5)",
    'DELETE FROM `db`.`t` WHERE `id` IN (2,1)',
    "INSERT INTO `db`.`t` (`id`, `u`, `v`) VALUES (9, 'b', 2)",
  ]);
});

void test('compaction outside safe mode: only rows that existed before the group are upserted', () => {
  const route = { schema: 'db', table: 't', extracted: [] };
  const changes = [
    rowsEvent('update', [[1, 'x', 2]], [[1, 'x', 1]]), // in place: the row existed
    rowsEvent('delete', [[3, 'z', 3]]),
    rowsEvent('insert', [[3, 'z', 4]]), // deleted then re-inserted: existed before
    rowsEvent('insert', [[4, 'w', 4]]),
    rowsEvent('update', [[4, 'w', 5]], [[4, 'w', 4]]), // INSERT + UPDATE = INSERT
  ].flatMap((e) => rowChangesOf(e, route).changes);
  assert.deepEqual(buildStatements(changes, { safeMode: false }), [
    "INSERT INTO `db`.`t` (`id`, `u`, `v`) VALUES (4, 'w', 5)",
    "INSERT INTO `db`.`t` (`id`, `u`, `v`) VALUES (1, 'x', 2),(3, 'z', 4) ON DUPLICATE KEY UPDATE `id` = VALUES(`id`), `u` = VALUES(`u`), `v` = VALUES(`v`)",
  ]);
});

void test('keyless tables: statements in order, all columns (IS NULL for nulls), LIMIT 1; safe mode rewrites', () => {
  const kl = { keyColumns: [], uniqueKeys: [] };
  const route = { schema: 'db', table: 't', extracted: [{ column: 'src', value: 's1' }] };
  const changes = [
    rowsEvent('insert', [[1, null, 1]], undefined, kl),
    rowsEvent('insert', [[1, null, 1]], undefined, kl),
    rowsEvent('update', [[1, 'x', 1]], [[1, null, 1]], kl),
    rowsEvent('delete', [[1, null, 1]], undefined, kl),
  ].flatMap((e) => rowChangesOf(e, route).changes);
  assert.deepEqual(buildStatements(changes, { safeMode: false }), [
    "INSERT INTO `db`.`t` (`id`, `u`, `v`, `src`) VALUES (1, NULL, 1, 's1'),(1, NULL, 1, 's1')",
    "UPDATE `db`.`t` SET `id` = 1, `u` = 'x', `v` = 1, `src` = 's1' WHERE `id` = 1 AND `u` IS NULL AND `v` = 1 AND `src` = 's1' LIMIT 1",
    "DELETE FROM `db`.`t` WHERE `id` = 1 AND `u` IS NULL AND `v` = 1 AND `src` = 's1' LIMIT 1",
  ]);
  const uk = { uniqueKeys: [['u']] };
  const ukChanges = [
    rowsEvent('insert', [[1, 'a', 1]], undefined, uk),
    rowsEvent('update', [[1, 'b', 1]], [[1, 'a', 1]], uk),
  ].flatMap((e) => rowChangesOf(e, { schema: 'db', table: 't', extracted: [] }).changes);
  assert.deepEqual(buildStatements(ukChanges, { safeMode: true }), [
    "REPLACE INTO `db`.`t` (`id`, `u`, `v`) VALUES (1, 'a', 1)",
    'DELETE FROM `db`.`t` WHERE `id` = 1',
    "REPLACE INTO `db`.`t` (`id`, `u`, `v`) VALUES (1, 'b', 1)",
  ]);
});

void test('exact values are written as literals: decimals and big integers as given, binary as hex', () => {
  const ev = rowsEvent('insert', [[1, '12345678901234567890.123456789', Buffer.from([0, 255])]]);
  const [s] = buildStatements(rowChangesOf(ev, { schema: 'db', table: 't', extracted: [] }).changes, {
    safeMode: false,
  });
  assert.match(s ?? '', /VALUES \(1, '12345678901234567890\.123456789', X'00ff'\)/);
});

void test('DDL parse and routed rewrite (src/sql): names routed and qualified, other text kept; non-DDL ignored', () => {
  const p = parseSyncDDL('ALTER TABLE t1 ADD COLUMN c INT /* keep */', 'shard_1');
  assert.equal(p?.type, 'alter table');
  assert.deepEqual(p?.tables, [{ schema: 'shard_1', table: 't1' }]);
  assert.ok(p);
  assert.equal(
    routedDDL(
      p,
      () => ({ schema: 'merged', table: 'all_t' }),
      (s) => s,
    ),
    'ALTER TABLE `merged`.`all_t` ADD COLUMN c INT /* keep */',
  );
  assert.equal(
    routedDDL(
      p,
      (schema, table) => ({ schema, table }),
      (s) => s,
    ),
    'ALTER TABLE `shard_1`.`t1` ADD COLUMN c INT /* keep */',
  );
  const db = parseSyncDDL('CREATE DATABASE foo', '');
  assert.equal(db?.database, 'foo');
  assert.ok(db);
  assert.equal(
    routedDDL(
      db,
      (schema, table) => ({ schema, table }),
      () => 'bar',
    ),
    'CREATE DATABASE `bar`',
  );
  assert.equal(parseSyncDDL('GRANT ALL ON *.* TO x', ''), undefined);
  assert.equal(parseSyncDDL('CREATE VIEW v AS SELECT 1', 'd'), undefined);
  assert.equal(parseSyncDDL('BEGIN', 'd'), undefined);
  assert.equal(parseSyncDDL('rename table a to b', 'd')?.tables.length, 2);
});

void test('filters: block-allow list, routes with extracted columns, event filter', () => {
  const f = buildFilters({
    baList: { doDbs: ['shard_*'], ignoreTables: [{ dbName: 'shard_*', tblName: 'tmp_*' }] },
    routes: [
      {
        schemaPattern: 'shard_*',
        tablePattern: 'orders_*',
        targetSchema: 'all',
        targetTable: 'orders',
        extractTable: { tableRegexp: 'orders_(.*)', targetColumn: 'part' },
      },
      { schemaPattern: 'shard_*', targetSchema: 'all' },
    ],
    filters: [{ schemaPattern: 'shard_*', tablePattern: 'log', events: ['delete'], action: 'Ignore' }],
    metaSchema: 'dm_meta',
    sourceId: 'mysql-01',
  });
  assert.equal(f.includeTable('shard_1', 'orders_7'), true);
  assert.equal(f.includeTable('shard_1', 'tmp_x'), false);
  assert.equal(f.includeTable('other', 'orders_7'), false);
  assert.equal(f.includeTable('dm_meta', 'x'), false);
  assert.deepEqual(f.route('shard_1', 'orders_7'), {
    schema: 'all',
    table: 'orders',
    extracted: [{ column: 'part', value: '7' }],
  });
  assert.deepEqual(f.route('shard_1', 'users'), { schema: 'all', table: 'users', extracted: [] });
  assert.equal(f.dmlAction('shard_1', 'log', 'delete'), 'Ignore');
  assert.equal(f.dmlAction('shard_1', 'log', 'insert'), 'Do');
});

void test('large transactions are split into statements of at most 500 rows (same target transaction)', () => {
  const rows = Array.from({ length: 1200 }, (_, i) => [i, 'x', i]);
  const route = { schema: 'db', table: 't', extracted: [] };
  const keyed = buildStatements(rowChangesOf(rowsEvent('insert', rows), route).changes, { safeMode: false });
  assert.equal(keyed.length, 3);
  const keyless = buildStatements(
    rowChangesOf(rowsEvent('insert', rows, undefined, { keyColumns: [] }), route).changes,
    { safeMode: false },
  );
  assert.equal(keyless.length, 3);
  assert.equal(keyless.join(' ').match(/\(\d+, 'x', \d+\)/g)?.length, 1200);
});

void test('a group blocked behind a predecessor grows past batch (up to batch × waitMergeFactor), never splitting a transaction', async () => {
  const lwm = new LowWaterMark(pos(0));
  const { s, groups, release } = heldScheduler({ workerCount: 4, batch: 2, waitMergeFactor: 4 });
  const ac = new AbortController();
  await s.add(txnOf('t1', [rowsEvent('insert', [[1, 'a', 0]])], lwm), ac.signal);
  // t2..t11 each update key 1: all blocked behind t1; they merge up to 2 × 4 = 8 rows per group,
  // then adding waits (backpressure) until t1 is done
  let added = 0;
  const feeding = (async () => {
    for (let i = 2; i <= 11; i++) {
      await s.add(
        txnOf(`t${i}`, [rowsEvent('update', [[1, `v${i}`, 0]], [[1, `v${i - 1}`, 0]])], lwm),
        ac.signal,
      );
      added = i;
    }
  })();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(added, 9, 'the 9th blocked transaction does not fit: the reader side waits');
  assert.equal(s.inflightGroups, 1, 'no applier is taken just to wait');
  release();
  await feeding;
  await s.drain();
  assert.deepEqual(
    groups.flat(),
    ['t1', 't2', 't3', 't4', 't5', 't6', 't7', 't8', 't9', 't10', 't11'],
    'upstream order kept',
  );
  assert.deepEqual(
    groups[1],
    ['t2', 't3', 't4', 't5', 't6', 't7', 't8', 't9'],
    'the blocked group grew to 8 rows, past batch 2',
  );
  for (const g of groups) assert.ok(g.length <= 8);
});

void test('the full phase overlap: a group is applied in safe mode when any of its transactions lies at or before the last snapshot', async () => {
  // the unit passes its `safeModeUntil` (the full phase's last snapshot) to the applier's policy
  const { safeModeFor: policyFor } = await import('../../src/units/sync/applier.js');
  const policy = { always: false, autoUntil: 0, snapshotEnd: { file: 'mysql-bin.000001', offset: 5000, gtid: '' } };
  const safeModeFor = (offsets: number[]): boolean =>
    policyFor(policy, {
      txns: offsets.map((offset) => ({ pos: { file: 'mysql-bin.000001', offset, gtid: '' } })),
    });
  // compaction lets one group hold many transactions: one that straddles the bound must be idempotent
  assert.equal(safeModeFor([4000, 4500, 6000]), true);
  assert.equal(safeModeFor([5000]), true);
  assert.equal(safeModeFor([5001, 9000]), false);
});
