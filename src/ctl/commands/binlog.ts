import type { Command } from 'commander';
import { CommonPb, MasterPb } from './shared.js';
import { action, addSourceOption, usageError } from '../args.js';
import type { CtlContext } from '../context.js';
import { isDMError } from '../../errors/index.js';
import { messageToObject } from '../output.js';
import { registerCommand } from '../registry.js';

const OPS: Record<string, CommonPb.ErrorOp> = {
  skip: CommonPb.ErrorOp.SKIP,
  replace: CommonPb.ErrorOp.REPLACE,
  revert: CommonPb.ErrorOp.REVERT,
  inject: CommonPb.ErrorOp.INJECT,
  list: CommonPb.ErrorOp.LIST,
};

/** Split SQL text into statements at `;` outside quotes. */
export function splitSqls(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] ?? '';
    if (q) {
      cur += ch;
      if (ch === '\\' && i + 1 < text.length) cur += text[++i] ?? '';
      else if (ch === q) q = undefined;
    } else if (ch === "'" || ch === '"' || ch === '`') {
      q = ch;
      cur += ch;
    } else if (ch === ';') {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

const POS_RE = /^[^:\s]+:\d+$/;

export async function runBinlogOp(
  ctx: CtlContext,
  cmd: Command,
  opName: string,
  task: string,
  sqlWords: readonly string[],
  o: { binlogPos?: string; source?: string[] },
): Promise<void> {
  const op = OPS[opName];
  if (op === undefined) {
    usageError(ctx, cmd, `invalid operation '${opName}'; use skip, replace, revert, inject or list`);
    return;
  }
  if (o.binlogPos !== undefined && !POS_RE.test(o.binlogPos)) {
    usageError(ctx, cmd, `invalid binlog position '${o.binlogPos}'; use file:pos, e.g. mysql-bin.000001:1234`);
    return;
  }
  const sqls = splitSqls(sqlWords.join(' '));
  if ((opName === 'replace' || opName === 'inject') && sqls.length === 0) {
    usageError(ctx, cmd, `binlog ${opName} needs the SQL statements to run, e.g. "ALTER TABLE t ADD COLUMN c INT;"`);
    return;
  }
  if ((opName === 'skip' || opName === 'revert' || opName === 'list') && sqls.length > 0) {
    usageError(ctx, cmd, `binlog ${opName} takes no SQL statements`);
    return;
  }
  const sources = ctx.sources(o.source);
  try {
    const resp = await ctx.call((c, co) => c.handleError({ op, task, sources, binlogPos: o.binlogPos ?? '', sqls }, co));
    ctx.reply(messageToObject(MasterPb.HandleErrorResponseSchema, resp));
  } catch (e) {
    if (!isDMError(e) || e.codeName !== 'ErrNotImplemented') throw e;
    await binlogViaEtcd(ctx, opName as 'skip' | 'replace' | 'revert' | 'inject' | 'list', task, sources, o.binlogPos ?? '', sqls);
  }
}

/**
 * Fallback while the master does not serve HandleError: write the operation to the cluster's
 * etcd (the masters' client URLs from list-member, the key prefix from the cluster info), as
 * the master would, then resume the task so the sync unit replays the failed event.
 */
async function binlogViaEtcd(
  ctx: CtlContext,
  op: 'skip' | 'replace' | 'revert' | 'inject' | 'list',
  task: string,
  only: string[],
  binlogPos: string,
  sqls: string[],
): Promise<void> {
  const members = await ctx.call((c, co) => c.listMember({ master: true, leader: false, worker: false, names: [] }, co));
  const info = await ctx.call((c, co) => c.getClusterInfo({}, co));
  const endpoints = members.masters.filter((m) => m.alive).flatMap((m) => m.clientUrls);
  const status = await ctx.call((c, co) => c.queryStatus({ name: task, sources: only }, co));
  const sources = [...new Set(status.sources.flatMap((s) => s.subTaskStatus.filter((st) => st.name === task).map((st) => st.source || s.sourceStatus?.source || '')))].filter((x) => x);
  if (sources.length === 0) {
    ctx.reply({ result: false, msg: `task ${task} not found${only.length ? ` on sources ${only.join(', ')}` : ''}` });
    return;
  }
  const { Etcd3 } = await import('etcd3');
  const { Keys } = await import('../../store/index.js');
  const { operateBinlogOps } = await import('../../worker/pipeline.js');
  const client = new Etcd3({ hosts: endpoints, defaultCallOptions: (c) => (c.isStream ? {} : { deadline: Date.now() + 5000 }) });
  try {
    const results = await operateBinlogOps(client, new Keys(info.clusterId || undefined), { op, task, sources, binlogPos, sqls });
    if (op === 'skip' || op === 'replace' || op === 'inject') {
      await ctx.call((c, co) => c.operateTask({ op: MasterPb.TaskOp.RESUME, name: task, sources }, co));
    }
    ctx.reply({
      result: results.every((r) => r.result),
      msg: '',
      sources: results.map((r) => ({ result: r.result, msg: r.msg, source: r.source, worker: '' })),
    });
  } finally {
    client.close();
  }
}

registerCommand({
  name: 'binlog',
  summary: 'skip, replace, revert, inject or list operations on the binlog event a task is blocked on',
  build(cmd, ctx) {
    cmd
      .argument('<operation>', 'skip | replace | revert | inject | list')
      .argument('<task-name>', 'task name')
      .argument('[sqls...]', 'SQL statements for replace/inject, separated by ;')
      .option('-b, --binlog-pos <pos>', 'position of the event, file:pos (default: the event the task is blocked on)');
    addSourceOption(cmd).action(
      action(ctx, async (op: string, task: string, sqls: string[], o: { binlogPos?: string; source?: string[] }) => {
        await runBinlogOp(ctx, cmd, op, task, sqls, o);
      }),
    );
  },
});

// DM 2.0's name: `handle-error <task> [-s] [-b] <skip|replace|revert> [sqls]`.
registerCommand({
  name: 'handle-error',
  summary: 'legacy name of `binlog`',
  hidden: true,
  build(cmd, ctx) {
    cmd
      .argument('<task-name>', 'task name')
      .argument('<operation>', 'skip | replace | revert | inject | list')
      .argument('[sqls...]', 'SQL statements for replace/inject')
      .option('-b, --binlog-pos <pos>', 'position of the event, file:pos');
    addSourceOption(cmd).action(
      action(ctx, async (task: string, op: string, sqls: string[], o: { binlogPos?: string; source?: string[] }) => {
        await runBinlogOp(ctx, cmd, op, task, sqls, o);
      }),
    );
  },
});
