/**
 * The CheckData RPC (`dmctl check-data`): runs the one-shot data check of a stored task on the
 * master that receives the call (a read: no leader needed) and streams its progress, then one
 * result. At most one progress message per table change or per PROGRESS_EVERY_MS is sent, so a
 * slow client never makes the check buffer without bound.
 */
import type { HandlerContext } from '@connectrpc/connect';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { CheckDataRequest, CheckDataResponseSchema } from '../../gen/dm/master/v1/master_pb.js';
import { Waker } from '../../util/index.js';
import type { DataCheckProgress } from '../../units/validate/index.js';
import { runDataCheck, type DataCheckDeps } from '../data-check.js';

const PROGRESS_EVERY_MS = 1_000;

type Reply = MessageInitShape<typeof CheckDataResponseSchema>;

function tableOf(text: string): { schema: string; table: string } {
  const i = text.indexOf('.');
  return i < 0 ? { schema: text, table: '' } : { schema: text.slice(0, i), table: text.slice(i + 1) };
}

export async function* checkDataHandler(deps: DataCheckDeps, req: CheckDataRequest, ctx: HandlerContext): AsyncGenerator<Reply> {
  let latest: DataCheckProgress | undefined;
  let lastTable = -1;
  let lastSent = 0;
  let done = false;
  const waker = new Waker();
  const onProgress = (p: DataCheckProgress): void => {
    latest = p;
    if (p.tableIndex !== lastTable || Date.now() - lastSent >= PROGRESS_EVERY_MS) waker.wake();
  };
  const run = runDataCheck(
    deps,
    {
      task: req.name,
      sources: req.sources,
      tables: req.tables.map(tableOf),
      ...(req.chunkRows > 0 ? { chunkRows: req.chunkRows } : {}),
      ...(req.maxRows > 0 ? { maxRows: req.maxRows } : {}),
      ...(req.recheck >= 0 ? { recheck: req.recheck } : {}),
      fixSql: req.fixSql,
    },
    onProgress,
    ctx.signal,
  ).finally(() => {
    done = true;
    waker.wake();
  });
  run.catch(() => undefined); // awaited below; this only keeps an early rejection from being "unhandled"
  while (!done) {
    await waker.sleep(PROGRESS_EVERY_MS, ctx.signal);
    if (latest && !done) {
      const p = latest;
      latest = undefined;
      lastTable = p.tableIndex;
      lastSent = Date.now();
      yield { event: { case: 'progress', value: { table: p.table, tableIndex: p.tableIndex, tables: p.tables, chunks: BigInt(p.chunks), rows: BigInt(p.rows) } } };
    }
  }
  const r = await run;
  const { fixSql, ...report } = r;
  yield { event: { case: 'result', value: { result: r.equal, msg: '', report: JSON.stringify(report), fixSql } } };
}
