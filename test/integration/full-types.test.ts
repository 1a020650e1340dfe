process.env['TZ'] = 'America/New_York';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer, compareTables, describeDiffs, runUnits } from '../helpers/index.js';
import { createFullUnits } from '../../src/units/full/index.js';

/**
 * loaddata reads rows straight from the result packets (UTF-8 text); with a `from.session` that
 * makes the source send latin1 it must fall back to decoding each value (the latin1 variant
 * compares the tables whose values latin1 can carry).
 */
for (const [importMode, latin1Results] of [
  ['loaddata', false],
  ['sql', false],
  ['loaddata', true],
] as const)
  test(`full (${importMode}${latin1Results ? ', source results in latin1' : ''}): every type arrives exactly, independent of process and server time zones`, async (t) => {
    const [src, dst] = await Promise.all([
      MariaDBServer.start({ extraArgs: ['--default-time-zone=+05:30'] }),
      MariaDBServer.start({ extraArgs: ['--default-time-zone=-08:00'] }),
    ]);
    t.after(async () => {
      await Promise.all([src.stop(), dst.stop()]);
    });
    await src.sql(`CREATE DATABASE ty; CREATE TABLE ty.t (
    id INT PRIMARY KEY,
    ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED, mi MEDIUMINT, miu MEDIUMINT UNSIGNED,
    i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
    d DECIMAL(65,30), d2 DECIMAL(10,0), f FLOAT, db DOUBLE,
    b1 BIT(1), b8 BIT(8), b64 BIT(64),
    dt DATE, tm TIME, tm6 TIME(6), dtm DATETIME, dtm3 DATETIME(3), dtm6 DATETIME(6), ts TIMESTAMP NULL, ts6 TIMESTAMP(6) NULL, y YEAR,
    c CHAR(10), vc VARCHAR(100), tx TEXT, mtx MEDIUMTEXT,
    bn BINARY(4), vb VARBINARY(20), bl BLOB,
    e ENUM('a','b','c d'), st SET('x','y','z'),
    j JSON, g GEOMETRY NULL,
    gv BIGINT AS (i + 1) VIRTUAL, gs VARCHAR(120) AS (CONCAT(vc, '!')) PERSISTENT
  ) DEFAULT CHARSET=utf8mb4;
  CREATE TABLE ty.l1 (id INT PRIMARY KEY, s VARCHAR(20), t TEXT) DEFAULT CHARSET=latin1;
  CREATE TABLE ty.esc (id INT PRIMARY KEY, s TEXT, e ENUM('t\tab', 'b\\\\s', 'plain'), b VARBINARY(10)) DEFAULT CHARSET=utf8mb4;`);
    // text that looks like LOAD DATA's own escapes: \N, trailing backslash, CR, NUL, tab and backslash in ENUM values
    await src.sql(
      "INSERT INTO ty.esc VALUES (1, X'5c4e', 1, X'5c4e'), (2, X'656e6473207769746820205c', 2, X'0a090d00'), (3, X'63720d6c660d0a6e756c0078', 3, ''), (4, '', NULL, NULL), (5, 'N', 3, X'4e')",
    );
    await src.sql(`SET time_zone = '+00:00'; INSERT INTO ty.t (id, ti, tiu, si, siu, mi, miu, i, iu, bi, biu, d, d2, f, db, b1, b8, b64, dt, tm, tm6, dtm, dtm3, dtm6, ts, ts6, y, c, vc, tx, mtx, bn, vb, bl, e, st, j, g) VALUES
   (1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615,
    '-99999999999999999999999999999999999.999999999999999999999999999999', 9999999999, -3.40282e38, -1.7976931348623157e308,
    b'1', b'11111111', b'1111111111111111111111111111111111111111111111111111111111111111',
    '1000-01-01', '-838:59:59', '-838:59:58.999999', '1000-01-01 00:00:00', '2024-02-29 23:59:59.999', '9999-12-31 23:59:59.999999', '1970-01-01 00:00:01', '2038-01-19 03:14:07.999999', 1901,
    '', '', '', '', 0x00000000, 0x00, 0x00ff00, 'a', '', '{}', ST_GeomFromText('POINT(1 2)')),
   (2, 127, 0, 32767, 0, 8388607, 0, 2147483647, 0, 9223372036854775807, 0,
    '99999999999999999999999999999999999.999999999999999999999999999999', -9999999999, 1.17549e-38, 2.2250738585072014e-308,
    b'0', b'0', b'0', '9999-12-31', '838:59:59', '00:00:00.000001', '9999-12-31 23:59:59', '2000-01-01 00:00:00.001', '2021-03-14 02:30:00.000001', '2021-03-14 07:30:00', '2021-11-07 06:30:00.5', 2155,
    'héllo', '😀 emoji 🎉 中文', 'line1\\nline2\\ttab \\\\ back\\'q"', REPEAT('x', 70000), 0x61006200, 0x000000, 0x00, 'c d', 'x,z', '{"a": [1, 2.5, "s", null, true], "b": {"c": "😀"}}', ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0))')),
   (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
   (4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '0.000000000000000000000000000001', 0, 0, 0.1, b'1', b'10000000', b'1000000000000000000000000000000000000000000000000000000000000000',
    '2000-02-29', '00:00:00', '12:34:56.5', '2000-01-01 12:00:00', '2000-01-01 12:00:00.100', '2000-01-01 12:00:00.000100', '2000-01-01 12:00:00', '2000-01-01 12:00:00.000001', 2000,
    'a', ' trailing ', 'NULL', '0', 0x20202020, '', '', 'b', 'x,y,z', '[]', ST_GeomFromText('LINESTRING(0 0, 1 1, 2 1)'))`);
    await src.sql(
      "INSERT INTO ty.l1 VALUES (1, 'caf\\xe9', 'Gr\\xfc\\xdfe'), (2, 'ÀÉÎÕÜ', 'ñ ¿¡ £ © ®'), (3, '', NULL)",
    );

    const { units, load } = createFullUnits({
      taskName: 'types',
      sourceId: 's1',
      taskMode: 'full',
      source: latin1Results
        ? { ...src.connOpts(), session: { character_set_results: 'latin1' } }
        : src.connOpts(),
      target: dst.connOpts(),
      baList: { doDbs: ['ty'] },
      mydumper: { threads: 2, rows: 2 },
      loader: { importMode },
    });
    await runUnits(units);
    assert.equal(load.status()['importMode'], importMode);
    for (const tb of latin1Results ? ['l1', 'esc'] : ['t', 'l1', 'esc']) {
      const d = await compareTables(src.connOpts(), dst.connOpts(), 'ty', tb);
      assert.ok(d.equal, describeDiffs([d]));
      assert.ok(d.sourceRows >= 3);
    }
    // also compare in the servers' own time zones and as hex, so nothing is hidden by client conversion
    const hex = async (s: MariaDBServer): Promise<unknown[]> =>
      s.sql(
        'SELECT id, HEX(f), HEX(db), HEX(b64), UNIX_TIMESTAMP(ts), UNIX_TIMESTAMP(ts6), HEX(g), HEX(bn), HEX(vb), HEX(bl), gv, gs FROM ty.t ORDER BY id',
      );
    if (!latin1Results) assert.deepEqual(await hex(dst), await hex(src));
    const l1 = async (s: MariaDBServer): Promise<unknown[]> =>
      s.sql('SELECT id, HEX(s), HEX(t) FROM ty.l1 ORDER BY id');
    assert.deepEqual(await l1(dst), await l1(src));
    const esc = async (s: MariaDBServer): Promise<unknown[]> =>
      s.sql('SELECT id, HEX(s), HEX(e), HEX(b), s IS NULL AS sn, b IS NULL AS bn FROM ty.esc ORDER BY id');
    assert.deepEqual(await esc(dst), await esc(src));
    await load.close();
  });
