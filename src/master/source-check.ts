import { dbConnOf } from '../config/index.js';
import { DMError } from '../errors/index.js';
import { connect } from '../sql/index.js';
import type { Connection } from '../sql/index.js';
import type { SourceFacts } from './config-adapter.js';

/**
 * Try to connect to a source (as operate-source create does), with the `from` block's TLS
 * (`security`) and `session` variables: ErrUpstreamUnreachable / ErrDBAccessDenied /
 * ErrDBTLSHandshake, or ErrConfigTLSFile when a security file cannot be read.
 */
export async function checkSourceConnection(f: SourceFacts, timeoutMs = 3000): Promise<void> {
  const conn = dbConnOf(f.from, `source ${f.sourceId}: from`);
  let c: Connection | undefined;
  try {
    c = await connect(conn, { connectTimeoutMs: timeoutMs });
    await c.query('SELECT 1');
  } catch (e) {
    const code = e instanceof DMError ? e.codeName : undefined;
    if (code === 'ErrDBAccessDenied' || code === 'ErrDBTLSHandshake') {
      throw new DMError(code, `source ${f.sourceId}: ${code === 'ErrDBAccessDenied' ? `access denied for ${f.user}@${f.host}:${f.port}` : `TLS handshake with ${f.host}:${f.port} failed`}`, { cause: e });
    }
    if (code === 'ErrDBExecuteFailed' || code === 'ErrDBSyntaxError') {
      throw new DMError('ErrConfigInvalidValue', `source ${f.sourceId}: from.session is rejected by ${f.host}:${f.port}`, { cause: e });
    }
    throw new DMError('ErrUpstreamUnreachable', `source ${f.sourceId}: cannot connect to ${f.host}:${f.port}`, { cause: e });
  } finally {
    await c?.end().catch(() => undefined);
  }
}
