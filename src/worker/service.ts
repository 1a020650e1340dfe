import type { ServiceImpl } from '@connectrpc/connect';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { JsonObject } from '@bufbuild/protobuf';
import { DMError, toDMError } from '../errors/index.js';
import { WorkerService } from '../gen/dm/worker/v1/worker_pb.js';
import { SchemaOp, Stage as PbStage, UnitType as PbUnit } from '../gen/dm/common/v1/common_pb.js';
import type { Stage, UnitType } from '../units/index.js';
import type { SchemaOpName } from '../units/sync/index.js';
import { sleepAbortable } from '../util/index.js';
import type { Subtask, SubtaskStatus } from './subtask.js';
import { pbValidationStatus, validationHandlers } from './validation-service.js';
import type { RelayHolder } from './relay-holder.js';
import { timestampDate } from '@bufbuild/protobuf/wkt';

const STAGE: Record<Stage, PbStage> = {
  New: PbStage.NEW,
  Running: PbStage.RUNNING,
  Paused: PbStage.PAUSED,
  Stopped: PbStage.STOPPED,
  Finished: PbStage.FINISHED,
};
const UNIT: Record<UnitType, PbUnit> = {
  Check: PbUnit.CHECK,
  Dump: PbUnit.DUMP,
  Load: PbUnit.LOAD,
  Sync: PbUnit.SYNC,
  Relay: PbUnit.RELAY,
  Validate: PbUnit.VALIDATE,
};

export interface WorkerServiceDeps {
  name: string;
  /** Bound source id, or undefined. */
  source: () => string | undefined;
  statuses: () => SubtaskStatus[];
  configYaml: () => string;
  /** The subtasks running on this worker (binlog-schema); none when omitted. */
  subtasks?: () => Subtask[];
  /** The worker's relay holder (relayStatus, purge-relay); none = no relay on this worker. */
  relay?: RelayHolder;
}

const RELAY_STAGE: Record<string, PbStage> = { New: PbStage.NEW, Running: PbStage.RUNNING, Paused: PbStage.PAUSED, Stopped: PbStage.STOPPED };

/** DM's RelayStatus of the bound source's relay; undefined when no relay runs. */
function relayStatus(d: WorkerServiceDeps) {
  const r = d.relay?.status();
  if (!r) return undefined;
  return {
    masterBinlog: { name: r.masterBinlog.name, pos: r.masterBinlog.pos, gtidSet: r.masterBinlog.gtid },
    relayBinlog: { name: r.relayBinlog.name, pos: r.relayBinlog.pos, gtidSet: r.relayBinlog.gtid },
    relaySubDir: r.relaySubDir,
    relayCatchUpMaster: r.relayCatchUpMaster,
    stage: RELAY_STAGE[r.stage] ?? PbStage.UNSPECIFIED,
    result: {
      isCanceled: false,
      errors: r.errors.map((e) => ({ code: e.code, class: e.class, scope: e.scope, level: e.level, message: e.message, workaround: e.workaround, rawCause: e.rawCause ?? '', retryable: e.retryable })),
    },
  };
}

const SCHEMA_OP: Partial<Record<SchemaOp, SchemaOpName>> = {
  [SchemaOp.GET]: 'get',
  [SchemaOp.SET]: 'set',
  [SchemaOp.REMOVE]: 'remove',
};

interface Loc {
  name: string;
  pos: number;
  gtidSet: string;
}

function loc(p: unknown): Loc | undefined {
  if (!p || typeof p !== 'object') return undefined;
  const { file, offset, gtid } = p as { file?: unknown; offset?: unknown; gtid?: unknown };
  if (typeof file !== 'string' || file === '') return undefined;
  return { name: file, pos: Number(offset) || 0, gtidSet: typeof gtid === 'string' ? gtid : '' };
}

/**
 * The typed SubTaskStatus fields a dashboard reads without parsing `detail`, taken from the current
 * unit's own status(): positions, lag and synced for Sync; rows and bytes done/estimated and the ETA
 * for Dump and Load (the full units' Progress.status(): totalRows/Bytes, estimatedRows/Bytes, etaSeconds).
 */
function typedFields(s: SubtaskStatus): {
  masterBinlog?: Loc;
  syncedBinlog?: Loc;
  lagSeconds?: number;
  synced?: boolean;
  rowsDone?: bigint;
  rowsTotal?: bigint;
  bytesDone?: bigint;
  bytesTotal?: bigint;
  etaSeconds?: number;
  progress?: number;
  unresolvedDdlLockId?: string;
} {
  const cur = s.units.find((u) => u.type === s.unit)?.status ?? {};
  if (s.unit === 'Sync') {
    const master = loc(cur['masterPos']);
    const synced = loc(cur['appliedPos']) ?? loc(cur['checkpointPos']);
    return {
      ...(master ? { masterBinlog: master } : {}),
      ...(synced ? { syncedBinlog: synced } : {}),
      lagSeconds: Number(cur['lagSeconds']) || 0,
      synced: cur['synced'] === true,
      // shard-mode: the lock this subtask waits on (src/units/sync/shard-*.ts status)
      ...(typeof cur['unresolvedDDLLockID'] === 'string' ? { unresolvedDdlLockId: cur['unresolvedDDLLockID'] } : {}),
    };
  }
  if (s.unit === 'Dump' || s.unit === 'Load') {
    const int = (k: string): number => Math.max(0, Math.trunc(Number(cur[k]) || 0));
    const done = int('totalRows');
    const total = int('estimatedRows');
    return {
      rowsDone: BigInt(done),
      rowsTotal: BigInt(total),
      bytesDone: BigInt(int('totalBytes')),
      bytesTotal: BigInt(int('estimatedBytes')),
      etaSeconds: Math.max(0, Number(cur['etaSeconds']) || 0),
      progress: total > 0 ? Math.min(1, done / total) : 0,
    };
  }
  return {};
}

