import mysql, { type Connection } from 'mysql2/promise';
import { sessionInitSql } from '../sql/index.js';
import type { DBConn } from './types.js';

/** A small query helper around one mysql2 connection, with a per-query timeout. */
export class CheckConn {
  private constructor(
    private readonly c: Connection,
    private readonly timeoutMs: number,
  ) {}

  static async open(opts: DBConn, timeoutMs: number): Promise<CheckConn> {
    const c = await mysql.createConnection({
      host: opts.host,
      port: opts.port,
      user: opts.user,
      password: opts.password,
      ...(opts.ssl ? { ssl: { ...opts.ssl } } : {}),
      connectTimeout: timeoutMs,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
    });
    // DM.ts's session (`sql_mode`, `time_zone`, src/sql) and the block's `session`, as every connection
    try {
      await c.query({ sql: sessionInitSql(opts.session ? { sessionVars: opts.session } : {}), timeout: timeoutMs });
    } catch (e) {
      c.destroy();
      throw e;
    }
    return new CheckConn(c, timeoutMs);
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
