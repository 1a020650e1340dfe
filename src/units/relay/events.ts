/**
 * The few binlog event facts the relay writer needs, read straight from the raw bytes (the
 * relay never decodes rows): the 19-byte v4 header, ROTATE's next file name, the
 * FORMAT_DESCRIPTION's checksum algorithm, MariaDB's GTID and GTID_LIST events, and which
 * events end a transaction. Layouts: MariaDB's "Binlog Event Header" and per-event pages.
 */

export const BINLOG_MAGIC = Buffer.from([0xfe, 0x62, 0x69, 0x6e]);
export const HEADER_LEN = 19;

export const EV = {
  QUERY: 2,
  ROTATE: 4,
  XID: 16,
  FORMAT_DESCRIPTION: 15,
  HEARTBEAT: 27,
  MYSQL_GTID: 33,
  MYSQL_PREVIOUS_GTIDS: 35,
  MARIADB_ANNOTATE_ROWS: 160,
  MARIADB_BINLOG_CHECKPOINT: 161,
  MARIADB_GTID: 162,
  MARIADB_GTID_LIST: 163,
} as const;

/** LOG_EVENT_ARTIFICIAL_F: made up by the dump thread, never in the file. */
export const FLAG_ARTIFICIAL = 0x20;

export interface EventHeader {
  timestamp: number;
  type: number;
  serverId: number;
  size: number;
  /** End position of the event in its file (0 for events the dump invents). */
  logPos: number;
  flags: number;
}

export function readHeader(b: Buffer, at = 0): EventHeader {
  return {
    timestamp: b.readUInt32LE(at),
    type: b.readUInt8(at + 4),
    serverId: b.readUInt32LE(at + 5),
    size: b.readUInt32LE(at + 9),
    logPos: b.readUInt32LE(at + 13),
    flags: b.readUInt16LE(at + 17),
  };
}

/** ROTATE: (position, next file name). `checksum` = the stream carries a 4-byte CRC32 trailer. */
export function rotateInfo(ev: Buffer, checksum: boolean): { pos: number; next: string } {
  const end = ev.length - (checksum ? 4 : 0);
  const pos = Number(ev.readBigUInt64LE(HEADER_LEN));
  return { pos, next: ev.subarray(HEADER_LEN + 8, end).toString('utf8') };
}

/**
 * Whether events after this FORMAT_DESCRIPTION carry a CRC32 checksum: its checksum-algorithm
 * byte sits just before its own 4-byte checksum (binlog version 4, servers that know checksums).
 */
export function fdeChecksum(ev: Buffer): boolean {
  // a checksum-aware FDE ends with alg(1) + crc(4); alg 1 = CRC32, 0 = off
  if (ev.length < HEADER_LEN + 57 + 5) return false;
  return ev.readUInt8(ev.length - 5) === 1;
}

/** MariaDB GTID event: `domain-server-seq`, and whether it is a standalone (no COMMIT/XID) statement. */
export function mariadbGtid(ev: Buffer, h: EventHeader): { gtid: string; domain: number; standalone: boolean } {
  const seq = ev.readBigUInt64LE(HEADER_LEN);
  const domain = ev.readUInt32LE(HEADER_LEN + 8);
  const flags = ev.readUInt8(HEADER_LEN + 12);
  return { gtid: `${domain}-${h.serverId}-${seq}`, domain, standalone: (flags & 1) !== 0 };
}

/** MariaDB GTID_LIST: the binlog state (domain-server-seq per domain and server) at the file start. */
export function mariadbGtidList(ev: Buffer): { domain: number; server: number; seq: bigint }[] {
  const n = ev.readUInt32LE(HEADER_LEN) & 0x0fffffff;
  const out: { domain: number; server: number; seq: bigint }[] = [];
  let p = HEADER_LEN + 4;
  for (let i = 0; i < n && p + 16 <= ev.length; i++, p += 16) {
    out.push({ domain: ev.readUInt32LE(p), server: ev.readUInt32LE(p + 4), seq: ev.readBigUInt64LE(p + 8) });
  }
  return out;
}

/** A QUERY event's statement text (to see COMMIT / ROLLBACK that end a transaction). */
export function queryText(ev: Buffer, checksum: boolean): string {
  // post-header: thread id(4) exec time(4) db len(1) error code(2) status vars len(2)
  const base = HEADER_LEN;
  const dbLen = ev.readUInt8(base + 8);
  const statusLen = ev.readUInt16LE(base + 11);
  const start = base + 13 + statusLen + dbLen + 1;
  const end = ev.length - (checksum ? 4 : 0);
  return start <= end ? ev.subarray(start, end).toString('utf8') : '';
}

/**
 * Tracks transaction boundaries and the GTID set of a MariaDB event stream (the relay meta's
 * `binlog-gtid`): a GTID event opens a transaction, XID or a COMMIT/ROLLBACK query closes it,
 * a standalone GTID (DDL) closes at its first QUERY event.
 */
export class TxnTracker {
  /** Per domain: `domain-server-seq` of the last transaction closed. */
  private readonly state = new Map<number, string>();
  private pending: { gtid: string; domain: number; standalone: boolean } | undefined;
  private inTxn = false;

  constructor(gtid = '') {
    this.reset(gtid);
  }

  reset(gtid: string): void {
    this.state.clear();
    for (const part of gtid.split(',').map((s) => s.trim()).filter(Boolean)) {
      const d = Number(part.split('-')[0]);
      this.state.set(d, part);
    }
    this.pending = undefined;
    this.inTxn = false;
  }

  /** A file's GTID_LIST: the state at that file's start (per domain, the highest sequence). */
  gtidList(entries: { domain: number; server: number; seq: bigint }[]): void {
    const best = new Map<number, { server: number; seq: bigint }>();
    for (const e of entries) {
      const b = best.get(e.domain);
      if (!b || e.seq > b.seq) best.set(e.domain, { server: e.server, seq: e.seq });
    }
    for (const [d, e] of best) {
      const cur = this.state.get(d);
      const curSeq = cur ? BigInt(cur.split('-')[2] ?? '0') : -1n;
      if (e.seq >= curSeq) this.state.set(d, `${d}-${e.server}-${e.seq}`);
    }
  }

  /** Feed one real event; true when it ends a transaction (a safe meta position after it). */
  feed(ev: Buffer, h: EventHeader, checksum: boolean): boolean {
    switch (h.type) {
      case EV.MARIADB_GTID:
        this.pending = mariadbGtid(ev, h);
        this.inTxn = true;
        return false;
      case EV.MARIADB_GTID_LIST:
        this.gtidList(mariadbGtidList(ev));
        return !this.inTxn;
      case EV.XID:
        return this.close();
      case EV.QUERY: {
        if (this.pending?.standalone) return this.close();
        const q = queryText(ev, checksum).trim().toUpperCase();
        if (q === 'COMMIT' || q === 'ROLLBACK') return this.close();
        return !this.inTxn;
      }
      default:
        return !this.inTxn && h.type !== EV.MARIADB_ANNOTATE_ROWS && h.type !== 19 /* TABLE_MAP */;
    }
  }

  private close(): boolean {
    if (this.pending) this.state.set(this.pending.domain, this.pending.gtid);
    this.pending = undefined;
    this.inTxn = false;
    return true;
  }

  get inTransaction(): boolean {
    return this.inTxn;
  }

  toString(): string {
    return [...this.state.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([, g]) => g)
      .join(',');
  }
}
