/**
 * The relay reader: a subtask of a relay-enabled source reads its binlog events from the
 * worker's local relay files (src/binlog/relay-layout.ts, DM's layout) instead of a binlog
 * connection. It is the network reader of reader.ts with this file as its transport in place
 * of dump-session.ts: the same queue and backpressure, the same TABLE_MAP checks and schema
 * tracker, the same transaction shaper, and the same decoding (zongji's packet layer over the
 * file bytes, relay-decode.ts). So a relay reader yields exactly the events a network reader
 * yields for the same binlog range, with the same positions.
 *
 * Positions are the upstream's: relay files keep the upstream's names and offsets, a checkpoint
 * written while reading the relay resumes over the network and the other way round. When two
 * sub-directories hold a file of the same name (an upstream switch to a server with the same
 * binlog base name), a file:offset start takes the newest one; a GTID start is exact.
 *
 * Guarantees:
 * - Start by file:offset: the executed GTID set at the offset is the file's Gtid_list /
 *   Previous_gtids plus the GTIDs of the event groups before the offset (what MariaDB's
 *   BINLOG_GTID_POS answers the network reader), found by scanning the file head without
 *   decoding rows; then the file's FORMAT_DESCRIPTION is fed and reading starts at the offset.
 *   Nothing before the offset reaches the schema tracker (as over the network).
 * - Start by GTID set: DM's rule: the newest relay file whose previous-GTID set
 *   (Previous_gtids / Gtid_list) the start set contains; read from its start, skipping every
 *   event group whose GTID the start set already contains (what the server does for a GTID dump).
 * - Follows the ROTATE at the end of a file to the next file; a file that ends without one (a
 *   STOP event, or a writer that restarted in a new file) is followed to the next file of its
 *   sub-directory once nothing more is being appended to it; at the end of a sub-directory that
 *   is no longer the last in `server-uuid.index`, continues in the next one from its first file
 *   (a transaction cut off by the upstream switch is replayed from the new upstream with its
 *   delivered events suppressed, as after a reconnect; groups already executed are skipped).
 * - Only whole events are decoded: a partial trailing event (the writer mid-write, or killed
 *   mid-write) is waited for and re-read from the file once complete; bytes beyond the last whole
 *   event are never cached, so a writer that truncates and rewrites them is read correctly.
 * - At the end of the relay it waits (fs.watch on the sub-directory and the relay dir, with a
 *   poll every `pollMs` as fallback) instead of ending; heartbeats go on as over the network.
 * - ANNOTATE_ROWS events are skipped (the network reader does not request them either).
 * - The source connection is used only where the network reader would need it before reading
 *   (checking the binlog settings, seeding the schema tracker, resolving a start time). With a
 *   schema snapshot (`schemas`), a source that cannot be reached is tolerated: the relay is read.
 *
 * Not here: CRC32 verification of the events (the writer verifies what it receives), MySQL 8.3
 * tagged GTIDs in a GTID start's skip decision (they are not skipped), writing or purging relay
 * files (the relay writer's, src/units/relay/).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import ZongJi from '@vlasky/zongji';
import type { AnyBinlogEvent } from '@vlasky/zongji';
import type { Connection } from 'mysql2/promise';
import { DMError, isDMError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { DumpHost, DumpOptions, Session, BinlogTransport } from './dump-session.js';
import { configureZongji, createSession } from './dump-session.js';
import { parseGtidSet } from './position.js';
import type { GtidSet } from './gtid-set.js';
import type { ReaderMetrics } from './reader-metrics.js';
import type { TxnShaper } from './txn-shaper.js';
import { findStartByTime } from './start-time.js';
import { openControlConnection } from './source-info.js';
import { binlogStreamOptions, getMasterStatus } from '../sql/index.js';
import { enableFastpath } from './zongji-fastpath.js';
import { loadZongjiPacketLayer, RawEventFeeder, type StreamControl } from './relay-decode.js';
import {
  BINLOG_MAGIC,
  EV,
  EVENT_HEADER_LEN,
  GTID_EVENT_TYPES,
  MAX_EVENT_LEN,
  compareBinlogNames,
  fileSize,
  formatDescriptionHasChecksum,
  listRelayFiles,
  readEventHeader,
  readRelayIndex,
  type RelaySubDir,
} from './relay-layout.js';

/** Default bytes read from a relay file at a time. */
export const DEFAULT_RELAY_READ_CHUNK = 1 << 20;
/** Default poll interval at the end of the relay (fs.watch usually wakes the reader earlier). */
export const DEFAULT_RELAY_POLL_MS = 250;

