/**
 * The TABLE_MAP check (src/binlog/table-map-check.ts): a tracked structure that differs from the
 * binlog in type or metadata, not only in column count, is refused before it names any column.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SchemaTracker, type TrackedTable } from '../../src/binlog/index.js';
import { T, tableMapMismatch, describeBinlog, type TableMapInfo } from '../../src/binlog/table-map-check.js';

function tracked(ddl: string): TrackedTable {
  const tr = new SchemaTracker({ flavor: 'mariadb' });
  tr.applyDDL('db', ddl);
  const t = tr.get('db', 't');
  assert.ok(t && t !== 'unknown');
  return t;
}

/** A TABLE_MAP as zongji decodes it (before updateColumnInfo): [type, metadata] per column. */
function tm(cols: [number, Record<string, number>?][], extra: Partial<TableMapInfo> = {}): TableMapInfo {
  return { columnCount: cols.length, columnTypes: cols.map((c) => c[0]), columnsMetadata: cols.map((c) => c[1]), ...extra };
}

const ALL = `CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10), d DECIMAL(10,2), dt DATETIME(3), b BIT(5), e ENUM('x','y'), tx TEXT,
  c CHAR(4), vb VARBINARY(7), big BIGINT UNSIGNED, ts TIMESTAMP NULL, dd DATE, y YEAR, f FLOAT, g DOUBLE, j JSON, lb LONGBLOB) DEFAULT CHARSET=utf8mb4`;
const ALL_BINLOG: [number, Record<string, number>?][] = [
  [T.LONG],
  [T.VARCHAR, { max_length: 40 }],
  [T.NEWDECIMAL, { precision: 10, decimals: 2 }],
  [T.DATETIME2, { decimals: 3 }],
  [T.BIT, { bits: 5 }],
  [T.STRING, { type: T.ENUM, size: 1 }],
  [T.BLOB, { length_size: 2 }],
  [T.STRING, { max_length: 16 }],
  [T.VARCHAR, { max_length: 7 }],
  [T.LONGLONG],
  [T.TIMESTAMP2, { decimals: 0 }],
  [T.DATE],
  [T.YEAR],
  [T.FLOAT, { size: 4 }],
  [T.DOUBLE, { size: 8 }],
  [T.BLOB, { length_size: 4 }],
  [T.BLOB, { length_size: 4 }],
];

void test('table map check: a structure that matches every type and metadata passes', () => {
  assert.equal(tableMapMismatch(tracked(ALL), tm(ALL_BINLOG)), undefined);
  // MINIMAL metadata also carries signedness
  const sign = ALL_BINLOG.map((c, i) => (i === 9 ? true : ([T.LONG, T.NEWDECIMAL, T.FLOAT, T.DOUBLE] as number[]).includes(c[0]) ? false : undefined));
  assert.equal(tableMapMismatch(tracked(ALL), tm(ALL_BINLOG, { signedness: sign })), undefined);
});

