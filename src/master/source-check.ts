import mysql from 'mysql2/promise';
import { DMError } from '../errors/index.js';
import type { SourceFacts } from './config-adapter.js';

/** Try to connect to a source (as operate-source create does); ErrUpstreamUnreachable / ErrDBAccessDenied. */
export async function checkSourceConnection(f: SourceFacts, timeoutMs = 3000): Promise<void> {
  let conn: mysql.Connection | undefined;
  try {
    conn = await mysql.createConnection({ host: f.host, port: f.port, user: f.user, password: f.password, connectTimeout: timeoutMs });
    await conn.query('SELECT 1');
  } catch (e) {
    const errno = (e as { errno?: number }).errno;
    if (errno === 1045 || errno === 1044) {
      throw new DMError('ErrDBAccessDenied', `source ${f.sourceId}: access denied for ${f.user}@${f.host}:${f.port}`, { cause: e });
    }
    throw new DMError('ErrUpstreamUnreachable', `source ${f.sourceId}: cannot connect to ${f.host}:${f.port}`, { cause: e });
  } finally {
    await conn?.end().catch(() => undefined);
  }
}
