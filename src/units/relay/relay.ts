/**
 * The relay of one source: pulls the upstream binlog once (raw events, binlog-dump.ts) and
 * writes it under `relay-dir` in DM's layout (docs/relay.md), so that every subtask of the
 * source reads local files.
 *
 * Guarantees:
 * - Each relay file is a byte-for-byte prefix of the upstream file of the same name; a new file
 *   always starts at the upstream's offset 4 (no holes, no dummy events). Every event is checked
 *   to continue the file exactly (its end position minus its size = the file size); an event
 *   already in the file must have the same bytes, anything else stops the relay
 *   (ErrRelayEventMismatch).
 * - kill -9 at any byte: on start the last file is cut back to its last complete event and the
 *   dump resumes from there (file-writer.ts `recoverSubDir`).
 * - relay.meta moves only to transaction boundaries already made durable (fdatasync).
 * - A write error (disk full) pauses the relay with ErrRelayWriteFile, cuts the file back to the
 *   last whole event, and retries every WRITE_RETRY_MS until a write succeeds.
 * - Upstream switch (the server's uuid differs from the current sub-directory's): with GTID, a new
 *   sub-directory `<uuid>.<n+1>` starting at offset 4 of the new server's file that holds the
 *   relay's GTID set; without GTID the relay pauses (ErrRelayUpstreamSwitchNoGTID).
 *
 * States: New → Running ⇄ Paused → Stopped. `pause()` is the user's (pause-relay), an error
 * pause keeps retrying by itself when the error is retryable.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { DMError, toDMError, type DMErrorJSON } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import { connect, getMasterStatus, type ConnConfig } from '../../sql/index.js';
import { RawBinlogDump, type DumpStart } from './binlog-dump.js';
import { EV, FLAG_ARTIFICIAL, fdeChecksum, readHeader, rotateInfo, TxnTracker } from './events.js';
import { recoverSubDir, RelayFile } from './file-writer.js';
import { binlogSeq, claimRelayDir, ensureDir, parseSubDir, readIndex, readMeta, subDirName, writeIndex, writeMeta, type RelayMetaData } from './layout.js';
import type { RelayMetrics } from './metrics.js';

export type RelayStage = 'New' | 'Running' | 'Paused' | 'Stopped';

export const META_FLUSH_MS = 1000;
export const WRITE_RETRY_MS = 3000;
const MASTER_POLL_MS = 2000;

export interface RelayOptions {
  sourceId: string;
  conn: ConnConfig;
  enableGtid: boolean;
  /** The worker's relay directory for this source. */
  relayDir: string;
  /** Server id the dump presents to the upstream. */
  serverId: number;
  /** First start only (no relay yet): the upstream file to start at (pos 4). */
  relayBinlogName?: string;
  /** First start only: start at the file that holds this GTID position. */
  relayBinlogGtid?: string;
  /**
   * First start only, without relayBinlogName/relayBinlogGtid: the upstream file the source's
   * tasks need from (the earliest of their checkpoints, DM's rule); undefined = the upstream's
   * current file.
   */
  startFile?: () => Promise<string | undefined>;
  logger: Logger;
  metrics?: RelayMetrics;
}

export interface RelayStatusSnapshot {
  stage: RelayStage;
  masterBinlog: { name: string; pos: number; gtid: string };
  relaySubDir: string;
  relayBinlog: { name: string; pos: number; gtid: string };
  relayCatchUpMaster: boolean;
  errors: DMErrorJSON[];
  /** Paused by pause-relay (not by an error). */
  userPaused: boolean;
}

/** Upstream facts the relay needs: flavor, its uuid stand-in, binlog files. */
async function upstreamInfo(c: Connection): Promise<{ uuid: string; files: string[] }> {
  const [[v]] = (await c.query('SELECT @@version AS v, @@gtid_domain_id AS d, @@server_id AS s')) as unknown as [Record<string, string | number | null>[]];
  if (!/mariadb/i.test(String(v?.['v'] ?? ''))) throw new DMError('ErrRelayFlavorUnsupported', `source server version ${String(v?.['v'])} is not MariaDB`);
  const [rows] = (await c.query('SHOW BINARY LOGS')) as unknown as [Record<string, string | number | null>[]];
  return { uuid: `${String(v?.['d'])}-${String(v?.['s'])}`, files: rows.map((r) => String(r['Log_name'])) };
}

