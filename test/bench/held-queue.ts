/**
 * HeldQueue benchmark (prints figures, no pass/fail): N held transactions of R rows each (typical
 * row values: BIGINT key, INT, VARCHAR, DECIMAL string, DATETIME string, VARBINARY, NULL) pushed
 * and drained, once all in memory and once with a 1 MiB memory budget (everything beyond spilled to
 * a file in os.tmpdir()): push and drain time, rows/s, spill file bytes, heap after the pushes.
 * Usage: npx tsx test/bench/held-queue.ts [--txns 20000 --rows 10]
 */
import { parseArgs } from 'node:util';
import { HeldQueue } from '../../src/units/sync/held-queue.js';
import type { RowChange, UpstreamTxn } from '../../src/units/sync/txn.js';

const { values } = parseArgs({
  options: { txns: { type: 'string', default: '20000' }, rows: { type: 'string', default: '10' } },
});
const N = Number(values.txns);
const R = Number(values.rows);
const COLUMNS = ['id', 'v', 's', 'd', 'dt', 'b', 'n'];
const KEY = [0];

function txn(i: number): UpstreamTxn {
  const changes: RowChange[] = [];
  for (let r = 0; r < R; r++) {
    const id = i * R + r;
    changes.push({
      schema: 'merged',
      table: 't',
      op: 'insert',
      columns: COLUMNS,
      keyIdx: KEY,
      otherUniqueKeys: false,
      srcSchema: 'shard_1',
      srcTable: 't',
      after: [
        id,
        id % 1000,
        `name ${id} ${'x'.repeat(id % 40)}`,
        `${id}.0012345600`,
        '2024-02-29 23:59:59.123456',
        Buffer.from([id & 0xff, 0, 0xff, 7]),
        null,
      ],
    });
  }
  const pos = { file: 'bin.000001', offset: i, gtid: '' };
  return {
    id: `0-1-${i}`,
    pos,
    timestamp: 0,
    changes,
    keys: new Set(changes.map((c) => `K|merged.t|id|${String(c.after![0])}`)),
    bytes: R * 120,
    track: { id: `0-1-${i}`, pos, timestamp: 0, done: false, ledgered: false },
    upTables: new Set(['shard_1\u0000t']),
  };
}

async function run(label: string, memBytes: number | undefined): Promise<void> {
  globalThis.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const q = new HeldQueue<never>({
    ...(memBytes !== undefined ? { memBytes } : {}),
    task: 'bench',
    source: `s${process.pid}`,
  });
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const t = txn(i);
    await q.push({ kind: 'txn', txn: t }, t.upTables!);
  }
  const t1 = performance.now();
  globalThis.gc?.();
  const heap = process.memoryUsage().heapUsed - heap0;
  const disk = q.diskBytes;
  let rows = 0;
  for await (const it of q.drain()) if (it.kind === 'txn') rows += it.txn.changes.length;
  const t2 = performance.now();
  await q.close();
  const rate = (ms: number): string => `${Math.round((N * R) / (ms / 1000)).toLocaleString('en')} rows/s`;
  console.log(
    `${label}: ${N} txns x ${R} rows; push ${(t1 - t0).toFixed(0)} ms (${rate(t1 - t0)}), drain ${(t2 - t1).toFixed(0)} ms (${rate(t2 - t1)}); spill file ${(disk / 1048576).toFixed(1)} MiB; heap after pushes +${(heap / 1048576).toFixed(1)} MiB${globalThis.gc ? '' : ' (run node with --expose-gc for a settled figure)'}; rows back ${rows}`,
  );
}

await run('in memory      ', undefined);
await run('spilled (1 MiB)', 1 << 20);