/** Where a relay reader still needs the relay from (for the purger). */
export interface RelayNeededPosition {
  /** `<server-uuid>.<nnnnnn>` */
  subDir: string;
  file: string;
  offset: number;
}

/** What the relay reader tells the purger (src/units/relay/needed.ts implements it). */
export interface RelayNeedsSink {
  /** The reader `id` needs the relay from `pos` on; undefined: it needs nothing any more. */
  set(id: string, pos: RelayNeededPosition | undefined): void;
}

export interface RelayReadOptions {
  /** The worker's relay-dir (holding server-uuid.index and the sub-directories). */
  dir: string;
  /** Default 250 ms. */
  pollMs?: number;
  /** Default 1 MiB. */
  readChunk?: number;
  /** Told the earliest position this reader needs (its start, then its checkpoints). */
  needs?: RelayNeedsSink;
  /** The id under which `needs` knows this reader (default: the task label, else the server id). */
  needsId?: string;
}

/** The reader's options this transport uses. */
export interface RelayTransportOptions extends DumpOptions {
  relay: RelayReadOptions;
  /** A schema snapshot is given: the source is needed only for a start time. */
  schemas?: string;
  labels?: { task?: string; source_id?: string };
}

interface Loc {
  sub: number;
  file: string;
}

/** Read position in the relay. */
interface Cursor {
  sub: RelaySubDir;
  subIdx: number;
  file: string;
  fh: FileHandle;
  /** File offset of the next event. */
  offset: number;
  /** Bytes after the last whole event at the last read that reached the end of the file. */
  tail: number;
  /** The file's ROTATE named the next file (the stream continues there). */
  rotateTo: string | undefined;
  /** The file ended with a STOP event. */
  stopped: boolean;
  /** An event longer than a read chunk starts at `offset`: read this much. */
  need: number;
  /** The unread rest of the last read (whole events from `p` on), kept across a pause. */
  pending: { buf: Buffer; p: number; end: number; eof: boolean } | undefined;
}

export class RelaySession implements BinlogTransport, StreamControl {
  session: Session | undefined;
  connected = false;
  reconnects = 0;
  fastpath = false;
  private readonly o: RelayTransportOptions;
  private readonly shaper: TxnShaper;
  private readonly host: DumpHost;
  private readonly closeSignal: AbortSignal;
  private readonly log: Logger;
  private readonly metrics: ReaderMetrics | undefined;
  private readonly includeCache = new Map<string, Map<string, boolean>>();
  private ctrl: Connection | undefined;
  private subs: RelaySubDir[] = [];
  private startLoc: Loc | 'wait' | undefined;
  private cur: Cursor | undefined;
  /** A file:offset start: where the first file is read from (after its FORMAT_DESCRIPTION). */
  private startOffset = 4;
  /** Event groups whose GTID this set contains are skipped (GTID start, sub-directory switch). */
  private gtidSkip: GtidSet | undefined;
  private skippingGroup = false;
  private feeder: RawEventFeeder | undefined;
  private paused = false;
  private wake: (() => void) | undefined;
  private changed = false;
  private watchers: FSWatcher[] = [];
  private watchedSub = '';
  private loopDone: Promise<void> = Promise.resolve();
  private startedOnce = false;
  /** The error that ended a session (a decode error, or the reader's own, e.g. a TABLE_MAP mismatch). */
  private failed: DMError | undefined;
  /** subDir of each file this reader opened (for the needs registry; bounded). */
  private readonly subOfFile = new Map<string, string>();

  constructor(o: RelayTransportOptions, shaper: TxnShaper, host: DumpHost, closeSignal: AbortSignal, log: Logger, metrics: ReaderMetrics | undefined) {
    this.o = o;
    this.shaper = shaper;
    this.host = host;
    this.closeSignal = closeSignal;
    this.log = log.child({ relayDir: o.relay.dir });
    this.metrics = metrics;
    closeSignal.addEventListener('abort', () => this.poke(), { once: true });
  }

  private get needsId(): string {
    return this.o.relay.needsId ?? this.o.labels?.task ?? String(this.o.serverId);
  }

  // ---- BinlogTransport ---------------------------------------------------------------------

