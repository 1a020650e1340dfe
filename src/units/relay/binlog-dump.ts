/**
 * A raw binlog dump: COM_BINLOG_DUMP on a mysql2 connection, handing out each event's bytes
 * exactly as the server sent them (header, body and checksum), without decoding anything.
 * zongji parses events (and mysql2's own createBinlogStream is broken), so the relay talks the
 * protocol itself: a mysql2 Command object (`execute(packet, connection)`) added to the
 * connection's command queue, as zongji does.
 *
 * MariaDB sessions are prepared as a replica would: `@master_binlog_checksum` (so events keep
 * their CRC32 and the bytes equal the file's), `@mariadb_slave_capability=4` (GTID events are
 * sent as they are, not rewritten into BEGIN queries), `@master_heartbeat_period` (the server
 * sends a heartbeat when idle: a dead connection shows as a read timeout), and for a GTID start
 * `@slave_connect_state` (the dump's file name is then ignored by the server).
 *
 * Backpressure: events are queued until `next()` takes them; above QUEUE_HIGH_BYTES the socket
 * is paused, below it resumed.
 */
import type { Connection as PromiseConnection } from 'mysql2/promise';
import { DMError } from '../../errors/index.js';
import { classifyError, connect, type ConnConfig } from '../../sql/index.js';

const COM_BINLOG_DUMP = 0x12;
const QUEUE_HIGH_BYTES = 16 << 20;
/** Heartbeat period asked of the server; no byte for IDLE_TIMEOUT_MS = connection lost. */
export const DUMP_HEARTBEAT_MS = 1000;
const IDLE_TIMEOUT_MS = 30_000;

export interface DumpStart {
  /** File to start in ('' with `gtid`). */
  file: string;
  pos: number;
  /** MariaDB GTID list to start after (`@slave_connect_state`); undefined = by file. */
  gtid?: string;
}

interface MysqlPacket {
  buffer: Buffer;
  start: number;
  end: number;
  isEOF(): boolean;
  isError(): boolean;
  asError(enc?: string): Error;
}
interface CoreConnection {
  addCommand(cmd: unknown): unknown;
  writePacket(p: { buffer: Buffer; length(): number; writeHeader(seq: number): void }): void;
  _resetSequenceId(): void;
  pause(): void;
  resume(): void;
  destroy(): void;
  on(ev: string, fn: (...a: unknown[]) => void): void;
  clientEncoding?: string;
}

class OutPacket {
  constructor(readonly buffer: Buffer) {}
  length(): number {
    return this.buffer.length;
  }
  writeHeader(seq: number): void {
    this.buffer.writeUIntLE(this.buffer.length - 4, 0, 3);
    this.buffer.writeUInt8(seq, 3);
  }
}

export class RawBinlogDump {
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private paused = false;
  private error: Error | undefined;
  private ended = false;
  private wake: (() => void) | undefined;
  private lastData = Date.now();

  private constructor(
    private readonly conn: PromiseConnection,
    private readonly core: CoreConnection,
  ) {}

  /** Connect, prepare the session and send the dump command. */
  static async open(c: ConnConfig, start: DumpStart, serverId: number): Promise<RawBinlogDump> {
    const conn = await connect({ host: c.host, port: c.port, user: c.user, password: c.password, ...(c.ssl ? { ssl: c.ssl } : {}) }, { rawGeometry: false });
    try {
      await conn.query('SET @master_binlog_checksum = @@global.binlog_checksum');
      await conn.query('SET @mariadb_slave_capability = 4');
      await conn.query(`SET @master_heartbeat_period = ${DUMP_HEARTBEAT_MS * 1_000_000}`);
      if (start.gtid !== undefined) {
        await conn.query('SET @slave_connect_state = ?', [start.gtid]);
        await conn.query('SET @slave_gtid_strict_mode = 0');
        await conn.query('SET @slave_gtid_ignore_duplicates = 0');
      }
    } catch (e) {
      conn.destroy();
      throw classifyError(e);
    }
    const core = (conn as unknown as { connection: CoreConnection }).connection;
    const d = new RawBinlogDump(conn, core);
    core.on('error', (e) => d.fail(e as Error));
    core.on('end', () => d.fail(new DMError('ErrDBBadConn', 'the binlog dump connection was closed by the server')));
    const name = Buffer.from(start.gtid !== undefined ? '' : start.file, 'utf8');
    const out = Buffer.alloc(4 + 11 + name.length);
    out.writeUInt8(COM_BINLOG_DUMP, 4);
    out.writeUInt32LE(start.pos, 5);
    // flags: blocking; 0x02 = BINLOG_SEND_ANNOTATE_ROWS_EVENT (MariaDB skips ANNOTATE_ROWS events otherwise: a hole)
    out.writeUInt16LE(2, 9);
    out.writeUInt32LE(serverId, 11);
    name.copy(out, 15);
    const cmd = {
      next: null as null | ((p: MysqlPacket | null, cc: CoreConnection) => unknown),
      execute(packet: MysqlPacket | null, cc: CoreConnection): boolean {
        if (!this.next) {
          cc._resetSequenceId();
          cc.writePacket(new OutPacket(out));
          this.next = () => undefined;
          return false;
        }
        if (!packet) return false;
        if (packet.isError()) {
          d.fail(packet.asError(cc.clientEncoding));
          return true;
        }
        if (packet.isEOF()) {
          d.fail(new DMError('ErrDBBadConn', 'the server ended the binlog dump'));
          return true;
        }
        // payload: 0x00 marker, then the event
        d.push(packet.buffer.subarray(packet.start + 5, packet.end));
        return false;
      },
    };
    core.addCommand(cmd);
    return d;
  }

  private push(ev: Buffer): void {
    this.lastData = Date.now();
    this.queue.push(ev);
    this.queuedBytes += ev.length;
    if (!this.paused && this.queuedBytes > QUEUE_HIGH_BYTES) {
      this.paused = true;
      this.core.pause();
    }
    this.wake?.();
  }

  private fail(e: Error): void {
    if (this.ended) return;
    this.error ??= e;
    this.wake?.();
  }

  /**
   * The events received so far (at least one), waiting for them; throws the connection's error
   * once the queue is drained, or when nothing (not even a heartbeat) came for IDLE_TIMEOUT_MS.
   */
  async next(signal: AbortSignal): Promise<Buffer[]> {
    for (;;) {
      if (this.queue.length > 0) {
        const out = this.queue.splice(0);
        this.queuedBytes = 0;
        if (this.paused) {
          this.paused = false;
          this.core.resume();
        }
        return out;
      }
      if (this.error) throw this.error instanceof DMError ? this.error : classifyError(this.error);
      if (signal.aborted) throw new DMError('ErrCanceled', 'binlog dump canceled');
      if (Date.now() - this.lastData > IDLE_TIMEOUT_MS) {
        throw new DMError('ErrDBBadConn', `no data nor heartbeat from the upstream for ${IDLE_TIMEOUT_MS / 1000} s`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, 1000);
        function done(): void {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          resolve();
        }
        this.wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
      this.wake = undefined;
    }
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.conn.destroy();
  }
}
