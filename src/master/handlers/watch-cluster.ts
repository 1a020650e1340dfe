/**
 * The WatchCluster RPC: the dashboard's one stream. Every `interval_ms` it sends the cluster's
 * members (ListMember) and every task's status (QueryStatus, which asks the workers), so a page
 * needs one connection to the master it was served by. A view that fails is skipped (the next
 * tick tries again); the stream ends when the client goes away.
 */
import type { HandlerContext } from '@connectrpc/connect';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ListMemberResponseSchema, QueryStatusResponseSchema, WatchClusterRequest, WatchClusterResponseSchema } from '../../gen/dm/master/v1/master_pb.js';
import { sleepAbortable } from '../../util/index.js';

const DEFAULT_INTERVAL_MS = 2_000;
const MIN_INTERVAL_MS = 500;

/** Where a view comes from: the service's own ListMember and QueryStatus, and the task list. */
export interface WatchSources {
  members(ctx: HandlerContext): Promise<MessageInitShape<typeof ListMemberResponseSchema>>;
  status(name: string, ctx: HandlerContext): Promise<MessageInitShape<typeof QueryStatusResponseSchema>>;
  tasks(): Promise<string[]>;
}

type View = MessageInitShape<typeof WatchClusterResponseSchema>;

export async function* watchClusterHandler(src: WatchSources, req: WatchClusterRequest, ctx: HandlerContext): AsyncGenerator<View> {
  const every = Math.max(MIN_INTERVAL_MS, req.intervalMs || DEFAULT_INTERVAL_MS);
  while (!ctx.signal.aborted) {
    try {
      const [members, status, tasks] = await Promise.all([
        src.members(ctx),
        src.status(req.name, ctx).catch((e: unknown) => ({ result: false, msg: e instanceof Error ? e.message : String(e), sources: [] })),
        src.tasks(),
      ]);
      yield { members, status, tasks, unixMs: BigInt(Date.now()) };
    } catch (e) {
      if (ctx.signal.aborted) return;
      void e; // a failed view is skipped; the next tick tries again
    }
    await sleepAbortable(every, ctx.signal).catch(() => undefined);
  }
}