  /**
   * The source connection for the reader's start (binlog settings, schema seed). With a schema
   * snapshot an unreachable source is tolerated (undefined): the relay alone is read.
   */
  async openControl(): Promise<Connection | undefined> {
    try {
      this.ctrl = await openControlConnection(this.o.connection);
      return this.ctrl;
    } catch (e) {
      if (this.o.schemas !== undefined && !('time' in this.o.start)) {
        this.log.warn({ err: e }, 'source unreachable; reading the relay with the checkpoint schema snapshot');
        return undefined;
      }
      throw new DMError('ErrUpstreamUnreachable', `cannot connect to the source at ${this.o.connection.host}:${this.o.connection.port}`, { cause: e });
    }
  }

  async resolveStart(): Promise<void> {
    let start = this.o.start;
    if ('time' in start) {
      if (!this.ctrl) throw new DMError('ErrUpstreamUnreachable', 'a start time needs the source (to find the binlog position)');
      const p = await findStartByTime(this.ctrl, this.o, start.time, this.closeSignal);
      this.log.info({ time: start.time.toISOString(), position: p }, 'start time resolved to binlog position');
      start = p.gtid && p.file === '' ? { gtid: p.gtid } : { file: p.file, offset: p.offset };
    }
    this.subs = await readRelayIndex(this.o.relay.dir);
    if ('gtid' in start) {
      const set = parseGtidSet(start.gtid, this.o.flavor);
      this.shaper.executed = set;
      this.shaper.boundary = { file: '', offset: 0, gtid: set.toString() };
      this.shaper.resumeByGtid = true;
      this.gtidSkip = set;
      this.startLoc = await this.locateByGtid(set);
      return;
    }
    if (!start.file || start.offset < 4) throw new DMError('ErrBinlogInvalidPosition', `invalid start position ${start.file}:${start.offset}`);
    this.shaper.curFile = start.file;
    this.shaper.boundary = { file: start.file, offset: start.offset, gtid: '' };
    this.startOffset = start.offset;
    this.startLoc = await this.locateFile(start.file, start.offset);
    if (this.startLoc !== 'wait') await this.seedExecuted(this.startLoc);
  }

  /** The executed GTID set at a file:offset start (see the file head). */
  private async seedExecuted(loc: Loc): Promise<void> {
    const head = await this.scanHead(join(this.subs[loc.sub]!.path, loc.file), this.startOffset);
    if (head.executed === undefined) return;
    this.shaper.executed = head.executed;
    this.shaper.boundary = { ...this.shaper.boundary, gtid: head.executed.toString() };
  }

  async begin(): Promise<void> {
    const s = this.openSession();
    this.loopDone = this.pump(s);
    await s.firstEvent;
  }

  async stop(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (s && !s.ended) {
      s.ended = true;
      s.finish();
    }
    this.poke();
    await this.loopDone;
    this.unwatch();
    await this.cur?.fh.close().catch(() => undefined);
    this.cur = undefined;
    this.connected = false;
    this.o.relay.needs?.set(this.needsId, undefined);
    const ctrl = this.ctrl;
    this.ctrl = undefined;
    await ctrl?.end().catch(() => ctrl.destroy());
  }

