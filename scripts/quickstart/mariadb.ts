/**
 * A sandbox MariaDB that outlives the quickstart: the same server flags as the test helper
 * (test/helpers/mariadb.ts: binlog on, ROW, FULL row image and metadata) but smaller InnoDB
 * files, started DETACHED with its pid in .sandbox/<name>.pid.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { isAlive, spawnDetached } from './processes.js';
import type { ConnOpts } from '../../test/helpers/mariadb.js';

export interface SandboxMariaDB {
  name: string;
  /** Server dir: data/, mysqld.sock, mysqld.pid, error.log. */
  home: string;
  port: number;
  serverId: number;
  logFile: string;
  pidFile: string;
}

export function connOpts(db: { port: number }): ConnOpts {
  return { host: '127.0.0.1', port: db.port, user: 'root', password: '' };
}

export function errorLogOf(db: SandboxMariaDB): string {
  return join(db.home, 'error.log');
}

/** A private tmpdir: temp tables stay out of a shared /tmp that other tools may clean. */
function tmpDirOf(db: SandboxMariaDB): string {
  return join(db.home, 'tmp');
}

function serverArgs(db: SandboxMariaDB): string[] {
  const data = join(db.home, 'data');
  return [
    '--no-defaults',
    `--datadir=${data}`,
    `--socket=${join(db.home, 'mysqld.sock')}`,
    `--pid-file=${join(db.home, 'mysqld.pid')}`,
    `--port=${db.port}`,
    '--bind-address=127.0.0.1',
    `--server-id=${db.serverId}`,
    `--log-bin=${join(data, 'mysql-bin')}`,
    '--binlog-format=ROW',
    '--binlog-row-image=FULL',
    '--binlog-row-metadata=FULL',
    '--log-slave-updates=ON',
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_general_ci',
    '--max-connections=300',
    '--innodb-buffer-pool-size=128M',
    '--innodb-log-file-size=64M',
    '--innodb-flush-log-at-trx-commit=2',
    '--sync-binlog=0',
    '--skip-name-resolve',
    `--tmpdir=${tmpDirOf(db)}`,
    '--user=root',
    `--log-error=${errorLogOf(db)}`,
  ];
}

/** mariadb-install-db into <home>/data (first time only). */
async function installDb(installBin: string, db: SandboxMariaDB, signal: AbortSignal): Promise<void> {
  const data = join(db.home, 'data');
  if (existsSync(join(data, 'mysql'))) return;
  mkdirSync(data, { recursive: true });
  const child = spawn(
    installBin,
    [
      '--no-defaults',
      `--datadir=${data}`,
      '--user=root',
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      `--tmpdir=${tmpDirOf(db)}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], signal },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0)
    throw new Error(`mariadb-install-db for ${db.name} failed (exit ${code}): ${out.trim().slice(-2000)}`);
}

/** Install (if needed) and start one MariaDB detached; resolves when it accepts connections. */
export async function startMariaDB(
  bins: { mariadbd: string; installDb: string },
  db: SandboxMariaDB,
  signal: AbortSignal,
): Promise<number> {
  mkdirSync(tmpDirOf(db), { recursive: true });
  await installDb(bins.installDb, db, signal);
  const pid = spawnDetached({
    cmd: bins.mariadbd,
    args: serverArgs(db),
    cwd: db.home,
    logFile: db.logFile,
    pidFile: db.pidFile,
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    signal.throwIfAborted();
    if (!isAlive(pid)) throw new Error(`${db.name} MariaDB exited at start; see ${errorLogOf(db)}`);
    try {
      const c = await mysql.createConnection({ ...connOpts(db), connectTimeout: 1000 });
      await c.end();
      return pid;
    } catch (e) {
      if (Date.now() > deadline) {
        throw new Error(
          `${db.name} MariaDB on port ${db.port} not ready after 60 s (${(e as Error).message}); see ${errorLogOf(db)}`,
        );
      }
    }
    await sleep(100, undefined, { signal });
  }
}
