/**
 * The relay's layout helpers and event facts (src/units/relay): relay.meta TOML as DM writes it,
 * sub-directory names, the GTID / transaction tracking of a MariaDB event stream, crash recovery
 * cutting a partial trailing event, and purge ordering across sub-directories with needs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMetaToml, parseSubDir, subDirName, purgeRelay, needOfPosition, readIndex, listBinlogFiles, BINLOG_MAGIC } from '../../src/units/relay/index.js';
import { metaToToml, writeIndex } from '../../src/units/relay/layout.js';
import { TxnTracker, readHeader, EV } from '../../src/units/relay/events.js';
import { recoverSubDir } from '../../src/units/relay/file-writer.js';
import { DMError } from '../../src/errors/index.js';

/** A v4 event with a 4-byte (zero) checksum trailer. */
function ev(type: number, body: Buffer, logPos: number, serverId = 1, flags = 0): Buffer {
  const size = 19 + body.length + 4;
  const b = Buffer.alloc(size);
  b.writeUInt32LE(1_700_000_000, 0);
  b.writeUInt8(type, 4);
  b.writeUInt32LE(serverId, 5);
  b.writeUInt32LE(size, 9);
  b.writeUInt32LE(logPos, 13);
  b.writeUInt16LE(flags, 17);
  body.copy(b, 19);
  return b;
}
function gtidEv(seq: number, domain: number, standalone: boolean, logPos: number): Buffer {
  const body = Buffer.alloc(13);
  body.writeBigUInt64LE(BigInt(seq), 0);
  body.writeUInt32LE(domain, 8);
  body.writeUInt8(standalone ? 1 : 0, 12);
  return ev(EV.MARIADB_GTID, body, logPos);
}

void test('relay.meta: TOML as DM writes it, read back; bad values refused', () => {
  const text = metaToToml({ binlogName: 'mysql-bin.000003', binlogPos: 1234, binlogGtid: '0-1-42' });
  assert.equal(text, 'binlog-name = "mysql-bin.000003"\nbinlog-pos = 1234\nbinlog-gtid = "0-1-42"\n');
  assert.deepEqual(parseMetaToml(text, 'm'), { binlogName: 'mysql-bin.000003', binlogPos: 1234, binlogGtid: '0-1-42' });
  assert.throws(() => parseMetaToml('binlog-pos = -3\n', 'm'), (e: unknown) => e instanceof DMError && e.codeName === 'ErrRelayLayout');
});

void test('sub-directory names: <uuid>.<NNNNNN>', () => {
  assert.equal(subDirName('0-1', 1), '0-1.000001');
  assert.deepEqual(parseSubDir('3ccc475b-2343-11e7-be21-6c0b84d59f30.000012'), { uuid: '3ccc475b-2343-11e7-be21-6c0b84d59f30', n: 12 });
  assert.throws(() => parseSubDir('0-1'), (e: unknown) => e instanceof DMError && e.codeName === 'ErrRelayLayout');
});

void test('TxnTracker: GTID set per domain at transaction ends; standalone DDL; GTID_LIST', () => {
  const t = new TxnTracker('0-1-5');
  const xid = ev(EV.XID, Buffer.alloc(8), 0);
  const g6 = gtidEv(6, 0, false, 0);
  assert.equal(t.feed(g6, readHeader(g6), true), false);
  assert.equal(t.inTransaction, true);
  assert.equal(t.toString(), '0-1-5', 'not before the commit');
  assert.equal(t.feed(xid, readHeader(xid), true), true);
  assert.equal(t.toString(), '0-1-6');
  const ddl = gtidEv(7, 1, true, 0);
  t.feed(ddl, readHeader(ddl), true);
  const q = ev(EV.QUERY, Buffer.alloc(13 + 1 + 10), 0);
  assert.equal(t.feed(q, readHeader(q), true), true, 'a standalone GTID ends at its query');
  assert.equal(t.toString(), '0-1-6,1-1-7');
  // GTID_LIST of a file start: highest sequence per domain
  const list = Buffer.alloc(4 + 16 * 2);
  list.writeUInt32LE(2, 0);
  list.writeUInt32LE(0, 4);
  list.writeUInt32LE(9, 8);
  list.writeBigUInt64LE(20n, 12);
  list.writeUInt32LE(2, 20);
  list.writeUInt32LE(3, 24);
  list.writeBigUInt64LE(4n, 28);
  const gl = ev(EV.MARIADB_GTID_LIST, list, 0);
  t.feed(gl, readHeader(gl), true);
  assert.equal(t.toString(), '0-9-20,1-1-7,2-3-4');
});

