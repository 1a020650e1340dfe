/**
 * Memory of the continuous validator per pending row: hands it `rows` applied updates of a
 * 4-column row of ~200 bytes (as the bench:check validator run) that stay pending (validate-interval
 * 1 h), and prints the retained heap per pending row next to what it counts against
 * max-pending-row-size (src/units/validate/validator-rows.ts imageBytes).
 *   node --expose-gc --import tsx test/bench/validator-memory.ts [rows=100000]
 */
import { MariaDBServer } from '../helpers/index.js';
import { ContinuousValidator } from '../../src/units/validate/index.js';
import { imageBytes } from '../../src/units/validate/validator-rows.js';
import type { RowChange } from '../../src/units/sync/index.js';
import type { Position } from '../../src/binlog/position.js';

const N = Number(process.argv[2] ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc --import tsx');

const db = await MariaDBServer.start();
try {
  const v = new ContinuousValidator({
    taskName: 'mem',
    sourceId: 's',
    metaSchema: 'dm_meta',
    target: db.connOpts(),
    settings: { mode: 'full', workerCount: 1, validateIntervalMs: 3_600_000, checkIntervalMs: 1000, rowErrorDelayMs: 3_600_000, metaFlushIntervalMs: 3_600_000, batchQuerySize: 100, maxPendingRowBytes: Number.MAX_SAFE_INTEGER, maxPendingRowCount: Number.MAX_SAFE_INTEGER },
  });
  let pos: Position = { file: 'mysql-bin.000001', offset: 4, gtid: '' };
  v.bind(() => pos);
  await v.setDesired({ stage: 'Running', mode: 'full' });
  gc();
  gc();
  const h0 = process.memoryUsage().heapUsed;
  const columns = ['id', 'k', 'c', 'pad'];
  let counted = 0;
  for (let i = 1; i <= N; i += 100) {
    const changes: RowChange[] = [];
    for (let id = i; id < i + 100 && id <= N; id++) {
      const img = [id, id % 1000, String.fromCharCode(65 + (id % 26)).repeat(120), String(id).padStart(60, '0')];
      counted += imageBytes(img);
      changes.push({ schema: 'b', table: 't', op: 'update', columns, keyIdx: [0], otherUniqueKeys: false, before: img, after: img });
    }
    pos = { file: 'mysql-bin.000001', offset: 4 + i, gtid: '' };
    v.applied([{ pos, timestamp: 0, changes }]);
  }
  gc();
  gc();
  const h1 = process.memoryUsage().heapUsed;
  console.log(`${N} rows pending (${v.status().pendingRowsStatus}): retained heap ${((h1 - h0) / N).toFixed(0)} bytes/row, counted for max-pending-row-size ${(counted / N).toFixed(0)} bytes/row`);
  await v.close();
} finally {
  await db.stop();
}
