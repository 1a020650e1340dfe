/**
 * WorkerService, validation group: the worker side of `dmctl validation status / show-error /
 * ignore-error / resolve-error / clear-error / update` on the subtask's continuous validator
 * (src/units/validate/validator.ts). Start and stop go through etcd (the converger applies the
 * leader's `task/validator/<source>/<task>`), not through here.
 */
import type { ServiceImpl } from '@connectrpc/connect';
import type { JsonObject } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { DMError, toDMError } from '../errors/index.js';
import { WorkerService } from '../gen/dm/worker/v1/worker_pb.js';
import { Stage as PbStage, ValidationErrorOp, ValidationErrorState } from '../gen/dm/common/v1/common_pb.js';
import type { ContinuousValidator, ErrorStatus, ValidatorStatus } from '../units/validate/index.js';
import type { Subtask } from './subtask.js';

/** A validator status as the proto's ValidationStatus (DM's strings and DM.ts's positions in `detail`). */
export function pbValidationStatus(v: ValidatorStatus) {
  const count = (text: string): bigint => text.replace(/^.*: /, '').split('/').reduce((n, x) => n + BigInt(Number(x) || 0), 0n);
  const pos = /^\((.*), (\d+)\)$/.exec(v.validatorBinlog);
  const cut = /^\((.*), (\d+)\)$/.exec(v.cutoverBinlogPos);
  return {
    task: v.task,
    source: v.source,
    mode: v.mode,
    stage: v.stage === 'Running' ? PbStage.RUNNING : PbStage.STOPPED,
    ...(pos ? { validatorBinlog: { name: pos[1] ?? '', pos: Number(pos[2]), gtidSet: v.validatorBinlogGtid } } : {}),
    result: {
      isCanceled: v.result?.isCanceled ?? false,
      errors: (v.result?.errors ?? []).map((e) => ({ code: e.code, class: e.class, scope: e.scope, level: e.level, message: e.message, workaround: e.workaround, rawCause: e.rawCause ?? '', retryable: e.retryable })),
    },
    processedRows: count(v.processedRowsStatus),
    pendingRows: count(v.pendingRowsStatus),
    errorRows: count(v.errorRowsStatus.replace(/\/\d+\/\d+$/, '')),
    ...(cut || v.cutoverBinlogGtid ? { cutoverBinlog: { name: cut?.[1] ?? '', pos: Number(cut?.[2] ?? 0), gtidSet: v.cutoverBinlogGtid } } : {}),
    detail: JSON.parse(JSON.stringify(v)) as JsonObject,
  };
}

const ERROR_STATE: Partial<Record<ValidationErrorState, ErrorStatus | undefined>> = {
  [ValidationErrorState.UNSPECIFIED]: undefined,
  [ValidationErrorState.ALL]: undefined,
  [ValidationErrorState.NEW]: 'new',
  [ValidationErrorState.IGNORED]: 'ignored',
  [ValidationErrorState.RESOLVED]: 'resolved',
};

const ERROR_OP: Partial<Record<ValidationErrorOp, 'ignore' | 'resolve' | 'clear'>> = {
  [ValidationErrorOp.IGNORE]: 'ignore',
  [ValidationErrorOp.RESOLVE]: 'resolve',
  [ValidationErrorOp.CLEAR]: 'clear',
};

/** `(mysql-bin.000001, 4)` (DM's form) or `mysql-bin.000001:4`. */
export function parseCutoverPos(text: string): { file: string; offset: number } | undefined {
  const m = /^\(\s*([^,\s]+)\s*,\s*(\d+)\s*\)$/.exec(text.trim()) ?? /^([^:\s]+):(\d+)$/.exec(text.trim());
  return m ? { file: m[1] ?? '', offset: Number(m[2]) } : undefined;
}

export function validationHandlers(name: string, subtasks: () => Subtask[]): Partial<ServiceImpl<typeof WorkerService>> {
  const validatorOf = (task: string): ContinuousValidator => {
    const st = subtasks().find((s) => s.name === task);
    if (!st) throw new DMError('ErrWorkerSubtaskNotFound', `task ${task} has no subtask on worker ${name}`);
    const v = st.validator;
    if (!v) throw new DMError('ErrValidatorNotFound', `task ${task} has no continuous validator on worker ${name} (no sync unit)`);
    return v;
  };
  return {
    async getValidationStatus(req) {
      const v = validatorOf(req.taskName);
      const s = v.status();
      const stage = req.filterStatus === PbStage.RUNNING ? 'Running' : req.filterStatus === PbStage.STOPPED ? 'Stopped' : undefined;
      return {
        result: true,
        msg: '',
        validators: [pbValidationStatus(s)],
        tableStatuses: v.tableStatus(stage).map((t) => ({
          source: s.source,
          srcTable: `\`${t.srcSchema}\`.\`${t.srcTable}\``,
          dstTable: `\`${t.tgtSchema}\`.\`${t.tgtTable}\``,
          stage: t.stage === 'Running' ? PbStage.RUNNING : PbStage.STOPPED,
          message: t.message,
        })),
      };
    },
    async getValidationError(req) {
      const v = validatorOf(req.taskName);
      if (!(req.errorState in ERROR_STATE)) throw new DMError('ErrValidatorBadRequest', `unknown error state ${req.errorState}`);
      const rows = await v.errors(ERROR_STATE[req.errorState]).catch((e: unknown) => {
        throw toDMError(e, 'ErrValidatorLoadPersistedData', 'cannot read the validation errors');
      });
      return {
        result: true,
        msg: '',
        errors: rows.map((e) => ({
          id: BigInt(e.id),
          source: e.source,
          srcTable: `\`${e.srcSchema}\`.\`${e.srcTable}\``,
          srcData: JSON.stringify(e.data),
          dstTable: `\`${e.tgtSchema}\`.\`${e.tgtTable}\``,
          dstData: e.dstData ? JSON.stringify(e.dstData) : '',
          errorType: e.type,
          status: e.status,
          time: timestampFromDate(e.time),
          message: `key ${e.pk}: ${e.message}`,
        })),
      };
    },
    async operateValidationError(req) {
      const v = validatorOf(req.taskName);
      const op = ERROR_OP[req.op];
      if (!op) throw new DMError('ErrValidatorBadRequest', 'validation error operation must be ignore, resolve or clear');
      if (!req.all && req.errorId === 0n) throw new DMError('ErrValidatorBadRequest', 'give an error id or --all');
      await v.operateError(op, req.all ? 'all' : Number(req.errorId));
      return { result: true, msg: '' };
    },
    async updateValidation(req) {
      const v = validatorOf(req.taskName);
      const pos = req.binlogPos ? parseCutoverPos(req.binlogPos) : undefined;
      if (req.binlogPos && !pos) throw new DMError('ErrValidatorBadRequest', `cut-over position '${req.binlogPos}' is not like (mysql-bin.000001, 4)`);
      v.update({ ...(pos ? { pos } : {}), ...(req.binlogGtid ? { gtid: req.binlogGtid } : {}) });
      return { result: true, msg: '' };
    },
  };
}
