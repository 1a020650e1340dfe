/**
 * The events a shard coordinator holds back while a shard table waits for a DDL lock, in binlog
 * order: transactions (their row changes) and QUERY events (the caller's own record `Q`), each with
 * the upstream tables (`schema\u0000table`) it touches. Used by the pessimist and the optimist
 * (shard-pessimist.ts, shard-optimist.ts): DM re-reads held rows from the binlog, DM.ts keeps them here.
 *
 * `drain()` takes out everything pushed before it was called, in order; events pushed while it
 * runs (held again) go to the queue as it is then, and come out of the next drain.
 *
 * Memory: up to `memBytes` of transactions (UpstreamTxn.bytes) are kept as they are. Beyond it the
 * rows of further held transactions (their `changes`, causality `keys` and `upTables`) are written to
 * a spill file and the transaction object keeps only its skeleton (id, positions, track entry);
 * drain reads the rows back in order. The spill file is per queue generation (what one drain
 * takes): `<dir>/dmts-held-<task>-<source>-<pid>-<random>.spill`, created exclusively with mode
 * 0600, removed when its generation is drained or the queue is closed. A file left by a process
 * that ended without closing (kill -9) is removed when the next queue of the same subtask is
 * created: nothing is ever read from a file the queue did not write itself (a restart re-reads
 * the held rows from the binlog, the checkpoint never passes them).
 *
 * Disk: the spill file of the queue may grow to `maxDiskBytes`, and the file system keeps at least
 * `minFreeBytes` free; else push() fails with ErrSyncShardHoldTooLarge (36104).
 *
 * Row values are written with a typed binary encoding (length-prefixed records), so what comes
 * back is exactly what went in: null/undefined, booleans, numbers (-0, NaN, ±Infinity), bigints,
 * strings (also ones that are not well-formed UTF-16), Buffers/Uint8Arrays (as Buffers), Dates,
 * arrays and plain objects of those.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsc, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DMError } from '../../errors/index.js';
import type { RowChange, UpstreamTxn } from './txn.js';

export type HeldItem<Q> = { kind: 'txn'; txn: UpstreamTxn } | { kind: 'query'; q: Q };

export interface HeldQueueOptions {
  /** Bytes of held transactions (UpstreamTxn.bytes) kept in memory; beyond, rows go to the spill file (default: unbounded). */
  memBytes?: number;
  /** Directory of the spill file (default: os.tmpdir()). */
  dir?: string;
  /** Names the spill file: the task and source of the subtask (sanitised). */
  task?: string;
  source?: string;
  /** Bytes the spill file may reach (default: unbounded). */
  maxDiskBytes?: number;
  /** Free bytes the spill directory's file system must keep (default: 0). */
  minFreeBytes?: number;
  /** What is blocked, for the 36104 message (e.g. the shard tables that reached a DDL). */
  describe?: () => string;
}

/** A held transaction whose rows are in the spill file (its `changes`/`keys` emptied meanwhile). */
interface SpilledTxn {
  kind: 'spilled';
  txn: UpstreamTxn;
}

type Entry<Q> = HeldItem<Q> | SpilledTxn;

const WRITE_CHUNK = 1 << 20;
/** How often (bytes written) the free space of the spill directory is checked again. */
const STATFS_EVERY = 16 << 20;
const FILE_PREFIX = 'dmts-held-';

/** Paths of spill files of live queues of this process (never swept). */
const live = new Set<string>();

/** One generation of the queue: its events in order, the spill file of its spilled rows. */
class Generation<Q> {
  entries: Entry<Q>[] = [];
  tables = new Map<string, number>();
  bytes = 0;
  memBytes = 0;
  spill: SpillFile | undefined;
}

export class HeldQueue<Q> {
  private g = new Generation<Q>();
  private readonly o: HeldQueueOptions;
  /** Generations being drained (their spill files are removed by close() too). */
  private readonly draining = new Set<Generation<Q>>();
  private closed = false;
  /** Removing the files left by killed runs of the subtask (started with the queue when it may spill). */
  private readonly swept: Promise<void> | undefined;

  constructor(opts: HeldQueueOptions = {}) {
    this.o = opts;
    this.swept =
      opts.memBytes !== undefined ? sweep(this.dir(), this.base()).catch(() => undefined) : undefined;
  }

  private dir(): string {
    return this.o.dir ?? tmpdir();
  }

  private base(): string {
    return `${FILE_PREFIX}${safeName(this.o.task ?? '')}-${safeName(this.o.source ?? '')}-`;
  }

