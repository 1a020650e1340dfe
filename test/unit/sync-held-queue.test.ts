/**
 * HeldQueue (src/units/sync/held-queue.ts): binlog order, held again while draining, rows spilled
 * beyond a (tiny) memory budget and read back exactly, the spill file's life (mode 0600, removed
 * on drain/close, never reused: files left by a killed run are removed), the disk limits (36104).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeldQueue, type HeldItem } from '../../src/units/sync/held-queue.js';
import type { RowChange, UpstreamTxn } from '../../src/units/sync/txn.js';
import type { TrackEntry } from '../../src/units/sync/tracker.js';
import { DMError } from '../../src/errors/index.js';

const COLUMNS = ['id', 'v'];
const KEY_IDX = [0];

function txn(id: number, rows: unknown[][], op: RowChange['op'] = 'insert', columns = COLUMNS): UpstreamTxn {
  const changes: RowChange[] = rows.map((r) => {
    const base = {
      schema: 'merged',
      table: 't',
      columns,
      keyIdx: KEY_IDX,
      otherUniqueKeys: false,
      srcSchema: 'shard_1',
      srcTable: 't',
    };
    if (op === 'insert') return { ...base, op, after: r };
    if (op === 'delete') return { ...base, op, before: r };
    return { ...base, op, before: r, after: [...r].reverse() };
  });
  const pos = { file: 'bin.000001', offset: 1000 + id, gtid: '' };
  const track: TrackEntry = { id: `g-${id}`, pos, timestamp: 1700000000 + id, done: false, ledgered: false };
  return {
    id: `g-${id}`,
    pos,
    timestamp: track.timestamp,
    changes,
    keys: new Set(rows.map((r) => `K|merged.t|id|${String(r[0])}`)),
    bytes: 100 * rows.length,
    track,
    upTables: new Set(['shard_1\u0000t']),
  };
}

async function all<Q>(it: AsyncIterable<HeldItem<Q>>): Promise<HeldItem<Q>[]> {
  const out: HeldItem<Q>[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'held-queue-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const files = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.spill'));

/** Every value type the row decoder produces (and a few it could): the exact round trip is checked with Object.is semantics. */
const VALUES: unknown[] = [
  null,
  undefined,
  true,
  false,
  0,
  -0,
  1,
  -1,
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 31,
  -(2 ** 31) - 1,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  1.5,
  -3.25e-300,
  Number.MIN_VALUE,
  Number.MAX_VALUE,
  NaN,
  Infinity,
  -Infinity,
  2n ** 53n + 1n,
  2n ** 64n - 1n,
  -(2n ** 63n),
  -(2n ** 200n) + 7n,
  0n,
  '',
  'plain',
  'héllo wörld ✓ 😀',
  'x\u0000y',
  'lone \ud800 surrogate',
  'trailing \udc00',
  // BIGINT UNSIGNED beyond 2^53 as zongji gives it; DECIMAL as strings (digits and zeros kept)
  '18446744073709551615',
  '-9223372036854775808',
  '-0.000100',
  '12345678901234567890.123456789012345678',
  '0.00',
  // temporal types with dateStrings: true
  '2024-02-29 23:59:59.999999',
  '0000-00-00 00:00:00',
  '0000-00-00',
  '-838:59:59.000000',
  // JSON with jsonStrings: true, and parsed JSON
  '{"a": [1, 2.5, null, "\\u0000"], "b": {"c": 18446744073709551615}}',
  { a: [1, 2.5, null, 'x'], b: { c: '18446744073709551615', d: true }, '': -0 },
  JSON.parse('{"__proto__": {"polluted": 1}, "k": [[], {}]}') as unknown,
  [],
  [null, [undefined, [1n]]],
  // binary: BINARY/VARBINARY/BLOB, BIT (a slice of a larger buffer), GEOMETRY raw
  Buffer.from([0x00, 0xff, 0x00, 0x80, 0x7f, 0xff]),
  Buffer.alloc(0),
  Buffer.from([0x00]),
  Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).subarray(2, 5),
  Buffer.from('0000000001010000000000000000000000F03F000000000000F03F', 'hex'),
  // Dates (dateStrings off), an invalid one too
  new Date(Date.UTC(2024, 1, 29, 23, 59, 59, 999)),
  new Date(-62135596800000),
];

