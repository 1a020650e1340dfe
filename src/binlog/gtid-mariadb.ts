/**
 * MariaDB GTID list: `0-1-100,1-3-45`, one `domain-server-seq` per replication domain, the last
 * transaction executed in that domain. Sequence numbers are compared as bigint (exact beyond 2^53).
 * Coverage is by sequence number within a domain (as a replica's gtid_slave_pos is).
 */
import { DMError } from '../errors/index.js';
import type { GtidSet } from './gtid-set.js';

interface Entry {
  readonly server: number;
  readonly seq: bigint;
}

const GTID_RE = /^(\d+)-(\d+)-(\d+)$/;
/** `domain-server-seq` as toString() writes it (no leading zeros). */
const CANONICAL_RE = /^(?:0|[1-9]\d*)-(?:0|[1-9]\d*)-(?:0|[1-9]\d*)$/;

function bad(text: string, why: string): DMError {
  return new DMError('ErrBinlogInvalidPosition', `invalid MariaDB GTID list ${JSON.stringify(text)}: ${why}`);
}

function parseOne(text: string, whole: string): [number, Entry] {
  const m = GTID_RE.exec(text);
  if (!m) throw bad(whole, `${JSON.stringify(text)} is not domain-server-sequence`);
  const domain = Number(m[1]);
  const server = Number(m[2]);
  if (domain > 0xffffffff || server > 0xffffffff) throw bad(whole, `${text}: domain and server id are 32-bit`);
  const seq = BigInt(m[3] ?? '0');
  if (seq > 0xffffffffffffffffn) throw bad(whole, `${text}: sequence number is 64-bit`);
  return [domain, { server, seq }];
}

export class MariadbGtidSet implements GtidSet {
  readonly flavor = 'mariadb' as const;
  private readonly domains: ReadonlyMap<number, Entry>;
  /** toString() memo (sets are immutable); computed at most once per set. */
  private text: string | undefined;

  private constructor(domains: Map<number, Entry>) {
    this.domains = domains;
  }

  static empty(): MariadbGtidSet {
    return new MariadbGtidSet(new Map());
  }

  /** Parse `0-1-100,1-3-45`; two entries for one domain are an error (as on the server). */
  static parse(text: string): MariadbGtidSet {
    const m = new Map<number, Entry>();
    const clean = text.replace(/\s+/g, '');
    if (clean === '') return new MariadbGtidSet(m);
    for (const part of clean.split(',')) {
      if (part === '') continue;
      const [d, e] = parseOne(part, text);
      if (m.has(d)) throw bad(text, `domain ${d} appears twice`);
      m.set(d, e);
    }
    return new MariadbGtidSet(m);
  }

  private static other(o: GtidSet): MariadbGtidSet {
    if (!(o instanceof MariadbGtidSet)) {
      throw new DMError('ErrBinlogGtidFlavorMismatch', `cannot combine a MariaDB GTID list with a ${o.flavor} GTID set`);
    }
    return o;
  }

  /** The last transaction of a domain, or undefined. */
  get(domain: number): { server: number; seq: bigint } | undefined {
    return this.domains.get(domain);
  }

  isEmpty(): boolean {
    return this.domains.size === 0;
  }

  contains(other: GtidSet): boolean {
    const o = MariadbGtidSet.other(other);
    for (const [d, e] of o.domains) {
      const mine = this.domains.get(d);
      if (!mine || mine.seq < e.seq) return false;
    }
    return true;
  }

  containsGtid(gtid: string): boolean {
    const [d, e] = parseOne(gtid.trim(), gtid);
    const mine = this.domains.get(d);
    return mine !== undefined && mine.seq >= e.seq;
  }

  /** Record `domain-server-seq` as the last transaction of its domain (an overwrite, like the server's). */
  add(gtid: string): MariadbGtidSet {
    const t = gtid.trim();
    const [d, e] = parseOne(t, gtid);
    const m = new Map(this.domains);
    m.set(d, e);
    const set = new MariadbGtidSet(m);
    // one domain (the common case; the reader adds one GTID per transaction): the text is the GTID
    // itself when written canonically, without formatting the sequence bigint again
    if (m.size === 1 && CANONICAL_RE.test(t)) set.text = t;
    return set;
  }

  /** Per domain, the entry with the higher sequence number. */
  union(other: GtidSet): MariadbGtidSet {
    const o = MariadbGtidSet.other(other);
    const m = new Map(this.domains);
    for (const [d, e] of o.domains) {
      const mine = m.get(d);
      if (!mine || mine.seq < e.seq) m.set(d, e);
    }
    return new MariadbGtidSet(m);
  }

  /** The domains whose position `other` does not cover. */
  subtract(other: GtidSet): MariadbGtidSet {
    const o = MariadbGtidSet.other(other);
    const m = new Map<number, Entry>();
    for (const [d, e] of this.domains) {
      const theirs = o.domains.get(d);
      if (!theirs || theirs.seq < e.seq) m.set(d, e);
    }
    return new MariadbGtidSet(m);
  }

  equals(other: GtidSet): boolean {
    return other instanceof MariadbGtidSet && this.toString() === other.toString();
  }

  toString(): string {
    if (this.text !== undefined) return this.text;
    if (this.domains.size === 1) {
      // the common case (one replication domain): no sort/map/join
      let t = '';
      for (const [d, e] of this.domains) t = `${d}-${e.server}-${e.seq}`;
      return (this.text = t);
    }
    return (this.text = [...this.domains.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([d, e]) => `${d}-${e.server}-${e.seq}`)
      .join(','));
  }
}