  endSession(s: Session, e: unknown): void {
    if (s.ended) return;
    s.ended = true;
    this.connected = false;
    if (this.session === s) this.session = undefined;
    this.poke();
    if (this.host.closed) {
      s.finish();
      return;
    }
    const err = isDMError(e) ? e : new DMError('ErrBinlogDecode', `relay event could not be decoded at ${this.where()}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    s.finish(err);
    // no reconnecting from files: the read loop ends the stream with it
    this.failed ??= err;
  }

  /** The master-side metrics from the source when it can be reached (the relay works without it). */
  async updateMasterStatus(): Promise<void> {
    if (!this.metrics || this.host.closed) return;
    try {
      this.ctrl ??= await openControlConnection(this.o.connection);
      this.metrics.position('master', await getMasterStatus(this.ctrl));
    } catch {
      const c = this.ctrl;
      this.ctrl = undefined;
      c?.destroy();
    }
  }

  /** The consumer checkpointed `pos`: the relay before it is no longer needed by this reader. */
  checkpointed(pos: { file: string; offset: number }): void {
    const sub = this.subOfFile.get(pos.file);
    if (sub !== undefined) this.o.relay.needs?.set(this.needsId, { subDir: sub, file: pos.file, offset: pos.offset });
  }

  // ---- StreamControl (zongji's "connection") -------------------------------------------------

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.poke();
  }

  // ---- sessions ------------------------------------------------------------------------------

  private openSession(): Session {
    this.shaper.reconnecting();
    this.host.newSession();
    this.paused = false;
    this.skippingGroup = false;
    const zj = new ZongJi({});
    if (this.fastpath) enableFastpath(zj);
    const s = createSession(zj, () => new DMError('ErrCanceled', 'binlog reader closed during start'));
    configureZongji(zj, this.o.includeTable, this.includeCache, (ev, next) => this.host.tableInfo(s, ev, next));
    this.session = s;
    this.connected = true;
    return s;
  }

  private async newFeeder(s: Session): Promise<RawEventFeeder> {
    const init = await loadZongjiPacketLayer();
    const host = this.host;
    return new RawEventFeeder(
      init,
      s.zj,
      this.o.flavor,
      binlogStreamOptions(this.o.connection),
      this,
      (ev: AnyBinlogEvent) => {
        if (s.ended || this.session !== s) return;
        this.metrics?.read((ev.size ?? 0) + EVENT_HEADER_LEN);
        try {
          host.onEvent(ev);
        } catch (e) {
          this.endSession(s, e);
        }
      },
      (e) => this.endSession(s, e),
    );
  }

  // ---- the read loop -------------------------------------------------------------------------

  private async pump(first: Session): Promise<void> {
    let s: Session | undefined = first;
    try {
      this.feeder = await this.newFeeder(s);
      let loc = this.startLoc;
      while (loc === 'wait' || loc === undefined) {
        s.started(); // the reader is running: it waits for the relay to reach the start
        if (!(await this.waitForChange(undefined))) return;
        this.subs = await readRelayIndex(this.o.relay.dir);
        if (this.shaper.resumeByGtid && this.gtidSkip) loc = await this.locateByGtid(this.gtidSkip);
        else {
          loc = await this.locateFile(this.shaper.curFile, this.startOffset);
          if (loc !== 'wait') await this.seedExecuted(loc);
        }
      }
      await this.openAt(loc.sub, loc.file, true, this.startOffset);
      this.log.info({ subDir: this.cur!.sub.name, file: loc.file, offset: this.startOffset, gtid: this.shaper.boundary.gtid }, 'binlog reader reads the relay');
      this.o.relay.needs?.set(this.needsId, { subDir: this.cur!.sub.name, file: loc.file, offset: this.startOffset });
      s.started();
      this.startedOnce = true;
      for (;;) {
        if (this.closeSignal.aborted || s.ended || this.session !== s) break;
        if (this.paused) {
          await this.waitForChange(undefined, true);
          continue;
        }
        const fed = await this.readSome(s);
        if (fed || this.paused || s.ended) continue;
        const moved = await this.atEnd();
        if (typeof moved === 'object') {
          // a new upstream: a new "session", as after a reconnect (replays a cut-off transaction)
          const old = s;
          s = this.openSession();
          old.ended = true;
          old.finish();
          this.feeder = await this.newFeeder(s);
          s.started();
          await this.openAt(moved.sub, moved.file, true);
          continue;
        }
        if (moved) continue;
        await this.waitForChange(this.cur!.sub.path);
      }
      s.finish();
      if (this.failed && !this.host.closed) {
        if (this.startedOnce) this.host.fail(this.failed);
        else throw this.failed;
      }
    } catch (e) {
      const err = isDMError(e) ? e : new DMError('ErrRelayRead', `reading the relay failed at ${this.where()}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      if (s && !s.ended) {
        s.ended = true;
        this.connected = false;
        s.finish(err);
      }
      if (!this.host.closed && this.startedOnce) this.host.fail(err);
    }
  }