  /** Hold an event back (after every event held before it). */
  async push(item: HeldItem<Q>, tables: Iterable<string>): Promise<void> {
    if (this.closed) throw new DMError('ErrInternal', 'held-back event pushed to a closed queue');
    const g = this.g;
    if (item.kind === 'txn') {
      const t = item.txn;
      const mem = this.o.memBytes;
      if (mem !== undefined && g.memBytes + t.bytes > mem && t.changes.length > 0) {
        g.spill ??= await this.createSpill();
        await g.spill.append(encodeTxnRows(t, g.spill.shapes), (size) => this.overDisk(size));
        // shared empties while spilled: ~0.2 KB less per held transaction (only the queue holds it now)
        t.changes = SPILLED_CHANGES;
        t.keys = SPILLED_KEYS;
        delete t.upTables;
        g.entries.push({ kind: 'spilled', txn: t });
      } else {
        g.memBytes += t.bytes;
        g.entries.push(item);
      }
      g.bytes += t.bytes;
    } else g.entries.push(item);
    for (const t of tables) g.tables.set(t, (g.tables.get(t) ?? 0) + 1);
  }

  /** Whether a held event touches this upstream table (`schema\u0000table`). */
  has(table: string): boolean {
    return this.g.tables.has(table);
  }

  /** Held events. */
  get size(): number {
    return this.g.entries.length;
  }

  /** Bytes of the held transactions (UpstreamTxn.bytes), in memory and spilled. */
  get bytes(): number {
    return this.g.bytes;
  }

  /** Bytes of the spill file (0 when nothing is spilled). */
  get diskBytes(): number {
    return this.g.spill?.size ?? 0;
  }

  /** The spill file, if rows are spilled. */
  get spillPath(): string | undefined {
    return this.g.spill?.path;
  }

  /**
   * Take out every event held now, in order. The queue is empty as soon as this is called: what
   * the caller pushes while iterating is kept for the next drain. Leaving the iteration early
   * drops the rest (and removes its spill file).
   */
  drain(): AsyncIterable<HeldItem<Q>> {
    const g = this.g;
    this.g = new Generation<Q>();
    this.draining.add(g);
    const draining = this.draining;
    return {
      [Symbol.asyncIterator]: async function* () {
        try {
          const reader = g.spill ? await g.spill.reader() : undefined;
          for (let i = 0; i < g.entries.length; i++) {
            const e = g.entries[i]!;
            g.entries[i] = undefined as unknown as Entry<Q>; // let what was yielded go
            if (e.kind !== 'spilled') {
              yield e;
              continue;
            }
            const rec = await reader!.next();
            decodeTxnRows(rec, e.txn, g.spill!.shapes);
            yield { kind: 'txn', txn: e.txn };
          }
        } finally {
          draining.delete(g);
          await g.spill?.remove();
        }
      },
    };
  }

  /** Drop everything held and remove the spill files (the run ends: nothing held was applied, a restart reads it again). */
  async close(): Promise<void> {
    this.closed = true;
    const gs = [this.g, ...this.draining];
    this.g = new Generation<Q>();
    this.draining.clear();
    await this.swept;
    for (const g of gs) await g.spill?.remove();
  }

  private async createSpill(): Promise<SpillFile> {
    const dir = this.dir();
    const base = this.base();
    await this.swept;
    await this.checkFree(dir, 0);
    const path = join(dir, `${base}${process.pid}-${randomBytes(6).toString('hex')}.spill`);
    let fh: fsp.FileHandle;
    try {
      // exclusive: a file of that name (another run's) is never opened, let alone reused
      fh = await fsp.open(path, fsc.O_CREAT | fsc.O_EXCL | fsc.O_RDWR, 0o600);
    } catch (e) {
      throw new DMError(
        'ErrSyncShardHoldTooLarge',
        `cannot create the spill file ${path} for rows held back by a shard DDL lock: ${(e as Error).message}`,
      );
    }
    live.add(path);
    return new SpillFile(path, fh, (written) => this.checkFree(dir, written));
  }

  private async checkFree(dir: string, written: number): Promise<void> {
    const min = this.o.minFreeBytes ?? 0;
    if (min <= 0) return;
    const st = await fsp.statfs(dir);
    const free = st.bavail * st.bsize;
    if (free < min)
      throw this.diskError(
        `the file system of ${dir} has ${free} bytes free, less than the ${min} bytes it must keep`,
        written,
      );
  }