function toJson(v: unknown): JsonObject {
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) ?? '{}') as JsonObject;
}

/** The subtasks `name` selects (all when empty) re-read what their status compares against (Unit.refreshStatus). */
async function refreshStatuses(d: WorkerServiceDeps, name: string): Promise<void> {
  const subs = (d.subtasks?.() ?? []).filter((s) => !name || s.name === name);
  await Promise.all(subs.map((s) => s.refreshStatus()));
}

function snapshot(d: WorkerServiceDeps, name: string) {
  const src = d.source() ?? '';
  const subs = d.statuses().filter((s) => !name || s.name === name);
  return {
    result: true,
    msg: src ? '' : 'no source bound to this worker',
    sourceStatus: { source: src, worker: d.name, ...(src ? { relayStatus: relayStatus(d) } : {}) },
    subTaskStatus: subs.map((s) => ({
      name: s.name,
      source: s.source,
      worker: s.worker,
      stage: STAGE[s.stage],
      unit: s.unit ? UNIT[s.unit] : PbUnit.UNSPECIFIED,
      result: {
        isCanceled: false,
        errors: s.errors.map((e) => ({ code: e.code, class: e.class, scope: e.scope, level: e.level, message: e.message, workaround: e.workaround, rawCause: e.rawCause ?? '', retryable: e.retryable })),
      },
      ...typedFields(s),
      detail: toJson({ pausedBy: s.pausedBy, autoResumes: s.autoResumes, units: s.units, ...(s.validator ? { validator: s.validator } : {}) }),
      ...(s.validator ? { validation: pbValidationStatus(s.validator) } : {}),
      updateTime: timestampFromDate(s.updatedAt),
    })),
  };
}

/** WorkerService: status of this worker's subtasks; later issues add relay, schema, validation. */
export function createWorkerService(d: WorkerServiceDeps): Partial<ServiceImpl<typeof WorkerService>> {
  return {
    async queryStatus(req) {
      await refreshStatuses(d, req.name);
      const s = snapshot(d, req.name);
      if (req.name && s.subTaskStatus.length === 0 && d.source()) {
        throw new DMError('ErrWorkerSubtaskNotFound', `task ${req.name} has no subtask on worker ${d.name}`);
      }
      return s;
    },
    async *watchStatus(req, ctx) {
      const every = req.interval ? Number(req.interval.seconds) * 1000 + Math.round(req.interval.nanos / 1e6) : 1000;
      while (!ctx.signal.aborted) {
        await refreshStatuses(d, req.name);
        yield { ...snapshot(d, req.name), time: timestampFromDate(new Date()) };
        if (!(await sleepAbortable(Math.max(100, every), ctx.signal))) return;
      }
    },
    /**
     * binlog-schema on one subtask of the bound source. Errors of the operation itself (stage,
     * table not tracked, bad CREATE TABLE, no checkpoint) are a reply with result false and the
     * coded error in `msg`, as DM's per-source results; a request for another source is an error.
     */
    async operateBinlogSchema(req) {
      const op = SCHEMA_OP[req.op];
      if (!op) throw new DMError('ErrMasterInvalidRequest', 'binlog-schema needs an operation: list, update or delete');
      const bound = d.source();
      if (!bound || (req.source && req.source !== bound)) {
        throw new DMError('ErrWorkerSubtaskNotFound', `source ${req.source} is not bound to worker ${d.name}${bound ? ` (bound: ${bound})` : ''}`);
      }
      const st = (d.subtasks?.() ?? []).find((s) => s.name === req.task);
      if (!st) throw new DMError('ErrWorkerSubtaskNotFound', `task ${req.task} has no subtask on worker ${d.name}`);
      try {
        const msg = await st.operateSchema({
          op,
          database: req.database,
          table: req.table,
          ...(req.schema ? { schema: req.schema } : {}),
          ...(req.fromSource ? { fromSource: true } : {}),
          ...(req.fromTarget ? { fromTarget: true } : {}),
          ...(req.sync ? { sync: true } : {}),
        });
        return { result: true, msg, schema: op === 'get' ? msg : '' };
      } catch (e) {
        return { result: false, msg: toDMError(e, 'ErrInternal').toString(), schema: '' };
      }
    },
    /**
     * purge-relay on this worker's relay: exactly one of inactive, time, filename. A refused purge
     * (a needed file, no relay) answers result false with the coded error in `msg`, as DM.
     */
    async purgeRelay(req) {
      const kinds = [req.inactive, req.time !== undefined, req.filename !== ''].filter(Boolean).length;
      try {
        if (kinds !== 1) throw new DMError('ErrRelayPurgeArgs', 'purge-relay needs exactly one of --filename, --inactive, --time');
        if (!d.relay) throw new DMError('ErrRelayNotRunning', `worker ${d.name} has no relay`);
        const removed = await d.relay.purge(
          req.inactive ? { kind: 'inactive' } : req.time ? { kind: 'time', before: timestampDate(req.time) } : { kind: 'filename', file: req.filename, ...(req.subDir ? { subDir: req.subDir } : {}) },
        );
        return { result: true, msg: removed.length ? `purged ${removed.map((f) => `${f.subDir}/${f.file}`).join(', ')}` : 'no relay file to purge' };
      } catch (e) {
        return { result: false, msg: toDMError(e, 'ErrInternal').toString() };
      }
    },
    async getWorkerCfg() {
      return { result: true, msg: '', cfg: d.configYaml() };
    },
    ...validationHandlers(d.name, () => d.subtasks?.() ?? []),
  };
}