void test('table map check: same column count, different types or metadata → the column and both structures are named', () => {
  const t = tracked('CREATE TABLE t (id INT PRIMARY KEY, a INT, b VARCHAR(10)) CHARSET=latin1');
  assert.equal(tableMapMismatch(t, tm([[T.LONG], [T.LONG], [T.VARCHAR, { max_length: 10 }]])), undefined);
  // columns swapped: b VARCHAR(10), a INT
  const swapped = tm([[T.LONG], [T.VARCHAR, { max_length: 10 }], [T.LONG]]);
  assert.match(tableMapMismatch(t, swapped) ?? '', /column 2 \(tracked as a int\) is varchar\(max_length=10\) in the binlog/);
  assert.equal(describeBinlog(swapped), '(long, varchar(max_length=10), long)');
  // INT tracked, BIGINT in the binlog
  assert.match(tableMapMismatch(t, tm([[T.LONG], [T.LONGLONG], [T.VARCHAR, { max_length: 10 }]])) ?? '', /column 2 .* is longlong/);
  // VARCHAR(10) tracked, VARCHAR(20) in the binlog
  assert.match(tableMapMismatch(t, tm([[T.LONG], [T.LONG], [T.VARCHAR, { max_length: 20 }]])) ?? '', /expected max_length=10/);
  // a MariaDB COMPRESSED column: the type is checked, its length metadata is not comparable
  assert.equal(tableMapMismatch(t, tm([[T.LONG], [T.LONG], [T.VARCHAR_COMPRESSED, { max_length: 11 }]])), undefined);
  // the count still counts
  assert.match(tableMapMismatch(t, tm([[T.LONG], [T.LONG]])) ?? '', /3 columns, the binlog 2/);
  // signedness from MINIMAL metadata
  assert.match(tableMapMismatch(t, tm([[T.LONG], [T.LONG], [T.VARCHAR, { max_length: 10 }]], { signedness: [false, true, undefined] })) ?? '', /column 2 .* is unsigned/);
  // FULL metadata: the names are compared as well
  assert.match(tableMapMismatch(t, tm([[T.LONG], [T.LONG], [T.VARCHAR, { max_length: 10 }]], { columnNames: ['id', 'b', 'a'] })) ?? '', /is named b/);
});

void test('table map check: decimal scale, fractional seconds, bit width, text size, enum vs set', () => {
  const t = tracked("CREATE TABLE t (d DECIMAL(10,2), dt DATETIME(6), b BIT(3), x MEDIUMTEXT, e SET('a'))");
  const ok: [number, Record<string, number>?][] = [
    [T.NEWDECIMAL, { precision: 10, decimals: 2 }],
    [T.DATETIME2, { decimals: 6 }],
    [T.BIT, { bits: 3 }],
    [T.BLOB, { length_size: 3 }],
    [T.STRING, { type: T.SET, size: 1 }],
  ];
  assert.equal(tableMapMismatch(t, tm(ok)), undefined);
  const bad = (i: number, c: [number, Record<string, number>?]): string | undefined => tableMapMismatch(t, tm(ok.map((x, j) => (j === i ? c : x))));
  assert.match(bad(0, [T.NEWDECIMAL, { precision: 10, decimals: 3 }]) ?? '', /expected decimals=2/);
  assert.match(bad(1, [T.DATETIME2, { decimals: 0 }]) ?? '', /expected decimals=6/);
  assert.match(bad(2, [T.BIT, { bits: 8 }]) ?? '', /expected bits=3/);
  assert.match(bad(3, [T.BLOB, { length_size: 2 }]) ?? '', /expected length_size=3/);
  assert.match(bad(4, [T.STRING, { type: T.ENUM, size: 1 }]) ?? '', /is enum/);
  // a classic (pre-5.6) DATETIME carries no fractional metadata: accepted
  assert.equal(bad(1, [T.DATETIME]), undefined);
});

void test('table map check: text length needs a known character set; unknown types are not judged', () => {
  // no table/database charset known: VARCHAR's byte length cannot be told, the type still is
  const t = tracked('CREATE TABLE t (a VARCHAR(10), b INT)');
  // a MariaDB data type plugin the check knows only by its binary width
  t.columns[1] = { ...t.columns[1]!, name: 'b', columnType: 'inet6', dataType: 'inet6', charset: null };
  assert.equal(tableMapMismatch(t, tm([[T.VARCHAR, { max_length: 30 }], [T.STRING, { max_length: 16 }]])), undefined);
  assert.match(tableMapMismatch(t, tm([[T.LONG], [T.STRING, { max_length: 16 }]])) ?? '', /column 1/);
  t.columns[1] = { ...t.columns[1], columnType: 'vector(3)', dataType: 'vector' };
  assert.equal(tableMapMismatch(t, tm([[T.VARCHAR, { max_length: 30 }], [T.VARCHAR, { max_length: 12 }]])), undefined);
});