  private overDisk(size: number): DMError | undefined {
    const max = this.o.maxDiskBytes;
    if (max !== undefined && size > max)
      return this.diskError(`the spill file would exceed its limit of ${max} bytes`, this.g.spill?.size ?? 0);
    return undefined;
  }

  private diskError(why: string, written: number): DMError {
    const g = this.g;
    const what = this.o.describe?.() ?? '';
    return new DMError(
      'ErrSyncShardHoldTooLarge',
      `${g.entries.length} events (${g.bytes} bytes of rows, ${written} bytes on disk${g.spill ? ` in ${g.spill.path}` : ''}) held back waiting for shard DDL locks${what ? ` (${what})` : ''}: ${why}`,
    );
  }
}

/** Remove spill files of this subtask (`base`) that no live queue of this process writes (left by a killed run). */
async function sweep(dir: string, base: string): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(base) || !n.endsWith('.spill')) continue;
    const path = join(dir, n);
    if (live.has(path)) continue;
    const pid = Number(n.slice(base.length).split('-')[0]);
    if (Number.isInteger(pid) && pid !== process.pid && alive(pid)) continue; // another process's run of the same names
    await fsp.rm(path, { force: true }).catch(() => undefined);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function safeName(s: string): string {
  return s
    .replace(/[^A-Za-z0-9_.]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .slice(0, 80);
}

/** The spill file of one generation: records appended (buffered), then read back once, in order. */
class SpillFile {
  /** The row-change shapes (all but op and images), interned: records refer to them by index. */
  readonly shapes = new Shapes();
  /** Bytes appended (in the file or in `pending`). */
  size = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private flushed = 0;
  private lastStat = 0;
  private removed = false;

  constructor(
    readonly path: string,
    private readonly fh: fsp.FileHandle,
    private readonly statFree: (written: number) => Promise<void>,
  ) {}

  /** Append a record, unless `over` says the file would then be too large. */
  async append(rec: Buffer, over: (size: number) => DMError | undefined): Promise<void> {
    const err = over(this.size + 6 + rec.length);
    if (err) throw err;
    const head = Buffer.allocUnsafe(6);
    head.writeUIntLE(rec.length, 0, 6);
    this.size += 6 + rec.length;
    this.pending.push(head, rec);
    this.pendingBytes += 6 + rec.length;
    if (this.pendingBytes >= WRITE_CHUNK) await this.flush();
    if (this.size - this.lastStat >= STATFS_EVERY) {
      this.lastStat = this.size;
      await this.statFree(this.size);
    }
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, off, buf.length - off, this.flushed);
      off += bytesWritten;
      this.flushed += bytesWritten;
    }
  }

  /** Read the records back from the start, in order (after the last append). */
  async reader(): Promise<{ next(): Promise<Buffer> }> {
    await this.flush();
    const fh = this.fh;
    const end = this.flushed;
    let pos = 0;
    let buf = Buffer.alloc(0);
    let at = 0;
    const fill = async (n: number): Promise<void> => {
      if (buf.length - at >= n) return;
      const rest = buf.subarray(at);
      const want = Math.max(n, WRITE_CHUNK);
      const nb = Buffer.allocUnsafe(Math.min(want, rest.length + (end - pos)));
      rest.copy(nb, 0);
      let len = rest.length;
      while (len < nb.length) {
        const { bytesRead } = await fh.read(nb, len, nb.length - len, pos);
        if (bytesRead === 0) break;
        len += bytesRead;
        pos += bytesRead;
      }
      buf = nb.subarray(0, len);
      at = 0;
      if (buf.length < n)
        throw new DMError('ErrInternal', `spill file ${this.path} ends before its last record`);
    };
    return {
      next: async () => {
        await fill(6);
        const len = buf.readUIntLE(at, 6);
        at += 6;
        await fill(len);
        const rec = buf.subarray(at, at + len);
        at += len;
        return rec;
      },
    };
  }

  async remove(): Promise<void> {
    if (this.removed) return;
    this.removed = true;
    live.delete(this.path);
    this.pending = [];
    await this.fh.close().catch(() => undefined);
    await fsp.rm(this.path, { force: true });
  }
}

// ---- the records ------------------------------------------------------------------------------

/** Fields of a RowChange besides op/before/after, interned by identity of their values. */
class Shapes {
  readonly list: Omit<RowChange, 'op' | 'before' | 'after'>[] = [];
  /** Per shape: a RowChange of it without images (an object literal for the shape rowChangesOf makes). */
  readonly make: ((op: RowChange['op']) => RowChange)[] = [];
  private readonly byColumns = new Map<string[], number[]>();

