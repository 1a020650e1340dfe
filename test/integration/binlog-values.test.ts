import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer } from '../helpers/index.js';
import { createBinlogReader, getMasterStatus, type BinlogEvent, type RowsEvent } from '../../src/binlog/index.js';

/** GEOMETRY values are MySQL's internal format: 4-byte little-endian SRID, then WKB. */
const POINT_1_2 = Buffer.concat([Buffer.from('00000000' + '01' + '01000000', 'hex'), f64(1), f64(2)]);
function f64(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return b;
}

/** Exact values of every type, decoded from the binlog of a server running in a non-UTC zone. */
void test('binlog reader: exact values of every column type (FULL and MINIMAL metadata)', async (t) => {
  for (const meta of ['FULL', 'MINIMAL']) {
    const db = await MariaDBServer.start({ extraArgs: ['--default-time-zone=+05:00', `--binlog-row-metadata=${meta}`] });
    t.after(() => db.stop());
    await db.sql(`CREATE DATABASE ty; CREATE TABLE ty.a (
      id INT PRIMARY KEY,
      ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT, mu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED,
      bi BIGINT, bu BIGINT UNSIGNED, de DECIMAL(65,30), dbl DOUBLE, fl FLOAT, b8 BIT(8), b3 BIT(3), b64 BIT(64),
      dt DATETIME(6), ts TIMESTAMP(6) NULL, d DATE, tm TIME(3), y YEAR,
      emoji VARCHAR(20) CHARACTER SET utf8mb4, l1 VARCHAR(20) CHARACTER SET latin1, bin VARBINARY(10), fb BINARY(4),
      e ENUM('x','y','z'), s SET('a','b','c'), j JSON, txt TEXT, blb BLOB, nul VARCHAR(5), emp VARCHAR(5), g GEOMETRY
    )`);
    const c = await db.connect();
    const start = await getMasterStatus(c);
    await c.query("SET time_zone='+05:00'");
    await c.query(`INSERT INTO ty.a VALUES
      (1, 127, 255, 32767, 8388607, 16777215, 2147483647, 4294967295,
       9223372036854775807, 18446744073709551615, '12345678901234567890123456789012345.123456789012345678901234567890',
       1.7976931348623157e308, 1.5, b'10100101', b'101', b'1111111111111111111111111111111111111111111111111111111111111110',
       '2024-02-29 23:59:59.123456', '2024-06-01 12:00:00.654321', '2024-02-29', '-12:34:56.789', 2155,
       '😀x', 'café', X'000100ff', 'ab', 'z', 'a,c', '{"k": [1, 2.5, "x"], "big": 18446744073709551615}', 'hello', X'00ff00', NULL, '', ST_GeomFromText('POINT(1 2)')),
      (2, -128, 0, -32768, -8388608, 0, -2147483648, 0,
       -9223372036854775808, 0, '-99999999999999999999999999999999999.999999999999999999999999999999',
       -2.2250738585072014e-308, -0.25, b'0', b'0', b'0',
       '1000-01-01 00:00:00.000001', '1970-01-01 05:00:01.000000', '1000-01-01', '00:00:00', 0,
       '', '', X'', X'', 'x', '', '[]', '', X'', NULL, '', NULL)`);
    await c.end();
    const r = createBinlogReader({ connection: db.connOpts(), flavor: 'mariadb', serverId: 7000 + (process.pid % 900), start: { file: start.file, offset: start.offset }, heartbeatMs: 0 });
    await r.start(AbortSignal.timeout(20_000));
    let rows: RowsEvent | undefined;
    try {
      for await (const ev of r as AsyncIterable<BinlogEvent>) {
        if (ev.kind === 'rows') rows = ev;
        if (ev.kind === 'xid') break;
      }
    } finally {
      await r.close();
    }
    assert.ok(rows, 'a rows event');
    const byName = (row: unknown[]): Record<string, unknown> => Object.fromEntries(rows.columns.map((col, i) => [col.name, row[i]]));
    const [r1, r2] = rows.rows.map(byName);
    assert.deepEqual(r1, {
      id: 1, ti: 127, tiu: 255, si: 32767, mi: 8388607, mu: 16777215, i: 2147483647, iu: 4294967295,
      bi: '9223372036854775807', bu: '18446744073709551615',
      de: '12345678901234567890123456789012345.123456789012345678901234567890',
      dbl: 1.7976931348623157e308, fl: 1.5,
      b8: Buffer.from([0xa5]), b3: Buffer.from([5]), b64: Buffer.from('fffffffffffffffe', 'hex'),
      dt: '2024-02-29 23:59:59.123456', ts: '2024-06-01 07:00:00.654321', d: '2024-02-29', tm: '-12:34:56.789', y: 2155,
      emoji: '😀x', l1: 'café', bin: Buffer.from('000100ff', 'hex'), fb: Buffer.from('61620000', 'hex'),
      e: 'z', s: 'a,c', j: '{"k": [1, 2.5, "x"], "big": 18446744073709551615}', txt: 'hello', blb: Buffer.from('00ff00', 'hex'),
      nul: null, emp: '', g: POINT_1_2,
    }, `metadata ${meta}`);
    assert.deepEqual(r2, {
      id: 2, ti: -128, tiu: 0, si: -32768, mi: -8388608, mu: 0, i: -2147483648, iu: 0,
      bi: '-9223372036854775808', bu: 0,
      de: '-99999999999999999999999999999999999.999999999999999999999999999999',
      dbl: -2.2250738585072014e-308, fl: -0.25,
      b8: Buffer.from([0]), b3: Buffer.from([0]), b64: Buffer.alloc(8),
      dt: '1000-01-01 00:00:00.000001', ts: '1970-01-01 00:00:01.000000', d: '1000-01-01', tm: '00:00:00.000', y: 0,
      emoji: '', l1: '', bin: Buffer.alloc(0), fb: Buffer.alloc(4), e: 'x', s: '', j: '[]', txt: '', blb: Buffer.alloc(0),
      nul: null, emp: '', g: null,
    }, `metadata ${meta}`);
    const types = Object.fromEntries(rows.columns.map((col) => [col.name, col.type]));
    assert.equal(types['de'], 'decimal');
    assert.equal(types['bu'], 'bigint');
    assert.equal(rows.columns.find((col) => col.name === 'bu')?.unsigned, true);
    assert.deepEqual(rows.keyColumns, ['id']);
    await db.stop();
  }
});

