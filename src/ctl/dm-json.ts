/**
 * The one place where dmctl turns a protobuf reply into DM's JSON: the field names, nesting and
 * string formats DM's dmctl prints (DM's `dmpb` messages through jsonpb), so scripts that grep
 * DM's replies or run `jq` on them keep working. DM.ts's own extra detail is kept under added
 * fields next to DM's, never instead of them.
 *
 * - errors (`ProcessError`): `ErrCode`, `ErrClass`, `ErrScope`, `ErrLevel`, `Message`, `RawCause`,
 *   `Workaround` (+ `retryable`); a `result` with no error and not canceled prints as `null`.
 * - `query-status <task>`: per subtask `name`, `stage`, `unit`, `result`, `unresolvedDDLLockID` and
 *   the current unit's object `dump` | `load` | `sync` (positions as `"(file, pos)"`, int64 as
 *   strings); per source `sourceStatus` with `relayStatus` (`null` while relay is not running).
 *   Added: `source`, `worker`, `lagSeconds`, `rowsDone`, `rowsTotal`, `progressRatio`,
 *   `updateTime`, `detail`, `validation`.
 * - `list-member`: `members: [{leader}, {master: {masters}}, {worker: {workers}}]` with `addr`,
 *   `memberID`, `peerURLs`, `clientURLs`.
 * - `shard-ddl-lock` (`show-ddl-locks`): `locks: [{ID, task, mode, owner, DDLs, synced, unsynced}]`.
 * - every other reply: the message's fields in camelCase (DM's names for `result`, `msg`,
 *   `sources[]`, `op`, ...), enums as DM's names, errors as above.
 */
import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import type { JsonObject } from '@bufbuild/protobuf';
import { messageToObject } from './output.js';
export { CHECK_TASK_SUCCESS, dmCheckMessage, dmCheckResult, goIndentJson, parseCheckReport } from '../checker/dm-report.js';
import * as CommonPb from '../gen/dm/common/v1/common_pb.js';
import * as MasterPb from '../gen/dm/master/v1/master_pb.js';

type Obj = Record<string, unknown>;

/** The text in front of a MySQL message in a raw cause: `Error 1062 (23000): `. */
const SQL_ERROR_PREFIX = /^Error \d+(?: \([0-9A-Z]{5}\))?: /;

/**
 * DM's `Message` is the error's own text; DM.ts's ProcessError message may end with `: <cause>`
 * (the cause appended for readers of the proto field): that tail is RawCause's, so it is cut.
 */
function ownMessage(message: string, rawCause: string): string {
  if (rawCause === '') return message;
  for (const tail of [rawCause, rawCause.replace(SQL_ERROR_PREFIX, '')]) {
    if (tail !== '' && message.endsWith(`: ${tail}`)) return message.slice(0, -(tail.length + 2));
  }
  return message;
}

/** Anything shaped like a ProcessError (proto message or its JSON) as DM's error object. */
export function dmError(e: {
  code?: number;
  class?: string;
  scope?: string;
  level?: string;
  message?: string;
  workaround?: string;
  rawCause?: string;
  retryable?: boolean;
}): Obj {
  const raw = e.rawCause ?? '';
  return {
    ErrCode: e.code ?? 0,
    ErrClass: e.class ?? '',
    ErrScope: e.scope ?? '',
    ErrLevel: e.level ?? '',
    Message: ownMessage(e.message ?? '', raw),
    RawCause: raw,
    Workaround: e.workaround ?? '',
    // DM.ts: whether DM.ts retries it by itself (auto-resume)
    retryable: e.retryable === true,
  };
}

/** DM's ProcessResult: `null` when nothing to report, else `{isCanceled, errors, detail}`. */
export function dmResult(r: CommonPb.ProcessResult | undefined): Obj | null {
  if (!r || (!r.isCanceled && r.errors.length === 0)) return null;
  return { isCanceled: r.isCanceled, errors: r.errors.map(dmError), detail: null };
}

