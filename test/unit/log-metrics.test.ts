import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log/index.js';
import { createRegistry, Counter } from '../../src/metrics/index.js';

test('logger redacts passwords wherever a source or task config puts them', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  const log = createLogger({ level: 'info' }, sink).child({ component: 'test', task: 't1' });
  log.info(
    {
      password: 'top-secret-1',
      from: { host: '127.0.0.1', user: 'dm', password: 'top-secret-2' },
      config: { from: { password: 'top-secret-3' } },
      'target-database': { password: 'top-secret-4' },
    },
    'source config loaded',
  );
  const out = lines.join('');
  assert.ok(out.includes('source config loaded'), out);
  assert.ok(out.includes('"user":"dm"'), 'non-secret fields stay visible');
  for (const s of ['top-secret-1', 'top-secret-2', 'top-secret-3', 'top-secret-4']) {
    assert.ok(!out.includes(s), `${s} leaked into the log: ${out}`);
  }
});

test('each process instance has its own metrics registry', async () => {
  const a = createRegistry({ labels: { worker: 'w1' } });
  const b = createRegistry({ labels: { worker: 'w2' } });
  const ca = new Counter({ name: 'dm_test_things_total', help: 'x', registers: [a] });
  const cb = new Counter({ name: 'dm_test_things_total', help: 'x', registers: [b] });
  ca.inc(3);
  cb.inc(5);
  const ta = await a.metrics();
  const tb = await b.metrics();
  assert.match(ta, /dm_test_things_total\{worker="w1"\} 3/);
  assert.match(tb, /dm_test_things_total\{worker="w2"\} 5/);
});
