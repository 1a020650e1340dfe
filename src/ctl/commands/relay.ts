/**
 * dmctl relay commands (DM's): `start-relay -s <source> [worker ...]`, `stop-relay -s <source>
 * [worker ...]`, `pause-relay -s <source>...`, `resume-relay -s <source>...` (OperateRelay, one
 * call per source) and `purge-relay -s <source> --filename <file> [--sub-dir <dir>] | --inactive |
 * --time <time>` (PurgeRelay). docs/relay.md.
 */
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { create } from '@bufbuild/protobuf';
import { MasterPb } from './shared.js';
import { action, addSourceOption, usageError } from '../args.js';
import { dmReply } from '../dm-json.js';
import { registerCommand } from '../registry.js';
import { DMError } from '../../errors/index.js';

const OPS: [name: string, op: MasterPb.RelayOp, summary: string, workers: boolean][] = [
  ['start-relay', MasterPb.RelayOp.START, 'start pulling the relay log of a source (on its bound worker)', true],
  ['stop-relay', MasterPb.RelayOp.STOP, 'stop pulling the relay log of a source', true],
  ['pause-relay', MasterPb.RelayOp.PAUSE, 'pause the relay of sources', false],
  ['resume-relay', MasterPb.RelayOp.RESUME, 'resume the relay of sources', false],
];

for (const [name, op, summary, takesWorkers] of OPS) {
  registerCommand({
    name,
    summary,
    build(cmd, ctx) {
      if (takesWorkers) cmd.argument('[worker-name...]', 'workers (the worker bound to the source; default: it)');
      addSourceOption(cmd).action(
        action(ctx, async (...args: unknown[]) => {
          const workers = takesWorkers ? ((args[0] as string[] | undefined) ?? []) : [];
          const o = (takesWorkers ? args[1] : args[0]) as { source?: string[] };
          const sources = ctx.sources(o.source);
          if (sources.length === 0 || (takesWorkers && sources.length !== 1)) {
            usageError(ctx, cmd, takesWorkers ? `${name} needs exactly one source (-s)` : `${name} needs at least one source (-s)`);
            return;
          }
          const replies = [];
          for (const source of sources) replies.push(await ctx.call((c, co) => c.operateRelay({ op, source, workers }, co)));
          const merged = create(MasterPb.OperateRelayResponseSchema, {
            result: replies.every((r) => r.result),
            msg: replies.map((r) => r.msg).filter(Boolean).join('; '),
            sources: replies.flatMap((r) => r.sources),
          });
          // DM: pause-relay / resume-relay answer OperateWorkerRelayResponse, which has `op`
          const out = dmReply(MasterPb.OperateRelayResponseSchema, merged);
          ctx.reply(op === MasterPb.RelayOp.PAUSE ? { op: 'PauseRelay', ...out } : op === MasterPb.RelayOp.RESUME ? { op: 'ResumeRelay', ...out } : out);
        }),
      );
    },
  });
}

/** `--time`: RFC 3339, or DM's `2006-01-02 15:04:05` (local time). */
function parseTime(v: string): Date {
  const s = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(v) ? v.replace(' ', 'T') : v;
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) throw new DMError('ErrRelayTimeFormat', `purge-relay --time ${JSON.stringify(v)} is not a time`);
  return d;
}

registerCommand({
  name: 'purge-relay',
  summary: 'purge relay log files of a source (never a file a task still needs)',
  build(cmd, ctx) {
    addSourceOption(cmd)
      .option('--filename <file>', 'purge the relay files before this one')
      .option('--sub-dir <dir>', 'relay sub-directory of --filename (default: the active one)')
      .option('--inactive', 'purge every relay file no task needs')
      .option('--time <time>', 'purge inactive relay files last modified before this time')
      .action(
        action(ctx, async (o: { source?: string[]; filename?: string; subDir?: string; inactive?: boolean; time?: string }) => {
          const sources = ctx.sources(o.source);
          if (sources.length === 0) {
            usageError(ctx, cmd, 'purge-relay needs a source (-s)');
            return;
          }
          if ([o.filename !== undefined, o.inactive === true, o.time !== undefined].filter(Boolean).length !== 1) {
            ctx.reply({ result: false, msg: new DMError('ErrRelayPurgeArgs', 'give exactly one of --filename, --inactive, --time').toString() });
            return;
          }
          const req = {
            sources,
            filename: o.filename ?? '',
            subDir: o.subDir ?? '',
            inactive: o.inactive === true,
            ...(o.time !== undefined ? { time: timestampFromDate(parseTime(o.time)) } : {}),
          };
          const resp = await ctx.call((c, co) => c.purgeRelay(req, co));
          ctx.reply(dmReply(MasterPb.PurgeRelayResponseSchema, resp));
        }),
      );
  },
});
