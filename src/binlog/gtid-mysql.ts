/**
 * MySQL GTID set: `uuid:1-5:7-9,uuid2:1-3`, and MySQL 8.3+ tagged intervals
 * `uuid:1-5:tag_a:1-2`. Intervals are inclusive bigint ranges, kept sorted and merged.
 */
import { DMError } from '../errors/index.js';
import type { GtidSet } from './gtid-set.js';

/** Inclusive interval [start, end]. */
type Interval = readonly [bigint, bigint];

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/;
const TAG_RE = /^[a-z_][a-z0-9_]{0,31}$/;
const INTERVAL_RE = /^(\d+)(?:-(\d+))?$/;

function bad(text: string, why: string): DMError {
  return new DMError('ErrBinlogInvalidPosition', `invalid MySQL GTID set ${JSON.stringify(text)}: ${why}`);
}

function normUuid(u: string): string {
  const h = u.toLowerCase().replace(/-/g, '');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Merge overlapping and adjacent intervals; input in any order. */
function normalize(list: Interval[]): Interval[] {
  const s = [...list].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [a, b] of s) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1n) {
      if (b > last[1]) last[1] = b;
    } else out.push([a, b]);
  }
  return out;
}

function subtractIntervals(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  let cur: Interval[] = [...a];
  for (const [bs, be] of b) {
    const next: Interval[] = [];
    for (const [s, e] of cur) {
      if (be < s || bs > e) {
        next.push([s, e]);
        continue;
      }
      if (s < bs) next.push([s, bs - 1n]);
      if (e > be) next.push([be + 1n, e]);
    }
    cur = next;
  }
  return cur;
}

function containsInterval(list: readonly Interval[], s: bigint, e: bigint): boolean {
  return list.some(([a, b]) => a <= s && e <= b);
}

/** key: `uuid` or `uuid:tag`. */
export class MysqlGtidSet implements GtidSet {
  readonly flavor = 'mysql' as const;
  private readonly sets: ReadonlyMap<string, readonly Interval[]>;

  private constructor(sets: Map<string, Interval[]>) {
    for (const [k, v] of sets) if (v.length === 0) sets.delete(k);
    this.sets = sets;
  }

  static empty(): MysqlGtidSet {
    return new MysqlGtidSet(new Map());
  }

  /** Parse `uuid:1-5:7,uuid2:3`; whitespace and newlines (as in @@gtid_executed) are ignored. */
  static parse(text: string): MysqlGtidSet {
    const m = new Map<string, Interval[]>();
    const clean = text.replace(/\s+/g, '');
    if (clean === '') return new MysqlGtidSet(m);
    for (const part of clean.split(',')) {
      if (part === '') continue;
      const items = part.split(':');
      const uuid = items[0] ?? '';
      if (!UUID_RE.test(uuid.toLowerCase())) throw bad(text, `bad source uuid ${JSON.stringify(uuid)}`);
      if (items.length < 2) throw bad(text, `source ${uuid} has no intervals`);
      let key = normUuid(uuid);
      for (const item of items.slice(1)) {
        const im = INTERVAL_RE.exec(item);
        if (!im) {
          const tag = item.toLowerCase();
          if (!TAG_RE.test(tag)) throw bad(text, `bad interval or tag ${JSON.stringify(item)}`);
          key = `${normUuid(uuid)}:${tag}`;
          continue;
        }
        const s = BigInt(im[1] ?? '0');
        const e = im[2] === undefined ? s : BigInt(im[2]);
        if (s < 1n || e < s) throw bad(text, `bad interval ${JSON.stringify(item)}`);
        const l = m.get(key) ?? [];
        l.push([s, e]);
        m.set(key, l);
      }
    }
    for (const [k, v] of m) m.set(k, normalize(v));
    return new MysqlGtidSet(m);
  }

  private static other(o: GtidSet): MysqlGtidSet {
    if (!(o instanceof MysqlGtidSet)) {
      throw new DMError('ErrBinlogGtidFlavorMismatch', `cannot combine a MySQL GTID set with a ${o.flavor} GTID set`);
    }
    return o;
  }

  isEmpty(): boolean {
    return this.sets.size === 0;
  }

  contains(other: GtidSet): boolean {
    const o = MysqlGtidSet.other(other);
    for (const [k, list] of o.sets) {
      const mine = this.sets.get(k);
      if (!mine) return false;
      for (const [s, e] of list) if (!containsInterval(mine, s, e)) return false;
    }
    return true;
  }

  containsGtid(gtid: string): boolean {
    const one = MysqlGtidSet.parse(gtid);
    return this.contains(one);
  }

  add(gtid: string): MysqlGtidSet {
    return this.union(MysqlGtidSet.parse(gtid));
  }

  union(other: GtidSet): MysqlGtidSet {
    const o = MysqlGtidSet.other(other);
    const m = new Map<string, Interval[]>();
    for (const [k, v] of this.sets) m.set(k, [...v]);
    for (const [k, v] of o.sets) m.set(k, normalize([...(m.get(k) ?? []), ...v]));
    return new MysqlGtidSet(m);
  }

  subtract(other: GtidSet): MysqlGtidSet {
    const o = MysqlGtidSet.other(other);
    const m = new Map<string, Interval[]>();
    for (const [k, v] of this.sets) {
      const b = o.sets.get(k);
      m.set(k, b ? subtractIntervals(v, b) : [...v]);
    }
    return new MysqlGtidSet(m);
  }

  equals(other: GtidSet): boolean {
    return other instanceof MysqlGtidSet && this.toString() === other.toString();
  }

  /** Sorted by uuid; untagged intervals first, then tags sorted (MySQL's canonical form). */
  toString(): string {
    const byUuid = new Map<string, { tag: string; list: readonly Interval[] }[]>();
    for (const [k, list] of this.sets) {
      const [uuid = '', tag = ''] = k.split(':');
      const l = byUuid.get(uuid) ?? [];
      l.push({ tag, list });
      byUuid.set(uuid, l);
    }
    const fmt = (list: readonly Interval[]): string => list.map(([s, e]) => (s === e ? `${s}` : `${s}-${e}`)).join(':');
    return [...byUuid.keys()]
      .sort()
      .map((uuid) => {
        const parts = (byUuid.get(uuid) ?? []).sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
        return [uuid, ...parts.map((p) => (p.tag ? `${p.tag}:${fmt(p.list)}` : fmt(p.list)))].join(':');
      })
      .join(',');
  }
}