/** DM's binlog position text: `(mysql-bin.000001, 4)`; empty when unknown. */
export function dmBinlog(l: CommonPb.BinlogLocation | { name: string; pos: number } | undefined): string {
  return l && l.name !== '' ? `(${l.name}, ${l.pos})` : '';
}

const STAGE_NAMES: Record<CommonPb.Stage, string> = {
  [CommonPb.Stage.UNSPECIFIED]: 'InvalidStage',
  [CommonPb.Stage.NEW]: 'New',
  [CommonPb.Stage.RUNNING]: 'Running',
  [CommonPb.Stage.PAUSED]: 'Paused',
  [CommonPb.Stage.STOPPED]: 'Stopped',
  [CommonPb.Stage.FINISHED]: 'Finished',
  [CommonPb.Stage.PAUSING]: 'Pausing',
  [CommonPb.Stage.RESUMING]: 'Resuming',
  [CommonPb.Stage.STOPPING]: 'Stopping',
};

const UNIT_NAMES: Record<CommonPb.UnitType, string> = {
  [CommonPb.UnitType.UNSPECIFIED]: 'InvalidUnit',
  [CommonPb.UnitType.CHECK]: 'Check',
  [CommonPb.UnitType.DUMP]: 'Dump',
  [CommonPb.UnitType.LOAD]: 'Load',
  [CommonPb.UnitType.SYNC]: 'Sync',
  [CommonPb.UnitType.RELAY]: 'Relay',
  [CommonPb.UnitType.VALIDATE]: 'Validate',
};

export function dmStage(s: CommonPb.Stage): string {
  return STAGE_NAMES[s] ?? 'InvalidStage';
}

function num(v: unknown): number {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

/** jsonpb prints int64 as a string. */
function i64(v: unknown): string {
  return String(Math.trunc(num(v)));
}

function asObj(v: unknown): Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {};
}

/** A position in a unit status (`{file, offset, gtid}`) as DM's `(file, pos)` and its GTID set. */
function statusPos(v: unknown): { text: string; gtid: string } {
  const p = asObj(v);
  const file = typeof p['file'] === 'string' ? p['file'] : typeof p['name'] === 'string' ? p['name'] : '';
  const pos = num(p['offset'] ?? p['pos']);
  const gtid = typeof p['gtid'] === 'string' ? p['gtid'] : typeof p['gtidSet'] === 'string' ? p['gtidSet'] : '';
  return { text: file ? `(${file}, ${pos})` : '', gtid };
}

/** The unit's own status() as the worker sent it in `detail.units[]`. */
function unitStatus(detail: JsonObject | undefined, unit: string): Obj {
  const units = detail?.['units'];
  if (!Array.isArray(units)) return {};
  const u = units.find((x) => asObj(x)['type'] === unit);
  return asObj(asObj(u)['status']);
}

/** DM's SyncStatus. */
function dmSync(st: CommonPb.SubTaskStatus, cur: Obj, relay: boolean): Obj {
  const eps = i64(cur['eventsPerSec']);
  const rps = i64(cur['rowsPerSec']);
  return {
    totalEvents: i64(cur['totalEvents']),
    totalTps: eps,
    recentTps: eps,
    masterBinlog: dmBinlog(st.masterBinlog),
    masterBinlogGtid: st.masterBinlog?.gtidSet ?? '',
    syncerBinlog: dmBinlog(st.syncedBinlog),
    syncerBinlogGtid: st.syncedBinlog?.gtidSet ?? '',
    blockingDDLs: Array.isArray(cur['blockingDDLs']) ? cur['blockingDDLs'] : [],
    unresolvedGroups: Array.isArray(cur['unresolvedGroups']) ? cur['unresolvedGroups'] : [],
    synced: st.synced,
    // what the running reader reads; without one (paused), whether the source's relay runs
    binlogType: (typeof cur['readsRelay'] === 'boolean' ? cur['readsRelay'] : relay) ? 'local' : 'remote',
    secondsBehindMaster: i64(Math.round(st.lagSeconds)),
    blockDDLOwner: '',
    conflictMsg: typeof cur['conflictMsg'] === 'string' ? cur['conflictMsg'] : '',
    totalRows: i64(cur['totalRows']),
    totalRps: rps,
    recentRps: rps,
  };
}

