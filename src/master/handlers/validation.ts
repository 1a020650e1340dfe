/**
 * MasterService, validation group (`dmctl validation ...`, DM 2.x's continuous validator):
 * - start / stop / update: the leader writes each subtask's `task/validator/<source>/<task>`
 *   record (one fenced txn); the bound worker's converger starts or stops the validator
 *   (src/units/validate/validator.ts). An empty task name means every task (`--all-task`).
 * - status / show-error / ignore-error / resolve-error / clear-error: asked of the worker bound
 *   to each source of the task (reads and error operations on the target's meta tables).
 */
import type { Client } from '@connectrpc/connect';
import { DMError } from '../../errors/index.js';
import type { WorkerService } from '../../gen/dm/worker/v1/worker_pb.js';
import { fromConnectError } from '../../rpc/index.js';
import type { ValidatorStageRecord } from '../../store/index.js';
import type { ClusterView } from '../scheduler/index.js';
import type { MasterCore } from '../master-core.js';
import { resolveStartTime } from '../start-time.js';
import type { HandlerEnv, MasterImpl } from './env.js';

const WORKER_TIMEOUT_MS = 30_000;

type SourceReply = { result: boolean; msg: string; source: string; worker: string };

async function subtasksOf(core: MasterCore, task: string, sources: readonly string[]): Promise<{ task: string; source: string }[]> {
  let pairs = await core.allSubtasks();
  if (task) pairs = pairs.filter((p) => p.task === task);
  if (sources.length > 0) pairs = pairs.filter((p) => sources.includes(p.source));
  if (pairs.length === 0) throw new DMError('ErrMasterTaskNotFound', `task ${task || '(any)'} not found${sources.length ? ` on sources ${sources.join(', ')}` : ''}`);
  return pairs.sort((a, b) => a.task.localeCompare(b.task) || a.source.localeCompare(b.source));
}

/** The start time of `validation start --start-time`: a time in the future (ISO UTC), checked here. */
export function validationStartTime(text: string, now = Date.now()): string {
  let iso: string;
  try {
    iso = resolveStartTime(text, Intl.DateTimeFormat().resolvedOptions().timeZone);
  } catch (e) {
    throw new DMError('ErrValidatorStartTime', `--start-time '${text}' is not a time like "2006-01-02 15:04:05"`, { cause: e });
  }
  if (new Date(iso).getTime() < now) throw new DMError('ErrValidatorStartTime', `--start-time '${text}' (${iso}) is in the past`);
  return iso;
}

async function setStages(core: MasterCore, task: string, sources: readonly string[], f: (cur: ValidatorStageRecord | undefined) => ValidatorStageRecord): Promise<SourceReply[]> {
  const pairs = await subtasksOf(core, task, sources);
  const recs = await Promise.all(pairs.map(async (p) => ({ ...p, rec: f(await core.validatorStage(p.source, p.task)) })));
  await core.putValidatorStages(recs);
  const view = await core.clusterView();
  return pairs.map((p) => ({ source: p.source, worker: view.boundBy.get(p.source) ?? '', result: true, msg: task ? '' : p.task }));
}

/** Call `fn` on the worker bound to each source of `task`. */
async function onWorkers<R>(core: MasterCore, workerClient: (addr: string) => Client<typeof WorkerService>, task: string, fn: (c: Client<typeof WorkerService>, source: string) => Promise<R>): Promise<{ source: string; worker: string; reply?: R; error?: string }[]> {
  const pairs = await subtasksOf(core, task, []);
  const view: ClusterView = await core.clusterView();
  return Promise.all(
    pairs.map(async ({ source }) => {
      const worker = view.boundBy.get(source) ?? '';
      const wv = worker ? view.workers.get(worker) : undefined;
      if (!wv || wv.stage !== 'bound') {
        const e = worker ? new DMError('ErrMasterWorkerUnreachable', `worker ${worker} of source ${source} is offline`) : new DMError('ErrSchedulerSourceNotBound', `source ${source} is not bound to any worker`);
        return { source, worker, error: e.toString() };
      }
      try {
        return { source, worker, reply: await fn(workerClient(wv.addr), source) };
      } catch (e) {
        return { source, worker, error: fromConnectError(e).toString() };
      }
    }),
  );
}