export class Relay {
  private stage: RelayStage = 'New';
  private userPaused = false;
  private errors: DMErrorJSON[] = [];
  private readonly ac = new AbortController();
  /** Aborted to break the current dump (pause, close). */
  private runAc = new AbortController();
  private loop: Promise<void> | undefined;
  private wakeLoop: (() => void) | undefined;
  private readonly log: Logger;
  private readonly listeners = new Set<() => void>();

  // writer state
  private subDir = '';
  private file: RelayFile | undefined;
  private checksum = true;
  /** The upstream's binlog_checksum is CRC32: every event of the dump (fake ones too) ends in a CRC. */
  private streamChecksum = true;
  /** File the next FORMAT_DESCRIPTION opens (after a ROTATE or at the dump start). */
  private nextFile: string | undefined;
  private readonly tracker = new TxnTracker();
  private meta: RelayMetaData = { binlogName: '', binlogPos: 4, binlogGtid: '' };
  private metaDirty = false;
  private lastMetaFlush = 0;
  private master = { name: '', pos: 0, gtid: '' };
  private lastMasterPoll = 0;

  constructor(private readonly o: RelayOptions) {
    this.log = o.logger.child({ component: 'relay', source: o.sourceId });
  }

  get dir(): string {
    return this.o.relayDir;
  }
  get stageName(): RelayStage {
    return this.stage;
  }

  /** Called after every append (readers waiting at the end of the relay). */
  onWrite(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(): void {
    if (this.loop) return;
    this.stage = 'Running';
    this.loop = this.run();
  }

  pause(): void {
    if (this.stage === 'Stopped') return;
    this.userPaused = true;
    this.stage = 'Paused';
    this.runAc.abort();
  }

  resume(): void {
    if (this.stage === 'Stopped') return;
    this.userPaused = false;
    this.errors = [];
    this.stage = 'Running';
    this.wakeLoop?.();
  }

  async close(): Promise<void> {
    if (this.stage === 'Stopped' && !this.loop) return;
    this.stage = 'Stopped';
    this.ac.abort();
    this.runAc.abort();
    this.wakeLoop?.();
    await this.loop;
    this.loop = undefined;
  }

  status(): RelayStatusSnapshot {
    const pos = this.file ? { name: this.file.name, pos: this.file.size } : { name: this.meta.binlogName, pos: this.meta.binlogPos };
    const gtid = this.tracker.toString();
    return {
      stage: this.stage,
      masterBinlog: { ...this.master },
      relaySubDir: this.subDir,
      relayBinlog: { ...pos, gtid },
      relayCatchUpMaster: this.master.name !== '' && this.master.name === pos.name && this.master.pos === pos.pos && !this.tracker.inTransaction,
      errors: [...this.errors],
      userPaused: this.userPaused,
    };
  }

  // ---------------------------------------------------------------------------------------------

  private async idle(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      const signal = this.ac.signal;
      function done(): void {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      this.wakeLoop = done;
      signal.addEventListener('abort', done, { once: true });
    });
    this.wakeLoop = undefined;
  }

  private async run(): Promise<void> {
    let delay = 200;
    while (!this.ac.signal.aborted) {
      if (this.userPaused) {
        await this.idle(60_000);
        continue;
      }
      this.runAc = new AbortController();
      try {
        await this.runOnce(AbortSignal.any([this.ac.signal, this.runAc.signal]));
      } catch (e) {
        const err = toDMError(e, 'ErrRelayUpstream');
        if (err.codeName === 'ErrCanceled' || this.ac.signal.aborted || this.userPaused) continue;
        const named = err.errClass === 'database' ? new DMError('ErrRelayUpstream', err.message, { cause: err }) : err;
        this.errors = [named.toJSON()];
        this.log.warn({ err: named }, 'relay stopped with an error');
        this.o.metrics?.exitWithError(named.codeName === 'ErrRelayWriteFile' ? 'write' : named.codeName === 'ErrRelayEventMismatch' ? 'corruption' : named.retryable ? 'read' : 'fatal', named.retryable);
        if (!named.retryable) {
          // needs the operator: stay paused until resume-relay
          this.stage = 'Paused';
          this.userPaused = true;
          continue;
        }
        this.stage = named.codeName === 'ErrRelayWriteFile' ? 'Paused' : 'Running';
        await this.idle(named.codeName === 'ErrRelayWriteFile' ? WRITE_RETRY_MS : delay);
        delay = Math.min(delay * 2, 10_000);
        continue;
      } finally {
        this.closeFile();
      }
      delay = 200;
    }
  }

