/**
 * The one error type of the browser client. A failed call (transport, auth, a coded DM error
 * thrown by the master) and a reply with `result: false` both become a `DMApiError`, so an app
 * handles one shape: DM's code, class, scope, level, message and workaround when the master sent
 * them, the Connect code always. Browser-safe: no Node imports.
 */
import { Code, ConnectError } from '@connectrpc/connect';
import { ProcessErrorSchema } from '../gen/dm/common/v1/common_pb.js';

/** A per-source outcome of a reply (DM's CommonWorkerResponse). */
export interface SourceOutcome {
  source: string;
  worker: string;
  result: boolean;
  msg: string;
}

export class DMApiError extends Error {
  override readonly name = 'DMApiError';
  /** DM.ts error code (docs/errors.md), e.g. 38006; 0 when the master sent none (transport, auth, a reply's `result: false` without a code). */
  readonly code: number;
  /** DM's error class (e.g. "dm-master"), scope and level; "" when unknown. */
  readonly errClass: string;
  readonly scope: string;
  readonly level: string;
  /** What the user can do about it ("" when unknown). */
  readonly workaround: string;
  /** Whether retrying the same call may succeed (the master's code table, or the Connect code). */
  readonly retryable: boolean;
  /** The Connect code of the call (`Code.Unauthenticated`, `Code.Unavailable`, ...); `undefined` for a `result: false` reply. */
  readonly connectCode: Code | undefined;
  /** For a `result: false` reply: its per-source outcomes (empty otherwise). */
  readonly sources: SourceOutcome[];

  constructor(
    message: string,
    f: { code?: number; errClass?: string; scope?: string; level?: string; workaround?: string; retryable?: boolean; connectCode?: Code; sources?: SourceOutcome[]; cause?: unknown },
  ) {
    super(message, f.cause === undefined ? undefined : { cause: f.cause });
    this.code = f.code ?? 0;
    this.errClass = f.errClass ?? '';
    this.scope = f.scope ?? '';
    this.level = f.level ?? '';
    this.workaround = f.workaround ?? '';
    this.retryable = f.retryable ?? false;
    this.connectCode = f.connectCode;
    this.sources = f.sources ?? [];
  }

  /** Any thrown value of a call → DMApiError (the master's ProcessError detail when present). */
  static from(e: unknown): DMApiError {
    if (e instanceof DMApiError) return e;
    const ce = ConnectError.from(e);
    const [pe] = ce.findDetails(ProcessErrorSchema);
    const retryableCode = ce.code === Code.Unavailable || ce.code === Code.DeadlineExceeded || ce.code === Code.ResourceExhausted;
    return new DMApiError(pe?.message || ce.rawMessage, {
      code: pe?.code ?? 0,
      errClass: pe?.class ?? '',
      scope: pe?.scope ?? '',
      level: pe?.level ?? '',
      workaround: pe?.workaround ?? '',
      retryable: pe ? pe.retryable : retryableCode,
      connectCode: ce.code,
      cause: ce,
    });
  }
}

/** `[code=38006:...] msg` as the master renders DMError messages in replies: the code, when present. */
export function codeInMessage(msg: string): number {
  const m = /\[code=(\d+)/.exec(msg);
  return m ? Number(m[1]) : 0;
}