  idOf(ch: RowChange): number {
    let ids = this.byColumns.get(ch.columns);
    if (!ids) {
      ids = [];
      this.byColumns.set(ch.columns, ids);
    }
    for (const id of ids) if (sameShape(this.list[id]!, ch)) return id;
    const { op: _op, before: _b, after: _a, ...shape } = ch;
    this.list.push(shape);
    this.make.push(makerOf(shape));
    ids.push(this.list.length - 1);
    return this.list.length - 1;
  }
}

const STD_SHAPE = ['schema', 'table', 'columns', 'keyIdx', 'otherUniqueKeys', 'srcSchema', 'srcTable'];

function makerOf(shape: Omit<RowChange, 'op' | 'before' | 'after'>): (op: RowChange['op']) => RowChange {
  const keys = Object.keys(shape);
  if (keys.length === STD_SHAPE.length && STD_SHAPE.every((k) => keys.includes(k))) {
    const { schema, table, columns, keyIdx, otherUniqueKeys, srcSchema, srcTable } = shape;
    return (op) => ({ schema, table, op, columns, keyIdx, otherUniqueKeys, srcSchema, srcTable });
  }
  return (op) => ({ ...shape, op });
}

function sameShape(s: Record<string, unknown>, ch: RowChange): boolean {
  const c = ch as unknown as Record<string, unknown>;
  let n = 0;
  for (const k in c) {
    if (k === 'op' || k === 'before' || k === 'after') continue;
    if (!Object.prototype.hasOwnProperty.call(s, k) || s[k] !== c[k]) return false;
    n++;
  }
  return n === Object.keys(s).length;
}

const OPS = ['insert', 'update', 'delete'] as const;
const SPILLED_CHANGES = Object.freeze([]) as unknown as RowChange[];
const SPILLED_KEYS: Set<string> = new Set();

/** A held transaction's rows, causality keys and upstream tables as one record. */
function encodeTxnRows(t: UpstreamTxn, shapes: Shapes): Buffer {
  const w = new Writer(Math.max(256, t.bytes + 64));
  const up = t.upTables;
  w.u8(up ? 1 : 0);
  if (up) {
    w.u32(up.size);
    for (const x of up) w.str(x);
  }
  w.u32(t.keys.size);
  for (const k of t.keys) w.str(k);
  w.u32(t.changes.length);
  for (const ch of t.changes) {
    w.u8(OPS.indexOf(ch.op));
    w.u32(shapes.idOf(ch));
    const hasB = Object.prototype.hasOwnProperty.call(ch, 'before');
    const hasA = Object.prototype.hasOwnProperty.call(ch, 'after');
    w.u8((hasB ? 1 : 0) | (hasA ? 2 : 0));
    if (hasB) w.value(ch.before);
    if (hasA) w.value(ch.after);
  }
  return w.done();
}

/** Put a record's rows, keys and tables back into the transaction's skeleton. */
function decodeTxnRows(rec: Buffer, t: UpstreamTxn, shapes: Shapes): void {
  const r = new Reader(rec);
  let up: Set<string> | undefined;
  if (r.u8() === 1) {
    const n = r.u32();
    up = new Set<string>();
    for (let i = 0; i < n; i++) up.add(r.str());
  }
  const nk = r.u32();
  const keys = new Set<string>();
  for (let i = 0; i < nk; i++) keys.add(r.str());
  const n = r.u32();
  const changes = new Array<RowChange>(n);
  for (let i = 0; i < n; i++) {
    const op = OPS[r.u8()]!;
    const make = shapes.make[r.u32()]!;
    const flags = r.u8();
    const ch = make(op);
    if (flags & 1) ch.before = r.value() as unknown[];
    if (flags & 2) ch.after = r.value() as unknown[];
    changes[i] = ch;
  }
  if (!r.end())
    throw new DMError('ErrInternal', 'a held transaction read back from its spill file has trailing bytes');
  t.changes = changes;
  t.keys = keys;
  if (up) t.upTables = up;
}

/** String.prototype.isWellFormed (Node >= 20; not in the compiler's lib yet). */
type WellFormed = string & { isWellFormed(): boolean };

const enum Tag {
  Undefined = 0,
  Null = 1,
  False = 2,
  True = 3,
  Int32 = 4,
  Float64 = 5,
  BigInt = 6,
  Str = 7,
  StrUtf16 = 8,
  Bytes = 9,
  Date = 10,
  Array = 11,
  Object = 12,
}

