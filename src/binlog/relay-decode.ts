/**
 * Raw binlog event bytes (from relay files) → zongji events, through zongji's own packet layer,
 * so that the relay reader and the network reader decode with one implementation.
 *
 * Over the network zongji parses each event in its `Binlog` command (lib/sequence/binlog.js,
 * `binlogData(packet)`): a mysql2 packet whose first byte is the OK marker followed by the
 * event. A relay file holds the same event bytes without the marker, so the feeder hands
 * `binlogData` a packet-shaped view `{buffer, offset, end}` whose `offset` is the byte before the
 * event (read and ignored as the marker): zongji then runs its GTID and rotate bookkeeping, its
 * event filter and the event classes (TABLE_MAP, rows, query status, GTID...) exactly as on a
 * connection. zongji's internal modules are loaded by file URL, as src/binlog/zongji-fastpath.ts
 * does, because its `exports` map only exposes the entry point.
 *
 * What zongji does after parsing lives in a closure of `ZongJi#start()` (which also opens the
 * connections), so `deliver` below is that closure's logic for our use, kept line for line with
 * zongji 0.9.0's `binlogHandler`: TABLE_MAPs with self-describing metadata go straight into the
 * table map, others ask `_fetchTableInfo` (the reader's schema tracker) with the stream paused,
 * the current transaction's GTID is attached to its events. The resume-position bookkeeping of
 * that closure is left out: positions are the transaction shaper's (txn-shaper.ts).
 */
import { readFileSync } from 'node:fs';
import ZongJi from '@vlasky/zongji';
import mysql from 'mysql2';
import type { AnyBinlogEvent } from '@vlasky/zongji';
import { DMError } from '../errors/index.js';
import { EVENT_HEADER_LEN, EV } from './relay-layout.js';

const SUPPORTED_VERSION = '0.9.0';

type BinlogCommandCtor = new (callback: (err: unknown, ev: unknown) => void) => {
  binlogData(packet: PacketView, connection: unknown): unknown;
};
type InitBinlogClass = (zj: ZongJi) => BinlogCommandCtor;

let loading: Promise<InitBinlogClass> | undefined;

/** zongji's Binlog command factory (lib/sequence/binlog.js), loaded once per process. */
export function loadZongjiPacketLayer(): Promise<InitBinlogClass> {
  loading ??= (async () => {
    const base = import.meta.resolve('@vlasky/zongji');
    const pkg = JSON.parse(readFileSync(new URL('./package.json', base), 'utf8')) as { version?: string };
    if (pkg.version !== SUPPORTED_VERSION) {
      throw new DMError('ErrRelayDecodeSetup', `the relay reader drives @vlasky/zongji ${SUPPORTED_VERSION}'s packet layer; ${pkg.version ?? 'an unknown version'} is installed`);
    }
    const mod = (await import(new URL('./lib/sequence/binlog.js', base).href)) as { default?: InitBinlogClass };
    if (typeof mod.default !== 'function') throw new DMError('ErrRelayDecodeSetup', 'zongji lib/sequence/binlog.js has no default export');
    return mod.default;
  })();
  return loading;
}

/** What zongji's `binlogData` reads of a mysql2 packet. */
interface PacketView {
  buffer: Buffer;
  offset: number;
  end: number;
  isEOF(): boolean;
  isError(): boolean;
}

/** The stand-in for zongji's binlog connection: the reader pauses and resumes the stream through it. */
export interface StreamControl {
  pause(): void;
  resume(): void;
}

interface ZongjiInternals {
  isMariaDb: boolean;
  useChecksum: boolean;
  stopped: boolean;
  connection: unknown;
  tableMap: Record<number, { tableName?: string; columns?: unknown[]; columnSchemas?: unknown } | undefined>;
  _currentGtid: unknown;
  _fetchTableInfo(ev: unknown, next: () => void): void;
}

interface TableMapLike {
  tableId: number;
  tableName: string;
  schemaName: string;
  columnCount: number;
  getTypeName(): string;
  hasSelfDescribingMetadata(): boolean;
  hasAmbiguousTemporalColumns(): boolean;
  buildColumnSchemas(): unknown;
  updateColumnInfo(): void;
}

/**
 * Feeds whole events (bytes) to one ZongJi instance that never connects anywhere. The events
 * reach `onEvent` in order; a decode error reaches `onError`. The instance's connection is a
 * stand-in forwarding to `control`, so whoever pauses `zj.connection` pauses the feeder's caller.
 */
export class RawEventFeeder {
  readonly zj: ZongJi;
  private readonly internals: ZongjiInternals;
  private readonly init: InitBinlogClass;
  private cmd: InstanceType<BinlogCommandCtor> | undefined;
  private checksum = false;
  /** zongji's "connection": pause/resume, and the mysql2 config its value decoders read (dateStrings, timezone, ...). */
  private readonly conn: StreamControl & { config: object };

