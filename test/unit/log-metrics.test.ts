import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { configOverrides, parseMasterConfig, parseWorkerConfig } from '../../src/config/index.js';
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

test('log level of dm-master / dm-worker: --log-level > DM_LOG_LEVEL > the file > info', () => {
  // as src/bin/dm-*.ts load their config
  const level = (file: string, argv: string[], env: Record<string, string | undefined>): string => {
    const p = new Command().option('--config <file>').option('--log-level <level>');
    p.parse(['node', 'dm-worker', ...argv]);
    const overrides = configOverrides(p.options, p.opts(), env);
    const cfg = parseWorkerConfig(`join: a:1\n${file}`, { overrides });
    assert.equal(
      parseMasterConfig(file, { overrides }).logLevel,
      cfg.logLevel,
      'masters resolve it the same way',
    );
    return createLogger({ level: cfg.logLevel }, new Writable({ write: (_c, _e, cb) => cb() })).level;
  };
  assert.equal(level('', [], {}), 'info');
  assert.equal(level('log-level: warn\n', [], {}), 'warn');
  assert.equal(level('log-level: warn\n', [], { DM_LOG_LEVEL: 'debug' }), 'debug');
  assert.equal(level('', [], { DM_LOG_LEVEL: 'error' }), 'error');
  assert.equal(level('log-level: warn\n', [], { DM_LOG_LEVEL: '' }), 'warn', 'an empty variable is unset');
  assert.equal(level('log-level: warn\n', ['--log-level', 'error'], { DM_LOG_LEVEL: 'debug' }), 'error');
  assert.throws(
    () => level('', [], { DM_LOG_LEVEL: 'loud' }),
    (e: Error) => /log-level: .*allowed: "debug", "info", "warn", "error", "fatal"/.test(e.message),
  );
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

test("Node's process metrics have their standard names, in every instance's own registry", async () => {
  const a = createRegistry({ defaultMetrics: true, labels: { instance: 'm1' } });
  const b = createRegistry({ defaultMetrics: true, labels: { instance: 'm2' } });
  try {
    for (const [reg, inst] of [[a, 'm1'], [b, 'm2']] as const) {
      const text = await reg.metrics();
      for (const name of [
        'process_cpu_seconds_total',
        'process_resident_memory_bytes',
        'process_start_time_seconds',
        'nodejs_eventloop_lag_seconds',
        'nodejs_heap_size_used_bytes',
        'nodejs_version_info',
      ]) {
        assert.match(text, new RegExp(`^${name}\\{[^}]*instance="${inst}"[^}]*\\} `, 'm'), `${name} in ${inst}`);
      }
      assert.doesNotMatch(text, /dm_process_/);
    }
  } finally {
    a.clear();
    b.clear();
  }
});

test("log-format text (DM's default) writes DM's layout, redacted as in json", () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  const log = createLogger({ level: 'info', format: 'text', name: 'worker1' }, sink).child({ component: 'syncer', task: 't 1' });
  log.warn({ source: 's1', password: 'top-secret', pos: { file: 'mysql-bin.000001', offset: 4 } }, 'sync unit starting');
  const out = lines.join('');
  assert.match(
    out,
    /^\[\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d{3} \+00:00\] \[WARN\] \[syncer\] \["sync unit starting"\] \[name=worker1\] \[task="t 1"\] \[source=s1\] \[password="\*\*\*\*\*\*"\] \[pos=\{"file":"mysql-bin.000001","offset":4\}\]\n$/,
    out,
  );
  assert.ok(!out.includes('top-secret'), out);
  assert.equal(parseWorkerConfig('join: 127.0.0.1:8261\n').logFormat, 'text', "DM's default");
  assert.equal(parseMasterConfig('log-format: json\n').logFormat, 'json');
});