/** DM's LoadStatus. */
function dmLoad(cur: Obj): Obj {
  // the snapshot the full phase hands to sync: `{startPos: {file, offset, gtid}, ...}`
  const snap = asObj(cur['snapshot']);
  const meta = statusPos(snap['startPos'] ?? snap);
  return {
    finishedBytes: i64(cur['totalBytes']),
    totalBytes: i64(cur['estimatedBytes']),
    progress: typeof cur['progress'] === 'string' ? cur['progress'] : '0.00 %',
    metaBinlog: meta.text,
    metaBinlogGTID: meta.gtid,
    bps: i64(cur['bytesPerSecond']),
  };
}

/** DM's DumpStatus (int64 as strings, doubles as numbers). */
function dmDump(cur: Obj): Obj {
  const tables = Array.isArray(cur['tables']) ? (cur['tables'] as unknown[]).map(asObj) : [];
  const completed = tables.filter((t) => num(t['chunksTotal']) > 0 && num(t['chunksDone']) >= num(t['chunksTotal'])).length;
  return {
    totalTables: i64(cur['totalTables'] ?? tables.length),
    completedTables: completed,
    finishedBytes: num(cur['totalBytes']),
    finishedRows: num(cur['totalRows']),
    estimateTotalRows: num(cur['estimatedRows']),
    bps: i64(cur['bytesPerSecond']),
    progress: typeof cur['progress'] === 'string' ? cur['progress'] : '0.00 %',
  };
}

/** One subtask as DM prints it, with DM.ts's extra fields after DM's. */
export function dmSubtask(st: CommonPb.SubTaskStatus, relay = false): Obj {
  const unit = UNIT_NAMES[st.unit] ?? 'InvalidUnit';
  const detail = st.detail;
  const cur = unitStatus(detail, unit);
  const out: Obj = {
    name: st.name,
    stage: dmStage(st.stage),
    unit,
    result: dmResult(st.result),
    unresolvedDDLLockID: st.unresolvedDdlLockId,
  };
  if (st.unit === CommonPb.UnitType.SYNC) out['sync'] = dmSync(st, cur, relay);
  else if (st.unit === CommonPb.UnitType.LOAD) out['load'] = dmLoad(cur);
  else if (st.unit === CommonPb.UnitType.DUMP) out['dump'] = dmDump(cur);
  out['validation'] = st.validation ? dmValidation(st.validation) : null;
  // DM.ts: added fields
  out['source'] = st.source;
  out['worker'] = st.worker;
  out['lagSeconds'] = st.lagSeconds;
  out['rowsDone'] = st.rowsDone.toString();
  out['rowsTotal'] = st.rowsTotal.toString();
  out['progressRatio'] = st.progress;
  out['updateTime'] = st.updateTime ? new Date(Number(st.updateTime.seconds) * 1000 + Math.round(st.updateTime.nanos / 1e6)).toISOString() : '';
  out['detail'] = detail ?? null;
  return out;
}

function dmValidation(v: CommonPb.ValidationStatus): Obj {
  const d = (v.detail ?? {}) as Obj;
  return {
    task: v.task,
    source: v.source,
    mode: v.mode,
    stage: dmStage(v.stage),
    validatorBinlog: dmBinlog(v.validatorBinlog),
    validatorBinlogGtid: v.validatorBinlog?.gtidSet ?? '',
    result: dmResult(v.result),
    processedRowsStatus: d['processedRowsStatus'] ?? `insert/update/delete: ${v.processedRows}`,
    pendingRowsStatus: d['pendingRowsStatus'] ?? `${v.pendingRows}`,
    errorRowsStatus: d['errorRowsStatus'] ?? `${v.errorRows}`,
    // DM.ts: every change applied in (verifiedFrom, verifiedThrough] was read back equal on the target
    verifiedFrom: d['verifiedFrom'] ?? '',
    verifiedThrough: d['verifiedThrough'] ?? '',
    verifiedThroughGtid: d['verifiedThroughGtid'] ?? '',
  };
}

