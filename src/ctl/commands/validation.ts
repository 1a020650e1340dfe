/**
 * `validation start|stop|status|show-error|ignore-error|resolve-error|clear-error|update` (DM
 * 2.x's continuous validator; docs/verify.md): DM's arguments and reply shapes.
 *
 *   validation start [--all-task | <task>] [-s source] [--mode full|fast] [--start-time T]
 *   validation stop [--all-task | <task>] [-s source]
 *   validation status [--table-stage running|stopped] <task>
 *   validation show-error [--error all|unprocessed|ignored|resolved] <task>
 *   validation ignore-error|resolve-error|clear-error <task> <error-id | --all>
 *   validation update <task> [-s source] [--cutover-binlog-pos "(file, pos)" | --cutover-binlog-gtid G]
 */
import type { Command } from 'commander';
import { CommonPb, MasterPb } from './shared.js';
import { action, addSourceOption, usageError } from '../args.js';
import type { CtlContext } from '../context.js';
import { dmError, dmReply } from '../dm-json.js';
import { registerCommand } from '../registry.js';

type Obj = Record<string, unknown>;

const ERROR_STATES: Record<string, CommonPb.ValidationErrorState> = {
  all: CommonPb.ValidationErrorState.ALL,
  unprocessed: CommonPb.ValidationErrorState.NEW,
  ignored: CommonPb.ValidationErrorState.IGNORED,
  resolved: CommonPb.ValidationErrorState.RESOLVED,
};

const DM_ERROR_STATE: Record<string, string> = { new: 'NewErr', ignored: 'IgnoredErr', resolved: 'ResolvedErr' };

function startStopArgs(ctx: CtlContext, cmd: Command, task: string | undefined, allTask: boolean | undefined): string | undefined {
  if (task && allTask) return void usageError(ctx, cmd, 'either `task-name` or `all-task` should be set');
  if (!task && !allTask) return void usageError(ctx, cmd, 'either `task-name` or `all-task` should be set');
  return task ?? '';
}

/** DM's ValidationStatus, from the proto's (DM's strings in its `detail`), with DM.ts's fields after DM's. */
function dmValidator(v: CommonPb.ValidationStatus): Obj {
  const d = (v.detail ?? {}) as Obj;
  const result = v.result && (v.result.isCanceled || v.result.errors.length > 0) ? { isCanceled: v.result.isCanceled, errors: v.result.errors.map((e) => dmError(e)), detail: null } : null;
  return {
    task: v.task,
    source: v.source,
    mode: v.mode,
    stage: v.stage === CommonPb.Stage.RUNNING ? 'Running' : 'Stopped',
    validatorBinlog: d['validatorBinlog'] ?? '',
    validatorBinlogGtid: d['validatorBinlogGtid'] ?? '',
    result,
    processedRowsStatus: d['processedRowsStatus'] ?? '',
    pendingRowsStatus: d['pendingRowsStatus'] ?? '',
    errorRowsStatus: d['errorRowsStatus'] ?? '',
    cutoverBinlogPos: d['cutoverBinlogPos'] ?? '',
    cutoverBinlogGtid: d['cutoverBinlogGtid'] ?? '',
    // DM.ts
    verifiedFrom: d['verifiedFrom'] ?? '',
    verifiedThrough: d['verifiedThrough'] ?? '',
    verifiedThroughGtid: d['verifiedThroughGtid'] ?? '',
    heldByErrors: d['heldByErrors'] ?? 0,
    skippedRows: d['skippedRows'] ?? 0,
    cutoverReached: d['cutoverReached'] ?? false,
    notValidatedTables: d['notValidatedTables'] ?? [],
  };
}

function buildStartStop(cmd: Command, ctx: CtlContext, op: 'start' | 'stop'): void {
  cmd.argument('[task-name]', 'task name').option('--all-task', 'apply to every task');
  if (op === 'start') {
    cmd.option('--mode <mode>', 'validation mode: full (compare every column) or fast (rows exist)').option('--start-time <time>', "validate changes committed upstream from this time (in the future), e.g. '2021-10-21 00:01:00'");
  }
  addSourceOption(cmd).action(
    action(ctx, async (taskArg: string | undefined, o: { allTask?: boolean; mode?: string; startTime?: string; source?: string[] }) => {
      const task = startStopArgs(ctx, cmd, taskArg, o.allTask);
      if (task === undefined) return;
      const sources = ctx.sources(o.source);
      if (op === 'start') {
        if (o.mode !== undefined && o.mode !== 'full' && o.mode !== 'fast') return usageError(ctx, cmd, `mode should be either \`full\` or \`fast\`, current is \`${o.mode}\``);
        const resp = await ctx.call((c, co) => c.startValidation({ taskName: task, sources, mode: o.mode ?? '', startTime: o.startTime ?? '' }, co));
        ctx.reply(dmReply(MasterPb.StartValidationResponseSchema, resp));
      } else {
        const resp = await ctx.call((c, co) => c.stopValidation({ taskName: task, sources }, co));
        ctx.reply(dmReply(MasterPb.StopValidationResponseSchema, resp));
      }
    }),
  );
}

