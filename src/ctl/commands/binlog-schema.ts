/**
 * `binlog-schema list|update|delete -s <source> <task> <database> <table> [schema-file]` (DM 6's
 * command; DM 2.0's `operate-schema` is the hidden legacy form): show, replace or remove the table
 * structure a subtask's schema tracker holds for one upstream table. dmctl reads the schema file.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { CommonPb, MasterPb } from './shared.js';
import { action, addSourceOption, readFileArg, taskNameOf, usageError } from '../args.js';
import type { CtlContext } from '../context.js';
import { dmReply } from '../dm-json.js';
import { registerCommand } from '../registry.js';

const OPS: Record<string, CommonPb.SchemaOp> = {
  list: CommonPb.SchemaOp.GET,
  update: CommonPb.SchemaOp.SET,
  delete: CommonPb.SchemaOp.REMOVE,
};

/** `--flush`, `--flush=false` (DM's cobra booleans). */
function bool(v: string | undefined): boolean {
  if (v === undefined || v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new InvalidArgumentError('must be true or false');
}

interface Opts {
  source?: string[];
  flush?: boolean;
  sync?: boolean;
  fromSource?: boolean;
  fromTarget?: boolean;
}

async function run(ctx: CtlContext, cmd: Command, opName: string, taskArg: string, database: string, table: string, schemaFile: string | undefined, o: Opts): Promise<void> {
  const op = OPS[opName];
  if (op === undefined) {
    usageError(ctx, cmd, `invalid operation '${opName}'; use list, update or delete`);
    return;
  }
  const sources = ctx.sources(o.source);
  if (sources.length === 0) {
    usageError(ctx, cmd, 'must specify at least one source (`-s` / `--source`)');
    return;
  }
  const fromSource = o.fromSource === true;
  const fromTarget = o.fromTarget === true;
  let schema = '';
  if (opName === 'update') {
    if (fromSource && fromTarget) {
      usageError(ctx, cmd, '--from-source and --from-target can not be used together');
      return;
    }
    if (schemaFile !== undefined && (fromSource || fromTarget)) {
      usageError(ctx, cmd, 'can not set schema-file when use --from-source or --from-target');
      return;
    }
    if (schemaFile === undefined && !fromSource && !fromTarget) {
      usageError(ctx, cmd, 'binlog-schema update needs a schema file (one CREATE TABLE statement), --from-source or --from-target');
      return;
    }
    if (o.flush === false) {
      usageError(ctx, cmd, '--flush=false is not supported: DM.ts keeps tracked structures only with the checkpoint, so an update is always written there');
      return;
    }
    if (schemaFile !== undefined) schema = readFileArg(schemaFile, 'schema file');
  } else if (schemaFile !== undefined || fromSource || fromTarget) {
    usageError(ctx, cmd, `binlog-schema ${opName} takes no schema file, --from-source or --from-target`);
    return;
  }
  const task = taskNameOf(taskArg);
  const resp = await ctx.call((c, co) =>
    c.operateBinlogSchema({ op, task, sources, database, table, schema, flush: o.flush !== false, sync: o.sync !== false, fromSource, fromTarget }, co),
  );
  ctx.reply(dmReply(MasterPb.OperateBinlogSchemaResponseSchema, resp));
}

registerCommand({
  name: 'binlog-schema',
  summary: 'list, update or delete the table structure the schema tracker of a subtask holds',
  build(cmd, ctx) {
    cmd
      .argument('<operation>', 'list | update | delete')
      .argument('<task-name>', 'task name or task file')
      .argument('<database>', 'upstream database of the table')
      .argument('<table>', 'upstream table')
      .argument('[schema-file]', 'update: file holding one CREATE TABLE statement for the table')
      .option('--flush [bool]', 'update: write the structure with the checkpoint (always true in DM.ts)', bool)
      .option('--sync [bool]', 'update: sync the structure to the optimistic shard DDL lock (default true, as DM; ignored outside optimistic mode; refused there, 38108: not built yet)', bool)
      .option('--from-source', 'update: take the structure of the table from the upstream database')
      .option('--from-target', 'update: take the structure of the table the upstream table is routed to from the target database');
    addSourceOption(cmd).action(
      action(ctx, async (op: string, task: string, database: string, table: string, schemaFile: string | undefined, o: Opts) => {
        await run(ctx, cmd, op, task, database, table, schemaFile, o);
      }),
    );
  },
});

// DM 2.0's name: `operate-schema get|set|remove -s <source> <task> -d <db> -t <table> [schema-file]`.
const LEGACY_OPS: Record<string, string> = { get: 'list', set: 'update', remove: 'delete' };

registerCommand({
  name: 'operate-schema',
  summary: 'legacy name of `binlog-schema`',
  hidden: true,
  build(cmd, ctx) {
    cmd
      .argument('<operation>', 'get | set | remove')
      .argument('<task-name>', 'task name or task file')
      .argument('[schema-file]', 'set: file holding one CREATE TABLE statement')
      .requiredOption('-d, --database <db>', 'upstream database of the table')
      .requiredOption('-t, --table <table>', 'upstream table')
      .option('--flush [bool]', 'write the structure with the checkpoint (always true in DM.ts)', bool)
      .option('--sync [bool]', 'sync to the optimistic shard DDL lock (ignored outside optimistic mode; refused there, 38108)', bool);
    addSourceOption(cmd).action(
      action(ctx, async (op: string, task: string, schemaFile: string | undefined, o: Opts & { database: string; table: string }) => {
        const name = LEGACY_OPS[op];
        if (name === undefined) {
          usageError(ctx, cmd, `invalid operation '${op}'; use get, set or remove`);
          return;
        }
        await run(ctx, cmd, name, task, o.database, o.table, schemaFile, o);
      }),
    );
  },
});
