/**
 * The relay writer against real MariaDB (docs/relay.md): relay files byte-identical to the
 * upstream's binlog files, kill -9 of the writing process at random moments and in the middle of
 * an event then resume (nothing lost, nothing doubled: the bytes equal the upstream's again),
 * upstream binlogs purged after the relay has them, pause/resume, the purge policies and the
 * refusal of a needed file, and an upstream switch to a GTID replica.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, truncateSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MariaDBServer, makeTempDir, removeTempDir, trackChild, waitFor } from '../helpers/index.js';
import { Relay, purgeRelay, readIndex, readMeta, listBinlogFiles, readHeader, type RelayOptions } from '../../src/units/relay/index.js';
import { silentLogger } from '../../src/log/index.js';
import { DMError } from '../../src/errors/index.js';

const RUNNER = fileURLToPath(new URL('./relay-kill-runner.ts', import.meta.url));

function upstreamFiles(m: MariaDBServer): string[] {
  return readdirSync(m.dataDir).filter((f) => /^mysql-bin\.\d+$/.test(f)).sort();
}

/** Every relay file equals the upstream file of the same name (the last one: a prefix of it, or equal when `whole`). */
function assertRelayEqualsUpstream(m: MariaDBServer, subDirPath: string, whole: boolean): number {
  const files = listBinlogFiles(subDirPath);
  assert.ok(files.length > 0, 'relay has files');
  let bytes = 0;
  files.forEach((f, i) => {
    const relay = readFileSync(join(subDirPath, f));
    const up = readFileSync(join(m.dataDir, f));
    bytes += relay.length;
    const firstDiff = (): number => relay.findIndex((b, k) => b !== up[k]);
    if (i < files.length - 1 || whole) assert.ok(relay.equals(up), `${f}: relay (${relay.length} B) equals the upstream file (${up.length} B), first difference at ${firstDiff()} of ${files.length} files`);
    else assert.ok(relay.equals(up.subarray(0, relay.length)), `${f}: relay is a prefix of the upstream file`);
  });
  return bytes;
}

async function caughtUp(m: MariaDBServer, subDirPath: string): Promise<boolean> {
  const [st] = await m.sql('SHOW MASTER STATUS');
  const file = String(st?.['File']);
  const pos = Number(st?.['Position']);
  const p = join(subDirPath, file);
  return existsSync(p) && statSync(p).size === pos;
}

async function writeLoad(m: MariaDBServer, rounds: number, flushEvery = 0): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await m.sql(`INSERT INTO relayt.t (v, pad) VALUES (?, REPEAT('x', 300)), (?, REPEAT('y', 5000))`, [i, i]);
    if (i % 7 === 0) await m.sql('UPDATE relayt.t SET v = v + 1 WHERE id % 13 = ?', [i % 13]);
    if (flushEvery > 0 && i % flushEvery === flushEvery - 1) await m.sql('FLUSH BINARY LOGS');
  }
}

function options(m: MariaDBServer, dir: string, extra: Partial<RelayOptions> = {}): Omit<RelayOptions, 'logger'> {
  return { sourceId: 'relay-src', conn: m.connOpts(), enableGtid: true, relayDir: dir, serverId: 777001, relayBinlogName: 'mysql-bin.000001', ...extra };
}

