import type { Command } from 'commander';
import { CommonPb, MasterPb } from './shared.js';
import { action, addSourceOption, usageError } from '../args.js';
import type { CtlContext } from '../context.js';
import { dmReply } from '../dm-json.js';
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
  const resp = await ctx.call((c, co) => c.handleError({ op, task, sources, binlogPos: o.binlogPos ?? '', sqls }, co));
  ctx.reply(dmReply(MasterPb.HandleErrorResponseSchema, resp));
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
