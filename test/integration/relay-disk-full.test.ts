/**
 * Disk full (docs/relay.md "Errors and stages"): the relay writes into a small tmpfs; when it is
 * full the relay pauses with ErrRelayWriteFile (30001), its files are whole-event prefixes of the
 * upstream's (nothing half-written), and once space returns (the tmpfs grown) it resumes by itself
 * and the files equal the upstream's byte for byte. Needs root (mount -t tmpfs); skipped otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MariaDBServer, makeTempDir, removeTempDir, waitFor } from '../helpers/index.js';
import { Relay, listBinlogFiles, readHeader, readIndex } from '../../src/units/relay/index.js';
import { silentLogger } from '../../src/log/index.js';

function mount(dir: string, sizeKb: number, remount = false): boolean {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `${remount ? 'remount,' : ''}size=${sizeKb}k`, 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0;
}

test('relay on a full disk pauses with 30001, loses nothing, resumes when space returns', { timeout: 300_000 }, async (t) => {
  const base = makeTempDir('relay-disk');
  const mnt = join(base, 'mnt');
  mkdirSync(mnt);
  if (process.getuid?.() !== 0 || !mount(mnt, 1024)) {
    removeTempDir(base);
    t.skip('needs root to mount a tmpfs');
    return;
  }
  const m = await MariaDBServer.start();
  t.after(async () => {
    await m.stop();
    spawnSync('umount', [mnt]);
    removeTempDir(base);
  });
  await m.sql('CREATE DATABASE df');
  await m.sql('CREATE TABLE df.t (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT)');
  for (let i = 0; i < 60; i++) await m.sql("INSERT INTO df.t (v) VALUES (REPEAT('d', 40000))"); // ~2.4 MB of binlog
  const dir = join(mnt, 'relay');
  const relay = new Relay({ sourceId: 'df', conn: m.connOpts(), enableGtid: true, relayDir: dir, serverId: 999101, relayBinlogName: 'mysql-bin.000001', logger: silentLogger });
  relay.start();
  try {
    const st = await waitFor('relay paused by the full disk', async () => {
      const s = relay.status();
      return s.errors[0]?.code === 30001 ? s : undefined;
    }, { timeoutMs: 60_000 });
    assert.equal(st.stage, 'Paused');
    const sub = join(dir, readIndex(dir)[0]!);
    const file = join(sub, listBinlogFiles(sub)[0]!);
    const relayBytes = readFileSync(file);
    const up = readFileSync(join(m.dataDir, 'mysql-bin.000001'));
    assert.ok(relayBytes.length < up.length, 'the disk filled before the relay had everything');
    assert.ok(relayBytes.equals(up.subarray(0, relayBytes.length)), 'what was written is the upstream prefix');
    // the file ends at an event boundary
    let p = 4;
    while (p < relayBytes.length) p += readHeader(relayBytes, p).size;
    assert.equal(p, relayBytes.length, 'no partial event left in the relay file');

    // space returns: the relay resumes by itself and catches up
    assert.ok(mount(mnt, 16 * 1024, true), 'grow the tmpfs');
    await waitFor('relay resumed and caught up', async () => existsSync(file) && statSync(file).size === up.length && relay.status().stage === 'Running', { timeoutMs: 60_000 });
    assert.ok(readFileSync(file).equals(readFileSync(join(m.dataDir, 'mysql-bin.000001'))), 'relay file equals the upstream file');
    assert.deepEqual(relay.status().errors, []);
  } finally {
    await relay.close();
  }
});