void test('held queue: binlog order, has/size/bytes, held again while draining (in memory and spilled)', async (t) => {
  const dir = tmp(t);
  for (const memBytes of [undefined, 0, 250]) {
    const q = new HeldQueue<string>({ dir, ...(memBytes !== undefined ? { memBytes } : {}) });
    // the expected contents, kept apart from the objects the queue may empty
    const want: unknown[] = [];
    for (let i = 0; i < 30; i++) {
      const it: HeldItem<string> =
        i % 3 === 2
          ? { kind: 'query', q: `ddl-${i}` }
          : {
              kind: 'txn',
              txn: txn(i, [
                [i, `v${i}`],
                [i + 1000, `w${i}`],
              ]),
            };
      want.push(
        it.kind === 'txn'
          ? { id: it.txn.id, changes: structuredClone(it.txn.changes), keys: [...it.txn.keys] }
          : it.q,
      );
      await q.push(it, it.kind === 'txn' ? ['shard_1\u0000t'] : ['shard_2\u0000t']);
    }
    assert.equal(q.size, 30);
    assert.equal(q.bytes, 20 * 200);
    assert.ok(q.has('shard_1\u0000t') && q.has('shard_2\u0000t') && !q.has('shard_3\u0000t'));
    if (memBytes === 0) assert.equal(files(dir).length, 1, 'spilled');
    if (memBytes === undefined) assert.equal(q.diskBytes, 0, 'no budget: nothing spilled');
    if (memBytes === 250)
      assert.ok(q.diskBytes > 0 && q.diskBytes < 20 * 200, 'the first transaction stays in memory');

    const got: unknown[] = [];
    const again: HeldItem<string>[] = [];
    for await (const it of q.drain()) {
      assert.equal(
        q.size,
        again.length,
        'the queue is empty from the start of the drain but for what is held again',
      );
      got.push(it.kind === 'txn' ? { id: it.txn.id, changes: it.txn.changes, keys: [...it.txn.keys] } : it.q);
      // hold every 4th event again (the held-again case of the pessimist)
      if (got.length % 4 === 0) {
        again.push(it);
        await q.push(it, ['shard_3\u0000t']);
      }
    }
    assert.deepStrictEqual(got, want, `order and contents, memBytes ${String(memBytes)}`);
    assert.equal(q.size, again.length);
    assert.ok(q.has('shard_3\u0000t') && !q.has('shard_1\u0000t'));
    const second = await all(q.drain());
    assert.deepStrictEqual(
      second.map((it) => (it.kind === 'txn' ? it.txn.id : it.q)),
      again.map((it) => (it.kind === 'txn' ? it.txn.id : it.q)),
    );
    assert.equal(q.size, 0);
    assert.equal(q.bytes, 0);
    assert.deepEqual(files(dir), [], 'spill files removed once drained');
    await q.close();
  }
});