  /** Read and feed whole events from the cursor; false when not one whole event was there. */
  private async readSome(s: Session): Promise<boolean> {
    const c = this.cur!;
    const want = Math.max(this.o.relay.readChunk ?? DEFAULT_RELAY_READ_CHUNK, c.need);
    let buf: Buffer;
    let p: number;
    let end: number;
    let eof: boolean;
    const pending = c.pending;
    if (pending !== undefined) {
      // whole events left over by a pause (their bytes never change once written)
      c.pending = undefined;
      ({ buf, p, end, eof } = pending);
    } else {
      // a fresh buffer per read: decoded values (BLOBs, binary strings) are views of it
      buf = Buffer.allocUnsafe(want + 1);
      const { bytesRead } = await c.fh.read(buf, 1, want, c.offset);
      p = 1;
      end = 1 + bytesRead;
      eof = bytesRead < want;
    }
    let fed = false;
    while (end - p >= EVENT_HEADER_LEN && !this.paused && !s.ended && this.session === s) {
      // the header's type (byte 4) and length (bytes 9-12): the hot loop reads nothing else
      const len = buf.readUInt32LE(p + 9);
      if (len < EVENT_HEADER_LEN || len > MAX_EVENT_LEN) {
        throw new DMError('ErrRelayFileCorrupt', `relay file ${join(c.sub.path, c.file)} has an event of length ${len} at offset ${c.offset}`);
      }
      if (end - p < len) {
        if (p === 1 && !eof) c.need = len;
        break;
      }
      c.offset += len;
      c.need = 0;
      fed = true;
      this.handle(buf, p, buf[p + 4]!, len);
      p += len;
    }
    if ((this.paused || s.ended) && end - p >= EVENT_HEADER_LEN && this.cur === c) {
      c.pending = { buf, p, end, eof };
      return true;
    }
    // the rest of a kept buffer is a partial event: read the file again at once
    if (pending !== undefined) return true;
    if (eof) c.tail = end - p;
    // an event longer than the chunk: read again at once with a buffer that fits it
    return fed || c.need > want;
  }

  /** One whole event `buf[p, p+len)`: skip it, note how the file ends, or feed it to zongji. */
  private handle(buf: Buffer, p: number, type: number, len: number): void {
    const c = this.cur!;
    const feeder = this.feeder!;
    switch (type) {
      case EV.FORMAT_DESCRIPTION:
        feeder.setChecksum(formatDescriptionHasChecksum(buf, p, len));
        break;
      case EV.ROTATE: {
        const nameEnd = p + len - (feeder.useChecksum ? 4 : 0);
        c.rotateTo = buf.toString('utf8', p + EVENT_HEADER_LEN + 8, nameEnd);
        break;
      }
      case EV.STOP:
        c.stopped = true;
        break;
      case EV.MARIADB_ANNOTATE_ROWS:
        return;
      default:
        break;
    }
    if (this.gtidSkip) {
      if (GTID_EVENT_TYPES.has(type)) this.skippingGroup = this.groupExecuted(buf, p, type, this.gtidSkip);
      if (this.skippingGroup && !FILE_LEVEL_TYPES.has(type)) return;
    }
    feeder.feed(buf, p, p + len);
  }

  /** Whether the GTID of the group this GTID event opens is in `set` (MySQL tagged GTIDs: never). */
  private groupExecuted(buf: Buffer, p: number, type: number, set: GtidSet): boolean {
    const gtid = gtidOf(buf, p, type);
    if (gtid === undefined) return false;
    try {
      return set.containsGtid(gtid);
    } catch {
      return false;
    }
  }

  /**
   * Nothing whole to read in the current file: go on in the next file or sub-directory when the
   * relay says so. A location: go on at the start of a new sub-directory (the caller opens a new
   * session there); true: a next file of the same sub-directory is open; false: wait.
   */
  private async atEnd(): Promise<boolean | Loc> {
    const c = this.cur!;
    if (c.rotateTo !== undefined) {
      if ((await fileSize(join(c.sub.path, c.rotateTo))) >= 0) {
        await this.openAt(c.subIdx, c.rotateTo, false);
        return true;
      }
    } else if (c.tail === 0) {
      // no ROTATE at the end: a STOP event, or the writer went on in a new file
      const files = await listRelayFiles(c.sub.path);
      const next = files.find((f) => compareBinlogNames(f, c.file) > 0);
      if (next !== undefined && (c.stopped || (await this.fileIsComplete(c)))) {
        this.log.info({ from: c.file, to: next, subDir: c.sub.name }, 'relay file ended without a rotate; going on in the next file');
        await this.openAt(c.subIdx, next, true);
        return true;
      }
    }
    if (c.tail !== 0) return false;
    // the next sub-directory, once the writer has put a file in it
    this.subs = await readRelayIndex(this.o.relay.dir);
    const idx = this.subs.findIndex((d) => d.name === c.sub.name);
    const nextSub = idx >= 0 ? this.subs[idx + 1] : undefined;
    if (nextSub === undefined) return false;
    const files = await listRelayFiles(nextSub.path);
    const first = files[0];
    if (first === undefined || (await fileSize(join(nextSub.path, first))) < BINLOG_MAGIC.length + EVENT_HEADER_LEN) return false;
    this.log.info({ from: c.sub.name, to: nextSub.name, file: first, position: this.shaper.boundary }, 'relay switches to the next sub-directory (upstream switch)');
    // groups the old upstream's relay already delivered are skipped when the new one repeats them
    this.gtidSkip = this.shaper.executed;
    return { sub: idx + 1, file: first };
  }

