/**
 * The DM.ts dashboard: one page served by every dm-master at /dashboard/, talking to that master
 * over gRPC-web with the generated stubs of `dm-ts/client` (src/client). One server stream
 * (WatchCluster) feeds the whole page: members, leader, every task's subtasks with stage, unit,
 * full-copy progress (rows, bytes, ETA), replication lag (a chart of the last minutes) and
 * errors with code and workaround. Actions are the ordinary RPCs: check-task then start-task,
 * pause/resume/stop, operate-source create, transfer-source, binlog skip/replace, start/pause/
 * resume/stop-relay per source (the relay status comes with the stream's QueryStatus), and the
 * shard DDL locks (ShowDDLLocks polled every few seconds) with shard-ddl-lock unlock. A token typed
 * at login is kept in this page's memory only and sent as `authorization: Bearer …`. The page
 * cannot tell a `read` token from an `admin` one: with a read token the actions stay visible and
 * the master refuses them (PermissionDenied), which the page shows in an alert.
 */
import { ConnectError, Code } from '@connectrpc/connect';
import { createDMClient, ErrorOp, SourceOp, Stage, TaskOp, UnitType, type SubTaskStatus, type WatchClusterResponse } from '../client/index.js';
import { RelayOp, UnlockDDLLockOp, type DDLLock } from '../gen/dm/master/v1/master_pb.js';
import type { BinlogLocation, SourceQueryStatus } from '../gen/dm/common/v1/common_pb.js';

let token = '';
// the same client other apps import as `dm-ts/client` (docs/api.md); the page uses its raw stubs
const client = createDMClient({ baseUrl: location.origin, token: () => token || undefined }).master;

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...kids: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
}

const titleCase = (s: string): string => s.charAt(0) + s.slice(1).toLowerCase();
const stageName = (s: Stage): string => (s === Stage.UNSPECIFIED ? '' : titleCase(Stage[s] ?? ''));
const unitName = (u: UnitType): string => (u === UnitType.UNSPECIFIED ? '' : titleCase(UnitType[u] ?? ''));

/** Last minutes of lag per `task/source`, for the small chart. */
const LAG_WINDOW_MS = 5 * 60_000;
const lagHistory = new Map<string, { t: number; lag: number }[]>();

function lagChart(key: string, lag: number, now: number): SVGSVGElement {
  const h = lagHistory.get(key) ?? [];
  h.push({ t: now, lag });
  while (h.length > 0 && h[0]!.t < now - LAG_WINDOW_MS) h.shift();
  lagHistory.set(key, h);
  const W = 120;
  const H = 24;
  const max = Math.max(1, ...h.map((p) => p.lag));
  const pts = h.map((p) => `${(((p.t - (now - LAG_WINDOW_MS)) / LAG_WINDOW_MS) * W).toFixed(1)},${(H - (p.lag / max) * (H - 2) - 1).toFixed(1)}`).join(' ');
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', 'lag');
  svg.setAttribute('width', String(W));
  svg.setAttribute('height', String(H));
  svg.innerHTML = `<title>lag, last 5 minutes (max ${max.toFixed(1)} s)</title><rect width="${W}" height="${H}" fill="#f6f7f9"/><polyline fill="none" stroke="#2f6fde" stroke-width="1.5" points="${pts}"/>`;
  return svg;
}

function show(pre: HTMLElement, v: unknown): void {
  pre.textContent = typeof v === 'string' ? v : JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x), 2);
}

function errText(e: unknown): string {
  const ce = ConnectError.from(e);
  return ce.code === Code.Unauthenticated || ce.code === Code.PermissionDenied ? `${ce.rawMessage} (log in with a token that may do this)` : ce.rawMessage;
}

async function act(what: string, fn: () => Promise<{ result: boolean; msg: string }>): Promise<void> {
  try {
    const r = await fn();
    if (!r.result) alert(`${what} failed: ${r.msg}`);
  } catch (e) {
    alert(`${what} failed: ${errText(e)}`);
  }
}

const num = new Intl.NumberFormat('en-US');