/** DM's RelayStatus (`null` when relay is not running for the source). */
export function dmRelayStatus(r: CommonPb.RelayStatus | undefined): Obj | null {
  if (!r) return null;
  return {
    masterBinlog: dmBinlog(r.masterBinlog),
    masterBinlogGtid: r.masterBinlog?.gtidSet ?? '',
    relaySubDir: r.relaySubDir,
    relayBinlog: dmBinlog(r.relayBinlog),
    relayBinlogGtid: r.relayBinlog?.gtidSet ?? '',
    relayCatchUpMaster: r.relayCatchUpMaster,
    stage: dmStage(r.stage),
    result: dmResult(r.result),
  };
}

/** `query-status <task>`: DM's QueryStatusListResponse. */
export function dmQueryStatus(resp: MasterPb.QueryStatusResponse): Obj {
  return {
    result: resp.result,
    msg: resp.msg,
    sources: resp.sources.map((s) => {
      const relay = s.sourceStatus?.relayStatus;
      return {
        result: s.result,
        msg: s.msg,
        sourceStatus: {
          source: s.sourceStatus?.source ?? '',
          worker: s.sourceStatus?.worker ?? '',
          result: dmResult(s.sourceStatus?.result),
          relayStatus: dmRelayStatus(relay),
        },
        subTaskStatus: s.subTaskStatus.map((st) => dmSubtask(st, relay !== undefined)),
      };
    }),
  };
}

/** DM's overall task status from its subtasks: Error when any is paused with errors, else the "worst" stage. */
export function taskStatusOf(subs: readonly { stage: CommonPb.Stage; result?: { errors: readonly unknown[] } | undefined }[]): string {
  const S = CommonPb.Stage;
  if (subs.some((s) => s.stage === S.PAUSED && (s.result?.errors.length ?? 0) > 0)) return 'Error - Some error occurred in subtask';
  const order: [CommonPb.Stage, string][] = [
    [S.PAUSED, 'Paused'],
    [S.NEW, 'New'],
    [S.RUNNING, 'Running'],
    [S.STOPPED, 'Stopped'],
    [S.FINISHED, 'Finished'],
  ];
  for (const [st, name] of order) if (subs.some((s) => s.stage === st)) return name;
  return 'Unknown';
}

/** `query-status` without a task: DM's `tasks: [{taskName, taskStatus, sources}]`. */
export function dmTaskList(resp: MasterPb.QueryStatusResponse): Obj {
  const byTask = new Map<string, { subs: CommonPb.SubTaskStatus[]; sources: string[] }>();
  for (const src of resp.sources) {
    for (const st of src.subTaskStatus) {
      const e = byTask.get(st.name) ?? { subs: [], sources: [] };
      e.subs.push(st);
      e.sources.push(st.source || src.sourceStatus?.source || '');
      byTask.set(st.name, e);
    }
  }
  return {
    result: resp.result,
    msg: resp.msg,
    tasks: [...byTask].map(([taskName, e]) => ({ taskName, taskStatus: taskStatusOf(e.subs), sources: e.sources })),
  };
}

const WORKER_STAGES: Record<MasterPb.WorkerStage, string> = {
  [MasterPb.WorkerStage.UNSPECIFIED]: 'unknown',
  [MasterPb.WorkerStage.OFFLINE]: 'offline',
  [MasterPb.WorkerStage.FREE]: 'free',
  [MasterPb.WorkerStage.BOUND]: 'bound',
  [MasterPb.WorkerStage.RELAY]: 'relay',
};

