import { test } from 'node:test';
import assert from 'node:assert/strict';
import { installZongjiFastpath } from '../../src/binlog/zongji-fastpath.js';

interface ParserCtor {
  new (): { append(b: Buffer): void; parseUnsignedNumber(n: number): number; _offset: number };
}

void test('zongji fast path: installs on zongji 0.9.0 and reads integers exactly as Buffer#readUIntLE', async () => {
  assert.equal(await installZongjiFastpath(), true, 'the installed zongji is the version the fast path supports');
  const { Parser } = (await import(new URL('./lib/reader.js', import.meta.resolve('@vlasky/zongji')).href)) as { Parser: ParserCtor };
  const buf = Buffer.alloc(4096);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 2654435761) >>> 24;
  buf.fill(0xff, 100, 120); // all-ones: the sign bit of 4-byte values must not turn them negative
  const p = new Parser();
  p.append(buf);
  let off = 0;
  const widths = [1, 2, 3, 4, 6, 4, 4, 3, 2, 1];
  for (let k = 0; off + 6 <= buf.length; k++) {
    const w = widths[k % widths.length]!;
    assert.equal(p.parseUnsignedNumber(w), buf.readUIntLE(off, w), `${w} bytes at ${off}`);
    off += w;
    assert.equal(p._offset, off);
  }
  // past the end it still fails as zongji's own reader does
  p._offset = buf.length - 1;
  assert.throws(() => p.parseUnsignedNumber(4), RangeError);
});
