/**
 * `start-task --start-time`: DM's "2006-01-02 15:04:05" (or with a `T`), or an ISO time with its
 * own zone. The master turns it into an absolute instant (ISO, UTC) once per source, so every
 * worker that ever runs the subtask starts from the same moment. A wall-clock time is read in
 * the upstream's time zone, as DM does: the master asks the source (source-check.ts
 * sourceWallTimeToInstant); this file validates the text and converts it in a given zone.
 */
import { DMError } from '../errors/index.js';

const WALL_RE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/;
const ZONED_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const OFFSET_RE = /^([+-])(\d{2}):(\d{2})$/;

/** Offset of `tz` from UTC at instant `ms`, in ms. */
function zoneOffsetMs(tz: string, ms: number): number {
  const o = OFFSET_RE.exec(tz);
  if (o) return (o[1] === '-' ? -1 : 1) * (Number(o[2]) * 60 + Number(o[3])) * 60_000;
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(ms));
  const n = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second')) - Math.floor(ms / 1000) * 1000;
}

/** The instant of a `--start-time` value, as an ISO UTC string. Throws ErrMasterInvalidStartTime. */
export function resolveStartTime(text: string, timezone?: string): string {
  const s = text.trim();
  if (ZONED_RE.test(s)) return new Date(s).toISOString();
  const m = WALL_RE.exec(s);
  if (!m) throw new DMError('ErrMasterInvalidStartTime', `--start-time '${text}' is not a time like "2006-01-02 15:04:05"`);
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const wall = Date.UTC(y, mo - 1, d, h, mi, se);
  const check = new Date(wall);
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || se > 59) {
    throw new DMError('ErrMasterInvalidStartTime', `--start-time '${text}' is not a valid date and time`);
  }
  if (!timezone || timezone === 'UTC') return check.toISOString();
  let ms = wall - zoneOffsetMs(timezone, wall);
  ms = wall - zoneOffsetMs(timezone, ms); // settle across a DST change
  return new Date(ms).toISOString();
}