function buildOperateError(cmd: Command, ctx: CtlContext, op: CommonPb.ValidationErrorOp): void {
  cmd
    .argument('<task-name>', 'task name')
    .argument('[error-id]', 'error id (from show-error)')
    .option('--all', 'all errors')
    .action(
      action(ctx, async (task: string, id: string | undefined, o: { all?: boolean }) => {
        if ((id === undefined && !o.all) || (id !== undefined && o.all)) return usageError(ctx, cmd, 'either `--all` or `error-id` should be set');
        if (id !== undefined && !/^\d+$/.test(id)) return usageError(ctx, cmd, '`error-id` should be integer when `--all` is not set');
        const resp = await ctx.call((c, co) => c.operateValidationError({ op, taskName: task, errorId: BigInt(id ?? 0), all: o.all === true }, co));
        ctx.reply(dmReply(MasterPb.OperateValidationErrorResponseSchema, resp));
      }),
    );
}

registerCommand({
  name: 'validation',
  summary: 'continuous data validation: start, stop, status, show-error, ignore-error, resolve-error, clear-error, update',
  build(cmd, ctx) {
    buildStartStop(cmd.command('start').description('start to validate the completeness of the data'), ctx, 'start');
    buildStartStop(cmd.command('stop').description('stop validating the completeness of the data'), ctx, 'stop');

    const status = cmd.command('status').description('query validation status of a task');
    status
      .argument('<task-name>', 'task name')
      .option('--table-stage <stage>', 'filter validation tables by stage: running/stopped')
      .action(
        action(ctx, async (task: string, o: { tableStage?: string }) => {
          const st = o.tableStage;
          if (st !== undefined && st !== 'running' && st !== 'stopped') return usageError(ctx, status, 'stage should be either `running` or `stopped`');
          const filterStatus = st === 'running' ? CommonPb.Stage.RUNNING : st === 'stopped' ? CommonPb.Stage.STOPPED : CommonPb.Stage.UNSPECIFIED;
          const resp = await ctx.call((c, co) => c.queryValidationStatus({ taskName: task, filterStatus }, co));
          ctx.reply({
            result: resp.result,
            msg: resp.msg,
            validators: resp.validators.map(dmValidator),
            tableStatuses: resp.tableStatuses.map((t) => ({ source: t.source, srcTable: t.srcTable, dstTable: t.dstTable, stage: t.stage === CommonPb.Stage.RUNNING ? 'Running' : 'Stopped', message: t.message })),
          });
        }),
      );

    const show = cmd.command('show-error').description('show validation error row change');
    show
      .argument('<task-name>', 'task name')
      .option('--error <state>', 'filtering type of error: all, unprocessed, ignored or resolved', 'unprocessed')
      .action(
        action(ctx, async (task: string, o: { error: string }) => {
          const errorState = ERROR_STATES[o.error];
          if (errorState === undefined) return usageError(ctx, show, 'error flag should be either `all`, `unprocessed`, `ignored` or `resolved`');
          const resp = await ctx.call((c, co) => c.getValidationError({ taskName: task, errorState }, co));
          ctx.reply({
            result: resp.result,
            msg: resp.msg,
            error: resp.errors.map((e) => ({
              id: e.id.toString(),
              source: e.source,
              srcTable: e.srcTable,
              srcData: e.srcData,
              dstTable: e.dstTable,
              dstData: e.dstData,
              errorType: e.errorType,
              status: DM_ERROR_STATE[e.status] ?? e.status,
              time: e.time ? new Date(Number(e.time.seconds) * 1000).toISOString() : '',
              message: e.message,
            })),
          });
        }),
      );

    buildOperateError(cmd.command('ignore-error').description('ignore validation error row change'), ctx, CommonPb.ValidationErrorOp.IGNORE);
    buildOperateError(cmd.command('resolve-error').description('resolve validation error row change'), ctx, CommonPb.ValidationErrorOp.RESOLVE);
    buildOperateError(cmd.command('clear-error').description('clear validation error row change'), ctx, CommonPb.ValidationErrorOp.CLEAR);

    const update = cmd.command('update').description('update validation config of the completeness of the data');
    update
      .argument('[task-name]', 'task name')
      .option('--cutover-binlog-pos <pos>', "the cut-over binlog position, e.g. '(mysql-bin.000001, 5989)'")
      .option('--cutover-binlog-gtid <gtid>', 'the cut-over GTID set');
    addSourceOption(update).action(
      action(ctx, async (task: string | undefined, o: { cutoverBinlogPos?: string; cutoverBinlogGtid?: string; source?: string[] }) => {
        if (!task) return usageError(ctx, update, '`task-name` should be set');
        if (o.cutoverBinlogPos && o.cutoverBinlogGtid) return usageError(ctx, update, "you must specify either one of '--cutover-binlog-pos' or '--cutover-binlog-gtid'");
        if (o.cutoverBinlogPos && !/^\(\s*[^,\s]+\s*,\s*\d+\s*\)$/.test(o.cutoverBinlogPos.trim())) return usageError(ctx, update, `'${o.cutoverBinlogPos}' is not a binlog position like '(mysql-bin.000001, 5989)'`);
        const resp = await ctx.call((c, co) => c.updateValidation({ taskName: task, sources: ctx.sources(o.source), binlogPos: o.cutoverBinlogPos ?? '', binlogGtid: o.cutoverBinlogGtid ?? '' }, co));
        ctx.reply(dmReply(MasterPb.UpdateValidationResponseSchema, resp));
      }),
    );
  },
});