test('relay writer on MariaDB', { timeout: 600_000 }, async (t) => {
  const m = await MariaDBServer.start();
  const dirs: string[] = [];
  t.after(async () => {
    await m.stop();
    for (const d of dirs) removeTempDir(d);
  });
  await m.sql('CREATE DATABASE relayt');
  await m.sql('CREATE TABLE relayt.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT, pad TEXT)');
  await writeLoad(m, 40, 15);
  const [{ Value: uuidServer } = {}] = await m.sql("SHOW VARIABLES LIKE 'server_id'");
  const subDir = `0-${String(uuidServer)}.000001`;

  await t.test('relay files are byte-identical to the upstream binlog files, rotation followed', async () => {
    const dir = makeTempDir('relay-bytes');
    dirs.push(dir);
    const relay = new Relay({ ...options(m, dir), logger: silentLogger });
    relay.start();
    try {
      await waitFor('relay caught up', () => caughtUp(m, join(dir, subDir)), { timeoutMs: 60_000 });
      await writeLoad(m, 30, 10);
      await waitFor('relay caught up again', () => caughtUp(m, join(dir, subDir)), { timeoutMs: 60_000 });
      assert.deepEqual(readIndex(dir), [subDir]);
      assert.deepEqual(listBinlogFiles(join(dir, subDir)), upstreamFiles(m));
      assertRelayEqualsUpstream(m, join(dir, subDir), true);
      // the relay reads the upstream's master status every 2 s
      const st = await waitFor('relay reports caught up', async () => (relay.status().relayCatchUpMaster ? relay.status() : undefined), { timeoutMs: 30_000 });
      assert.equal(st.stage, 'Running');
      assert.equal(st.relaySubDir, subDir);
      assert.equal(st.relayCatchUpMaster, true);
      const [{ g } = {}] = await m.sql('SELECT @@gtid_binlog_pos AS g');
      assert.equal(st.relayBinlog.gtid, String(g), 'relay GTID set = upstream gtid_binlog_pos');
      // pause: nothing more is written; resume: catches up
      relay.pause();
      await waitFor('paused', async () => relay.status().stage === 'Paused');
      const sizeBefore = listBinlogFiles(join(dir, subDir)).map((f) => statSync(join(dir, subDir, f)).size);
      await writeLoad(m, 5);
      await new Promise((r) => setTimeout(r, 1500));
      assert.deepEqual(listBinlogFiles(join(dir, subDir)).map((f) => statSync(join(dir, subDir, f)).size), sizeBefore, 'paused relay writes nothing');
      relay.resume();
      await waitFor('resumed relay caught up', () => caughtUp(m, join(dir, subDir)), { timeoutMs: 60_000 });
      assertRelayEqualsUpstream(m, join(dir, subDir), true);
    } finally {
      await relay.close();
    }
    // meta after close: at the end, with the GTID set
    const meta = readMeta(join(dir, subDir))!;
    const [st] = await m.sql('SHOW MASTER STATUS');
    assert.equal(meta.binlogName, String(st?.['File']));
    assert.equal(meta.binlogPos, Number(st?.['Position']));
  });

  await t.test('kill -9 mid-write (also inside an event), then resume: nothing lost or doubled', async () => {
    const dir = makeTempDir('relay-kill');
    dirs.push(dir);
    const spawnRunner = (): ChildProcess => {
      const c = spawn(process.execPath, ['--import', 'tsx', RUNNER, JSON.stringify(options(m, dir))], { stdio: ['ignore', 'pipe', 'inherit'] });
      trackChild(c);
      return c;
    };
    let writer: Promise<void> = Promise.resolve();
    let writing = true;
    writer = (async () => {
      let i = 0;
      while (writing) {
        await writeLoad(m, 3, ++i % 20 === 0 ? 1 : 0);
      }
    })();
    let cutInEvent = 0;
    for (let round = 0; round < 6; round++) {
      const c = spawnRunner();
      const exited = new Promise((r) => c.once('exit', r));
      await waitFor('runner writes', async () => existsSync(join(dir, subDir)) && listBinlogFiles(join(dir, subDir)).length > 0, { timeoutMs: 30_000 });
      await new Promise((r) => setTimeout(r, 200 + Math.random() * 1500));
      c.kill('SIGKILL');
      await exited;
      // simulate a write torn inside an event: cut the last file a few bytes into its last event
      if (round % 2 === 1) {
        const files = listBinlogFiles(join(dir, subDir));
        const last = join(dir, subDir, files[files.length - 1]!);
        const buf = readFileSync(last);
        let p = 4;
        let lastStart = 4;
        while (p + 19 <= buf.length) {
          const h = readHeader(buf, p);
          if (p + h.size > buf.length) break;
          lastStart = p;
          p += h.size;
        }
        if (lastStart > 4 + 19) {
          truncateSync(last, lastStart + 7);
          cutInEvent++;
        }
      }
    }
    writing = false;
    await writer;
    assert.ok(cutInEvent > 0, 'at least one kill left a partial event');
    const c = spawnRunner();
    try {
      await waitFor('relay caught up after the kills', () => caughtUp(m, join(dir, subDir)), { timeoutMs: 120_000 });
      assertRelayEqualsUpstream(m, join(dir, subDir), true);
      assert.deepEqual(listBinlogFiles(join(dir, subDir)), upstreamFiles(m));
    } finally {
      c.kill('SIGTERM');
      await new Promise((r) => c.once('exit', r));
    }
  });

  await t.test('upstream binlogs purged after the relay has them; purge policies; a needed file is refused', async () => {
    const dir = makeTempDir('relay-purge');
    dirs.push(dir);
    const relay = new Relay({ ...options(m, dir), logger: silentLogger });
    relay.start();
    const sub = join(dir, subDir);
    try {
      await waitFor('relay caught up', () => caughtUp(m, sub), { timeoutMs: 60_000 });
      const before = listBinlogFiles(sub);
      const lastUp = upstreamFiles(m).at(-1)!;
      await m.sql(`PURGE BINARY LOGS TO '${lastUp}'`);
      assert.deepEqual(upstreamFiles(m), [lastUp]);
      await writeLoad(m, 10, 4);
      await waitFor('relay follows after the upstream purge', () => caughtUp(m, sub), { timeoutMs: 60_000 });
      assert.ok(listBinlogFiles(sub).length > before.length, 'relay keeps the purged upstream files and adds new ones');
      const all = listBinlogFiles(sub);
      assert.ok(all.length >= 5);
      // refusal: a reader needs all[2]
      const needs = [{ subDir, file: all[2]! }];
      assert.throws(() => purgeRelay(dir, { kind: 'filename', file: all[3]! }, needs), (e: unknown) => e instanceof DMError && e.codeName === 'ErrRelayPurgeNeeded');
      assert.deepEqual(listBinlogFiles(sub), all, 'a refused purge removes nothing');
      assert.throws(() => purgeRelay(dir, { kind: 'filename', file: all.at(-1)!.replace(/\d+$/, (d) => String(Number(d) + 1).padStart(d.length, '0')) }, []), (e: unknown) => e instanceof DMError && e.codeName === 'ErrRelayPurgeNeeded');
      // by filename: files before all[1]
      assert.deepEqual(purgeRelay(dir, { kind: 'filename', file: all[1]! }, needs).map((f) => f.file), [all[0]]);
      // by time: mark all[1] old, all[2] needed stays
      const old = new Date(Date.now() - 48 * 3_600_000);
      utimesSync(join(sub, all[1]!), old, old);
      utimesSync(join(sub, all[2]!), old, old);
      assert.deepEqual(purgeRelay(dir, { kind: 'time', before: new Date(Date.now() - 3_600_000) }, needs).map((f) => f.file), [all[1]]);
      // expires: files older than 24 h, none needed now
      utimesSync(join(sub, all[3]!), old, old);
      assert.deepEqual(purgeRelay(dir, { kind: 'expires', hours: 24 }, []).map((f) => f.file), [all[2], all[3]]);
      assert.deepEqual(purgeRelay(dir, { kind: 'expires', hours: 0 }, []), [], 'expires 0 = never by age');
      // inactive: everything but the active file; the relay keeps going
      purgeRelay(dir, { kind: 'inactive' }, []);
      assert.deepEqual(listBinlogFiles(sub), [all.at(-1)]);
      await writeLoad(m, 5);
      await waitFor('relay caught up after purge', () => caughtUp(m, sub), { timeoutMs: 60_000 });
      assertRelayEqualsUpstream(m, sub, true);
    } finally {
      await relay.close();
    }
    // the worker is bound to another source later: that source's relay does not continue this one
    assert.equal(readFileSync(join(dir, '.dm-source'), 'utf8').trim(), 'relay-src');
    const other = new Relay({ ...options(m, dir, { sourceId: 'other-src', relayBinlogName: '' }), logger: silentLogger });
    other.start();
    try {
      await waitFor('the other source relay caught up', () => caughtUp(m, sub), { timeoutMs: 60_000 });
      const [st] = await m.sql('SHOW MASTER STATUS');
      assert.deepEqual(listBinlogFiles(sub), [String(st?.['File'])], 'the previous relay was removed, the new one starts at the current file');
      assert.equal(readFileSync(join(dir, '.dm-source'), 'utf8').trim(), 'other-src');
    } finally {
      await other.close();
    }
  });
});
