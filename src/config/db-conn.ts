/**
 * A database block of the config (`from` in a source, `target-database` in a task) resolved into
 * what a MySQL/MariaDB client needs: the `security` files read into PEM text (mysql2 `ssl`
 * options) and the `session` variables. Each loaded block is resolved once (cached by object), so
 * the files are read once per loaded config, not per connection. Callers hand `ssl` to mysql2 as
 * a copy (mysql2 writes into the object it is given).
 */
import { readFileSync } from 'node:fs';
import { DMError } from '../errors/index.js';
import type { ConnConfig, SslOptions } from '../sql/index.js';
import type { DBConfig } from './common-schema.js';
import type { DeepReadonly } from './freeze.js';

const resolved = new WeakMap<object, ConnConfig>();

function readPem(path: string, key: string, where: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new DMError('ErrConfigTLSFile', `${where}.security.${key}: cannot read ${path}`, { cause });
  }
  if (!text.includes('-----BEGIN ')) throw new DMError('ErrConfigTLSFile', `${where}.security.${key}: ${path} is not PEM encoded`);
  return text;
}

/**
 * Resolve a database block. `where` names it in errors, e.g. `source mysql-01: from`.
 * Throws ErrConfigTLSFile when a security file is missing, unreadable or not PEM, and
 * ErrConfigCrossField when only one of ssl-cert / ssl-key is given.
 * The result is src/sql's ConnConfig: `ssl` when `security` names at least one of ssl-ca /
 * ssl-cert / ssl-key (the server certificate is verified exactly when `ssl-ca` is given), else
 * plain TCP; `session` when the block has one.
 * `cert-allowed-cn` is ignored: mysql2 gives no hook to check the server certificate's CN (in DM it
 * restricts the clients of DM's own RPC servers).
 */
export function dbConnOf(db: DeepReadonly<DBConfig> | DBConfig, where: string): ConnConfig {
  const hit = resolved.get(db);
  if (hit) return hit;
  const out: ConnConfig = { host: db.host, port: db.port, user: db.user, password: db.password };
  const sec = db.security;
  if (sec && (sec.sslCa || sec.sslCert || sec.sslKey)) {
    if (!sec.sslCert !== !sec.sslKey) {
      throw new DMError('ErrConfigCrossField', `${where}.security: ssl-cert and ssl-key go together (a client certificate needs its key)`);
    }
    const ssl: SslOptions = { rejectUnauthorized: Boolean(sec.sslCa) };
    if (sec.sslCa) ssl.ca = readPem(sec.sslCa, 'ssl-ca', where);
    if (sec.sslCert) ssl.cert = readPem(sec.sslCert, 'ssl-cert', where);
    if (sec.sslKey) ssl.key = readPem(sec.sslKey, 'ssl-key', where);
    out.ssl = ssl;
  }
  if (db.session && Object.keys(db.session).length > 0) out.session = { ...db.session };
  resolved.set(db, out);
  return out;
}