void test('recovery cuts a partial trailing event and finds the last transaction boundary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relay-unit-'));
  try {
    const fdeBody = Buffer.alloc(57 + 1);
    const fde = ev(EV.FORMAT_DESCRIPTION, fdeBody, 4 + 19 + 58 + 4);
    let pos = 4 + fde.length;
    const g = gtidEv(11, 0, false, (pos += 19 + 13 + 4));
    const x = ev(EV.XID, Buffer.alloc(8), (pos += 19 + 8 + 4));
    const g2 = gtidEv(12, 0, false, (pos += 19 + 13 + 4));
    const whole = Buffer.concat([BINLOG_MAGIC, fde, g, x, g2]);
    writeFileSync(join(dir, 'mysql-bin.000001'), whole.subarray(0, whole.length - 5));
    const t = new TxnTracker();
    const end = recoverSubDir(dir, { binlogName: 'mysql-bin.000001', binlogPos: 4, binlogGtid: '0-1-10' }, t);
    const xEnd = 4 + fde.length + g.length + x.length;
    assert.equal(end.size, xEnd, 'cut back to the last complete event');
    assert.equal(readFileSync(join(dir, 'mysql-bin.000001')).length, xEnd);
    assert.deepEqual(end.meta, { binlogName: 'mysql-bin.000001', binlogPos: xEnd, binlogGtid: '0-1-11' });
    assert.equal(end.cut, g2.length - 5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('purge across sub-directories: oldest first, needs and the active file kept, emptied sub-directories dropped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relay-purge-'));
  try {
    const subs = ['0-1.000001', '0-2.000002'];
    for (const s of subs) mkdirSync(join(dir, s));
    writeIndex(dir, subs);
    for (const f of ['mysql-bin.000001', 'mysql-bin.000002']) writeFileSync(join(dir, subs[0]!, f), BINLOG_MAGIC);
    for (const f of ['mysql-bin.000007', 'mysql-bin.000008', 'mysql-bin.000009']) writeFileSync(join(dir, subs[1]!, f), BINLOG_MAGIC);
    const need = [{ subDir: subs[1]!, file: 'mysql-bin.000008' }];
    assert.throws(() => purgeRelay(dir, { kind: 'filename', file: 'mysql-bin.000009' }, need), (e: unknown) => e instanceof DMError && e.code === 30006);
    const removed = purgeRelay(dir, { kind: 'inactive' }, need);
    assert.deepEqual(removed.map((f) => `${f.subDir}/${f.file}`), ['0-1.000001/mysql-bin.000001', '0-1.000001/mysql-bin.000002', '0-2.000002/mysql-bin.000007']);
    assert.deepEqual(readIndex(dir), [subs[1]], 'the emptied sub-directory left the index');
    assert.deepEqual(listBinlogFiles(join(dir, subs[1]!)), ['mysql-bin.000008', 'mysql-bin.000009']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('a stored checkpoint as a purge need: by file name, earliest sub-directory; outside the relay kept conservatively', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relay-need-'));
  try {
    const subs = ['0-1.000001', '0-2.000002'];
    for (const s of subs) mkdirSync(join(dir, s));
    writeIndex(dir, subs);
    for (const f of ['mysql-bin.000003', 'mysql-bin.000004']) writeFileSync(join(dir, subs[0]!, f), BINLOG_MAGIC);
    for (const f of ['mysql-bin.000004', 'mysql-bin.000005']) writeFileSync(join(dir, subs[1]!, f), BINLOG_MAGIC);
    assert.deepEqual(needOfPosition(dir, { file: 'mysql-bin.000004' }, 'rt'), { subDir: subs[0], file: 'mysql-bin.000004', by: 'rt' }, 'in two sub-directories: the earlier one');
    assert.deepEqual(needOfPosition(dir, { file: 'mysql-bin.000005' }), { subDir: subs[1], file: 'mysql-bin.000005' });
    assert.deepEqual(needOfPosition(dir, { file: 'mysql-bin.000001' }), { subDir: subs[0], file: 'mysql-bin.000003' }, 'before the relay: keep everything');
    assert.deepEqual(needOfPosition(dir, { file: 'other-bin.000009' }), { subDir: subs[0], file: 'mysql-bin.000003' }, 'another base name: keep everything');
    assert.equal(needOfPosition(dir, { file: 'mysql-bin.000006' }), undefined, 'ahead of the relay: nothing needed');
    // the need from a stored position keeps its file through every kind of purge, the refusal names the task
    const need = needOfPosition(dir, { file: 'mysql-bin.000004' }, 'rt')!;
    assert.throws(() => purgeRelay(dir, { kind: 'filename', file: 'mysql-bin.000005', subDir: subs[1]! }, [need]), (e: unknown) => e instanceof DMError && e.code === 30006 && /task rt still needs/.test(e.message));
    assert.deepEqual(purgeRelay(dir, { kind: 'inactive' }, [need]).map((f) => f.file), ['mysql-bin.000003']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