  private closeFile(): void {
    try {
      this.flushMeta(true);
    } catch (e) {
      this.log.warn({ err: e }, 'flushing relay meta failed');
    }
    try {
      this.file?.close();
    } catch {
      // recovery at the next start cuts a partial event
    }
    this.file = undefined;
  }

  /** One connection's worth of relay: decide where to start, dump, write until an error. */
  private async runOnce(signal: AbortSignal): Promise<void> {
    const o = this.o;
    const dropped = claimRelayDir(o.relayDir, o.sourceId);
    if (dropped.length > 0) this.log.warn({ dir: o.relayDir, dropped }, "removed another source's relay from the relay directory");
    const ctl = await connect({ host: o.conn.host, port: o.conn.port, user: o.conn.user, password: o.conn.password, ...(o.conn.ssl ? { ssl: o.conn.ssl } : {}) }, { rawGeometry: false });
    let dump: RawBinlogDump | undefined;
    try {
      const up = await upstreamInfo(ctl);
      const [[ck]] = (await ctl.query('SELECT @@global.binlog_checksum AS c')) as unknown as [Record<string, string | number | null>[]];
      this.streamChecksum = String(ck?.['c'] ?? 'NONE').toUpperCase() !== 'NONE';
      await this.pollMaster(ctl, true);
      const start = await this.decideStart(up, ctl);
      this.log.info({ subDir: this.subDir, start }, 'relay starting dump');
      dump = await RawBinlogDump.open(o.conn, start, o.serverId);
      this.nextFile = start.file;
      this.errors = [];
      for (;;) {
        const batch = await dump.next(signal);
        this.o.metrics?.readEvents(batch.length);
        this.writeBatch(batch);
        if (Date.now() - this.lastMasterPoll > MASTER_POLL_MS) await this.pollMaster(ctl, false);
        if (this.stage === 'Paused' && !this.userPaused) {
          this.stage = 'Running';
          this.errors = [];
        }
      }
    } finally {
      dump?.close();
      ctl.destroy();
    }
  }

  private async pollMaster(ctl: Connection, gtid: boolean): Promise<void> {
    this.lastMasterPoll = Date.now();
    try {
      const s = await getMasterStatus(ctl, { gtid });
      this.master = { name: s.file, pos: s.offset, gtid: gtid ? s.gtid : this.master.gtid };
      this.o.metrics?.setFile(s.file, s.offset, 'master');
      this.o.metrics?.updateSpace(this.o.relayDir);
      if (!gtid) {
        const [[r]] = (await ctl.query('SELECT @@gtid_binlog_pos AS g')) as unknown as [Record<string, string | number | null>[]];
        this.master.gtid = String(r?.['g'] ?? '');
      }
    } catch (e) {
      this.log.debug({ err: e }, 'reading upstream master status failed');
    }
  }

