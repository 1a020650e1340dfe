/**
 * `shard-ddl-lock [task]` shows shard DDL locks; `shard-ddl-lock unlock <lock-id>` resolves one
 * by hand (DM v6's command). DM 1.0's `show-ddl-locks [task]` and `unlock-ddl-lock <lock-id>`
 * are kept as hidden aliases. Replies in DM's JSON (`locks[]` with `ID`, `task`, `mode`, `owner`,
 * `DDLs`, `synced`, `unsynced`).
 */
import type { Command } from 'commander';
import { MasterPb } from './shared.js';
import { action, addSourceOption, usageError } from '../args.js';
import type { CtlContext } from '../context.js';
import { dmReply } from '../dm-json.js';
import { registerCommand } from '../registry.js';

function buildShow(cmd: Command, ctx: CtlContext): Command {
  cmd.argument('[task-name]', 'task name (default: every task)');
  return addSourceOption(cmd).action(
    action(ctx, async (task: string | undefined, o: { source?: string[] }) => {
      const sources = ctx.sources(o.source);
      const resp = await ctx.call((c, co) => c.showDDLLocks({ task: task ?? '', sources }, co));
      ctx.reply(dmReply(MasterPb.ShowDDLLocksResponseSchema, resp));
    }),
  );
}

interface UnlockFlags {
  owner?: string;
  forceRemove?: boolean;
  action?: string;
  database?: string;
  table?: string;
  source?: string[];
}

function buildUnlock(cmd: Command, ctx: CtlContext): Command {
  cmd
    .argument('<lock-id>', 'lock ID as `shard-ddl-lock` shows it, e.g. task-`db`.`tbl` (quote it in a shell)')
    .option('-o, --owner <source>', 'source to replace the default owner (pessimistic)')
    .option('-f, --force-remove', 'remove the lock even when its DDL cannot be finished')
    .option('-a, --action <action>', 'skip | exec: skip or execute the DDLs (pessimistic default exec by the owner; optimistic default skip)')
    .option('-d, --database <db>', 'upstream database of the table (optimistic)')
    .option('-t, --table <table>', 'upstream table (optimistic)');
  return addSourceOption(cmd).action(
    action(ctx, async (id: string, o: UnlockFlags) => {
      if (o.action !== undefined && o.action !== 'skip' && o.action !== 'exec') {
        usageError(ctx, cmd, `invalid --action '${o.action}'; use skip or exec`);
        return;
      }
      const sources = ctx.sources(o.source);
      const op =
        o.action === 'skip'
          ? MasterPb.UnlockDDLLockOp.UNLOCK_DDL_LOCK_OP_SKIP
          : o.action === 'exec'
            ? MasterPb.UnlockDDLLockOp.UNLOCK_DDL_LOCK_OP_EXEC
            : MasterPb.UnlockDDLLockOp.UNLOCK_DDL_LOCK_OP_UNSPECIFIED;
      const resp = await ctx.call((c, co) =>
        c.unlockDDLLock({ id, replaceOwner: o.owner ?? '', forceRemove: o.forceRemove === true, op, sources, database: o.database ?? '', table: o.table ?? '' }, co),
      );
      ctx.reply(dmReply(MasterPb.UnlockDDLLockResponseSchema, resp));
    }),
  );
}

registerCommand({
  name: 'shard-ddl-lock',
  summary: 'show shard DDL locks, or unlock one by hand (`shard-ddl-lock unlock <lock-id>`)',
  build(cmd, ctx) {
    buildUnlock(cmd.command('unlock').description('unlock an un-resolved shard DDL lock by hand'), ctx);
    buildShow(cmd, ctx);
  },
});

registerCommand({
  name: 'show-ddl-locks',
  summary: 'legacy name of `shard-ddl-lock`',
  hidden: true,
  build: buildShow,
});

registerCommand({
  name: 'unlock-ddl-lock',
  summary: 'legacy name of `shard-ddl-lock unlock`',
  hidden: true,
  build: buildUnlock,
});