void test('held queue: every row value type round-trips exactly through the spill file; skeleton and shapes kept', async (t) => {
  const dir = tmp(t);
  const q = new HeldQueue<never>({ dir, memBytes: 0 });
  const otherColumns = ['a', 'b', 'c'];
  const rows = VALUES.map((v, i) => [i, v]);
  const ins = txn(1, rows);
  const upd = txn(2, rows, 'update');
  const del = txn(3, rows, 'delete');
  const mixed = txn(4, [[1, 2, 3]], 'insert', otherColumns);
  // a change with more fields than rowChangesOf sets, and one without src fields: kept as they were
  (mixed.changes[0] as RowChange & { extra?: unknown }).extra = { x: 1 };
  // an invalid Date (deepStrictEqual cannot compare it: checked by its time value below)
  const bare: RowChange = {
    schema: 's',
    table: 't',
    op: 'insert',
    columns: otherColumns,
    keyIdx: [],
    otherUniqueKeys: true,
    after: [Buffer.from([0xff, 0x00]), new Date(NaN)],
  };
  mixed.changes.push(bare);
  const originals = [ins, upd, del, mixed];
  const want = originals.map((x) => ({
    changes: x.changes.map((c) => ({ ...c })),
    keys: new Set(x.keys),
    track: x.track,
    pos: x.pos,
    upTables: x.upTables,
    id: x.id,
    timestamp: x.timestamp,
    bytes: x.bytes,
  }));
  for (const x of originals) await q.push({ kind: 'txn', txn: x }, x.upTables ?? []);
  assert.equal(ins.changes.length, 0, 'the rows of a spilled transaction are not kept in memory');
  assert.equal(ins.keys.size, 0);
  const [file] = files(dir);
  assert.ok(file);
  assert.equal(statSync(join(dir, file)).mode & 0o777, 0o600);
  const bytes = statSync(join(dir, file)).size + q.diskBytes; // what is on disk or still buffered
  assert.ok(bytes > 0);

  const got = await all(q.drain());
  assert.equal(got.length, 4);
  for (let i = 0; i < 4; i++) {
    const g = got[i]!;
    assert.equal(g.kind, 'txn');
    if (g.kind !== 'txn') continue;
    const w = want[i]!;
    assert.equal(g.txn, originals[i], 'the same transaction object comes back');
    assert.equal(g.txn.track, w.track, 'track entry kept (same object)');
    assert.equal(g.txn.pos, w.pos);
    assert.equal(g.txn.upTables, w.upTables);
    assert.deepStrictEqual([g.txn.id, g.txn.timestamp, g.txn.bytes], [w.id, w.timestamp, w.bytes]);
    assert.deepStrictEqual(g.txn.keys, w.keys);
    if (i < 3) assert.deepStrictEqual(g.txn.changes, w.changes);
    else assert.deepStrictEqual(g.txn.changes[0], w.changes[0]);
    for (let j = 0; j < w.changes.length; j++) {
      const a: RowChange = g.txn.changes[j]!;
      const b: RowChange = w.changes[j]!;
      assert.equal(a.columns, b.columns, 'columns array shared as before (statement caches key on it)');
      assert.equal(a.keyIdx, b.keyIdx);
      assert.deepStrictEqual(Object.keys(a).sort(), Object.keys(b).sort());
      for (const img of ['before', 'after'] as const) {
        const x = a[img];
        const y = b[img];
        if (!y) continue;
        for (let k = 0; k < y.length; k++) {
          assert.ok(
            Object.is(x![k], y[k]) || typeof y[k] === 'object' || typeof y[k] === 'bigint',
            `value ${k} of ${img} (${String(y[k])})`,
          );
          if (Buffer.isBuffer(y[k]))
            assert.ok(Buffer.isBuffer(x![k]) && (x![k] as Buffer).equals(y[k] as Buffer), `binary ${k}`);
          if (y[k] instanceof Date)
            assert.ok(
              x![k] instanceof Date && Object.is((x![k] as Date).getTime(), (y[k] as Date).getTime()),
              `date ${k}`,
            );
          if (typeof y[k] === 'bigint') assert.equal(x![k], y[k]);
        }
      }
    }
  }
  // spot checks beyond deepStrictEqual: -0, a bigint beyond 2^64, binary with 0x00/0xff, a lone surrogate
  const after = (got[0] as { txn: UpstreamTxn }).txn.changes.map((c) => c.after![1]);
  assert.ok(Object.is(after[VALUES.findIndex((v) => Object.is(v, -0))], -0));
  assert.equal(after[VALUES.findIndex((v) => v === -(2n ** 200n) + 7n)], -(2n ** 200n) + 7n);
  assert.equal(after[VALUES.indexOf('lone \ud800 surrogate')], 'lone \ud800 surrogate');
  assert.equal(after[VALUES.indexOf('-0.000100')], '-0.000100');
  const bin = after.find((v) => Buffer.isBuffer(v) && v.length === 6) as Buffer;
  assert.equal(bin.toString('hex'), '00ff00807fff');
  const proto = after.find(
    (v) => typeof v === 'object' && v !== null && Object.prototype.hasOwnProperty.call(v, '__proto__'),
  ) as Record<string, unknown>;
  assert.deepStrictEqual(Object.keys(proto), ['__proto__', 'k']);
  assert.equal(Object.getPrototypeOf(proto), Object.prototype, 'a "__proto__" key stays a key');
  assert.deepEqual(files(dir), []);
  await q.close();
});