  /**
   * Where the dump starts: the end of the relay (recovered), or, for a new sub-directory, offset
   * 4 of the upstream file chosen by the config (first start) or holding the relay's GTID set
   * (upstream switch).
   */
  private async decideStart(up: { uuid: string; files: string[] }, ctl: Connection): Promise<DumpStart> {
    const o = this.o;
    const subDirs = readIndex(o.relayDir);
    for (const s of subDirs) parseSubDir(s);
    const cur = subDirs[subDirs.length - 1];
    if (cur !== undefined && existsSync(join(o.relayDir, cur))) {
      const curPath = join(o.relayDir, cur);
      const end = recoverSubDir(curPath, readMeta(curPath), this.tracker);
      if (end.cut > 0) this.log.warn({ file: end.file, bytes: end.cut }, 'cut a partial trailing event off the relay file');
      this.subDir = cur;
      this.meta = end.meta;
      writeMeta(curPath, this.meta);
      const sameServer = parseSubDir(cur).uuid === up.uuid;
      if (sameServer) {
        const file = end.next ?? end.file ?? this.meta.binlogName;
        const pos = end.next ? 4 : end.file ? end.size : 4;
        if (!up.files.includes(file)) {
          throw new DMError('ErrRelayBinlogPurged', `upstream ${o.sourceId} no longer has ${file} (relay ${cur} continues from ${file}:${pos})`);
        }
        if (end.file && !end.next) {
          this.file = RelayFile.open(curPath, end.file);
          this.checksum = end.checksum;
        }
        this.nextFile = end.next;
        return { file, pos };
      }
      // upstream switch
      const gtid = this.tracker.toString();
      if (!o.enableGtid || gtid === '') {
        throw new DMError('ErrRelayUpstreamSwitchNoGTID', `the upstream of ${o.sourceId} is now server ${up.uuid}, the relay sub-directory ${cur} is of another server`);
      }
      const file = await this.fileOfGtid(gtid);
      const next = subDirName(up.uuid, parseSubDir(cur).n + 1);
      this.log.info({ from: cur, to: next, gtid, file }, 'upstream switched: new relay sub-directory');
      this.newSubDir(subDirs, next, { binlogName: file, binlogPos: 4, binlogGtid: gtid });
      return { file, pos: 4 };
    }
    // first start
    let file: string;
    if (o.relayBinlogGtid && o.enableGtid) {
      file = await this.fileOfGtid(o.relayBinlogGtid);
    } else if (o.relayBinlogName) {
      if (!up.files.includes(o.relayBinlogName)) {
        throw new DMError('ErrRelayStartPosition', `relay-binlog-name ${o.relayBinlogName} is not among the upstream's binlog files (${up.files[0] ?? ''} … ${up.files[up.files.length - 1] ?? ''})`);
      }
      file = o.relayBinlogName;
    } else {
      const current = (await getMasterStatus(ctl, { gtid: false })).file;
      const needed = await o.startFile?.();
      if (needed !== undefined && up.files.includes(needed) && binlogSeq(needed) < binlogSeq(current)) {
        this.log.info({ file: needed, current }, "relay starts at the earliest file the source's tasks need");
        file = needed;
      } else {
        if (needed !== undefined && needed !== current && !up.files.includes(needed)) this.log.warn({ file: needed, current }, "the upstream no longer has the file a task needs; the relay starts at the upstream's current file");
        file = current;
      }
    }
    this.newSubDir(subDirs.filter((s) => existsSync(join(o.relayDir, s))), subDirName(up.uuid, 1), { binlogName: file, binlogPos: 4, binlogGtid: '' });
    return { file, pos: 4 };
  }

  private newSubDir(existing: string[], name: string, meta: RelayMetaData): void {
    const path = join(this.o.relayDir, name);
    ensureDir(path);
    writeMeta(path, meta);
    writeIndex(this.o.relayDir, [...existing, name]);
    this.subDir = name;
    this.meta = meta;
    this.tracker.reset(meta.binlogGtid);
    this.file = undefined;
  }

  /** The upstream file holding the first transaction after `gtid` (a short GTID dump's fake ROTATE). */
  private async fileOfGtid(gtid: string): Promise<string> {
    const d = await RawBinlogDump.open(this.o.conn, { file: '', pos: 4, gtid }, this.o.serverId);
    try {
      const signal = AbortSignal.timeout(30_000);
      for (;;) {
        for (const ev of await d.next(signal)) {
          const h = readHeader(ev);
          if (h.type === EV.ROTATE) return rotateInfo(ev, this.streamChecksum).next;
        }
      }
    } catch (e) {
      throw new DMError('ErrRelayStartPosition', `cannot find the upstream binlog file of GTID position ${gtid}`, { cause: e });
    } finally {
      d.close();
    }
  }

  // ---- writing ---------------------------------------------------------------------------------

