/**
 * `dmctl check-data <task>`: the one-shot data check (DM's sync-diff-inspector, built in). The
 * master compares the task's source tables with its target tables chunk by chunk; progress goes
 * to stderr, the report (per table rows, chunks, equal/different, differing rows) to stdout.
 * `--fix-sql-file` writes the fix-up statements to a file; nothing is applied.
 */
import { writeFileSync } from 'node:fs';
import { DMError } from '../../errors/index.js';
import { action, addSourceOption, collectList, nonNegInt, posInt, taskNameOf } from '../args.js';
import { registerCommand } from '../registry.js';

registerCommand({
  name: 'check-data',
  summary: 'compare a task’s source tables with its target tables (chunked checksums, differing rows)',
  build(cmd, ctx) {
    addSourceOption(cmd.argument('<task-name | task-file>', 'the task'))
      .option('-T, --table <schema.table>', 'only this target table; repeat or separate with commas', collectList)
      .option('--chunk-size <rows>', 'rows per chunk', posInt, 10000)
      .option('--max-rows <n>', 'differing rows listed per table', posInt, 100)
      .option('--recheck <n>', 're-reads of a differing chunk before it is reported (0 for a stopped task)', nonNegInt, 3)
      .option('--fix-sql-file <path>', 'write fix-up SQL (REPLACE / DELETE) to this file; never applied')
      .action(
        action(ctx, async (arg: string, o: { source?: string[]; table?: string[]; chunkSize: number; maxRows: number; recheck: number; fixSqlFile?: string }) => {
          const name = taskNameOf(arg);
          const result = await ctx.call(async (c, co) => {
            const req = {
              name,
              sources: ctx.sources(o.source),
              tables: o.table ?? [],
              chunkRows: o.chunkSize,
              maxRows: o.maxRows,
              recheck: o.recheck,
              fixSql: o.fixSqlFile !== undefined,
            };
            for await (const m of c.checkData(req, co)) {
              if (m.event.case === 'progress') {
                const p = m.event.value;
                ctx.io.err(`checking ${p.table} (${p.tableIndex + 1}/${p.tables}): ${p.chunks} chunks, ${p.rows} rows`);
              } else if (m.event.case === 'result') {
                return m.event.value;
              }
            }
            throw new DMError('ErrCtlRpcFailed', 'the dm-master ended the check-data stream without a result');
          });
          if (o.fixSqlFile !== undefined) writeFileSync(o.fixSqlFile, result.fixSql.map((s) => `${s}\n`).join(''));
          const report = JSON.parse(result.report || '{}') as Record<string, unknown>;
          ctx.reply({
            result: result.result,
            msg: result.msg || (result.result ? 'data check passed: every table is equal' : 'data check found differences'),
            ...report,
            ...(o.fixSqlFile !== undefined ? { fixSqlFile: o.fixSqlFile, fixSqlStatements: result.fixSql.length } : {}),
          });
        }),
      );
  },
});