void test('held queue: large spill (records across read chunks, a record larger than a chunk), early stop and close remove the file', async (t) => {
  const dir = tmp(t);
  const q = new HeldQueue<number>({ dir, memBytes: 1000 });
  const big = Buffer.alloc(3 << 20, 0xab);
  big[0] = 0;
  big[big.length - 1] = 0xff;
  let n = 0;
  for (let i = 0; i < 3000; i++) {
    await q.push({ kind: 'txn', txn: txn(i, [[i, `row ${i} ${'z'.repeat(i % 500)}`]]) }, ['a\u0000t']);
    if (i === 1500) await q.push({ kind: 'txn', txn: txn(-1, [[-1, big]]) }, ['a\u0000t']);
    if (i % 100 === 0) await q.push({ kind: 'query', q: n++ }, ['a\u0000t']);
  }
  assert.ok(q.diskBytes > 3 << 20, `spilled ${q.diskBytes} bytes`);
  let seen = 0;
  let queries = 0;
  let bigSeen = false;
  for await (const it of q.drain()) {
    if (it.kind === 'query') {
      assert.equal(it.q, queries++);
      continue;
    }
    const v = it.txn.changes[0]!.after!;
    if (v[0] === -1) {
      assert.equal(seen, 1501, 'the big transaction in its place');
      assert.ok((v[1] as Buffer).equals(big));
      bigSeen = true;
      continue;
    }
    assert.equal(v[0], seen);
    assert.equal(v[1], `row ${seen} ${'z'.repeat(seen % 500)}`);
    seen++;
  }
  assert.equal(seen, 3000);
  assert.equal(queries, n);
  assert.ok(bigSeen);
  assert.deepEqual(files(dir), []);

  // leaving a drain early removes its file; close() removes the current one
  for (let i = 0; i < 50; i++)
    await q.push({ kind: 'txn', txn: txn(i, [[i, 'x'.repeat(100)]]) }, ['a\u0000t']);
  assert.equal(files(dir).length, 1);
  for await (const it of q.drain()) {
    assert.equal(it.kind, 'txn');
    break;
  }
  assert.deepEqual(files(dir), [], 'removed when the drain is left early');
  for (let i = 0; i < 50; i++)
    await q.push({ kind: 'txn', txn: txn(i, [[i, 'x'.repeat(100)]]) }, ['a\u0000t']);
  assert.equal(files(dir).length, 1);
  await q.close();
  assert.deepEqual(files(dir), [], 'removed by close()');
  await assert.rejects(q.push({ kind: 'query', q: 1 }, []), /closed/);
});