  constructor(
    init: InitBinlogClass,
    zj: ZongJi,
    flavor: 'mysql' | 'mariadb',
    /** The options of the network reader's binlog connection (src/sql binlogStreamOptions): values decode the same. */
    connectionOptions: object,
    private readonly control: StreamControl,
    private readonly onEvent: (ev: AnyBinlogEvent) => void,
    private readonly onError: (e: unknown) => void,
  ) {
    this.init = init;
    this.zj = zj;
    this.internals = zj as unknown as ZongjiInternals;
    this.internals.isMariaDb = flavor === 'mariadb';
    const Config = (mysql as unknown as { ConnectionConfig: new (o: object) => object }).ConnectionConfig;
    this.conn = { pause: () => control.pause(), resume: () => control.resume(), config: new Config(connectionOptions) };
    this.internals.connection = this.conn;
    this.setChecksum(false);
  }

  /** Whether events carry a CRC32 (from the file's FORMAT_DESCRIPTION; zongji's header length depends on it). */
  setChecksum(on: boolean): void {
    if (this.cmd !== undefined && on === this.checksum) return;
    this.checksum = on;
    this.internals.useChecksum = on;
    const Cmd = this.init(this.zj);
    this.cmd = new Cmd((err, ev) => this.deliver(err, ev as AnyBinlogEvent | undefined));
  }

  get useChecksum(): boolean {
    return this.checksum;
  }

  /** One whole event: `buf[start, end)`; `start` must be >= 1 (the byte before stands for the packet marker). */
  feed(buf: Buffer, start: number, end: number): void {
    // one packet view, re-aimed per event: zongji parses each event synchronously in binlogData
    const packet = this.packet;
    packet.buffer = buf;
    packet.offset = start - 1;
    packet.end = end;
    this.cmd!.binlogData(packet, this.conn);
  }

  private readonly packet: PacketView = { buffer: Buffer.alloc(0), offset: 0, end: 0, isEOF: () => false, isError: () => false };

  /**
   * A ROTATE event as servers send at the start of a dump (artificial: timestamp 0, next
   * position 0): the stream goes on in `file` at `position`. Used when the relay reader opens a
   * file that the previous one did not rotate to (start, sub-directory switch, STOP event).
   */
  feedArtificialRotate(file: string, position: number, serverId: number): void {
    const name = Buffer.from(file, 'utf8');
    const len = EVENT_HEADER_LEN + 8 + name.length + (this.checksum ? 4 : 0);
    const b = Buffer.alloc(len + 1);
    const at = 1;
    b.writeUInt32LE(0, at);
    b[at + 4] = EV.ROTATE;
    b.writeUInt32LE(serverId >>> 0, at + 5);
    b.writeUInt32LE(len, at + 9);
    b.writeUInt32LE(0, at + 13);
    b.writeUInt16LE(0x20, at + 17); // LOG_EVENT_ARTIFICIAL_F
    b.writeBigUInt64LE(BigInt(position), at + EVENT_HEADER_LEN);
    name.copy(b, at + EVENT_HEADER_LEN + 8);
    this.feed(b, at, at + len);
  }

  /** zongji 0.9.0's binlogHandler (see the file head), without its resume-position bookkeeping. */
  private deliver(error: unknown, event: AnyBinlogEvent | undefined): void {
    const zj = this.internals;
    if (error) {
      this.onError(error);
      return;
    }
    if (zj.stopped || !zj.connection) return;
    if (event === undefined || (event as { _filtered?: boolean })._filtered === true) return;
    if (event.getTypeName() === 'TableMap') {
      const tm = event as unknown as TableMapLike;
      if (tm.hasSelfDescribingMetadata() && !(zj.isMariaDb && tm.hasAmbiguousTemporalColumns())) {
        zj.tableMap[tm.tableId] = { columnSchemas: tm.buildColumnSchemas(), parentSchema: tm.schemaName, tableName: tm.tableName } as never;
        tm.updateColumnInfo();
      } else {
        const entry = zj.tableMap[tm.tableId];
        if (!entry || entry.tableName !== tm.tableName || entry.columns?.length !== tm.columnCount) {
          this.control.pause();
          this.attachGtid(event);
          zj._fetchTableInfo(event, () => {
            try {
              tm.updateColumnInfo();
            } catch (err) {
              delete zj.tableMap[tm.tableId];
              this.onError(err);
              this.control.resume();
              return;
            }
            this.onEvent(event);
            this.control.resume();
          });
          return;
        }
      }
    }
    this.onEvent(this.attachGtid(event));
  }

  private attachGtid(event: AnyBinlogEvent): AnyBinlogEvent {
    if (!('gtid' in event)) (event as { gtid?: unknown }).gtid = this.internals._currentGtid;
    return event;
  }
}
