import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineBuffer, appendRowLine, rowKey } from '../../src/units/full/raw-lines.js';
import { fieldKinds, makeLineEncoder } from '../../src/units/full/tsv-encoder.js';
import type { ColumnInfo } from '../../src/units/full/index.js';

/** A text-protocol row payload: each value length-encoded, NULL as 0xfb. */
function rowPacket(values: (Buffer | null)[]): Buffer {
  const parts: Buffer[] = [];
  for (const v of values) {
    if (v === null) parts.push(Buffer.from([0xfb]));
    else if (v.length < 0xfb) parts.push(Buffer.from([v.length]), v);
    else if (v.length < 1 << 16) parts.push(Buffer.from([0xfc, v.length & 0xff, v.length >> 8]), v);
    else parts.push(Buffer.from([0xfd, v.length & 0xff, (v.length >> 8) & 0xff, v.length >> 16]), v);
  }
  return Buffer.concat(parts);
}

const col = (name: string, dataType: string): ColumnInfo => ({ name, dataType }) as ColumnInfo;
const COLS = [
  col('id', 'int'),
  col('t', 'varchar'),
  col('n', 'varchar'),
  col('b', 'varbinary'),
  col('big', 'text'),
  col('huge', 'longtext'),
  col('d', 'decimal'),
];
const TEXT = 'a\tb\nc\rd\\e\0f 😀 ü';
const BIG = 'x'.repeat(300);
const HUGE = 'y\t'.repeat(40_000);

void test('raw rows: packet bytes become the same LOAD DATA line the value encoder writes', () => {
  const pkt = rowPacket([
    Buffer.from('42'),
    Buffer.from(TEXT, 'utf8'),
    null,
    Buffer.from([0, 255, 10, 92]),
    Buffer.from(BIG),
    Buffer.from(HUGE),
    Buffer.from('-0.000000000000000000000000000001'),
  ]);
  // the packet sits inside a larger buffer, as mysql2 hands it over
  const framed = Buffer.concat([Buffer.from('junk'), pkt, Buffer.from('tail')]);
  const out = new LineBuffer(16);
  appendRowLine(out, framed, 4, 4 + pkt.length, fieldKinds(COLS));
  appendRowLine(out, framed, 4, 4 + pkt.length, fieldKinds(COLS));
  const expected = makeLineEncoder(COLS)([
    42,
    TEXT,
    null,
    Buffer.from([0, 255, 10, 92]),
    BIG,
    HUGE,
    '-0.000000000000000000000000000001',
  ]);
  assert.equal(out.data().toString('utf8'), expected + expected);
  assert.match(
    expected,
    /^42\ta\\tb\\nc\\rd\\\\e\\0f 😀 ü\t\\N\t00ff0a5c\tx{300}\t(y\\t){40000}\t-0\.0+1\n$/u,
  );
});

void test('raw rows: the last row key for the next page (numbers, text, hex, NULL)', () => {
  const pkt = rowPacket([Buffer.from('7'), Buffer.from('ü-key'), null, Buffer.from([1, 2])]);
  assert.deepEqual(rowKey(pkt, 0, [0, 1, 3], COLS), [7, 'ü-key', { hex: '0102' }]);
  assert.deepEqual(rowKey(pkt, 0, [2], COLS), [null]);
});
