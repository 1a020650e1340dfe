/**
 * Calls a MasterService method of this master's service implementation from the OpenAPI: the
 * same object the Connect router serves, so a follower forwards state changes to the leader
 * exactly as for dmctl's RPCs (handlers/env.ts `onLeader`), and errors come back as DMError.
 */
import { create, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import { createHandlerContext, type HandlerContext } from '@connectrpc/connect';
import { DMError } from '../../errors/index.js';
import { MasterService } from '../../gen/dm/master/v1/master_pb.js';
import type { MasterImpl } from '../handlers/index.js';

type Methods = typeof MasterService.method;
type Name = Exclude<keyof MasterImpl, undefined>;
type In<K extends Name> = Methods[K]['input'] extends DescMessage ? Methods[K]['input'] : never;
type Out<K extends Name> = Methods[K]['output'] extends DescMessage ? Methods[K]['output'] : never;

/** Returns the reply as the message type (init shapes are completed with `create`). */
export type RpcCaller = <K extends Name>(name: K, req: MessageInitShape<In<K>>, signal: AbortSignal) => Promise<MessageShape<Out<K>>>;

export function rpcCaller(impl: MasterImpl): RpcCaller {
  return async (name, req, signal) => {
    const method = MasterService.method[name];
    const fn = impl[name] as ((r: unknown, ctx: HandlerContext) => Promise<unknown>) | undefined;
    if (!fn) throw new DMError('ErrOpenAPIUnsupported', `${method.name} is not implemented by DM.ts yet`);
    const ctx = createHandlerContext({
      service: MasterService,
      method,
      protocolName: 'openapi',
      requestMethod: 'POST',
      url: `/${MasterService.typeName}/${method.name}`,
      requestSignal: signal,
    });
    const out = await fn(create(method.input as DescMessage, req as MessageInitShape<DescMessage>), ctx);
    return create(method.output as DescMessage, out as MessageInitShape<DescMessage>) as never;
  };
}
