/**
 * Reading a task's state out of `dmctl query-status <task>` replies (DM's shape): stage, unit,
 * progress, errors (`ErrCode`, `Message`, `Workaround`), and the binlog positions (DM's
 * `sync.masterBinlog`/`sync.syncerBinlog` `"(file, pos)"` texts, else the sync unit's own
 * status under DM.ts's added `detail.units`).
 */

export interface FilePos {
  name: string;
  pos: number;
}

export interface SubtaskView {
  source: string;
  worker: string;
  stage: string;
  unit: string;
  synced: boolean;
  lagSeconds: number;
  progress: number;
  rowsDone: number;
  rowsTotal: number;
  /** Position applied and checkpointed on the target. */
  checkpoint?: FilePos;
  /** Position the sync unit has read up to (not necessarily applied). */
  current?: FilePos;
  /** Latest upstream position the sync unit knows of. */
  master?: FilePos;
  errors: { code: string; message: string; workaround: string }[];
}

function obj(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
function num(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : 0;
}
function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

/** `{name,pos}` (proto BinlogLocation) or `{file,offset}` (binlog Position); undefined when empty. */
export function filePosOf(v: unknown): FilePos | undefined {
  const o = obj(v);
  const name = str(o['name'] ?? o['file']);
  if (!name) return undefined;
  return { name, pos: num(o['pos'] ?? o['offset']) };
}

/** DM's position text `(mysql-bin.000001, 4)`; undefined when empty. */
export function dmPosOf(v: unknown): FilePos | undefined {
  const m = /^\((.+), (\d+)\)$/.exec(str(v));
  return m?.[1] ? { name: m[1], pos: Number(m[2]) } : undefined;
}

/** Order of two binlog positions: by the file's numeric suffix, then the offset. */
export function compareFilePos(a: FilePos, b: FilePos): number {
  const seq = (n: string): number => Number(/\.(\d+)$/.exec(n)?.[1] ?? 0);
  return seq(a.name) - seq(b.name) || a.pos - b.pos;
}

export function formatFilePos(p: FilePos | undefined): string {
  return p ? `${p.name}:${p.pos}` : '-';
}

/** The subtasks in a `query-status <task>` reply. */
export function subtasksOf(reply: Record<string, unknown>): SubtaskView[] {
  const out: SubtaskView[] = [];
  for (const src of arr(reply['sources'])) {
    for (const raw of arr(obj(src)['subTaskStatus'])) {
      const s = obj(raw);
      const sync = obj(s['sync']);
      const units = arr(obj(s['detail'])['units']).map((u) => obj(u));
      const syncUnit = obj(units.find((u) => /sync/i.test(str(u['type'])))?.['status']);
      const errors = arr(obj(s['result'])['errors']).map((e) => {
        const x = obj(e);
        return {
          code: str(x['ErrCode'] ?? x['code']),
          message: [str(x['Message'] ?? x['message'] ?? x['msg']), str(x['RawCause'])].filter((t) => t !== '').join(': '),
          workaround: str(x['Workaround'] ?? x['workaround']),
        };
      });
      const unitErr = syncUnit['error'];
      if (errors.length === 0 && unitErr !== undefined && str(s['stage']) === 'Paused') {
        errors.push({
          code: '',
          message: typeof unitErr === 'string' ? unitErr : JSON.stringify(unitErr),
          workaround: '',
        });
      }
      out.push({
        source: str(s['source']),
        worker: str(s['worker']),
        stage: str(s['stage']),
        unit: str(s['unit']),
        synced: sync['synced'] === true || syncUnit['synced'] === true,
        lagSeconds: num(s['lagSeconds'] ?? syncUnit['lagSeconds']),
        progress: num(s['progressRatio']),
        rowsDone: num(s['rowsDone']),
        rowsTotal: num(s['rowsTotal']),
        checkpoint: dmPosOf(sync['syncerBinlog']) ?? filePosOf(syncUnit['checkpointPos']),
        master: dmPosOf(sync['masterBinlog']) ?? filePosOf(syncUnit['masterPos']),
        current: filePosOf(syncUnit['currentPos']),
        errors,
      });
    }
  }
  return out;
}

/** One line for the progress log, e.g. `Running/Load 45% (45000/100000 rows)`. */
export function describeSubtask(s: SubtaskView): string {
  const parts = [`${s.stage || '?'}/${s.unit || '?'}`];
  if (s.unit === 'Dump' || s.unit === 'Load') {
    if (s.progress > 0) parts.push(`${Math.round(s.progress * 100)}%`);
    if (s.rowsDone > 0) parts.push(`${s.rowsDone}${s.rowsTotal > 0 ? `/${s.rowsTotal}` : ''} rows`);
  }
  if (s.unit === 'Sync') {
    if (!s.checkpoint && !s.master)
      parts.push(
        s.current
          ? `read up to ${formatFilePos(s.current)}, no checkpoint yet`
          : 'starting to read the binlog',
      );
    else
      parts.push(
        `applied ${formatFilePos(s.checkpoint)}`,
        `upstream ${formatFilePos(s.master)}`,
        `lag ${s.lagSeconds.toFixed(1)} s`,
      );
    if (s.synced) parts.push('synced');
  }
  if (s.errors.length > 0)
    parts.push(
      `errors: ${s.errors.map((e) => `${e.code ? `[code=${e.code}] ` : ''}${e.message}`).join('; ')}`,
    );
  return parts.join(', ');
}

/** In sync: running the sync unit with everything up to `target` applied and checkpointed. */
export function reached(s: SubtaskView, target: FilePos): boolean {
  if (s.stage !== 'Running' || s.unit !== 'Sync') return false;
  if (s.checkpoint && compareFilePos(s.checkpoint, target) >= 0) return true;
  return s.synced && s.lagSeconds === 0 && s.master !== undefined && compareFilePos(s.master, target) >= 0;
}