  /** The file was not appended to since the last read (the writer moved on to a newer file). */
  private async fileIsComplete(c: Cursor): Promise<boolean> {
    return (await fileSize(join(c.sub.path, c.file))) === c.offset;
  }

  /**
   * Open `file` of sub-directory `subIdx` at its first event, or at `from` (after feeding its
   * FORMAT_DESCRIPTION); `announce`: feed an artificial ROTATE to it first.
   */
  private async openAt(subIdx: number, file: string, announce: boolean, from = 4): Promise<void> {
    const sub = this.subs[subIdx];
    if (!sub) throw new DMError('ErrRelayNoPosition', `relay sub-directory #${subIdx + 1} is not in ${join(this.o.relay.dir, 'server-uuid.index')}`);
    const path = join(sub.path, file);
    const fh = await open(path, 'r');
    try {
      const magic = Buffer.alloc(4);
      // a file just created may not have its magic yet
      for (;;) {
        const { bytesRead } = await fh.read(magic, 0, 4, 0);
        if (bytesRead === 4) break;
        if (!(await this.waitForChange(sub.path))) throw new DMError('ErrCanceled', 'relay reader closed');
      }
      if (!magic.equals(BINLOG_MAGIC)) throw new DMError('ErrRelayFileCorrupt', `relay file ${path} does not start with the binlog magic`);
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e;
    }
    if (this.cur && this.cur.fh !== fh) await this.cur.fh.close().catch(() => undefined);
    this.cur = { sub, subIdx, file, fh, offset: 4, tail: 0, rotateTo: undefined, stopped: false, need: 0, pending: undefined };
    if (this.subOfFile.size > 10_000) this.subOfFile.clear();
    this.subOfFile.set(file, sub.name);
    if (announce) this.feeder!.feedArtificialRotate(file, from, 0);
    if (from > 4) {
      // the FORMAT_DESCRIPTION (checksums, and zongji's state), then the start offset
      const head = Buffer.allocUnsafe(EVENT_HEADER_LEN + 1);
      const { bytesRead } = await fh.read(head, 1, EVENT_HEADER_LEN, 4);
      const h = bytesRead === EVENT_HEADER_LEN ? readEventHeader(head, 1) : undefined;
      if (h?.type !== EV.FORMAT_DESCRIPTION) throw new DMError('ErrRelayFileCorrupt', `relay file ${path} does not start with a FORMAT_DESCRIPTION event`);
      const fde = Buffer.allocUnsafe(h.length + 1);
      await fh.read(fde, 1, h.length, 4);
      this.handle(fde, 1, EV.FORMAT_DESCRIPTION, h.length);
      this.cur.offset = from;
    }
    this.log.debug({ subDir: sub.name, file }, 'relay file opened');
  }

  // ---- locating the start ----------------------------------------------------------------------

  /** The newest sub-directory holding `file`; 'wait' when the relay has not reached it yet. */
  private async locateFile(file: string, offset: number): Promise<Loc | 'wait'> {
    let first: string | undefined;
    let last: string | undefined;
    for (let i = this.subs.length - 1; i >= 0; i--) {
      const sub = this.subs[i]!;
      const files = await listRelayFiles(sub.path);
      if (files.includes(file)) {
        const size = await fileSize(join(sub.path, file));
        const isLast = i === this.subs.length - 1 && files[files.length - 1] === file;
        if (offset > size && !isLast) {
          throw new DMError('ErrRelayPosTooBig', `start position ${file}:${offset} is beyond the end of relay file ${join(sub.path, file)} (${size} bytes)`);
        }
        return { sub: i, file };
      }
      if (files.length > 0) {
        last ??= files[files.length - 1];
        first = files[0];
      }
    }
    if (first === undefined || last === undefined) return 'wait';
    if (sameBase(file, last) && compareBinlogNames(file, last) > 0) return 'wait';
    throw new DMError('ErrRelayNoPosition', `the relay in ${this.o.relay.dir} does not hold binlog file ${file} (it holds ${first} to ${last})`);
  }