export function validationHandlers(env: HandlerEnv): MasterImpl {
  const { core, masterClient, workerClient, fwd } = env;
  const opts = (signal: AbortSignal) => ({ signal, timeoutMs: WORKER_TIMEOUT_MS });
  return {
    async startValidation(req, ctx) {
      if (req.mode && req.mode !== 'full' && req.mode !== 'fast') throw new DMError('ErrValidatorBadRequest', `mode should be either \`full\` or \`fast\`, current is \`${req.mode}\``);
      const startTime = req.startTime ? validationStartTime(req.startTime) : undefined;
      return env.onLeader(
        ctx,
        async () => {
          const sources = await setStages(core, req.taskName, req.sources, (cur) => ({
            ...cur,
            stage: 'Running',
            ...(req.mode ? { mode: req.mode as 'full' | 'fast' } : {}),
            ...(startTime ? { startTime } : {}),
          }));
          return { result: true as boolean, msg: '', sources };
        },
        (addr) => masterClient(addr).startValidation(req, fwd),
      );
    },
    async stopValidation(req, ctx) {
      return env.onLeader(
        ctx,
        async () => {
          const sources = await setStages(core, req.taskName, req.sources, (cur) => {
            const { startTime: _drop, ...rest } = cur ?? { stage: 'Stopped' as const };
            return { ...rest, stage: 'Stopped' };
          });
          return { result: true as boolean, msg: '', sources };
        },
        (addr) => masterClient(addr).stopValidation(req, fwd),
      );
    },
    async updateValidation(req, ctx) {
      if (!req.taskName) throw new DMError('ErrValidatorBadRequest', '`task-name` should be set');
      if (req.binlogPos && req.binlogGtid) throw new DMError('ErrValidatorBadRequest', "you must specify either one of '--cutover-binlog-pos' or '--cutover-binlog-gtid'");
      let pos: { file: string; offset: number } | undefined;
      if (req.binlogPos) {
        const m = /^\(\s*([^,\s]+)\s*,\s*(\d+)\s*\)$/.exec(req.binlogPos.trim());
        if (!m) throw new DMError('ErrValidatorBadRequest', `cut-over position '${req.binlogPos}' is not like (mysql-bin.000001, 4)`);
        pos = { file: m[1] ?? '', offset: Number(m[2]) };
      }
      return env.onLeader(
        ctx,
        async () => {
          const sources = await setStages(core, req.taskName, req.sources, (cur) => {
            const { cutoverPos: _p, cutoverGtid: _g, ...rest } = cur ?? { stage: 'Stopped' as const };
            return { ...rest, stage: cur?.stage ?? 'Stopped', ...(pos ? { cutoverPos: pos } : {}), ...(req.binlogGtid ? { cutoverGtid: req.binlogGtid } : {}) };
          });
          return { result: true as boolean, msg: '', sources };
        },
        (addr) => masterClient(addr).updateValidation(req, fwd),
      );
    },
    async queryValidationStatus(req, ctx) {
      if (!req.taskName) throw new DMError('ErrValidatorBadRequest', 'task name should be specified');
      const out = await onWorkers(core, workerClient, req.taskName, (c) => c.getValidationStatus({ taskName: req.taskName, filterStatus: req.filterStatus }, opts(ctx.signal)));
      const errs = out.filter((o) => o.error !== undefined).map((o) => `source ${o.source}: ${o.error}`);
      return {
        result: errs.length === 0,
        msg: errs.join('; '),
        validators: out.flatMap((o) => o.reply?.validators ?? []),
        tableStatuses: out.flatMap((o) => o.reply?.tableStatuses ?? []),
      };
    },
    async getValidationError(req, ctx) {
      if (!req.taskName) throw new DMError('ErrValidatorBadRequest', 'task name should be specified');
      const out = await onWorkers(core, workerClient, req.taskName, (c) => c.getValidationError({ taskName: req.taskName, errorState: req.errorState }, opts(ctx.signal)));
      const errs = out.filter((o) => o.error !== undefined).map((o) => `source ${o.source}: ${o.error}`);
      return { result: errs.length === 0, msg: errs.join('; '), errors: out.flatMap((o) => o.reply?.errors ?? []).sort((a, b) => Number(a.id - b.id)) };
    },
    async operateValidationError(req, ctx) {
      if (!req.taskName) throw new DMError('ErrValidatorBadRequest', 'task name should be specified');
      if (!req.all && req.errorId === 0n) throw new DMError('ErrValidatorBadRequest', 'either `--all` or `error-id` should be set');
      const out = await onWorkers(core, workerClient, req.taskName, (c) => c.operateValidationError({ op: req.op, taskName: req.taskName, errorId: req.errorId, all: req.all }, opts(ctx.signal)));
      const sources = out.map((o) => ({ source: o.source, worker: o.worker, result: o.error === undefined && o.reply?.result === true, msg: o.error ?? o.reply?.msg ?? '' }));
      return { result: sources.every((s) => s.result), msg: '', sources };
    },
  };
}
