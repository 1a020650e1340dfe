import { CODES, type ErrorCodeName, type ErrorClass, type ErrorScope, type ErrorLevel } from './codes.js';

/**
 * The one error type of DM.ts, modelled on DM's terror: a numeric code from the code table
 * (codes.ts), its class, scope, level, a message and a workaround the user can act on.
 * Map to Connect codes only at the RPC edge (src/rpc).
 */
export class DMError extends Error {
  override readonly name = 'DMError';
  readonly code: number;
  readonly codeName: ErrorCodeName;
  readonly errClass: ErrorClass;
  readonly scope: ErrorScope;
  readonly level: ErrorLevel;
  readonly workaround: string;
  /** Whether the operation may be retried automatically (decided by the code table, never by text). */
  readonly retryable: boolean;

  constructor(codeName: ErrorCodeName, message: string, options?: { cause?: unknown; workaround?: string }) {
    const def = CODES[codeName];
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = def.code;
    this.codeName = codeName;
    this.errClass = def.class;
    this.scope = def.scope;
    this.level = def.level;
    this.retryable = def.retryable;
    this.workaround = options?.workaround ?? def.workaround;
  }

  /** DM-style rendering: `[code=38032:class=dm-master:scope=internal:level=high], Message: ..., Workaround: ...` */
  override toString(): string {
    const cause = this.cause instanceof Error ? `: ${this.cause.message}` : '';
    const wa = this.workaround ? `, Workaround: ${this.workaround}` : '';
    return `[code=${this.code}:class=${this.errClass}:scope=${this.scope}:level=${this.level}], Message: ${this.message}${cause}${wa}`;
  }

  toJSON(): DMErrorJSON {
    return {
      code: this.code,
      codeName: this.codeName,
      class: this.errClass,
      scope: this.scope,
      level: this.level,
      message: this.message + (this.cause instanceof Error ? `: ${this.cause.message}` : ''),
      workaround: this.workaround,
      retryable: this.retryable,
    };
  }
}

export interface DMErrorJSON {
  code: number;
  codeName: string;
  class: string;
  scope: string;
  level: string;
  message: string;
  workaround: string;
  retryable: boolean;
}

export function isDMError(e: unknown): e is DMError {
  return e instanceof DMError;
}

/** Wrap anything thrown into a DMError with the given code, keeping an existing DMError as is. */
export function toDMError(e: unknown, codeName: ErrorCodeName, message?: string): DMError {
  if (e instanceof DMError) return e;
  const msg = message ?? (e instanceof Error ? e.message : String(e));
  return new DMError(codeName, msg, { cause: e });
}
