import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { codeByNumber, DMError, rawCauseOf, type ErrorCodeName } from '../errors/index.js';
import { ProcessErrorSchema, type ProcessError } from '../gen/dm/common/v1/common_pb.js';

/**
 * Errors at the RPC edge. Inside DM.ts everything throws DMError; only here is a DMError turned
 * into a Connect error (server side) and back (client side). The DM code, class, scope, level,
 * workaround and raw cause travel as a `dm.common.v1.ProcessError` error detail (understood by
 * Connect, gRPC and gRPC-web clients) and the code also in `dm-error-*` response metadata for
 * plain HTTP clients. Whether an error is retryable is decided from the code table, never from text.
 */

/** Metadata (header/trailer) keys set on errors that carry a DM code. */
export const DM_ERROR_HEADERS = {
  code: 'dm-error-code',
  class: 'dm-error-class',
  scope: 'dm-error-scope',
  level: 'dm-error-level',
  retryable: 'dm-error-retryable',
} as const;

/** The Connect code a DMError is reported with. */
export function connectCodeOf(e: DMError): Code {
  switch (e.codeName) {
    case 'ErrNotImplemented':
      return Code.Unimplemented;
    case 'ErrCanceled':
      return Code.Canceled;
    case 'ErrTimeout':
      return Code.DeadlineExceeded;
    case 'ErrInternal':
      return Code.Internal;
    case 'ErrRpcInvalidArgument':
      return Code.InvalidArgument;
    case 'ErrRpcUnauthenticated':
    case 'ErrRpcCertNotAllowed':
      return Code.Unauthenticated;
    case 'ErrRpcPermissionDenied':
      return Code.PermissionDenied;
    case 'ErrRpcRequestTooLarge':
      return Code.ResourceExhausted;
    default:
      break;
  }
  if (e.errClass === 'config') return Code.InvalidArgument;
  if (e.retryable) return Code.Unavailable;
  return Code.FailedPrecondition;
}

/** Longest message or raw cause sent back to a caller: a reply never echoes a whole (large) input. */
export const MAX_ERROR_TEXT = 4096;

/** `text` cut to `max` characters, saying how much was left out. */
export function capText(text: string, max = MAX_ERROR_TEXT): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters not shown)`;
}

/** The wire shape of a DMError (also used for `ProcessResult.errors` in statuses). */
export function toProcessError(e: DMError): ProcessError {
  return create(ProcessErrorSchema, {
    code: e.code,
    class: e.errClass,
    scope: e.scope,
    level: e.level,
    message: capText(e.message),
    workaround: e.workaround,
    rawCause: capText(rawCauseOf(e)),
    retryable: e.retryable,
  });
}

/**
 * Map anything a handler threw to a ConnectError. A DMError keeps its code (detail +
 * metadata) and its DM-style text `[code=..:class=..:scope=..:level=..], Message: ..,
 * Workaround: ..`; a ConnectError passes through; an AbortError becomes Canceled; anything
 * else becomes Internal.
 */
export function toConnectError(e: unknown): ConnectError {
  if (e instanceof ConnectError) return e;
  if (e instanceof DMError) {
    const metadata = new Headers({
      [DM_ERROR_HEADERS.code]: String(e.code),
      [DM_ERROR_HEADERS.class]: e.errClass,
      [DM_ERROR_HEADERS.scope]: e.scope,
      [DM_ERROR_HEADERS.level]: e.level,
      [DM_ERROR_HEADERS.retryable]: String(e.retryable),
    });
    return new ConnectError(
      capText(e.toString()),
      connectCodeOf(e),
      metadata,
      [{ desc: ProcessErrorSchema, value: toProcessError(e) }],
      e,
    );
  }
  return ConnectError.from(e, Code.Internal);
}

function codeNameForConnectCode(code: Code): ErrorCodeName {
  switch (code) {
    case Code.Unavailable:
      return 'ErrRpcUnavailable';
    case Code.DeadlineExceeded:
      return 'ErrTimeout';
    case Code.Canceled:
      return 'ErrCanceled';
    case Code.Unimplemented:
      return 'ErrNotImplemented';
    case Code.InvalidArgument:
      return 'ErrRpcInvalidArgument';
    case Code.Unauthenticated:
      return 'ErrRpcUnauthenticated';
    case Code.PermissionDenied:
      return 'ErrRpcPermissionDenied';
    case Code.ResourceExhausted:
      return 'ErrRpcRequestTooLarge';
    default:
      return 'ErrRpcFailed';
  }
}

/** The Connect code of an error as the client sees it (Unknown when it is not a Connect error). */
export function connectCodeOfError(e: unknown): Code {
  return ConnectError.from(e).code;
}

/**
 * Rebuild a DMError on the client side from an error a client call threw. When the server sent
 * a DM code known here, the result has that code (and so its class, scope, retryable flag)
 * with the server's message and workaround; otherwise the Connect code picks a generic RPC
 * code: Unavailable → ErrRpcUnavailable (retryable), DeadlineExceeded → ErrTimeout,
 * Canceled → ErrCanceled, Unimplemented → ErrNotImplemented, else ErrRpcFailed.
 * The raw cause sent by the server, if any, becomes `cause`.
 */
export function fromConnectError(e: unknown): DMError {
  if (e instanceof DMError) return e;
  const ce = ConnectError.from(e);
  const detail = ce.findDetails(ProcessErrorSchema)[0];
  if (detail) {
    const known = codeByNumber(detail.code);
    const cause = detail.rawCause ? new Error(detail.rawCause) : undefined;
    if (known) {
      return new DMError(known[0], detail.message, {
        workaround: detail.workaround,
        ...(cause ? { cause } : {}),
      });
    }
    return new DMError('ErrRpcFailed', `[remote code=${detail.code}] ${detail.message}`, {
      workaround: detail.workaround,
      ...(cause ? { cause } : {}),
    });
  }
  const headerCode = Number(ce.metadata.get(DM_ERROR_HEADERS.code) ?? NaN);
  const known = Number.isInteger(headerCode) ? codeByNumber(headerCode) : undefined;
  if (known) return new DMError(known[0], ce.rawMessage);
  // ce.message is `[code] text`: keeps the Connect code visible once.
  return new DMError(codeNameForConnectCode(ce.code), ce.message);
}