/** `list-member`: DM's ListMemberResponse, only the member kinds asked for. */
export function dmListMember(resp: MasterPb.ListMemberResponse, kinds: { leader: boolean; master: boolean; worker: boolean }): Obj {
  const members: Obj[] = [];
  if (kinds.leader) members.push({ leader: { msg: '', name: resp.leader?.name ?? '', addr: resp.leader?.address ?? '' } });
  if (kinds.master) {
    members.push({
      master: {
        msg: '',
        masters: resp.masters.map((m) => ({
          name: m.name,
          memberID: m.memberId,
          alive: m.alive,
          peerURLs: m.peerUrls,
          clientURLs: m.clientUrls,
          // DM.ts: added fields
          addr: m.address,
          isLeader: m.isLeader,
          evicted: m.evicted,
        })),
      },
    });
  }
  if (kinds.worker) {
    members.push({
      worker: {
        msg: '',
        workers: resp.workers.map((w) => ({
          name: w.name,
          addr: w.address,
          stage: WORKER_STAGES[w.stage] ?? 'unknown',
          source: w.source,
          // DM.ts: added fields
          relaySources: w.relaySources,
          labels: w.labels,
        })),
      },
    });
  }
  return { result: resp.result, msg: resp.msg, members };
}

/** Whether a JSON object is a ProcessError as `toJson` prints it. */
function isProcessErrorJson(o: Obj): boolean {
  return typeof o['code'] === 'number' && typeof o['class'] === 'string' && typeof o['scope'] === 'string' && typeof o['level'] === 'string' && 'workaround' in o;
}

/** Any ProcessError inside a reply's JSON as DM's error object; an empty ProcessResult as null. */
function dmErrorsDeep(v: unknown, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => dmErrorsDeep(x));
  if (v !== null && typeof v === 'object') {
    const o = v as Obj;
    if (isProcessErrorJson(o)) return dmError(o);
    if (key === 'result' && Array.isArray(o['errors']) && 'isCanceled' in o) {
      if (o['isCanceled'] !== true && (o['errors'] as unknown[]).length === 0) return null;
      return { isCanceled: o['isCanceled'], errors: (o['errors'] as unknown[]).map((x) => dmErrorsDeep(x)), detail: null };
    }
    const out: Obj = {};
    for (const [k, x] of Object.entries(o)) out[k] = dmErrorsDeep(x, k);
    return out;
  }
  return v;
}

/** `shard-ddl-lock` / `show-ddl-locks`: DM's DDLLock field names (`ID`, `DDLs`), every list present even when empty. */
function dmShowDDLLocks(r: MasterPb.ShowDDLLocksResponse): Obj {
  return {
    result: r.result,
    msg: r.msg,
    // `error` is DM.ts's (a conflict or mismatch with its code), shown only when there is one
    locks: r.locks.map((l) => ({ ID: l.id, task: l.task, mode: l.mode, owner: l.owner, DDLs: [...l.ddls], synced: [...l.synced], unsynced: [...l.unsynced], ...(l.error ? { error: l.error } : {}), ...(l.message ? { message: l.message } : {}) })),
  };
}

/**
 * Any reply as DM's JSON: the special shapes above for the messages that have one, otherwise
 * the message's fields (camelCase, enums as DM's names) with errors in DM's form.
 */
export function dmReply<D extends DescMessage>(schema: D, msg: MessageShape<D>): Obj {
  if (schema.typeName === MasterPb.QueryStatusResponseSchema.typeName) return dmQueryStatus(msg as unknown as MasterPb.QueryStatusResponse);
  if (schema.typeName === MasterPb.ShowDDLLocksResponseSchema.typeName) return dmShowDDLLocks(msg as unknown as MasterPb.ShowDDLLocksResponse);
  return dmErrorsDeep(messageToObject(schema, msg)) as Obj;
}