class Writer {
  private buf: Buffer;
  private at = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const nb = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(nb, 0, 0, this.at);
    this.buf = nb;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.at++] = v;
  }

  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32LE(v, this.at);
    this.at += 4;
  }

  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }

  str(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.u32(n);
    this.room(n);
    this.at += this.buf.write(s, this.at, n, 'utf8');
  }

  value(v: unknown): void {
    switch (typeof v) {
      case 'undefined':
        this.u8(Tag.Undefined);
        return;
      case 'boolean':
        this.u8(v ? Tag.True : Tag.False);
        return;
      case 'number':
        if ((v | 0) === v && !Object.is(v, -0)) {
          this.u8(Tag.Int32);
          this.room(4);
          this.buf.writeInt32LE(v, this.at);
          this.at += 4;
        } else {
          this.u8(Tag.Float64);
          this.room(8);
          this.buf.writeDoubleLE(v, this.at);
          this.at += 8;
        }
        return;
      case 'bigint':
        this.u8(Tag.BigInt);
        this.str(v.toString(16));
        return;
      case 'string':
        if ((v as WellFormed).isWellFormed()) {
          this.u8(Tag.Str);
          this.str(v);
        } else {
          // lone surrogates do not survive UTF-8: the UTF-16 code units as they are
          this.u8(Tag.StrUtf16);
          this.bytes(Buffer.from(v, 'utf16le'));
        }
        return;
      case 'object':
        if (v === null) this.u8(Tag.Null);
        else if (v instanceof Uint8Array) {
          this.u8(Tag.Bytes);
          this.bytes(v);
        } else if (v instanceof Date) {
          this.u8(Tag.Date);
          this.room(8);
          this.buf.writeDoubleLE(v.getTime(), this.at);
          this.at += 8;
        } else if (Array.isArray(v)) {
          this.u8(Tag.Array);
          this.u32(v.length);
          for (let i = 0; i < v.length; i++) this.value(v[i]);
        } else if (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null) {
          const keys = Object.keys(v);
          this.u8(Tag.Object);
          this.u32(keys.length);
          for (const k of keys) {
            this.str(k);
            this.value((v as Record<string, unknown>)[k]);
          }
        } else
          throw new DMError(
            'ErrInternal',
            `a held row holds a value of a type the spill file cannot keep (${Object.prototype.toString.call(v)})`,
          );
        return;
      default:
        throw new DMError(
          'ErrInternal',
          `a held row holds a value of a type the spill file cannot keep (${typeof v})`,
        );
    }
  }

  done(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}

class Reader {
  private at = 0;

  constructor(private readonly buf: Buffer) {}

  end(): boolean {
    return this.at === this.buf.length;
  }

  u8(): number {
    return this.buf[this.at++]!;
  }

  u32(): number {
    const v = this.buf.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }

  private raw(): Buffer {
    const n = this.u32();
    const b = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }

  str(): string {
    const n = this.u32();
    const at = this.at;
    this.at += n;
    return this.buf.toString('utf8', at, at + n);
  }

  value(): unknown {
    const tag = this.u8() as Tag;
    switch (tag) {
      case Tag.Undefined:
        return undefined;
      case Tag.Null:
        return null;
      case Tag.False:
        return false;
      case Tag.True:
        return true;
      case Tag.Int32: {
        const v = this.buf.readInt32LE(this.at);
        this.at += 4;
        return v;
      }
      case Tag.Float64:
      case Tag.Date: {
        const v = this.buf.readDoubleLE(this.at);
        this.at += 8;
        return tag === Tag.Date ? new Date(v) : v;
      }
      case Tag.BigInt: {
        const s = this.str();
        return s.startsWith('-') ? -BigInt(`0x${s.slice(1)}`) : BigInt(`0x${s}`);
      }
      case Tag.Str:
        return this.str();
      case Tag.StrUtf16:
        return this.raw().toString('utf16le');
      case Tag.Bytes:
        return Buffer.from(this.raw()); // a copy: the record's buffer is let go
      case Tag.Array: {
        const n = this.u32();
        const a = new Array<unknown>(n);
        for (let i = 0; i < n; i++) a[i] = this.value();
        return a;
      }
      case Tag.Object: {
        const n = this.u32();
        const o: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) {
          const k = this.str();
          // defineProperty: a key `__proto__` is a key like any other
          Object.defineProperty(o, k, {
            value: this.value(),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
        return o;
      }
      default:
        throw new DMError('ErrInternal', `spill file record with an unknown value tag ${String(tag)}`);
    }
  }
}
