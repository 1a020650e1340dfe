import { DMError } from '../errors/index.js';
import { connect, type ConnConfig, type Connection } from '../sql/index.js';

/** A small query helper around one mysql2 connection, with a per-query timeout. */
export class CheckConn {
  private constructor(
    private readonly c: Connection,
    private readonly timeoutMs: number,
  ) {}

  /**
   * src/sql's connection (DM.ts's session `sql_mode` and `time_zone`, then the block's `session`,
   * as every connection). Throws the driver's error (the check messages show its code).
   */
  static async open(opts: ConnConfig, timeoutMs: number): Promise<CheckConn> {
    try {
      return new CheckConn(await connect(opts, { connectTimeoutMs: timeoutMs, rawGeometry: false }), timeoutMs);
    } catch (e) {
      throw e instanceof DMError && e.cause !== undefined ? e.cause : e;
    }
  }

  async rows<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    const [rows] = await this.c.query({ sql, timeout: this.timeoutMs }, params);
    return Array.isArray(rows) ? (rows as T[]) : [];
  }

  /** First column of the first row, as a string ('' when none or NULL). */
  async scalar(sql: string, params: unknown[] = []): Promise<string> {
    const [rows] = await this.c.query({ sql, timeout: this.timeoutMs, rowsAsArray: true }, params);
    const first = Array.isArray(rows) ? (rows[0] as unknown[] | undefined) : undefined;
    const v = first?.[0];
    if (v === null || v === undefined) return '';
    return typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : JSON.stringify(v);
  }

  /** A global variable's value, or undefined when the server does not have it. */
  async variable(name: string): Promise<string | undefined> {
    const rows = await this.rows<{ Value: string }>('SHOW GLOBAL VARIABLES LIKE ?', [name]);
    return rows[0]?.Value;
  }

  async grants(): Promise<string[]> {
    const [rows] = await this.c.query({ sql: 'SHOW GRANTS FOR CURRENT_USER()', timeout: this.timeoutMs, rowsAsArray: true });
    return (rows as unknown[][]).map((r) => String(r[0] as string));
  }

  async close(): Promise<void> {
    try {
      await this.c.end();
    } catch {
      this.c.destroy();
    }
  }
}

/** An error's text for a check message (mysql2 errors carry code + errno). */
export function errText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${e.message}` : e.message;
  }
  return String(e);
}