  /** DM's rule: the newest file whose previous-GTID set `set` contains; 'wait' when the relay has no file yet. */
  private async locateByGtid(set: GtidSet): Promise<Loc | 'wait'> {
    let any = false;
    for (let i = this.subs.length - 1; i >= 0; i--) {
      const sub = this.subs[i]!;
      const files = await listRelayFiles(sub.path);
      for (let k = files.length - 1; k >= 0; k--) {
        const file = files[k]!;
        const prev = (await this.scanHead(join(sub.path, file), 0)).prev;
        if (prev === undefined) continue;
        any = true;
        if (set.contains(prev)) return { sub: i, file };
      }
    }
    if (!any) return 'wait';
    throw new DMError('ErrRelayNoGtidMatch', `no relay file in ${this.o.relay.dir} starts at or before GTID set ${set.toString() || "''"} (the relay starts after it)`);
  }

  /**
   * The head of a relay file: its previous-GTID set (Previous_gtids / Gtid_list, decoded by
   * zongji) and, when `upTo` > 4, the executed set at `upTo`: that set plus the GTIDs of the event
   * groups before it (read from the GTID events' headers; rows are not decoded).
   */
  private async scanHead(path: string, upTo: number): Promise<{ prev: GtidSet | undefined; executed: GtidSet | undefined }> {
    const fh = await open(path, 'r');
    try {
      const init = await loadZongjiPacketLayer();
      let prev: GtidSet | undefined;
      let failed: unknown;
      const control: StreamControl = { pause: () => undefined, resume: () => undefined };
      const feeder = new RawEventFeeder(
        init,
        new ZongJi({}),
        this.o.flavor,
        binlogStreamOptions(this.o.connection),
        control,
        (ev) => {
          const name = ev.getEventName();
          const raw = ev as unknown as { gtidSet?: string; gtids?: { domainId: number; serverId: number; seqNo: number | string }[] };
          if (name === 'previousgtids' && this.o.flavor === 'mysql') prev = parseGtidSet(String(raw.gtidSet ?? ''), 'mysql');
          if (name === 'mariadbgtidlist' && this.o.flavor === 'mariadb') prev = parseGtidSet(gtidListText(raw.gtids ?? []), 'mariadb');
        },
        (e) => (failed = e),
      );
      let executed: GtidSet | undefined;
      let off = 4;
      let chunk = 64 << 10;
      for (;;) {
        const buf = Buffer.allocUnsafe(chunk + 1);
        const { bytesRead } = await fh.read(buf, 1, chunk, off === 4 ? 0 : off);
        let p = off === 4 ? 5 : 1;
        if (off === 4 && (bytesRead < 4 || !buf.subarray(1, 5).equals(BINLOG_MAGIC))) return { prev: undefined, executed: undefined };
        const end = 1 + bytesRead;
        let whole = 0;
        while (end - p >= EVENT_HEADER_LEN && (upTo <= 4 || off < upTo)) {
          const h = readEventHeader(buf, p);
          if (h.length < EVENT_HEADER_LEN) throw new DMError('ErrRelayFileCorrupt', `relay file ${path} has an event of length ${h.length} at offset ${off}`);
          if (end - p < h.length) {
            chunk = Math.max(chunk, h.length);
            break;
          }
          whole++;
          if (h.type === EV.FORMAT_DESCRIPTION) feeder.setChecksum(formatDescriptionHasChecksum(buf, p, h.length));
          if (h.type === EV.FORMAT_DESCRIPTION || h.type === EV.PREVIOUS_GTIDS || h.type === EV.MARIADB_GTID_LIST) {
            feeder.feed(buf, p, p + h.length);
            if (failed !== undefined) throw new DMError('ErrRelayFileCorrupt', `cannot decode the GTID list at the start of relay file ${path}`, { cause: failed });
            executed = prev;
          }
          if (GTID_EVENT_TYPES.has(h.type)) {
            if (upTo <= 4) return { prev, executed: undefined };
            const g = gtidOf(buf, p, h.type);
            if (g !== undefined && executed !== undefined) executed = executed.add(g);
          }
          off += h.length;
          p += h.length;
        }
        if ((upTo > 4 && off >= upTo) || whole === 0) break;
      }
      if (upTo > 4 && off !== upTo && executed !== undefined) {
        throw new DMError('ErrBinlogInvalidPosition', `position ${path}:${upTo} is not the start of an event in the relay file`, {
          workaround: 'Start from a transaction boundary, e.g. a position from SHOW MASTER STATUS, SHOW BINLOG EVENTS, or a DM checkpoint.',
        });
      }
      return { prev, executed: upTo > 4 ? executed : undefined };
    } finally {
      await fh.close().catch(() => undefined);
    }
  }

