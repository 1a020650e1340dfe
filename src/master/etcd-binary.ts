import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DMError } from '../errors/index.js';

/** Find Debian's `etcd` binary (package etcd-server); a coded error naming the package when missing. */
export function findEtcdBinary(override?: string): string {
  if (override) {
    if (existsSync(override)) return override;
    throw new DMError('ErrMasterEtcdBinaryMissing', `etcd binary ${override} does not exist`);
  }
  const env = process.env['DM_ETCD_BIN'];
  if (env && existsSync(env)) return env;
  const r = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  const p = r.stdout?.trim();
  if (p) return p;
  for (const dir of ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin']) {
    if (existsSync(join(dir, 'etcd'))) return join(dir, 'etcd');
  }
  throw new DMError('ErrMasterEtcdBinaryMissing', "'etcd' is not installed; run: apt-get install -y etcd-server");
}