/** 1536 → "1.5 KiB". */
function bytesText(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** 75 → "1 min 15 s". */
function etaText(s: number): string {
  const r = Math.round(s);
  if (r < 60) return `${r} s`;
  if (r < 3600) return `${Math.floor(r / 60)} min ${r % 60} s`;
  return `${Math.floor(r / 3600)} h ${Math.floor((r % 3600) / 60)} min`;
}

/** Rows, bytes and ETA of a full-copy unit: "1,200 / 2,000 rows · 1.2 MiB / 2.0 MiB · ETA 4 s". */
function progressText(st: SubTaskStatus): string {
  const parts: string[] = [];
  if (st.rowsTotal > 0n) parts.push(`${num.format(st.rowsDone)} / ${num.format(st.rowsTotal)} rows`);
  else if (st.rowsDone > 0n) parts.push(`${num.format(st.rowsDone)} rows`);
  if (st.bytesTotal > 0n) parts.push(`${bytesText(Number(st.bytesDone))} / ${bytesText(Number(st.bytesTotal))}`);
  else if (st.bytesDone > 0n) parts.push(bytesText(Number(st.bytesDone)));
  if (st.etaSeconds > 0 && st.unit === UnitType.LOAD) parts.push(`ETA ${etaText(st.etaSeconds)}`);
  return parts.join(' · ');
}

function subtaskRow(task: string, st: SubTaskStatus, now: number): HTMLTableRowElement {
  const stage = stageName(st.stage);
  const progress = st.rowsTotal > 0n ? Number(st.rowsDone) / Number(st.rowsTotal) : st.progress;
  const bar = el('span', { class: 'bar', title: `${(progress * 100).toFixed(1)} %` }, el('div', { style: `width:${Math.min(100, progress * 100).toFixed(1)}%` }));
  const rows = progressText(st);
  const errs = el('div', { class: 'err', 'data-testid': `errors-${task}-${st.source}` });
  for (const e of st.result?.errors ?? []) {
    errs.append(`[code=${e.code}] ${e.message}${e.workaround ? `\nworkaround: ${e.workaround}` : ''}\n`);
  }
  if ((st.result?.errors.length ?? 0) > 0 && stage === 'Paused') {
    const skip = el('button', { 'data-testid': `skip-${task}-${st.source}` }, 'Skip the failing event');
    skip.onclick = () => void act('binlog skip', () => client.handleError({ op: ErrorOp.SKIP, task, sources: [st.source] }));
    const rep = el('button', {}, 'Replace with SQL…');
    rep.onclick = () => {
      const sql = prompt('SQL statements to run instead (separated by ;)');
      if (sql) void act('binlog replace', () => client.handleError({ op: ErrorOp.REPLACE, task, sources: [st.source], sqls: sql.split(';').map((s) => s.trim()).filter(Boolean) }));
    };
    errs.append(skip, ' ', rep);
  }
  const move = el('button', { title: 'transfer-source' }, 'Move…');
  move.onclick = () => {
    const w = prompt(`Move source ${st.source} to which worker?`);
    if (w) void act('transfer-source', () => client.transferSource({ source: st.source, worker: w }));
  };
  return el(
    'tr',
    { 'data-testid': `subtask-${task}-${st.source}` },
    el('td', {}, st.source),
    el('td', {}, st.worker, ' ', move),
    el('td', { class: `stage-${stage}`, 'data-testid': `stage-${task}-${st.source}` }, stage),
    el('td', { 'data-testid': `unit-${task}-${st.source}` }, unitName(st.unit)),
    el('td', { 'data-testid': `progress-${task}-${st.source}` }, ...(st.unit === UnitType.DUMP || st.unit === UnitType.LOAD || st.rowsTotal > 0n ? [bar, ' ', rows] : [rows])),
    el('td', {}, `${st.lagSeconds.toFixed(1)} s `, lagChart(`${task}/${st.source}`, st.lagSeconds, now), st.synced ? ' synced' : ''),
    el('td', {}, errs),
  );
}

function render(v: WatchClusterResponse): void {
  const now = Number(v.unixMs);
  const m = v.members;
  $('leader').textContent = m?.leader?.name ? `leader: ${m.leader.name} (${m.leader.address})` : 'no leader';
  const mb = $('members').querySelector('tbody')!;
  mb.replaceChildren(
    ...(m?.masters ?? []).map((x) => el('tr', {}, el('td', {}, 'master'), el('td', {}, x.name), el('td', {}, x.address), el('td', {}, x.alive ? (x.isLeader ? 'leader' : 'alive') : 'down'), el('td', {}, ''))),
    ...(m?.workers ?? []).map((x) => el('tr', {}, el('td', {}, 'worker'), el('td', {}, x.name), el('td', {}, x.address), el('td', {}, ['', 'offline', 'free', 'bound'][x.stage] ?? ''), el('td', {}, x.source))),
  );
  const subs = (v.status?.sources ?? []).flatMap((s) => s.subTaskStatus);
  const tasks = $('tasks');
  tasks.replaceChildren(
    ...v.tasks.map((name) => {
      const mine = subs.filter((s) => s.name === name);
      const btn = (label: string, op: TaskOp): HTMLButtonElement => {
        const b = el('button', { 'data-testid': `${label.toLowerCase()}-${name}` }, label);
        b.onclick = () => {
          if (op === TaskOp.STOP && !confirm(`Stop task ${name}? Its subtasks stop on every source (start-task again to go on).`)) return;
          void act(`${label} ${name}`, () => client.operateTask({ op, name, sources: [] }));
        };
        return b;
      };
      return el(
        'div',
        { class: 'task', 'data-testid': `task-${name}` },
        el('h3', {}, name, btn('Pause', TaskOp.PAUSE), btn('Resume', TaskOp.RESUME), btn('Stop', TaskOp.STOP)),
        el(
          'table',
          {},
          el('thead', {}, el('tr', {}, ...['source', 'worker', 'stage', 'unit', 'progress', 'lag', 'errors'].map((h) => el('th', {}, h)))),
          el('tbody', {}, ...mine.map((st) => subtaskRow(name, st, now))),
        ),
      );
    }),
  );
  if (v.tasks.length === 0) tasks.textContent = 'no task';
  renderRelay(v.status?.sources ?? []);
}

/** "mysql-bin.000003:1234 (0-1-10)". */
function locText(l: BinlogLocation | undefined): string {
  if (!l?.name) return '';
  return `${l.name}:${l.pos}${l.gtidSet ? ` (${l.gtidSet})` : ''}`;
}

/** One row per source: the relay status its worker reports, and the relay actions. */
function renderRelay(sources: SourceQueryStatus[]): void {
  const box = $('relay');
  const rows = sources
    .filter((s) => s.sourceStatus?.source)
    .sort((a, b) => a.sourceStatus!.source.localeCompare(b.sourceStatus!.source))
    .map((s) => {
      const ss = s.sourceStatus!;
      const id = ss.source;
      const rs = ss.relayStatus;
      const stage = rs ? stageName(rs.stage) || 'New' : s.result ? 'off' : '';
      const btn = (label: string, op: RelayOp): HTMLButtonElement => {
        const b = el('button', { 'data-testid': `relay-${label.toLowerCase()}-${id}` }, label);
        b.onclick = () => {
          if (op === RelayOp.STOP && !confirm(`Stop the relay of ${id}? Its subtasks go back to reading the upstream binlog.`)) return;
          void act(`${label.toLowerCase()}-relay ${id}`, () => client.operateRelay({ op, source: id, workers: [] }));
        };
        return b;
      };
      const actions = !rs || rs.stage === Stage.STOPPED ? [btn('Start', RelayOp.START)] : rs.stage === Stage.PAUSED ? [btn('Resume', RelayOp.RESUME), btn('Stop', RelayOp.STOP)] : [btn('Pause', RelayOp.PAUSE), btn('Stop', RelayOp.STOP)];
      // operate-source stop: the master refuses it while tasks use the source (38009)
      const stopSource = el('button', { 'data-testid': `source-stop-${id}`, title: 'operate-source stop' }, 'Stop source…');
      stopSource.onclick = () => {
        if (!confirm(`Stop source ${id}? It is unbound from its worker and its config removed (operate-source stop).`)) return;
        void act(`stop-source ${id}`, () => client.operateSource({ op: SourceOp.STOP, sourceId: [id], config: [] }));
      };
      const errs = el('div', { class: 'err' });
      for (const e of [...(rs?.result?.errors ?? []), ...(ss.result?.errors ?? [])]) errs.append(`[code=${e.code}] ${e.message}${e.workaround ? `\nworkaround: ${e.workaround}` : ''}\n`);
      if (!s.result && s.msg) errs.append(s.msg);
      return el(
        'tr',
        { 'data-testid': `relay-${id}` },
        el('td', {}, id),
        el('td', {}, ss.worker),
        el('td', { class: `stage-${stage}`, 'data-testid': `relay-stage-${id}` }, stage),
        el('td', {}, rs?.relaySubDir ?? ''),
        el('td', { 'data-testid': `relay-binlog-${id}` }, locText(rs?.relayBinlog)),
        el('td', {}, locText(rs?.masterBinlog)),
        el('td', { 'data-testid': `relay-catchup-${id}` }, rs ? (rs.relayCatchUpMaster ? 'yes' : 'no') : ''),
        el('td', {}, ...actions.flatMap((b) => [b, ' ']), stopSource, errs),
      );
    });
  const tbody = box.querySelector('tbody')!;
  tbody.replaceChildren(...rows);
  if (rows.length === 0) tbody.replaceChildren(el('tr', {}, el('td', { colspan: '8' }, 'no source')));
}

/** Optimistic lock members are labelled `source-\`db\`.\`table\`` (ShowDDLLocks). */
function parseShardTable(label: string): { source: string; database: string; table: string } | undefined {
  const m = /^(.+)-`(.+)`\.`(.+)`$/.exec(label.trim());
  return m ? { source: m[1]!, database: m[2]!, table: m[3]! } : undefined;
}

function unlock(l: DDLLock, op: UnlockDDLLockOp): void {
  const what = op === UnlockDDLLockOp.UNLOCK_DDL_LOCK_OP_SKIP ? 'skip' : 'exec';
  if (l.mode === 'optimistic') {
    const label = prompt(`Resolve which shard table of lock ${l.id} (--action ${what})?`, l.unsynced[0] ?? l.synced[0] ?? '');
    if (!label) return;
    const t = parseShardTable(label);
    if (!t) return alert(`"${label}" is not of the form source-\`db\`.\`table\``);
    if (!confirm(`Unlock ${l.id} for ${label} with --action ${what}?`)) return;
    void act(`unlock ${l.id}`, () => client.unlockDDLLock({ id: l.id, op, sources: [t.source], database: t.database, table: t.table })).then(refreshLocks);
    return;
  }
  const how = what === 'skip' ? 'nobody runs the DDLs (the target already has the change)' : `the owner ${l.owner} runs the DDLs, the other synced sources skip theirs; unsynced sources are left out`;
  if (!confirm(`Unlock ${l.id}? ${how}.`)) return;
  void act(`unlock ${l.id}`, () => client.unlockDDLLock({ id: l.id, op })).then(refreshLocks);
}

function renderLocks(locks: DDLLock[]): void {
  const tbody = $('locks').querySelector('tbody')!;
  if (locks.length === 0) return tbody.replaceChildren(el('tr', {}, el('td', { colspan: '8', 'data-testid': 'no-locks' }, 'no DDL lock')));
  tbody.replaceChildren(
    ...locks.map((l) => {
      const exec = el('button', { 'data-testid': `unlock-${l.id}` }, 'Unlock…');
      exec.onclick = () => unlock(l, UnlockDDLLockOp.UNLOCK_DDL_LOCK_OP_EXEC);
      const skip = el('button', { 'data-testid': `skip-lock-${l.id}`, title: 'unlock with --action skip' }, 'Skip DDL…');
      skip.onclick = () => unlock(l, UnlockDDLLockOp.UNLOCK_DDL_LOCK_OP_SKIP);
      const list = (xs: string[], part: string): HTMLElement => el('div', { class: 'list', 'data-testid': `lock-${part}-${l.id}` }, xs.join('\n'));
      return el(
        'tr',
        { 'data-testid': `lock-${l.id}` },
        el('td', { 'data-testid': `lock-id-${l.id}` }, l.id),
        el('td', {}, l.task),
        el('td', {}, l.mode),
        el('td', { 'data-testid': `lock-owner-${l.id}` }, l.owner),
        el('td', {}, list(l.ddls, 'ddls')),
        el('td', {}, list(l.synced, 'synced')),
        el('td', {}, list(l.unsynced, 'unsynced')),
        el(
          'td',
          {},
          exec,
          ' ',
          skip,
          el('div', { class: 'err', 'data-testid': `lock-error-${l.id}` }, l.error),
          // optimistic rename waiting for shards: what the unsynced shard tables must do upstream
          el('div', { class: 'note', 'data-testid': `lock-message-${l.id}` }, l.message),
        ),
      );
    }),
  );
}

const LOCKS_EVERY_MS = 3000;

async function refreshLocks(): Promise<void> {
  const note = $('locks-msg');
  try {
    const r = await client.showDDLLocks({ task: '', sources: [] }, { timeoutMs: 10_000 });
    if (!r.result) note.textContent = r.msg;
    else note.textContent = '';
    renderLocks(r.locks);
  } catch (e) {
    note.textContent = errText(e);
  }
}

/** Polls ShowDDLLocks; a new call (a new login) ends the previous loop. */
let locksGen = 0;
function pollLocks(): void {
  const gen = ++locksGen;
  const tick = (): void => {
    if (gen !== locksGen) return;
    void refreshLocks().finally(() => setTimeout(tick, LOCKS_EVERY_MS));
  };
  tick();
}

let watch: AbortController | undefined;

async function watchLoop(): Promise<void> {
  watch?.abort();
  const ac = new AbortController();
  watch = ac;
  const pill = $('conn');
  while (!ac.signal.aborted) {
    try {
      for await (const view of client.watchCluster({ intervalMs: 1000 }, { signal: ac.signal })) {
        pill.textContent = 'live';
        pill.className = 'pill ok';
        render(view);
      }
    } catch (e) {
      if (ac.signal.aborted) return;
      pill.textContent = errText(e);
      pill.className = 'pill bad';
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

$('login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  token = $<HTMLInputElement>('token').value.trim();
  $<HTMLInputElement>('token').value = '';
  void watchLoop();
  pollLocks();
});

$<HTMLInputElement>('task-file').addEventListener('change', (ev) => {
  const f = (ev.target as HTMLInputElement).files?.[0];
  if (f) void f.text().then((t) => ($<HTMLTextAreaElement>('task-yaml').value = t));
});

async function checkThenMaybeStart(start: boolean): Promise<void> {
  const out = $('task-result');
  const task = $<HTMLTextAreaElement>('task-yaml').value;
  try {
    const c = await client.checkTask({ task, errorCnt: 10, warnCnt: 10 });
    let report: unknown = c.msg;
    try {
      report = JSON.parse(c.msg);
    } catch {
      /* a plain message */
    }
    if (!c.result || !start) return show(out, { check: c.result ? 'passed' : 'failed', report });
    const r = await client.startTask({ task, sources: [] });
    show(out, { result: r.result, msg: r.msg || 'task started', sources: r.sources.map((s) => ({ source: s.source, worker: s.worker, result: s.result, msg: s.msg })) });
  } catch (e) {
    show(out, errText(e));
  }
}
$('check-task').addEventListener('click', () => void checkThenMaybeStart(false));
$('start-task').addEventListener('click', () => void checkThenMaybeStart(true));
$('create-source').addEventListener('click', () => {
  const out = $('source-result');
  client
    .operateSource({ op: SourceOp.START, config: [$<HTMLTextAreaElement>('source-yaml').value] })
    .then((r) => show(out, { result: r.result, msg: r.msg, sources: r.sources.map((s) => ({ source: s.source, worker: s.worker, result: s.result, msg: s.msg })) }))
    .catch((e: unknown) => show(out, errText(e)));
});

void watchLoop();
pollLocks();
