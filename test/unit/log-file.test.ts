/**
 * Logs: one key per field in every JSON line; `log-file` rotated by size with backups pruned by
 * count and age; SIGHUP reopens the file (logrotate's move-then-signal).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, type Logger } from '../../src/log/index.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), 'dmts-log-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function flush(log: Logger): Promise<void> {
  return new Promise((resolve, reject) => log.flush((err) => (err ? reject(err) : resolve())));
}

async function waitFor(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (ok()) return;
    await sleep(10);
  }
  assert.fail(`timed out waiting for ${what}`);
}

void test('every JSON line has one key per field; the innermost child binding wins', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  const root = createLogger({ level: 'info', name: 'master1' }, sink);
  const server = root.child({ component: 'dm-master', name: 'master1' });
  server.child({ component: 'scheduler' }).info({ task: 't1' }, 'source bound');
  assert.equal(lines.length, 1);
  const line = lines[0] ?? '';
  for (const key of ['"component":', '"name":', '"msg":', '"level":', '"time":']) {
    assert.equal(line.split(key).length - 1, 1, `${key} once in ${line}`);
  }
  const rec = JSON.parse(line) as Record<string, unknown>;
  assert.equal(rec['component'], 'scheduler');
  assert.equal(rec['name'], 'master1');
  assert.equal(rec['task'], 't1');
  assert.ok(line.endsWith('}\n'));
});

void test('log-file rotates by size, keeps max-backups files, drops backups older than max-days; no line is lost', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'dm-worker.log');
  // a backup from long ago: removed by max-days at the first rotation
  const ancient = join(dir, 'dm-worker-2020-01-01T00-00-00.000.log');
  writeFileSync(ancient, '{"msg":"old"}\n');
  const maxBytes = 2048;
  const log = createLogger({ level: 'info', file, format: 'json', rotation: { maxSize: maxBytes / (1024 * 1024), maxDays: 7, maxBackups: 3 } });
  const N = 300;
  for (let i = 0; i < N; i++) {
    log.info({ seq: i, pad: 'x'.repeat(40) }, 'row applied');
    if (i % 50 === 0) await flush(log); // let the file open and rotations interleave with writes
  }
  await flush(log);
  const backups = readdirSync(dir).filter((n) => /^dm-worker-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}\.log$/.test(n)).sort();
  assert.equal(existsSync(ancient), false, 'the backup older than max-days was removed');
  assert.equal(backups.length, 3, `max-backups 3 kept: ${backups.join(', ')}`);
  const seqs: number[] = [];
  for (const f of [...backups.map((b) => join(dir, b)), file]) {
    const text = readFileSync(f, 'utf8');
    assert.ok(Buffer.byteLength(text) <= maxBytes, `${f} is ${Buffer.byteLength(text)} bytes`);
    for (const l of text.split('\n').filter((x) => x !== '')) seqs.push((JSON.parse(l) as { seq: number }).seq);
  }
  // the kept files hold the newest lines, in order, without a gap, up to the last one written
  assert.equal(seqs.at(-1), N - 1);
  for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], (seqs[i - 1] ?? 0) + 1, `line ${seqs[i - 1]} followed by ${seqs[i]}`);
});

void test('SIGHUP reopens log-file under its name (a moved file keeps its lines, new lines go to the new file)', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'dm-master.log');
  const moved = join(dir, 'dm-master.log.1');
  const log = createLogger({ level: 'info', file, format: 'text' });
  log.info('before the move');
  await flush(log);
  await waitFor('the log file', () => existsSync(file) && readFileSync(file, 'utf8').includes('before the move'));
  renameSync(file, moved);
  process.kill(process.pid, 'SIGHUP');
  await waitFor('the reopened log file', () => existsSync(file));
  log.info('after the move');
  await flush(log);
  await waitFor('the line in the new file', () => readFileSync(file, 'utf8').includes('after the move'));
  assert.match(readFileSync(moved, 'utf8'), /\[INFO\] \["before the move"\]/);
  assert.doesNotMatch(readFileSync(moved, 'utf8'), /after the move/);
  assert.doesNotMatch(readFileSync(file, 'utf8'), /before the move/);
});