void test('held queue: never reuses a spill file; files left by a killed run of the same subtask are removed', async (t) => {
  const dir = tmp(t);
  const base = 'dmts-held-task%2f1-mysql%2d01-';
  // left by a killed worker (a pid that is not running), and by an earlier run of this process that did not close
  const dead = `${base}999999999-aaaaaaaaaaaa.spill`;
  const mine = `${base}${process.pid}-bbbbbbbbbbbb.spill`;
  // a live process's file of the same subtask (e.g. another worker on this machine) and another subtask's: kept
  const other = `${base}${process.ppid}-cccccccccccc.spill`;
  const otherTask = 'dmts-held-task2-mysql%2d01-999999999-dddddddddddd.spill';
  // removed when a queue of the subtask is created, even one that never spills
  writeFileSync(join(dir, dead), 'stale rows that must never be read');
  const q0 = new HeldQueue<never>({ dir, memBytes: 1 << 20, task: 'task/1', source: 'mysql-01' });
  await q0.push({ kind: 'txn', txn: txn(0, [[0, 'in memory']]) }, []);
  await q0.close();
  assert.deepEqual(files(dir), []);
  for (const f of [dead, mine, other, otherTask])
    writeFileSync(join(dir, f), 'stale rows that must never be read');
  const q = new HeldQueue<never>({ dir, memBytes: 0, task: 'task/1', source: 'mysql-01' });
  await q.push({ kind: 'txn', txn: txn(1, [[1, 'new']]) }, []);
  const now = files(dir);
  assert.ok(!now.includes(dead) && !now.includes(mine), `stale files removed: ${now.join(', ')}`);
  assert.ok(now.includes(other) && now.includes(otherTask));
  const own = now.filter((f) => f.startsWith(base) && f !== other);
  assert.equal(own.length, 1);
  assert.ok(q.spillPath?.endsWith(own[0]!));
  // a second queue of the same subtask in this process (a restarted unit) does not touch the live one's file
  const q2 = new HeldQueue<never>({ dir, memBytes: 0, task: 'task/1', source: 'mysql-01' });
  await q2.push({ kind: 'txn', txn: txn(2, [[2, 'newer']]) }, []);
  assert.notEqual(q2.spillPath, q.spillPath);
  const [a] = await all(q.drain());
  assert.equal(a?.kind === 'txn' && a.txn.changes[0]!.after![1], 'new');
  const [b] = await all(q2.drain());
  assert.equal(b?.kind === 'txn' && b.txn.changes[0]!.after![1], 'newer');
  await q.close();
  await q2.close();
});

void test('held queue: the disk limits pause with 36104 (a disk message, not memory)', async (t) => {
  const dir = tmp(t);
  const q = new HeldQueue<never>({
    dir,
    memBytes: 500,
    maxDiskBytes: 2000,
    describe: () => 'shard_1.t reached a DDL',
  });
  let err: unknown;
  let pushed = 0;
  try {
    for (; pushed < 100; pushed++)
      await q.push({ kind: 'txn', txn: txn(pushed, [[pushed, 'y'.repeat(90)]]) }, []);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof DMError, String(err));
  assert.equal(err.code, 36104);
  assert.match(err.message, /on disk/);
  assert.match(err.message, /spill file would exceed its limit of 2000 bytes/);
  assert.match(err.message, /shard_1\.t reached a DDL/);
  assert.ok(pushed > 5 && pushed < 30, `stopped at ${pushed}`);
  assert.match(err.workaround ?? '', /disk/i);
  await q.close();
  assert.deepEqual(files(dir), []);

  // free space: the file system must keep more free than it has
  const q2 = new HeldQueue<never>({ dir, memBytes: 0, minFreeBytes: Number.MAX_SAFE_INTEGER });
  await assert.rejects(
    q2.push({ kind: 'txn', txn: txn(1, [[1, 'x']]) }, []),
    (e: unknown) => e instanceof DMError && e.code === 36104 && /bytes free, less than/.test(e.message),
  );
  // in memory (under the budget) nothing touches the disk
  const q3 = new HeldQueue<never>({ dir, memBytes: 1 << 20, minFreeBytes: Number.MAX_SAFE_INTEGER });
  await q3.push({ kind: 'txn', txn: txn(1, [[1, 'x']]) }, []);
  assert.equal(q3.size, 1);
  await q2.close();
  await q3.close();
});
