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
      rawCause: rawCauseOf(this),
    };
  }
}

/**
 * The raw cause of an error as DM's `RawCause`: the underlying error's text, a MySQL error as
 * `Error <errno> (<sqlstate>): <message>` (go-sql-driver's form, as DM prints it); for a DMError
 * cause, its own raw cause (or its message when it has none). Empty when there is no cause.
 */
export function rawCauseOf(e: Error): string {
  const c: unknown = e.cause;
  if (c === undefined || c === null) return '';
  if (c instanceof DMError) return rawCauseOf(c) || c.message;
  if (c instanceof Error) {
    const { errno, sqlState } = c as { errno?: unknown; sqlState?: unknown };
    if (typeof errno === 'number') return `Error ${errno}${typeof sqlState === 'string' && sqlState !== '' ? ` (${sqlState})` : ''}: ${c.message}`;
    return c.message;
  }
  return typeof c === 'string' ? c : JSON.stringify(c);
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
  /** The underlying error's text (DM's RawCause), e.g. MySQL's message; empty when none. */
  rawCause?: string;
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
