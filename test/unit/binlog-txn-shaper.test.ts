import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TxnShaper, type RawEvent } from '../../src/binlog/txn-shaper.js';
import type { BinlogEvent } from '../../src/binlog/index.js';

const U = '3e11fa47-71ca-11e1-9e33-c80aa9429562';

/** Synthetic zongji-shaped events, as a MySQL 8 server sends them. */
function ev(name: string, nextPosition: number, extra: Partial<RawEvent> = {}): RawEvent {
  return { getEventName: () => name, timestamp: 1_700_000_000_000, nextPosition, size: 10, serverId: 1, ...extra };
}
const rows = (next: number, id: number): RawEvent => ev('writerows', next, { query: String(id) });

/** file 000007 from the start: Previous_gtids, a DML transaction, a DDL, another DML transaction. */
function mysqlFile(): RawEvent[] {
  return [
    ev('rotate', 0, { binlogName: 'b.000007', position: 4 }),
    ev('format', 126),
    ev('previousgtids', 197, { gtidSet: `${U}:1-10` }),
    ev('gtid', 276, { gtid: `${U}:11` }),
    ev('query', 351, { query: 'BEGIN', schema: 'd' }),
    ev('tablemap', 400),
    rows(450, 1),
    rows(500, 2),
    ev('xid', 531),
    ev('gtid', 610, { gtid: `${U}:12` }),
    ev('query', 700, { query: 'ALTER TABLE t ADD c INT', schema: 'd' }),
    ev('gtid', 779, { gtid: `${U}:13` }),
    ev('query', 854, { query: 'BEGIN', schema: 'd' }),
    rows(950, 3),
    ev('xid', 981),
  ];
}

function shaper(out: BinlogEvent[]): TxnShaper {
  return new TxnShaper('mysql', {
    deliver: (e) => out.push(e),
    buildRows: (raw, base) => ({ kind: 'rows', op: 'insert', schema: 'd', table: 't', columns: [], keyColumns: [], uniqueKeys: [], rows: [[Number(raw.query)]], ...base }),
  });
}
const kinds = (evs: BinlogEvent[]): string => evs.map((e) => (e.kind === 'rows' ? `r${String(e.rows[0]?.[0])}` : e.kind)).join(' ');

void test('txn shaper (MySQL): gtid → rows → xid, DDL alone, positions and GTID sets at boundaries', () => {
  const out: BinlogEvent[] = [];
  const s = shaper(out);
  for (const e of mysqlFile()) s.feed(e);
  assert.equal(kinds(out), 'gtid r1 r2 xid gtid query gtid r3 xid');
  const at = (i: number): BinlogEvent => out[i]!;
  assert.deepEqual(at(0).kind === 'gtid' && at(0), { kind: 'gtid', gtid: `${U}:11`, pos: { file: 'b.000007', offset: 4, gtid: `${U}:1-10` }, timestamp: 1_700_000_000, serverId: 1 });
  assert.deepEqual(at(3).pos, { file: 'b.000007', offset: 531, gtid: `${U}:1-11` });
  assert.deepEqual(at(5).pos, { file: 'b.000007', offset: 700, gtid: `${U}:1-12` });
  const ddl = at(5);
  assert.equal(ddl.kind === 'query' ? ddl.sql : ddl.kind, 'ALTER TABLE t ADD c INT');
  assert.deepEqual(at(8).pos, { file: 'b.000007', offset: 981, gtid: `${U}:1-13` });
  assert.deepEqual(s.boundary, at(8).pos);
});

void test('txn shaper (MySQL): a mid-file start without GTID seed reads from offset 4 and suppresses what is before', () => {
  const out: BinlogEvent[] = [];
  const s = shaper(out);
  s.boundary = { file: 'b.000007', offset: 531, gtid: '' };
  s.curFile = 'b.000007';
  s.skipBefore = { file: 'b.000007', offset: 531 };
  for (const e of mysqlFile()) s.feed(e);
  assert.equal(kinds(out), 'gtid query gtid r3 xid');
  assert.deepEqual(out[0]?.pos, { file: 'b.000007', offset: 531, gtid: `${U}:1-11` }, 'GTID set at the start point is known');
  assert.deepEqual(out[1]?.pos.gtid, `${U}:1-12`);
});

void test('txn shaper: a transaction cut off by a reconnect is replayed without duplicates', () => {
  const out: BinlogEvent[] = [];
  const s = shaper(out);
  const file = mysqlFile();
  for (const e of file.slice(0, 7)) s.feed(e); // up to r1: gtid r1 delivered
  assert.equal(kinds(out), 'gtid r1');
  // connection lost; the reader resumes from the boundary (file start) with a new stream
  s.reconnecting();
  for (const e of file.slice(0, 4)) s.feed(e); // replay cut off again right after the gtid event
  s.reconnecting();
  for (const e of file) s.feed(e);
  assert.equal(kinds(out), 'gtid r1 r2 xid gtid query gtid r3 xid');
  assert.equal(out.filter((e) => e.kind === 'gtid').length, 3);
});

void test('txn shaper: anonymous transactions and BEGIN without GTID events; MariaDB GTID list seeding', () => {
  const out: BinlogEvent[] = [];
  const s = shaper(out);
  s.feed(ev('rotate', 0, { binlogName: 'b.000001', position: 4 }));
  s.feed(ev('anonymousgtid', 100));
  s.feed(ev('query', 150, { query: 'BEGIN' }));
  s.feed(rows(200, 1));
  s.feed(ev('query', 250, { query: 'COMMIT' }));
  s.feed(ev('query', 300, { query: 'BEGIN' }));
  s.feed(ev('query', 320, { query: 'SAVEPOINT a' }));
  s.feed(rows(350, 2));
  s.feed(ev('xid', 400));
  assert.equal(kinds(out), 'gtid r1 xid gtid r2 xid');
  assert.equal(out[0]?.kind === 'gtid' && out[0].gtid, '');
  assert.deepEqual(out[5]?.pos, { file: 'b.000001', offset: 400, gtid: '' });

  const m: BinlogEvent[] = [];
  const ms = new TxnShaper('mariadb', { deliver: (e) => m.push(e), buildRows: () => undefined });
  ms.feed(ev('rotate', 0, { binlogName: 'm.000002', position: 4 }));
  ms.feed(ev('mariadbgtidlist', 300, { gtids: [{ domainId: 0, serverId: 1, seqNo: 5 }, { domainId: 1, serverId: 2, seqNo: 9 }] }));
  ms.feed(ev('mariadbgtid', 350, { gtid: '0-1-6' }));
  ms.feed(ev('query', 420, { query: 'CREATE TABLE x (a INT)', schema: 'd' }));
  assert.equal(m.map((e) => e.kind).join(' '), 'gtid query');
  assert.deepEqual(m[1]?.pos, { file: 'm.000002', offset: 420, gtid: '0-1-6,1-2-9' });
});