  // ---- waiting ---------------------------------------------------------------------------------

  /**
   * Wait for the relay to change (a write in `subPath` or the relay dir, or a poll interval) or
   * for resume()/close; false when closed. `untilResumed`: wait for resume() only.
   */
  private async waitForChange(subPath: string | undefined, untilResumed = false): Promise<boolean> {
    if (this.closeSignal.aborted) return false;
    if (!untilResumed) this.watchSub(subPath);
    if (!untilResumed && this.changed) {
      this.changed = false;
      return true;
    }
    await new Promise<void>((resolve) => {
      const t = untilResumed ? undefined : setTimeout(resolve, this.o.relay.pollMs ?? DEFAULT_RELAY_POLL_MS);
      this.wake = () => {
        if (t) clearTimeout(t);
        resolve();
      };
    });
    this.wake = undefined;
    this.changed = false;
    return !this.closeSignal.aborted;
  }

  private poke(): void {
    this.changed = true;
    this.wake?.();
  }

  /** fs.watch the relay dir and the current sub-directory (re-armed when the sub-directory changes). */
  private watchSub(subPath: string | undefined): void {
    const key = subPath ?? '';
    if (this.watchers.length > 0 && this.watchedSub === key) return;
    this.unwatch();
    this.watchedSub = key;
    for (const p of subPath ? [this.o.relay.dir, subPath] : [this.o.relay.dir]) {
      try {
        const w = watch(p, { persistent: false }, () => this.poke());
        w.on('error', () => undefined);
        this.watchers.push(w);
      } catch {
        // not there yet, or no inotify: the poll interval covers it
      }
    }
  }

  private unwatch(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    this.watchedSub = '';
  }

  private where(): string {
    const c = this.cur;
    return c ? `${join(c.sub.name, c.file)}:${c.offset}` : this.o.relay.dir;
  }
}

/** Events that belong to the file, not to an event group: fed even while a group is skipped. */
const FILE_LEVEL_TYPES: ReadonlySet<number> = new Set([EV.FORMAT_DESCRIPTION, EV.ROTATE, EV.STOP, EV.PREVIOUS_GTIDS, EV.MARIADB_GTID_LIST, EV.MARIADB_BINLOG_CHECKPOINT]);

/** A MariaDB Gtid_list event's entries as a GTID list (the last GTID per domain), as the shaper reads it. */
function gtidListText(gtids: { domainId: number; serverId: number; seqNo: number | string }[]): string {
  const last = new Map<number, string>();
  for (const g of gtids) last.set(g.domainId, `${g.domainId}-${g.serverId}-${g.seqNo}`);
  return [...last.values()].join(',');
}

/** The GTID of a GTID event (MariaDB `domain-server-seq`, MySQL `uuid:gno`); undefined for anonymous and tagged ones. */
function gtidOf(buf: Buffer, p: number, type: number): string | undefined {
  const body = p + EVENT_HEADER_LEN;
  if (type === EV.MARIADB_GTID) return `${buf.readUInt32LE(body + 8)}-${buf.readUInt32LE(p + 5)}-${buf.readBigUInt64LE(body)}`;
  if (type === EV.GTID) {
    const sid = buf.toString('hex', body + 1, body + 17);
    return `${sid.slice(0, 8)}-${sid.slice(8, 12)}-${sid.slice(12, 16)}-${sid.slice(16, 20)}-${sid.slice(20)}:${buf.readBigUInt64LE(body + 17)}`;
  }
  return undefined;
}

/** `mysql-bin.000003` and `mysql-bin.000010` share a base name. */
function sameBase(a: string, b: string): boolean {
  return a.slice(0, a.lastIndexOf('.')) === b.slice(0, b.lastIndexOf('.'));
}
