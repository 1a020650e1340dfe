import type { ServiceImpl } from '@connectrpc/connect';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { JsonObject } from '@bufbuild/protobuf';
import { DMError } from '../errors/index.js';
import { WorkerService } from '../gen/dm/worker/v1/worker_pb.js';
import { Stage as PbStage, UnitType as PbUnit } from '../gen/dm/common/v1/common_pb.js';
import type { Stage, UnitType } from '../units/index.js';
import { sleepAbortable } from '../util/index.js';
import type { SubtaskStatus } from './subtask.js';

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
}

function toJson(v: unknown): JsonObject {
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) ?? '{}') as JsonObject;
}

function snapshot(d: WorkerServiceDeps, name: string) {
  const src = d.source() ?? '';
  const subs = d.statuses().filter((s) => !name || s.name === name);
  return {
    result: true,
    msg: src ? '' : 'no source bound to this worker',
    sourceStatus: { source: src, worker: d.name },
    subTaskStatus: subs.map((s) => ({
      name: s.name,
      source: s.source,
      worker: s.worker,
      stage: STAGE[s.stage],
      unit: s.unit ? UNIT[s.unit] : PbUnit.UNSPECIFIED,
      result: {
        isCanceled: false,
        errors: s.errors.map((e) => ({ code: e.code, class: e.class, scope: e.scope, level: e.level, message: e.message, workaround: e.workaround, retryable: e.retryable })),
      },
      detail: toJson({ pausedBy: s.pausedBy, autoResumes: s.autoResumes, units: s.units }),
      updateTime: timestampFromDate(s.updatedAt),
    })),
  };
}

/** WorkerService: status of this worker's subtasks; later issues add relay, schema, validation. */
export function createWorkerService(d: WorkerServiceDeps): Partial<ServiceImpl<typeof WorkerService>> {
  return {
    async queryStatus(req) {
      const s = snapshot(d, req.name);
      if (req.name && s.subTaskStatus.length === 0 && d.source()) {
        throw new DMError('ErrWorkerSubtaskNotFound', `task ${req.name} has no subtask on worker ${d.name}`);
      }
      return s;
    },
    async *watchStatus(req, ctx) {
      const every = req.interval ? Number(req.interval.seconds) * 1000 + Math.round(req.interval.nanos / 1e6) : 1000;
      while (!ctx.signal.aborted) {
        yield { ...snapshot(d, req.name), time: timestampFromDate(new Date()) };
        if (!(await sleepAbortable(Math.max(100, every), ctx.signal))) return;
      }
    },
    async getWorkerCfg() {
      return { result: true, msg: '', cfg: d.configYaml() };
    },
  };
}
