import { dbConnOf } from '../config/index.js';
import { DMError } from '../errors/index.js';
import { connect, flavorOfVersion, getServerVersion } from '../sql/index.js';
import type { Connection } from '../sql/index.js';
import type { SourceFacts } from './config-adapter.js';

/**
 * Try to connect to a source (as operate-source create does), with the `from` block's TLS
 * (`security`) and `session` variables: ErrUpstreamUnreachable / ErrDBAccessDenied /
 * ErrDBTLSHandshake, or ErrConfigTLSFile when a security file cannot be read. A `flavor` that
 * the server is not (`mysql` for a MariaDB server, `mariadb` for a MySQL one) is
 * ErrMasterSourceFlavorMismatch, so a wrong source config is refused here and not later.
 */
export async function checkSourceConnection(f: SourceFacts, timeoutMs = 3000): Promise<void> {
  const server = await withSource(f, timeoutMs, getServerVersion);
  const actual = flavorOfVersion(server);
  if (f.flavor !== '' && f.flavor !== actual) {
    throw new DMError(
      'ErrMasterSourceFlavorMismatch',
      `source ${f.sourceId}: flavor is ${f.flavor} but ${f.from.host}:${f.from.port} is ${actual === 'mariadb' ? 'MariaDB' : 'MySQL'} (${server})`,
    );
  }
}

/**
 * The instant of a wall-clock time (`2006-01-02 15:04:05`) read in the source's time zone
 * (`@@time_zone`, and `@@system_time_zone` when that is SYSTEM), as DM reads `--start-time`.
 * The source converts it itself (UNIX_TIMESTAMP in a session with its global zone), so named
 * zones and daylight saving time are exact. ISO UTC; ErrMasterStartTimeZone when the source cannot
 * be asked or the time is outside what it converts.
 */
export async function sourceWallTimeToInstant(f: SourceFacts, wall: string, timeoutMs = 3000): Promise<{ iso: string; zone: string }> {
  let r: { ts: string | number | null; tz: string | null; sys: string | null } | undefined;
  try {
    r = await withSource(f, timeoutMs, async (c) => {
      await c.query('SET SESSION time_zone = @@GLOBAL.time_zone');
      const [rows] = await c.query('SELECT UNIX_TIMESTAMP(?) AS ts, @@GLOBAL.time_zone AS tz, @@system_time_zone AS sys', [wall]);
      return (rows as { ts: string | number | null; tz: string | null; sys: string | null }[])[0];
    });
  } catch (e) {
    throw new DMError('ErrMasterStartTimeZone', `source ${f.sourceId}: cannot read the time zone of ${f.from.host}:${f.from.port} for --start-time '${wall}'`, { cause: e });
  }
  const tz = r?.tz ?? '';
  const zone = tz.toUpperCase() === 'SYSTEM' ? `SYSTEM (${r?.sys ?? ''})` : tz;
  const ts = Number(r?.ts ?? 0);
  if (!Number.isFinite(ts) || ts <= 0) {
    throw new DMError('ErrMasterStartTimeZone', `source ${f.sourceId}: --start-time '${wall}' cannot be converted in the source's time zone ${zone}`);
  }
  return { iso: new Date(ts * 1000).toISOString(), zone };
}

async function withSource<T>(f: SourceFacts, timeoutMs: number, fn: (c: Connection) => Promise<T>): Promise<T> {
  const conn = dbConnOf(f.from, `source ${f.sourceId}: from`);
  let c: Connection | undefined;
  try {
    c = await connect(conn, { connectTimeoutMs: timeoutMs });
    await c.query('SELECT 1');
    return await fn(c);
  } catch (e) {
    const code = e instanceof DMError ? e.codeName : undefined;
    if (code === 'ErrDBAccessDenied' || code === 'ErrDBTLSHandshake') {
      throw new DMError(code, `source ${f.sourceId}: ${code === 'ErrDBAccessDenied' ? `access denied for ${conn.user}@${conn.host}:${conn.port}` : `TLS handshake with ${conn.host}:${conn.port} failed`}`, { cause: e });
    }
    if (code === 'ErrDBExecuteFailed' || code === 'ErrDBSyntaxError') {
      throw new DMError('ErrConfigInvalidValue', `source ${f.sourceId}: from.session is rejected by ${conn.host}:${conn.port}`, { cause: e });
    }
    throw new DMError('ErrUpstreamUnreachable', `source ${f.sourceId}: cannot connect to ${conn.host}:${conn.port}`, { cause: e });
  } finally {
    await c?.end().catch(() => undefined);
  }
}
