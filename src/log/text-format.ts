/**
 * DM's `log-format: text` (its default): one line per record in DM's (zap/pingcap log) layout,
 *
 *   [2026/12/07 11:29:55.123 +00:00] [INFO] [syncer] ["sync unit starting"] [task=t] [source=s1]
 *
 * built from the JSON line pino writes, so redaction and child bindings behave exactly as in
 * `log-format: json`. Field values are shown bare when they are simple words, else JSON-quoted
 * (as DM quotes them); objects and arrays are JSON.
 */
import type { DestinationStream } from 'pino';

const LEVELS: Record<number, string> = { 10: 'DEBUG', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Fields the layout shows in fixed places (not repeated as `[key=value]`). */
const FIXED = new Set(['level', 'time', 'msg', 'component']);
const BARE = /^[\w.:/@+-]+$/;

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** `2026/12/07 11:29:55.123 +00:00` (UTC, as the JSON lines are). */
function timeText(t: unknown): string {
  const d = typeof t === 'string' || typeof t === 'number' ? new Date(t) : new Date();
  if (Number.isNaN(d.getTime())) return String(t);
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)} +00:00`;
}

function valueText(v: unknown): string {
  if (typeof v === 'string') return v !== '' && BARE.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return JSON.stringify(v);
}

/** One pino JSON record as a DM text line (with the trailing newline). */
export function textLine(rec: Record<string, unknown>): string {
  const level = LEVELS[Number(rec['level'])] ?? String(rec['level']).toUpperCase();
  const parts = [`[${timeText(rec['time'])}]`, `[${level}]`];
  // a child of a child repeats `component`; pino keeps the last one in the JSON object
  if (rec['component'] !== undefined) parts.push(`[${valueText(rec['component'])}]`);
  parts.push(`[${JSON.stringify(typeof rec['msg'] === 'string' ? rec['msg'] : '')}]`);
  for (const [k, v] of Object.entries(rec)) if (!FIXED.has(k) && v !== undefined) parts.push(`[${k}=${valueText(v)}]`);
  return `${parts.join(' ')}\n`;
}

/** A pino destination that writes DM text lines to `out` (pino hands it one JSON line per write). */
export function textDestination(out: DestinationStream): DestinationStream {
  return {
    write(line: string): void {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      out.write(textLine(rec));
    },
  };
}