  private writeBatch(batch: Buffer[]): void {
    const pending: Buffer[] = [];
    let pendingBytes = 0;
    let boundary: RelayMetaData | undefined;
    const flush = (): void => {
      if (!this.file || pending.length === 0) return;
      const t0 = process.hrtime.bigint();
      const bytes = pendingBytes;
      pendingBytes = 0;
      this.file.append(pending.splice(0));
      this.o.metrics?.wrote(bytes, Number(process.hrtime.bigint() - t0) / 1e9);
    };
    for (const ev of batch) {
      const h = readHeader(ev);
      if ((h.flags & FLAG_ARTIFICIAL) !== 0 || h.logPos === 0 || h.type === EV.HEARTBEAT) {
        if (h.type === EV.ROTATE) {
          const { next: name, pos } = rotateInfo(ev, this.streamChecksum);
          if (pos === 4 && (!this.file || this.file.name !== name)) this.nextFile = name;
        }
        continue;
      }
      if (h.type === EV.FORMAT_DESCRIPTION) {
        const name = this.nextFile ?? this.file?.name;
        if (this.file && this.file.name === name && this.file.size > 4) continue; // resumed mid-file: already there
        flush();
        this.switchFile(name);
        this.checksum = fdeChecksum(ev);
        if (this.file && this.file.size === 4) {
          // the dump thread clears LOG_EVENT_BINLOG_IN_USE_F; the server's own file has it while
          // open: set it as the server does, cleared again at this file's ROTATE (markClosed)
          const copy = Buffer.from(ev);
          copy.writeUInt16LE(copy.readUInt16LE(17) | 0x1, 17);
          pending.push(copy);
          pendingBytes += copy.length;
          boundary = { binlogName: this.file.name, binlogPos: h.logPos, binlogGtid: this.tracker.toString() };
          continue;
        }
      }
      if (!this.file) throw new DMError('ErrRelayEventMismatch', `event type ${h.type} at ${h.logPos} arrived before any FORMAT_DESCRIPTION`);
      const startPos = h.logPos - h.size;
      const fileEnd = this.file.size + pendingBytes;
      if (startPos !== fileEnd) {
        if (startPos < fileEnd) {
          flush();
          const have = this.file.read(startPos, h.size);
          if (have.equals(ev)) continue; // already written (a resumed dump re-sent it)
        }
        throw new DMError('ErrRelayEventMismatch', `${this.file.name}: event ${h.type} at ${startPos}..${h.logPos} does not continue the relay file (size ${fileEnd})`);
      }
      pending.push(ev);
      pendingBytes += ev.length;
      const closes = h.type !== EV.FORMAT_DESCRIPTION && this.tracker.feed(ev, h, this.checksum);
      if (closes || h.type === EV.FORMAT_DESCRIPTION || h.type === EV.ROTATE) {
        boundary = { binlogName: this.file.name, binlogPos: h.logPos, binlogGtid: this.tracker.toString() };
      }
      if (h.type === EV.ROTATE) {
        flush();
        this.file.markClosed();
        const { next } = rotateInfo(ev, this.checksum);
        this.nextFile = next;
        this.meta = boundary ?? this.meta;
        this.metaDirty = true;
        this.flushMeta(true);
        this.o.metrics?.setFile(next, 4);
      }
    }
    flush();
    if (boundary) {
      this.meta = boundary;
      this.metaDirty = true;
    }
    this.flushMeta(false);
    if (this.file) this.o.metrics?.setFile(this.file.name, this.file.size);
    for (const fn of this.listeners) {
      try {
        fn();
      } catch (e) {
        this.log.warn({ err: e }, 'relay write listener failed');
      }
    }
  }

  private switchFile(name: string | undefined): void {
    if (!name) throw new DMError('ErrRelayEventMismatch', 'a FORMAT_DESCRIPTION event arrived but the relay does not know its file name');
    if (this.file) {
      this.file.close();
      this.file = undefined;
    }
    this.file = RelayFile.open(join(this.o.relayDir, this.subDir), name);
    if (this.file.size > 4) {
      // the file exists with content: it must be this same file (recovery put us at its end)
      this.log.info({ file: name, size: this.file.size }, 'reopened relay file');
    }
    this.nextFile = undefined;
  }

  /** Make the data durable, then move relay.meta (at most every META_FLUSH_MS unless forced). */
  private flushMeta(force: boolean): void {
    if (!this.metaDirty || this.subDir === '') return;
    if (!force && Date.now() - this.lastMetaFlush < META_FLUSH_MS) return;
    this.file?.sync();
    writeMeta(join(this.o.relayDir, this.subDir), this.meta);
    this.metaDirty = false;
    this.lastMetaFlush = Date.now();
  }
}

export { binlogSeq };
