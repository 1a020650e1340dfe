/**
 * `--start-time`: find the first transaction that started at or after a given time. Reads the
 * timestamp of each binlog file's Format_description event (newest first) to pick the file, then
 * scans that file's transaction starts. Returns the position just before that transaction
 * (with its GTID set: MariaDB BINLOG_GTID_POS, MySQL Previous_gtids + the GTIDs scanned).
 */
import ZongJi from '@vlasky/zongji';
import type { AnyBinlogEvent } from '@vlasky/zongji';
import type { RowDataPacket } from 'mysql2/promise';
import { DMError } from '../errors/index.js';
import type { GtidSet } from './gtid-set.js';
import { parseGtidSet, type Flavor, type Position } from './position.js';
import { binlogStreamOptions, masterPosition, type ConnConfig } from '../sql/index.js';
import { getBinlogFiles, type Queryable } from './source-info.js';

const SCAN_EVENTS = ['rotate', 'format', 'gtid', 'mariadbgtid', 'anonymousgtid', 'query', 'xid', 'previousgtids', 'mariadbgtidlist', 'binlogcheckpoint'];

interface ScanOptions {
  connection: ConnConfig;
  serverId: number;
  flavor: Flavor;
}

/**
 * Stream `file` from offset 4 until `onEvent` returns true, the file ends (`size`), or a rotate
 * leaves it. Only transaction-level events are decoded (no rows).
 */
async function scanFile(o: ScanOptions, file: string, size: number, signal: AbortSignal, onEvent: (ev: AnyBinlogEvent) => boolean): Promise<void> {
  const c = o.connection;
  const zj = new ZongJi(binlogStreamOptions(c));
  try {
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(new DMError('ErrCanceled', 'start-time scan canceled'));
      signal.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(() => reject(new DMError('ErrTimeout', `start-time scan of ${file} did not finish in 120 s`)), 120_000);
      let finished = false;
      const done = (e?: unknown): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (e) reject(e);
        else resolve();
      };
      zj.on('error', (e: Error) => done(e));
      zj.on('binlog', (ev: AnyBinlogEvent) => {
        if (finished) return;
        const name = ev.getEventName();
        if (name === 'rotate') {
          const r = ev as { binlogName: string };
          if (r.binlogName !== file) done();
          return;
        }
        if (onEvent(ev) || (ev.nextPosition > 0 && ev.nextPosition >= size)) done();
      });
      zj.start({ serverId: o.serverId, filename: file, position: 4, includeEvents: SCAN_EVENTS, nonBlock: true });
    });
  } finally {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000);
      zj.once('stopped', () => {
        clearTimeout(t);
        resolve();
      });
      zj.stop();
    });
    zj.on('error', () => {});
  }
}

/**
 * When a binlog file was started: the first timestamp in it (the Format_description event's, or
 * the next event's when the server sent the FDE with timestamp 0); Infinity for an empty file.
 */
async function fileStartTime(o: ScanOptions, file: string, size: number, signal: AbortSignal): Promise<number> {
  let ts = Infinity;
  await scanFile(o, file, size, signal, (ev) => {
    if (ev.timestamp > 0) {
      ts = ev.timestamp;
      return true;
    }
    return false;
  });
  return ts;
}

/** Find the position of the first transaction at or after `time` (the end of the binlog when none). */
export async function findStartByTime(ctrl: Queryable, o: ScanOptions, time: Date, signal: AbortSignal): Promise<Position> {
  const want = Math.floor(time.getTime() / 1000) * 1000;
  const files = await getBinlogFiles(ctrl);
  if (files.length === 0) throw new DMError('ErrBinlogStartTime', 'the source has no binlog files');
  // newest file started strictly before the time (same-second events may sit in the file before)
  let idx = 0;
  for (let i = files.length - 1; i >= 0; i--) {
    const f = files[i];
    if (!f) continue;
    const ts = await fileStartTime(o, f.name, f.size, signal);
    if (ts < want) {
      idx = i;
      break;
    }
  }
  for (let i = idx; i < files.length; i++) {
    const f = files[i];
    if (!f) continue;
    let executed: GtidSet | undefined;
    let pendingGtid: string | undefined;
    let lastEnd = 4;
    let found: number | undefined;
    let inTxn = false;
    await scanFile(o, f.name, f.size, signal, (ev) => {
      const name = ev.getEventName();
      const start = lastEnd;
      if (ev.nextPosition > 0) lastEnd = ev.nextPosition;
      if (name === 'previousgtids' && o.flavor === 'mysql') executed = parseGtidSet((ev as { gtidSet: string }).gtidSet, 'mysql');
      const isStart = name === 'gtid' || name === 'mariadbgtid' || name === 'anonymousgtid' || (name === 'query' && !inTxn);
      if (isStart && !inTxn) {
        if (ev.timestamp >= want) {
          found = start;
          return true;
        }
        inTxn = true;
        pendingGtid = name === 'gtid' ? (ev as { gtid: string }).gtid : undefined;
        if (name !== 'query') return false;
      }
      if (name === 'query') {
        const w = /^\w+/.exec((ev as { query: string }).query.trim())?.[0]?.toUpperCase();
        if (w === 'BEGIN') return false;
      }
      if (name === 'xid' || name === 'query') {
        if (executed && pendingGtid) executed = executed.add(pendingGtid);
        pendingGtid = undefined;
        inTxn = false;
      }
      return false;
    });
    if (found !== undefined) {
      let gtid = executed?.toString() ?? '';
      if (o.flavor === 'mariadb') {
        const [rows] = await ctrl.query<RowDataPacket[]>('SELECT BINLOG_GTID_POS(?, ?) AS g', [f.name, found]);
        gtid = typeof rows[0]?.['g'] === 'string' ? String(rows[0]['g']) : '';
      }
      return { file: f.name, offset: found, gtid };
    }
  }
  // nothing at or after the time: start at the end
  return masterPosition(ctrl);
}