/** GEOMETRY comes back as the internal value (SRID + WKB) and writes back exactly with ST_GeomFromWKB. */
void test('binlog reader: GEOMETRY values keep their SRID and round-trip exactly', async (t) => {
  const db = await MariaDBServer.start({ extraArgs: ['--binlog-row-metadata=MINIMAL'] });
  t.after(() => db.stop());
  await db.sql('CREATE DATABASE geo; CREATE TABLE geo.src (id INT PRIMARY KEY, g GEOMETRY, p POINT); CREATE TABLE geo.dst LIKE geo.src; CREATE TABLE geo.bin LIKE geo.src');
  const c = await db.connect();
  const start = await getMasterStatus(c);
  const shapes = [
    "ST_GeomFromText('POINT(1.5 -2.25)', 4326)",
    "ST_GeomFromText('LINESTRING(0 0, 1 1, 2 0.5)', 3857)",
    "ST_GeomFromText('POLYGON((0 0, 4 0, 4 4, 0 4, 0 0), (1 1, 2 1, 2 2, 1 1))')",
    "ST_GeomFromText('MULTIPOINT(1 1, 2 2)', 4326)",
    "ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 1), LINESTRING(0 0, 1 1))', 27700)",
  ];
  await c.query(`INSERT INTO geo.src VALUES ${shapes.map((g, i) => `(${i + 1}, ${g}, ST_GeomFromText('POINT(${i} ${i})', ${i === 0 ? 4326 : 0}))`).join(', ')}`);
  const r = createBinlogReader({ connection: db.connOpts(), flavor: 'mariadb', serverId: 7900 + (process.pid % 90), start: { file: start.file, offset: start.offset }, heartbeatMs: 0 });
  await r.start(AbortSignal.timeout(20_000));
  let rows: RowsEvent | undefined;
  try {
    for await (const ev of r as AsyncIterable<BinlogEvent>) {
      if (ev.kind === 'rows') rows = ev;
      if (ev.kind === 'xid') break;
    }
  } finally {
    await r.close();
  }
  assert.ok(rows, 'a rows event');
  assert.equal(rows.rows.length, shapes.length);
  const first = rows.rows[0]!;
  assert.ok(Buffer.isBuffer(first[1]), 'GEOMETRY is a Buffer');
  assert.equal(first[1].readUInt32LE(0), 4326, 'the SRID is kept');
  // write the decoded values back: SRID from the first 4 bytes, WKB after them
  for (const row of rows.rows) {
    const [id, g, p] = row as [number, Buffer, Buffer];
    await c.query('INSERT INTO geo.dst VALUES (?, ST_GeomFromWKB(?, ?), ST_GeomFromWKB(?, ?))', [id, g.subarray(4), g.readUInt32LE(0), p.subarray(4), p.readUInt32LE(0)]);
    // or the internal value bound as it is
    await c.query('INSERT INTO geo.bin VALUES (?, ?, ?)', [id, g, p]);
  }
  const [diffBin] = await c.query('SELECT s.id FROM geo.src s JOIN geo.bin d USING (id) WHERE HEX(s.g) <> HEX(d.g) OR HEX(s.p) <> HEX(d.p)');
  assert.deepEqual(diffBin, []);
  const [diff] = await c.query(
    'SELECT s.id FROM geo.src s JOIN geo.dst d USING (id) WHERE ST_AsBinary(s.g) <> ST_AsBinary(d.g) OR ST_SRID(s.g) <> ST_SRID(d.g) OR ST_AsBinary(s.p) <> ST_AsBinary(d.p) OR ST_SRID(s.p) <> ST_SRID(d.p)',
  );
  assert.deepEqual(diff, []);
  const [n] = await c.query('SELECT COUNT(*) AS n FROM geo.dst');
  assert.equal(Number((n as { n: unknown }[])[0]?.n), shapes.length);
  // and the internal value itself is byte-for-byte what the server stores
  const [raw] = await c.query('SELECT HEX(g) AS g FROM geo.src ORDER BY id');
  assert.deepEqual(
    (raw as { g: string }[]).map((x) => x.g),
    rows.rows.map((row) => (row[1] as Buffer).toString('hex').toUpperCase()),
  );
  await c.end();
});
